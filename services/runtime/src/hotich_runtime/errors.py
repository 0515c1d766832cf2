"""Errors shared by the services, and what the runtime does with each.

::

    HotichError
    ├── RetryableError       transient: broker, store or national DB unavailable, timeouts.
    │                        Retried with backoff; the Kafka offset is not committed until
    │                        the effect is done, so nothing is lost if the process dies.
    └── PermanentError       will fail the same way every time it is tried.
        └── PoisonMessage    undecodable bytes, unknown event type or schema version.
                             Sent to ``<topic>.dlq`` with the error; the consumer goes on.

Exceptions raised by libraries (pymongo, aiokafka, httpx) are classified where they are
caught, in the adapters, never in domain code.
"""

from __future__ import annotations


class HotichError(Exception):
    """Root of every error hotich raises on purpose."""


class RetryableError(HotichError):
    """A transient failure: trying again later may succeed."""


class PermanentError(HotichError):
    """A failure that will repeat whatever we do: set the input aside."""


class PoisonMessage(PermanentError):
    """A message that cannot be decoded into its topic's event model."""
