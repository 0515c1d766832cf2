"""The message a consumer writes to ``<topic>.dlq`` when it cannot process one."""

from __future__ import annotations

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from hotich_contracts.envelope import utcnow


class DeadLetter(BaseModel):
    """A message set aside with the error, so it can be inspected and replayed."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    source_topic: str = Field(description="Topic the message was read from.")
    partition: int
    offset: int
    key: str | None = Field(description="The message key, as text (invalid UTF-8 replaced).")
    value: str = Field(description="The message value, as text (invalid UTF-8 replaced).")
    error_type: str = Field(description="Exception class, e.g. ValidationError.")
    error: str = Field(description="What went wrong, for the ops team.")
    consumer_group: str = Field(description="The consumer group that gave up on it.")
    failed_at: AwareDatetime = Field(default_factory=utcnow)
