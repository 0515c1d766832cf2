"""Composition root of the validation service."""

from __future__ import annotations

from collections.abc import Sequence
from functools import partial
from typing import Any

from hotich_contracts.events import RecordEntered
from hotich_contracts.mandatory import load_mandatory_fields
from hotich_contracts.plan import load_plan
from hotich_contracts.units import default_registry
from hotich_runtime.app import Runtime
from hotich_runtime.kafka import BatchSubscription
from hotich_validation.config import ValidationSettings
from hotich_validation.service_layer.handlers import Validator, validate_batch


async def setup(runtime: Runtime) -> Sequence[BatchSubscription[Any]]:
    """Load the plan, the unit registry and the mandatory fields; subscribe to entered records."""
    settings = runtime.settings
    assert isinstance(settings, ValidationSettings)
    validator = Validator(
        plan=load_plan(settings.plan_file),
        registry=default_registry(),
        mandatory=load_mandatory_fields(settings.mandatory_fields_file),
    )
    return [
        BatchSubscription(
            topic=settings.source_topic,
            group_id=settings.group_id,
            model=RecordEntered,
            handle=partial(
                validate_batch,
                validator=validator,
                publisher=runtime.publisher,
                topic=settings.validated_topic,
            ),
        )
    ]
