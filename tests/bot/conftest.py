"""`leadbot ARGS` in the test's own process: the real `main`, only the settings a test gives."""

from __future__ import annotations

import io
import logging
import os
import sys

import pytest


@pytest.fixture
def command(monkeypatch: pytest.MonkeyPatch, tmp_path, capsys):
    """`command("links", "--username", "x", env={...}, stdin="...")` -> (exit code, stdout,
    stderr), as `leadbot` would give them (no .env: the test's folder is the current one)."""
    for key in list(os.environ):
        if key.startswith("LEADBOT_") and not key.startswith("LEADBOT_TEST_"):
            monkeypatch.delenv(key)
    monkeypatch.chdir(tmp_path)
    # the logging of a new process: another test's in-process `run` configured the root's
    monkeypatch.setattr(logging.getLogger(), "handlers", [])

    def run(*args: str, env: dict[str, str] | None = None,
            stdin: str = "") -> tuple[int, str, str]:
        from bot.cli.main import main

        for key, value in (env or {}).items():
            monkeypatch.setenv(key, value)
        monkeypatch.setattr(sys, "stdin", io.StringIO(stdin))
        code = main(list(args))
        out = capsys.readouterr()
        assert "Traceback" not in out.out + out.err
        return code, out.out, out.err

    return run
