"""Composition root of the reporting service: settings -> stores -> use cases -> subscriptions."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

from hotich_contracts import topics
from hotich_contracts.plan import Plan, load_plan
from hotich_contracts.units import UnitRegistry, default_registry
from hotich_reporting.adapters.event_views import ANY_VIEW
from hotich_reporting.adapters.mongo_projection import MongoProjection
from hotich_reporting.adapters.mongo_stores import MongoAcceptance, MongoPublished, MongoSurvey
from hotich_reporting.config import ReportingSettings
from hotich_reporting.domain.lifecycle import EventView
from hotich_reporting.entrypoints.dashboard import IntakeTokens, TokenIssuer
from hotich_reporting.service_layer.acceptance import Acceptance
from hotich_reporting.service_layer.projector import Projector
from hotich_reporting.service_layer.queries import Reports
from hotich_reporting.service_layer.snapshots import ProgressPublisher
from hotich_runtime.app import Runtime
from hotich_runtime.kafka import BatchSubscription

log = logging.getLogger(__name__)

VIETNAM = timezone(timedelta(hours=7))
"""Report dates are days in Vietnam (UTC+7)."""


@dataclass
class ReportingDeps:
    """What the routes need."""

    settings: ReportingSettings
    plan: Plan
    registry: UnitRegistry
    projection: MongoProjection
    survey: MongoSurvey
    reports: Reports
    acceptance: Acceptance
    projector: Projector
    progress: ProgressPublisher
    tokens: TokenIssuer


def clock(settings: ReportingSettings) -> date:
    """'Today' for reports: the configured day, else the current day in Vietnam."""
    return settings.today or datetime.now(VIETNAM).date()


def build(runtime: Runtime) -> ReportingDeps:
    """Wire the stores and use cases of one process."""
    settings = runtime.settings
    assert isinstance(settings, ReportingSettings)
    plan = load_plan(settings.plan_file)
    registry = default_registry()
    projection = MongoProjection(
        runtime.mongo_client, runtime.db, cached_states=settings.cached_states
    )
    survey = MongoSurvey(runtime.mongo_client, runtime.db)
    lots = MongoAcceptance(runtime.db)
    reports = Reports(
        projection=projection,
        survey=survey,
        acceptance=lots,
        registry=registry,
        plan=plan,
        today=lambda: clock(settings),
        due_soon_days=settings.due_soon_days,
    )
    return ReportingDeps(
        settings=settings,
        plan=plan,
        registry=registry,
        projection=projection,
        survey=survey,
        reports=reports,
        acceptance=Acceptance(lots, projection, registry, lambda: datetime.now(UTC)),
        projector=Projector(projection),
        progress=ProgressPublisher(
            projection=projection,
            survey=survey,
            registry=registry,
            publisher=runtime.publisher,
            published=MongoPublished(runtime.db),
            owner=f"{runtime.name}-{settings.instance_id}",
            now=lambda: datetime.now(UTC),
            lease_seconds=max(3 * settings.progress_interval_s, 10.0),
            topic=settings.topic(topics.REPORT_PROGRESS),
        ),
        tokens=IntakeTokens(settings.intake_url),
    )


async def _publish_periodically(progress: ProgressPublisher, interval: float) -> None:
    while True:
        try:
            await progress.publish_changed()
        except Exception:  # noqa: BLE001 - logged; the next tick tries again
            log.exception("publishing progress snapshots failed; trying again next time")
        await asyncio.sleep(interval)


def _view(value: bytes) -> EventView:
    return ANY_VIEW.validate_json(value).view()


async def setup(runtime: Runtime) -> Sequence[BatchSubscription[Any]]:
    """Build the projection and subscribe it to every lifecycle topic."""
    deps = build(runtime)
    runtime.state["deps"] = deps
    if deps.settings.publish_progress:
        runtime.state["progress_task"] = asyncio.get_running_loop().create_task(
            _publish_periodically(deps.progress, deps.settings.progress_interval_s)
        )
    # One consumer reads the four lifecycle topics: its batches mix them, so the events
    # of one record that arrive together are folded and written together. Pipelined:
    # the next batch is read and decoded while the projection writes this one.
    settings = deps.settings
    first, *others = (settings.topic(t) for t in topics.RECORD_TOPICS)
    return [
        BatchSubscription(
            topic=first,
            also=tuple(others),
            group_id=settings.group_id,
            model=ANY_VIEW,
            # Decoded straight to the projection's compact view: a batch holds each
            # event's view (~0.4 KB) beside its message (the raw value, ~1.4 KB for an
            # event carrying the record), not the read model (~2.7 KB more).
            decode=_view,
            handle=deps.projector.apply,
            pipelined=True,
            align_ms=settings.consumer_align_ms or None,
            # The projection raises no PermanentError: the values are not needed once
            # decoded (a 20,000-event batch held ~30 MB of them).
            keep_values=False,
        )
    ]


async def teardown(runtime: Runtime) -> None:
    """Stop the snapshot publisher."""
    task = runtime.state.get("progress_task")
    if isinstance(task, asyncio.Task):
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
