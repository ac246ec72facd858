"""The NATS cluster configuration of deploy/k8s (base/nats/nats.conf) runs for real: three servers,
started from that file with only the addresses moved to loopback, form a JetStream cluster; a stream
made as the services make theirs, with three replicas, keeps every event through the loss of its
leader (kill -9), and the restarted server catches up."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import nats
import pytest
from nats.js import JetStreamContext

from devstack.embedded import free_port, nats_server_binary
from shared.streams import stream_config
from tests.kit import eventually
from tests.ops.kustomize import BASE, build, by_kind_and_name, pod_spec

CONFIG = BASE / "nats" / "nats.conf"


@dataclass
class Server:
    name: str
    client_port: int
    config: Path
    env: dict[str, str]
    process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"nats://127.0.0.1:{self.client_port}"

    def start(self) -> None:
        self.process = subprocess.Popen([nats_server_binary(), "-c", str(self.config)], env=self.env,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def kill(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(timeout=30)


def loopback_config(text: str, folder: Path, index: int, client: int, http: int, routes: list[int]) -> str:
    """The Kubernetes file with its addresses, store and pid file moved for one server on loopback."""
    replaced = {
        "listen: 0.0.0.0:4222": f"listen: 127.0.0.1:{client}",
        "http: 0.0.0.0:8222": f"http: 127.0.0.1:{http}",
        "listen: 0.0.0.0:6222": f"listen: 127.0.0.1:{routes[index]}",
        "store_dir: /data": f"store_dir: {folder / f'store-{index}'}",
        "pid_file: /var/run/nats/nats.pid": f"pid_file: {folder / f'nats-{index}.pid'}",
    }
    for old, new in replaced.items():
        assert old in text, old
        text = text.replace(old, new)
    text, count = re.subn(r"nats://nats-(\d)\.nats-headless:6222",
                          lambda m: f"nats://127.0.0.1:{routes[int(m[1])]}", text)
    assert count == 3
    return text


@pytest.fixture
async def cluster() -> AsyncIterator[list[Server]]:
    statefulset = by_kind_and_name(build(BASE))[("StatefulSet", "nats")]
    (container,) = pod_spec(statefulset)["containers"]
    env = {e["name"]: e["value"] for e in container["env"] if "value" in e}
    env["JETSTREAM_MAX_FILE_STORE"] = "1GB"  # the same file, a limit this machine's disk can give
    folder = Path(tempfile.mkdtemp(prefix="chungtay-nats-cluster-"))
    routes = [free_port() for _ in range(3)]
    servers = []
    for i in range(statefulset["spec"]["replicas"]):
        client = free_port()
        config = folder / f"nats-{i}.conf"
        config.write_text(loopback_config(CONFIG.read_text(), folder, i, client, free_port(), routes))
        server_env = {**os.environ, **env, "POD_NAME": f"nats-{i}"}
        servers.append(Server(f"nats-{i}", client, config, server_env))
    for server in servers:
        server.start()
    try:
        yield servers
    finally:
        for server in servers:
            server.kill()
        shutil.rmtree(folder, ignore_errors=True)


async def stored(js: JetStreamContext, stream: str) -> int:
    return (await js.stream_info(stream)).state.messages


async def test_three_servers_keep_a_replicated_stream_through_the_loss_of_its_leader(
        cluster: list[Server], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NATS_STREAM_REPLICAS", "3")  # as the k8s config sets it
    nc = await nats.connect(servers=[s.url for s in cluster], max_reconnect_attempts=-1, reconnect_time_wait=0.2)
    try:
        js = nc.jetstream()
        config = stream_config("registry")

        async def created() -> bool:
            try:
                await js.add_stream(config)
            except Exception:  # the cluster is still electing its meta leader
                return False
            return True

        await eventually(created, timeout=60)
        info = await js.stream_info("REGISTRY")
        assert info.config.num_replicas == 3 and info.cluster is not None
        assert {info.cluster.leader, *(r.name for r in info.cluster.replicas or [])} == {s.name for s in cluster}

        for i in range(50):
            await js.publish("registry.household.created", b"{}", headers={"Nats-Msg-Id": f"before-{i}"})
        leader = next(s for s in cluster if s.name == info.cluster.leader)
        leader.kill()  # kill -9 the stream's leader

        async def published_after(i: int) -> bool:
            try:
                await js.publish("registry.household.created", b"{}", headers={"Nats-Msg-Id": f"after-{i}"},
                                 timeout=2)
            except Exception:  # a new leader is being elected
                return False
            return True

        for i in range(50):
            await eventually(lambda i=i: published_after(i), timeout=60)
        assert await stored(js, "REGISTRY") == 100  # nothing lost, nothing twice (the duplicate window)
        new_leader = (await js.stream_info("REGISTRY")).cluster.leader  # type: ignore[union-attr]
        assert new_leader != leader.name

        leader.start()

        async def all_current() -> bool:
            info = await js.stream_info("REGISTRY")
            replicas = (info.cluster.replicas or []) if info.cluster else []
            return len(replicas) == 2 and all(r.current and not r.offline for r in replicas)

        await eventually(all_current, timeout=60)
    finally:
        await nc.close()
