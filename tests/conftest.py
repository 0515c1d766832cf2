"""Shared fixtures: the broker and the store every integration test runs against."""

pytest_plugins = ["tests.fixtures.infra"]
