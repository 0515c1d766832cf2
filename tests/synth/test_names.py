"""Names: frequencies, ethnic patterns and the noise functions."""

from __future__ import annotations

import random
import unicodedata
from collections import Counter

import pytest

from hotich_contracts.text import normalize_name
from hotich_local.synth.names import (
    NameGenerator,
    WeightedTable,
    diacritic_variant,
    drop_middle_name,
    new_style_tone_marks,
    typo,
)


def test_weighted_table_follows_its_weights() -> None:
    table = WeightedTable([("a", 3.0), ("b", 1.0), ("never", 0.0)])
    rng = random.Random(0)
    counts = Counter(table.pick(rng.random()) for _ in range(20_000))
    assert set(counts) == {"a", "b"}
    assert counts["a"] / 20_000 == pytest.approx(0.75, abs=0.02)
    assert table.pick(0.999999999999) == "b"
    with pytest.raises(ValueError, match="positive"):
        WeightedTable([("x", 0.0)])


def test_family_names_have_realistic_frequencies() -> None:
    rng = random.Random(1)
    names = NameGenerator(rng.random)
    families = Counter(
        names.full_name(rng.random() < 0.5, 1970).split(" ")[0] for _ in range(20_000)
    )
    assert families["Nguyễn"] / 20_000 == pytest.approx(0.38, abs=0.02)
    assert families["Trần"] / 20_000 == pytest.approx(0.11, abs=0.015)
    assert families["Huỳnh"] > families["Hoàng"]  # the southern form dominates
    assert families["Võ"] > families["Vũ"]


def test_older_registers_have_van_and_thi() -> None:
    rng = random.Random(2)
    names = NameGenerator(rng.random)
    old_women = [names.full_name(False, 1950) for _ in range(2_000)]
    new_men = [names.full_name(True, 2005) for _ in range(2_000)]
    assert sum(" Thị " in n for n in old_women) / 2_000 > 0.8
    assert sum(" Văn " in n for n in new_men) / 2_000 < 0.4
    assert all(unicodedata.is_normalized("NFC", n) for n in old_women + new_men)


def test_ethnic_names_follow_their_patterns() -> None:
    names = NameGenerator(random.Random(3).random)
    assert names.full_name(False, 1990, "Khmer").split(" ")[0] in {
        "Thạch",
        "Danh",
        "Sơn",
        "Kim",
        "Lâm",
        "Chau",
    }
    assert len(names.foreign_name("Campuchia", True).split(" ")) == 2
    assert names.foreign_name("Hoa Kỳ", False)


def test_tone_marks_move_to_the_new_style_only_in_open_syllables() -> None:
    assert new_style_tone_marks("Nguyễn Thị Hòa") == "Nguyễn Thị Hoà"
    assert new_style_tone_marks("Lê Thúy Khỏe") == "Lê Thuý Khoẻ"
    assert new_style_tone_marks("Trần Văn Hoàn") == "Trần Văn Hoàn"  # closed syllable
    assert new_style_tone_marks("Phạm Quý") == "Phạm Quý"  # qu initial
    # Both forms compare equal once tone marks are canonical.
    assert normalize_name("Nguyễn Thị Hoà") == normalize_name("Nguyễn Thị Hòa")


@pytest.mark.parametrize(
    ("name", "u", "how"),
    [
        ("Nguyễn Thị Hòa", 0.1, "tone_placement"),
        ("Đặng Văn Đạt", 0.5, "d_for_dd"),
        ("Trần Văn Hùng", 0.7, "marks_dropped"),
        ("Trần Văn Hùng", 0.95, "decomposed"),
        ("Sok Chanthy", 0.95, "case"),
    ],
)
def test_diacritic_variants_differ_from_the_name(name: str, u: float, how: str) -> None:
    variant, done = diacritic_variant(name, u, 0.3)
    assert done == how
    assert variant != name


def test_typos_change_the_name_and_never_empty_it() -> None:
    rng = random.Random(4)
    names = NameGenerator(rng.random)
    for _ in range(2_000):
        name = names.full_name(rng.random() < 0.5, 1980)
        slipped = typo(name, rng.random(), rng.random())
        assert slipped != name
        assert slipped.strip()
    assert typo("Lê An", 0.99, 0.5) == "LÊ AN"


def test_middle_names_can_be_dropped() -> None:
    assert drop_middle_name("Nguyễn Thị Ngọc Hân") == "Nguyễn Hân"
    assert drop_middle_name("Danh Sóc") is None
