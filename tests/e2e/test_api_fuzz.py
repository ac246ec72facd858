"""Schemathesis against the merged OpenAPI document, through the gateway of the whole platform
(tests/gateway/platform.py): the services' routes as a commune officer and as a province officer,
the administration routes as an administrator, the authentication routes as a signed-in user of
their own. Each run must find no server error, no answer that breaks its documented schema and no
status code the document does not list.

In `make test` it is the bounded pass: a fixed seed and a budget of 10–25 s per account (about two
minutes with the platform's start). `make fuzz` runs the same file for CHUNGTAY_FUZZ_SECONDS per
account with a new random seed each time. A failure lists every operation and check that failed,
then the end of schemathesis' report with the curl command that reproduces each.
"""

from __future__ import annotations

import asyncio
import os
import re
import subprocess
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import httpx
import pytest

from shared.services import SERVICES
from tests.gateway.platform import EXTRA_ACCOUNTS, PASSWORD, Platform, start_platform
from tests.gateway.support import serve
from tests.kit import Stack

SCHEMATHESIS = Path(sys.executable).parent / "schemathesis"
CHECKS = "not_a_server_error,response_schema_conformance,status_code_conformance,content_type_conformance"
LONG_RUN_SECONDS = float(os.environ.get("CHUNGTAY_FUZZ_SECONDS", "0"))  # make fuzz
SEED = os.environ.get("CHUNGTAY_FUZZ_SEED", "" if LONG_RUN_SECONDS else "20261206")
ACCESS_TOKEN_SECONDS = 600  # the platform's token lifetime: a longer run signs in again per round


@dataclass(frozen=True)
class FuzzRun:
    who: str
    account: str
    paths: str  # regular expression of the paths this run covers
    seconds: float  # the bounded run's budget


SERVICE_PATHS = f"^/({'|'.join(SERVICES)})/"
RUNS = (
    FuzzRun("commune officer", "commune.07207", SERVICE_PATHS, 25),
    FuzzRun("province officer", "province.24", SERVICE_PATHS, 25),
    # Last but one and last: administration may change roles and end sessions, and the token
    # endpoint may lock accounts out, which would disturb the runs before them.
    FuzzRun("administrator", "admin", "^/admin/", 10),
    FuzzRun("signed-in viewer", "viewer.07207", r"^/(auth|\.well-known)/", 10),
)


@pytest.fixture(scope="module")
async def gateway_url(stack: Stack, tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[Platform, str]]:
    """The platform, and its gateway on a real port for schemathesis (a separate process)."""
    runs = start_platform(stack, tmp_path_factory.mktemp("fuzz-platform"))
    platform = await anext(runs)
    try:
        async with serve(platform.front, lifespan="off") as url:  # the gateway's lifespan already runs
            yield platform, url
    finally:
        await runs.aclose()


async def sign_in(client: httpx.AsyncClient, account: str) -> str:
    password = PASSWORD if account in EXTRA_ACCOUNTS else "demo"
    answer = await client.post("/auth/token", data={"grant_type": "password", "username": account,
                                                    "password": password})
    assert answer.status_code == 200, answer.text
    return str(answer.json()["access_token"])


def schemathesis(url: str, token: str, run: FuzzRun, seconds: float, folder: Path) -> subprocess.CompletedProcess[str]:
    args = [str(SCHEMATHESIS), "run", f"{url}/openapi.json", "--checks", CHECKS,
            "--phases", "examples,coverage,fuzzing", "--max-time", str(int(seconds)), "--workers", "1",
            "--include-path-regex", run.paths, "--header", f"Authorization: Bearer {token}",
            "--request-timeout", "60", "--suppress-health-check", "all", "--max-failures", "500"]
    if SEED:
        args += ["--seed", SEED]
    env = {**os.environ, "NO_COLOR": "1", "SCHEMATHESIS_HOOKS": ""}
    # Its caches (hypothesis examples) go to the run's folder, not the repository.
    return subprocess.run(args, cwd=folder, env=env, capture_output=True, text=True, timeout=seconds + 600)


_OPERATION = re.compile(r"^_{3,} ([A-Z]+ \S+) _{3,}$")
_CHECK = re.compile(r"^- (ST\d+ .+|Server error|.*[Vv]iolat.*|Undocumented .*)$")


def failures(report: str) -> list[str]:
    """`METHOD /path: check` for every failure in schemathesis' report, each once."""
    found: list[str] = []
    operation = "?"
    for line in report.splitlines():
        line = line.strip()
        if match := _OPERATION.match(line):
            operation = match.group(1)
        elif (match := _CHECK.match(line)) and f"{operation}: {match.group(1)}" not in found:
            found.append(f"{operation}: {match.group(1)}")
    return found


@pytest.mark.parametrize("run", RUNS, ids=[r.who for r in RUNS])
async def test_the_api_answers_as_its_openapi_document_says(
        gateway_url: tuple[Platform, str], run: FuzzRun, tmp_path: Path) -> None:
    platform, url = gateway_url
    remaining = LONG_RUN_SECONDS or run.seconds
    while remaining > 0:  # rounds shorter than a token's life
        seconds = min(remaining, ACCESS_TOKEN_SECONDS - 60)
        token = await sign_in(platform.client, run.account)
        result = await asyncio.to_thread(schemathesis, url, token, run, seconds, tmp_path)
        report = result.stdout + result.stderr
        assert result.returncode == 0, (f"schemathesis as {run.who} ({run.account}) on {run.paths}:\n"
                                        f"{chr(10).join(failures(report))}\n\n{report[-15000:]}")
        remaining -= seconds
