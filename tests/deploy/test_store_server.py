"""Choosing the local store server: the Python SecantusDB by default, or its Rust build."""

from __future__ import annotations

import os
import stat
import sys
from pathlib import Path

import pytest

from hotich_local.infra import mongo
from hotich_local.infra.mongo import SecantusServer, default_cache_size


def _fake_rust_server(directory: Path) -> Path:
    """An executable file named like the Rust server (only its command line is built)."""
    directory.mkdir(parents=True, exist_ok=True)
    binary = directory / mongo.RUST_SERVER
    binary.write_text("#!/bin/sh\nexit 0\n")
    binary.chmod(binary.stat().st_mode | stat.S_IXUSR)
    return binary


def test_the_python_server_is_the_default(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("HOTICH_STORE_SERVER", raising=False)
    server = SecantusServer(None, port=27999)
    assert server.kind == "secantusdb"
    assert not server.rust
    command = server.command()
    assert command[1:3] == ["-m", "hotich_local.infra.store_launcher"]
    assert command[3].endswith("secantusd-py")  # pkill -f secantusd-py still finds it
    assert command[4:6] == ["--host", "127.0.0.1"]
    assert "--storage-path" in command
    assert command[command.index("--storage-path") + 1] == mongo.IN_MEMORY
    assert command[command.index("--cache-size") + 1] == default_cache_size()


def test_the_rust_server_runs_as_it_is_with_the_default_cache(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOTICH_STORE_CACHE_SIZE", "1G")
    binary = _fake_rust_server(tmp_path / "bin")
    server = SecantusServer(tmp_path / "data", port=27999, standalone=True, executable=str(binary))
    assert server.kind == "secantusdb-rs"
    command = server.command()
    assert command[0] == str(binary)
    assert command[command.index("--storage-path") + 1] == str(tmp_path / "data")
    assert command[command.index("--cache-size") + 1] == "1G"
    assert command[-1] == "--standalone"
    sized = SecantusServer(None, port=1, cache_size="256M", executable=str(binary))
    assert sized.command()[sized.command().index("--cache-size") + 1] == "256M"


def test_the_default_cache_is_half_the_memory_left_shared_by_the_stores(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv("HOTICH_STORE_CACHE_SIZE", raising=False)
    gib = 2**30
    pages = {"SC_PAGE_SIZE": 4096, "SC_PHYS_PAGES": 25 * gib // 4096}
    monkeypatch.setattr(os, "sysconf", lambda name: pages[name])
    assert default_cache_size() == "12288M"  # (25 GiB - 1 GiB) / 2
    assert default_cache_size(3) == "4096M"
    pages["SC_PHYS_PAGES"] = 1 * gib // 4096  # a small machine: the floor
    assert default_cache_size() == "256M"
    monkeypatch.setenv("HOTICH_STORE_CACHE_SIZE", "3G")
    assert default_cache_size(2) == "3G"
    python = SecantusServer(None, port=1, executable=sys.executable)
    assert python.command()[python.command().index("--cache-size") + 1] == "3G"


def test_a_throwaway_rust_store_lives_in_a_temp_dir_removed_on_stop(tmp_path: Path) -> None:
    server = SecantusServer(None, port=27999, executable=str(_fake_rust_server(tmp_path)))
    command = server.command()
    storage = Path(command[command.index("--storage-path") + 1])
    assert storage.is_dir()
    assert server.command() == command  # the same dir until stopped
    server.stop()
    assert not storage.exists()


def test_the_environment_chooses_and_the_built_rust_server_is_found(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.setenv("HOTICH_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("HOTICH_STORE_SERVER", mongo.RUST_SERVER)
    monkeypatch.setenv("PATH", str(tmp_path / "nowhere"))
    with pytest.raises(RuntimeError, match="make store-rs"):
        SecantusServer(None)
    built = _fake_rust_server(mongo.rust_server_home() / "bin")
    assert mongo.rust_server_home().is_relative_to(tmp_path)
    assert SecantusServer(None).executable == str(built)


@pytest.mark.parametrize(
    ("choice", "message"),
    [
        ("mongod", "expected secantusd-py, secantusd-rs or a path"),
        ("/no/such/secantusd-rs", "no such file"),
    ],
)
def test_an_unknown_server_is_refused_with_a_reason(choice: str, message: str) -> None:
    with pytest.raises(RuntimeError, match=message):
        mongo.secantus_executable(choice)
