"""Synthetic civil status registers (sổ hộ tịch giả lập) with ground truth.

``hotich generate`` streams realistic entries of Tây Ninh's registers, as clerks would
key them in (plus the local software's migrated records), each with the outcome the
pipeline should reach: :func:`generate` yields the items, :func:`survey_rows` the
survey baseline (khảo sát, thống kê sổ) of the same registers, and
:class:`GenerationConfig` holds the seed, the counts and the noise rates.
"""

from hotich_local.synth.generator import Book, generate, iter_books
from hotich_local.synth.model import (
    NOISE_KINDS,
    PLAN_PROVINCE_LEVEL,
    PLAN_TOTAL,
    PROBABLE_PROVINCE_LEVEL,
    GenerationConfig,
    GenerationSummary,
    Item,
    NoiseRates,
    Truth,
)
from hotich_local.synth.survey import SurveyRow, survey_rows

__all__ = [
    "NOISE_KINDS",
    "PLAN_PROVINCE_LEVEL",
    "PLAN_TOTAL",
    "PROBABLE_PROVINCE_LEVEL",
    "Book",
    "GenerationConfig",
    "GenerationSummary",
    "Item",
    "NoiseRates",
    "SurveyRow",
    "Truth",
    "generate",
    "iter_books",
    "survey_rows",
]
