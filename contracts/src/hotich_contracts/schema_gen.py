"""Generate the published contract files from the code: JSON Schemas and AsyncAPI.

Usage::

    python -m hotich_contracts.schema_gen            # write the files
    python -m hotich_contracts.schema_gen --check    # exit 1 if the committed files drift

Files, relative to the ``contracts/`` directory:

- ``schemas/record.schema.json``: JSON Schema of a record (input of ``POST /v1/records``).
- ``schemas/<event_type>.v<schema_version>.schema.json``: one per event model.
- ``asyncapi.yaml``: AsyncAPI 3.0, one channel per topic of :mod:`hotich_contracts.topics`.

The output is deterministic (sorted keys, two-space indent, trailing newline), so
``--check`` can compare text. The models are the source of truth; never edit the
generated files by hand.
"""

from __future__ import annotations

import argparse
import ast
import difflib
import inspect
import json
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Final

import yaml
from pydantic import BaseModel
from pydantic.json_schema import models_json_schema

from hotich_contracts import topics
from hotich_contracts.dead_letter import DeadLetter
from hotich_contracts.envelope import EventBase, RecordEventBase
from hotich_contracts.events import EVENT_MODELS
from hotich_contracts.records import RECORD_ADAPTER

__all__ = [
    "ASYNCAPI_PATH",
    "RECORD_SCHEMA_PATH",
    "asyncapi_document",
    "check",
    "default_root",
    "event_schema",
    "event_schema_path",
    "generate",
    "main",
    "record_schema",
    "write",
]

JSON_SCHEMA_DIALECT: Final = "https://json-schema.org/draft/2020-12/schema"
SCHEMAS_DIR: Final = "schemas"
RECORD_SCHEMA_PATH: Final = f"{SCHEMAS_DIR}/record.schema.json"
ASYNCAPI_PATH: Final = "asyncapi.yaml"
ASYNCAPI_DOCUMENT_VERSION: Final = "1.0.0"
"""Version of the AsyncAPI document; bump the minor on additive changes."""
KAFKA_BINDING_VERSION: Final = "0.5.0"

_OTHER_KEYS: Final = {
    "report.progress": (
        "`<phase>:<unit_code>` (phase 1, 2, 3, migration or all); the topic is compacted, "
        "so the latest snapshot per key is kept."
    ),
}
"""Kafka key of each event that is not keyed by ``record_id``, by ``event_type``."""

_RECORD_KEY: Final = "`record_id` of the record the event is about (mã bản ghi)."

_DEAD_LETTER_KEY: Final = "The key of the message set aside, unchanged."


# -- content ------------------------------------------------------------------------------


def record_schema() -> dict[str, Any]:
    """Return the JSON Schema of a record (validation mode: what a client may send)."""
    schema = RECORD_ADAPTER.json_schema(mode="validation")
    return {
        "$schema": JSON_SCHEMA_DIALECT,
        "title": "Record",
        "description": (
            "One entry of a civil status register (bản ghi hộ tịch) as a clerk keys it in; "
            "record_type selects the type-specific model."
        ),
        **schema,
    }


def _literal_default(model: type[BaseModel], field: str) -> Any:
    info = model.model_fields.get(field)
    if info is None or info.default is None:
        raise ValueError(f"{model.__name__} has no literal default for {field!r}")
    return info.default


def event_schema_path(model: type[EventBase]) -> str:
    """Return the path of the schema file of an event model, e.g. ``schemas/record.entered.v1...``."""
    event_type = _literal_default(model, "event_type")
    version = _literal_default(model, "schema_version")
    return f"{SCHEMAS_DIR}/{event_type}.v{version}.schema.json"


def event_schema(model: type[EventBase]) -> dict[str, Any]:
    """Return the JSON Schema of one event (serialization mode: what is on the wire)."""
    schema = model.model_json_schema(mode="serialization")
    return {"$schema": JSON_SCHEMA_DIALECT, **schema}


def _topic_docs() -> dict[str, str]:
    """Return the docstring written under each topic constant of :mod:`topics`."""
    try:
        tree = ast.parse(inspect.getsource(topics))
    except (OSError, TypeError):  # no source (e.g. a zipped install): no descriptions
        return {}
    docs: dict[str, str] = {}
    body = tree.body
    for statement, following in zip(body, body[1:], strict=False):
        target = None
        if isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
            target = statement.target.id
        elif (
            isinstance(statement, ast.Assign)
            and len(statement.targets) == 1
            and isinstance(statement.targets[0], ast.Name)
        ):
            target = statement.targets[0].id
        if (
            target is not None
            and isinstance(following, ast.Expr)
            and isinstance(following.value, ast.Constant)
            and isinstance(following.value.value, str)
        ):
            value = getattr(topics, target, None)
            if isinstance(value, str):
                docs[value] = inspect.cleandoc(following.value.value)
    return docs


def _channel_id(topic: str) -> str:
    return topic.replace(".", "_").replace("-", "_")


