"""The in-process cache of record states: bounded, least recently used out."""

from __future__ import annotations

from hotich_reporting.adapters.state_cache import Cached, StateCache
from hotich_reporting.domain.lifecycle import RecordState


def _state(record_id: str) -> RecordState:
    return RecordState(
        record_id=record_id,
        unit_code="705",
        version=1,
        status="received",
        status_key=(0, 0, "2020-05-01T00:00:00.000000+00:00", record_id),
        phase=None,
    )


def test_the_least_recently_used_state_goes_first() -> None:
    cache = StateCache(2)
    cache.put("a", Cached(1, _state("a")))
    cache.put("b", Cached(1, _state("b")))
    assert cache.get("a") is not None  # a is now the most recent
    cache.put("c", Cached(1, _state("c")))
    assert "b" not in cache
    assert "a" in cache
    assert "c" in cache
    assert len(cache) == 2
    assert (cache.hits, cache.misses) == (1, 0)
    assert cache.get("b") is None
    assert cache.misses == 1


def test_a_newer_entry_replaces_the_old_one() -> None:
    cache = StateCache(10)
    cache.put("a", Cached(None, _state("a")))
    cache.put("a", Cached(2, _state("a")))
    entry = cache.get("a")
    assert entry is not None
    assert entry.revision == 2
    assert len(cache) == 1


def test_forget_and_clear() -> None:
    cache = StateCache(10)
    for record_id in "abc":
        cache.put(record_id, Cached(1, _state(record_id)))
    cache.forget(["a", "x"])
    assert "a" not in cache
    assert "b" in cache
    cache.clear()
    assert len(cache) == 0


def test_a_cache_of_size_zero_keeps_nothing() -> None:
    cache = StateCache(0)
    cache.put("a", Cached(1, _state("a")))
    assert cache.get("a") is None


def test_hits_and_misses_are_exported_as_metrics() -> None:
    from prometheus_client import REGISTRY

    def count(result: str) -> float:
        value = REGISTRY.get_sample_value(
            "hotich_cache_lookups_total", {"cache": "record_states", "result": result}
        )
        return value or 0.0

    hits, misses = count("hit"), count("miss")
    cache = StateCache(10)
    cache.put("a", Cached(1, _state("a")))
    cache.get("a")
    cache.get("a")
    cache.get("b")
    assert count("hit") - hits == 2
    assert count("miss") - misses == 1
