"""Kafka topic names, declared once.

Names follow ``hotich.<entity>.<event>.v<N>`` and are part of the public contract
(``shared/spec/contract.md``): outside programs subscribe to them by name. Partition
counts and topic configuration live in ``deploy/topics.yaml``, not here, so an ops
team can change them without a code release.
"""

from __future__ import annotations

from typing import Final

RECORD_ENTERED: Final = "hotich.record.entered.v1"
"""Intake: a record (or a new version of it) was entered."""

RECORD_VALIDATED: Final = "hotich.record.validated.v1"
"""Validation: the plan's rules were applied: valid or rejected, with the phase."""

RECORD_DEDUPLICATED: Final = "hotich.record.deduplicated.v1"
"""Dedup: accepted, duplicate suspected (with candidates) or rejected as an exact duplicate."""

RECORD_EXPORTED: Final = "hotich.record.exported.v1"
"""Export: accepted by the national database with its national id, or failed for good."""

REPORT_PROGRESS: Final = "hotich.report.progress.v1"
"""Reporting: progress snapshots keyed by ``<phase>:<unit_code>`` (compacted)."""

RECORD_TOPICS: Final = (RECORD_ENTERED, RECORD_VALIDATED, RECORD_DEDUPLICATED, RECORD_EXPORTED)
"""The record lifecycle topics, in pipeline order."""

ALL_TOPICS: Final = (*RECORD_TOPICS, REPORT_PROGRESS)

DLQ_SUFFIX: Final = ".dlq"


def dlq(topic: str) -> str:
    """Return the dead-letter topic for ``topic`` (``<topic>.dlq``)."""
    return topic + DLQ_SUFFIX