def _key_description(model: type[EventBase]) -> str:
    if issubclass(model, RecordEventBase):
        return _RECORD_KEY
    event_type = _literal_default(model, "event_type")
    try:
        return _OTHER_KEYS[event_type]
    except KeyError:
        raise ValueError(
            f"{model.__name__} is not keyed by record_id: describe its Kafka key in "
            "hotich_contracts.schema_gen._OTHER_KEYS"
        ) from None


def _plain(value: Any) -> Any:
    """Return ``value`` with only JSON types (enum members become their values)."""
    return json.loads(json.dumps(value))


def _asyncapi_schema(value: Any) -> Any:
    """Adapt pydantic's JSON Schema to the AsyncAPI Schema Object.

    pydantic writes the OpenAPI form ``discriminator: {propertyName, mapping}``; an
    AsyncAPI schema's ``discriminator`` is the property name alone (the ``oneOf`` next to
    it still selects the model).
    """
    if isinstance(value, dict):
        converted = {key: _asyncapi_schema(item) for key, item in value.items()}
        discriminator = converted.get("discriminator")
        if isinstance(discriminator, dict) and "propertyName" in discriminator:
            converted["discriminator"] = discriminator["propertyName"]
        return converted
    if isinstance(value, list):
        return [_asyncapi_schema(item) for item in value]
    return value


