"""Shared pytest wiring: the real-peers harness fixtures and the local FATE engine fixture."""

pytest_plugins = ["tests.harness.fixtures", "tests.engine_fixtures"]
