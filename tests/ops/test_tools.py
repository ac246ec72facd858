"""The system tools `make test` installs as root (devstack/ensure_tools.sh): a user who cannot install
them still runs the suite, and the few tests that need a missing tool are skipped saying why; for
root, whom make test has them installed for, a missing tool is a failure, not a quiet skip."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from tests.kit import system_tool

ROOT = Path(__file__).resolve().parents[2]


def test_a_present_tool_is_found(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    tool = tmp_path / "docker-compose"
    tool.write_text("#!/bin/sh\n")
    tool.chmod(0o755)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert system_tool("docker-compose") == str(tool)


def test_a_missing_tool_skips_for_a_user_who_cannot_install_it(monkeypatch: pytest.MonkeyPatch,
                                                                tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(os, "geteuid", lambda: 1000)
    with pytest.raises(pytest.skip.Exception, match="needs redis-server .* only root can install"):
        system_tool("redis-server")


def test_a_missing_tool_fails_for_root(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(os, "geteuid", lambda: 0)
    with pytest.raises(pytest.fail.Exception, match="wrk is not installed"):
        system_tool("wrk")


def test_ensure_tools_lets_a_user_who_cannot_install_go_on(tmp_path: Path) -> None:
    """Run as a user without root nor sudo, with the tools missing: it says so and exits 0, so
    `make test` goes on to the suite."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name in ("apt-get", "id"):
        (bin_dir / name).write_text("#!/bin/sh\n" + ('echo 1000\n' if name == "id" else "exit 1\n"))
        (bin_dir / name).chmod(0o755)
    env = {"PATH": f"{bin_dir}:/nonexistent", "HOME": str(tmp_path)}
    bash = "/bin/bash"
    result = subprocess.run([bash, str(ROOT / "devstack" / "ensure_tools.sh")], env=env, capture_output=True,
                            text=True, timeout=30)
    assert result.returncode == 0, result.stderr
    assert "this user cannot install them" in result.stderr and "skipped" in result.stderr