def asyncapi_document() -> dict[str, Any]:
    """Return the AsyncAPI 3.0 document of every topic, its event and its dead letters.

    One channel per topic of :mod:`hotich_contracts.topics` carrying the topic's event
    model, and one per dead-letter topic ``<topic>.dlq`` carrying :class:`DeadLetter`.

    Raises:
        ValueError: If a topic of :mod:`hotich_contracts.topics` has no event model, or
            an event's Kafka key is not described.
    """
    missing = [topic for topic in topics.ALL_TOPICS if topic not in EVENT_MODELS]
    if missing:
        raise ValueError(f"topics without an event model in EVENT_MODELS: {missing}")
    models = [EVENT_MODELS[topic] for topic in topics.ALL_TOPICS]
    all_models: list[type[BaseModel]] = [*models, DeadLetter]
    _, definitions = models_json_schema(
        [(model, "serialization") for model in all_models],
        ref_template="#/components/schemas/{model}",
    )
    docs = _topic_docs()
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {
        DeadLetter.__name__: {
            "name": DeadLetter.__name__,
            "title": "dead letter",
            "summary": _first_line(DeadLetter.__doc__, DeadLetter.__name__),
            "contentType": "application/json",
            "payload": {"$ref": f"#/components/schemas/{DeadLetter.__name__}"},
            "bindings": {
                "kafka": {
                    "key": {"type": "string", "description": _DEAD_LETTER_KEY},
                    "bindingVersion": KAFKA_BINDING_VERSION,
                }
            },
        }
    }
    for topic, model in zip(topics.ALL_TOPICS, models, strict=True):
        name = model.__name__
        summary = _first_line(model.__doc__, name)
        event_type = _literal_default(model, "event_type")
        version = _literal_default(model, "schema_version")
        messages[name] = {
            "name": name,
            "title": f"{event_type} v{version}",
            "summary": summary,
            "contentType": "application/json",
            "payload": {"$ref": f"#/components/schemas/{name}"},
            "correlationId": {
                "description": "Ties together everything one intake request caused.",
                "location": "$message.payload#/correlation_id",
            },
            "bindings": {
                "kafka": {
                    "key": {"type": "string", "description": _key_description(model)},
                    "bindingVersion": KAFKA_BINDING_VERSION,
                }
            },
        }
        description = docs.get(topic, summary)
        _add_channel(channels, operations, topic, name, description, f"Publish {name}")
        dead_letters = topics.dlq(topic)
        _add_channel(
            channels,
            operations,
            dead_letters,
            DeadLetter.__name__,
            f"Messages of `{topic}` a consumer could not process, with the error.",
            f"Set aside a message of {topic}",
        )
    document = {
        "asyncapi": "3.0.0",
        "info": {
            "title": "hotich events",
            "version": ASYNCAPI_DOCUMENT_VERSION,
            "description": (
                "Kafka topics of hotich, the pipeline that digitizes civil status "
                "registers (số hóa sổ hộ tịch). Every message is a JSON envelope with "
                "event_id, event_type, schema_version, occurred_at, actor, correlation_id "
                "and a typed payload; record events add record_id, record_version and "
                "unit_code and are keyed by record_id. Consumers drop repeated event_ids. "
                "Each topic has a dead-letter topic `<topic>.dlq`. Generated by "
                "`python -m hotich_contracts.schema_gen`; do not edit."
            ),
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {
            "messages": messages,
            "schemas": _asyncapi_schema(definitions["$defs"]),
        },
    }
    plain: dict[str, Any] = _plain(document)
    return plain


def _first_line(doc: str | None, fallback: str) -> str:
    return inspect.cleandoc(doc or fallback).splitlines()[0]


def _add_channel(
    channels: dict[str, Any],
    operations: dict[str, Any],
    topic: str,
    message: str,
    description: str,
    title: str,
) -> None:
    channel = _channel_id(topic)
    channels[channel] = {
        "address": topic,
        "title": topic,
        "description": description,
        "messages": {message: {"$ref": f"#/components/messages/{message}"}},
        "bindings": {"kafka": {"topic": topic, "bindingVersion": KAFKA_BINDING_VERSION}},
    }
    operations[f"send_{channel}"] = {
        "action": "send",
        "title": title,
        "summary": description.splitlines()[0],
        "channel": {"$ref": f"#/channels/{channel}"},
        "messages": [{"$ref": f"#/channels/{channel}/messages/{message}"}],
    }


def _json_text(value: Any) -> str:
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def _yaml_text(value: Any) -> str:
    text = yaml.safe_dump(
        value, sort_keys=True, allow_unicode=True, default_flow_style=False, width=100
    )
    return text if text.endswith("\n") else text + "\n"


def generate() -> dict[str, str]:
    """Return every generated file: relative path (POSIX) -> text."""
    files = {RECORD_SCHEMA_PATH: _json_text(record_schema())}
    for topic in topics.ALL_TOPICS:
        model = EVENT_MODELS[topic]
        files[event_schema_path(model)] = _json_text(_plain(event_schema(model)))
    files[ASYNCAPI_PATH] = _yaml_text(asyncapi_document())
    return dict(sorted(files.items()))


# -- files --------------------------------------------------------------------------------


def default_root() -> Path:
    """Return the ``contracts/`` directory of the source tree this module lives in."""
    return Path(__file__).resolve().parents[2]


def _stale(root: Path, expected: dict[str, str]) -> list[str]:
    """Return generated-looking files under ``schemas/`` that the code no longer makes."""
    folder = root / SCHEMAS_DIR
    if not folder.is_dir():
        return []
    found = (path.relative_to(root).as_posix() for path in folder.glob("*.schema.json"))
    return sorted(path for path in found if path not in expected)


def write(root: Path) -> list[str]:
    """Write the generated files under ``root``; delete stale schema files.

    Returns:
        The relative paths created, changed or deleted.
    """
    files = generate()
    changed: list[str] = []
    for relative in _stale(root, files):
        (root / relative).unlink()
        changed.append(relative)
    for relative, text in files.items():
        path = root / relative
        if path.is_file() and path.read_text(encoding="utf-8") == text:
            continue
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8", newline="\n")
        changed.append(relative)
    return sorted(changed)


def check(root: Path, *, diff_lines: int = 20) -> list[str]:
    """Compare the files under ``root`` with what the code generates.

    Args:
        root: The ``contracts/`` directory.
        diff_lines: How many lines of unified diff to show per changed file.

    Returns:
        One message per missing, differing or stale file; empty when nothing drifted.
    """
    files = generate()
    problems: list[str] = []
    for relative, text in files.items():
        path = root / relative
        if not path.is_file():
            problems.append(f"{relative}: missing")
            continue
        current = path.read_text(encoding="utf-8")
        if current != text:
            diff = list(
                difflib.unified_diff(
                    current.splitlines(),
                    text.splitlines(),
                    fromfile=f"{relative} (committed)",
                    tofile=f"{relative} (generated)",
                    lineterm="",
                )
            )
            shown = "\n".join(diff[:diff_lines])
            more = (
                f"\n  ... {len(diff) - diff_lines} more diff lines"
                if len(diff) > diff_lines
                else ""
            )
            problems.append(f"{relative}: differs from the code\n{shown}{more}")
    problems.extend(
        f"{relative}: stale, no model generates it any more" for relative in _stale(root, files)
    )
    return problems


def main(argv: Sequence[str] | None = None) -> int:
    """Run the generator; return the process exit code."""
    parser = argparse.ArgumentParser(
        prog="python -m hotich_contracts.schema_gen",
        description="Generate the JSON Schemas and the AsyncAPI document of hotich.",
    )
    parser.add_argument(
        "--check",
        action="store_true",
        help="write nothing; exit 1 if the committed files differ from the generated ones",
    )
    parser.add_argument(
        "--root",
        type=Path,
        default=None,
        help="the contracts/ directory (default: the one this module is in)",
    )
    args = parser.parse_args(argv)
    root: Path = args.root if args.root is not None else default_root()
    if not (root / "src" / "hotich_contracts").is_dir():
        print(
            f"error: {root} is not the contracts/ directory; pass --root",
            file=sys.stderr,
        )
        return 2
    if args.check:
        problems = check(root)
        if problems:
            print(
                "Contract files drifted from the code (contracts/src/hotich_contracts):",
                file=sys.stderr,
            )
            for problem in problems:
                print(f"- {problem}", file=sys.stderr)
            print(
                "Run `uv run python -m hotich_contracts.schema_gen` and commit the result.",
                file=sys.stderr,
            )
            return 1
        print(f"Contract files are up to date ({len(generate())} files).")
        return 0
    changed = write(root)
    for relative in changed:
        print(f"wrote {relative}")
    if not changed:
        print("Contract files are up to date.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
