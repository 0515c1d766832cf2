"""Kafka's storage format accepts every cluster id we generate."""

from __future__ import annotations

import base64
from pathlib import Path

import pytest

from hotich_local.infra import kafka, procs

pytestmark = pytest.mark.integration


def test_a_cluster_id_starting_with_a_dash_is_formatted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # base64url ids start with "-" one time in 64; the storage tool's argument parser
    # once took such an id for an option and the format failed at random.
    real = base64.urlsafe_b64encode
    monkeypatch.setattr(kafka.base64, "urlsafe_b64encode", lambda raw: b"-" + real(raw)[1:])
    kafka.ensure_kafka_jars()
    server = kafka.KafkaServer(
        data_dir=tmp_path, port=procs.free_port(), controller_port=procs.free_port()
    )
    assert server.format_storage() is True
    assert "cluster.id=-" in (tmp_path / "logs" / "meta.properties").read_text()
