"""The embedded PostgreSQL of `make run` stops even when its data folder vanished under it."""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import psutil

from devstack.embedded import EmbeddedPostgres, free_port, port_open


def test_postgres_stops_after_its_data_folder_was_removed() -> None:
    # mkdtemp, not tmp_path: a concurrent pytest session may prune tmp_path folders (what this tests)
    folder = Path(tempfile.mkdtemp(prefix="chungtay-pg-stop-"))
    pg = EmbeddedPostgres(folder / "pg", free_port(), durable=False)
    pg.start()
    assert pg.postmaster_pid is not None
    postmaster = psutil.Process(pg.postmaster_pid)
    try:
        shutil.rmtree(folder)  # what a pruning of old temporary folders once did
        pg.stop()
        assert not postmaster.is_running() or postmaster.status() == psutil.STATUS_ZOMBIE
        assert not port_open(pg.port)
    finally:
        if postmaster.is_running() and postmaster.status() != psutil.STATUS_ZOMBIE:
            postmaster.kill()
