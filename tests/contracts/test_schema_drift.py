from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
import yaml

from hotich_contracts import schema_gen, topics
from hotich_contracts.events import EVENT_MODELS
from hotich_contracts.examples import example_record
from hotich_contracts.records import RecordType

ROOT = schema_gen.default_root()


def test_committed_files_match_the_code() -> None:
    problems = schema_gen.check(ROOT)
    assert problems == [], "\n".join(problems)


def test_check_mode_exits_zero_without_drift(capsys: pytest.CaptureFixture[str]) -> None:
    assert schema_gen.main(["--check"]) == 0
    assert "up to date" in capsys.readouterr().out


def test_check_mode_reports_drift_missing_and_stale_files(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    root = tmp_path / "contracts"
    (root / "src" / "hotich_contracts").mkdir(parents=True)
    assert schema_gen.main(["--root", str(root)]) == 0
    assert schema_gen.main(["--check", "--root", str(root)]) == 0
    capsys.readouterr()

    record_schema = root / schema_gen.RECORD_SCHEMA_PATH
    record_schema.write_text(
        record_schema.read_text(encoding="utf-8").replace("quyển số", "book"), encoding="utf-8"
    )
    (root / schema_gen.ASYNCAPI_PATH).unlink()
    (root / "schemas" / "record.renamed.v1.schema.json").write_text("{}\n", encoding="utf-8")

    assert schema_gen.main(["--check", "--root", str(root)]) == 1
    err = capsys.readouterr().err
    assert "schemas/record.schema.json: differs from the code" in err
    assert "quyển số" in err  # the diff shows what changed
    assert "asyncapi.yaml: missing" in err
    assert "schemas/record.renamed.v1.schema.json: stale" in err
    assert "python -m hotich_contracts.schema_gen" in err

    assert schema_gen.main(["--root", str(root)]) == 0
    assert not (root / "schemas" / "record.renamed.v1.schema.json").exists()
    assert schema_gen.check(root) == []


def test_refuses_a_root_that_is_not_the_contracts_directory(tmp_path: Path) -> None:
    assert schema_gen.main(["--check", "--root", str(tmp_path)]) == 2


def test_generation_is_deterministic() -> None:
    first = schema_gen.generate()
    second = schema_gen.generate()
    assert first == second
    for relative, text in first.items():
        assert text.endswith("\n"), relative
        assert not text.endswith("\n\n"), relative
    record_text = first[schema_gen.RECORD_SCHEMA_PATH]
    assert (
        record_text
        == json.dumps(json.loads(record_text), indent=2, sort_keys=True, ensure_ascii=False) + "\n"
    )


def test_one_schema_file_per_event_model() -> None:
    files = schema_gen.generate()
    expected = {schema_gen.event_schema_path(model) for model in EVENT_MODELS.values()}
    assert "schemas/record.entered.v1.schema.json" in expected
    assert expected | {schema_gen.RECORD_SCHEMA_PATH, schema_gen.ASYNCAPI_PATH} == set(files)


def test_record_schema_is_the_discriminated_union() -> None:
    schema = json.loads((ROOT / schema_gen.RECORD_SCHEMA_PATH).read_text(encoding="utf-8"))
    assert schema["$schema"] == schema_gen.JSON_SCHEMA_DIALECT
    assert schema["discriminator"]["propertyName"] == "record_type"
    assert set(schema["discriminator"]["mapping"]) == {t.value for t in RecordType}
    assert len(schema["oneOf"]) == 12
    birth = schema["$defs"]["BirthRecord"]
    assert birth["properties"]["record_type"]["const"] == "birth"
    assert {
        "record_type",
        "registering_authority_code",
        "storing_unit_code",
        "book_number",
        "entry_number",
        "registration_date",
        "details",
    } <= set(birth["required"])
    dob = schema["$defs"]["Person"]["properties"]["date_of_birth"]["anyOf"][0]
    assert dob["type"] == "string"
    assert "pattern" in dob


def _asyncapi() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(
        (ROOT / schema_gen.ASYNCAPI_PATH).read_text(encoding="utf-8")
    )
    return loaded


def test_asyncapi_has_a_channel_per_topic_and_dead_letter_topic() -> None:
    doc = _asyncapi()
    assert doc["asyncapi"] == "3.0.0"
    addresses = {channel["address"] for channel in doc["channels"].values()}
    assert set(topics.ALL_TOPICS) <= addresses
    assert {topics.dlq(t) for t in topics.ALL_TOPICS} <= addresses
    assert len(addresses) == 2 * len(topics.ALL_TOPICS)


def test_asyncapi_messages_reference_the_event_payloads_and_keys() -> None:
    doc = _asyncapi()
    by_address = {channel["address"]: channel for channel in doc["channels"].values()}
    for topic in topics.ALL_TOPICS:
        model = EVENT_MODELS[topic]
        channel = by_address[topic]
        (ref,) = (m["$ref"] for m in channel["messages"].values())
        assert ref == f"#/components/messages/{model.__name__}"
        message = doc["components"]["messages"][model.__name__]
        assert message["payload"] == {"$ref": f"#/components/schemas/{model.__name__}"}
        assert model.__name__ in doc["components"]["schemas"]
        key = message["bindings"]["kafka"]["key"]
        assert key["type"] == "string"
        if topic in topics.RECORD_TOPICS:
            assert "record_id" in key["description"]
        else:
            assert "<phase>:<unit_code>" in key["description"]


def test_asyncapi_references_all_resolve() -> None:
    doc = _asyncapi()

    def refs(node: Any) -> list[str]:
        if isinstance(node, dict):
            found = [node["$ref"]] if isinstance(node.get("$ref"), str) else []
            return found + [r for value in node.values() for r in refs(value)]
        if isinstance(node, list):
            return [r for item in node for r in refs(item)]
        return []

    def resolve(ref: str) -> Any:
        assert ref.startswith("#/"), ref
        node: Any = doc
        for part in ref[2:].split("/"):
            node = node[part]
        return node

    all_refs = refs(doc)
    assert all_refs
    for ref in all_refs:
        assert resolve(ref) is not None, ref


def test_asyncapi_uses_the_asyncapi_discriminator_form() -> None:
    entered = _asyncapi()["components"]["schemas"]["RecordEnteredPayload"]
    assert entered["properties"]["record"]["discriminator"] == "record_type"


def test_record_events_embed_the_record_schema() -> None:
    model = EVENT_MODELS[topics.RECORD_ENTERED]
    event = model.model_validate(
        {
            "actor": "clerk1",
            "correlation_id": "c-1",
            "record_id": "r-1",
            "record_version": 1,
            "unit_code": "25459",
            "payload": {"record": example_record(RecordType.MARRIAGE)},
        }
    )
    assert model.model_validate_json(event.model_dump_json()) == event
    path = ROOT / schema_gen.event_schema_path(model)
    schema = json.loads(path.read_text(encoding="utf-8"))
    record = schema["$defs"]["RecordEnteredPayload"]["properties"]["record"]
    assert record["discriminator"]["propertyName"] == "record_type"
    assert "MarriageRecord" in schema["$defs"]
