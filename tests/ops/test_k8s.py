"""deploy/k8s/ says the same as docker-compose.yml (image, commands, variables, probes, databases) and
the examples hold every secret the manifests read. Built with kustomize: the base and every overlay."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest
import yaml

from shared.settings import ServiceSettings
from tests.ops.compose import APPS, DCI_KEYS, PORTS, ROOT, env_name, resolved_compose
from tests.ops.kustomize import (
    BASE,
    BUILDS,
    K8S,
    WORKLOADS,
    Manifest,
    all_containers,
    build,
    by_kind_and_name,
    label,
    pod_spec,
    read_yaml_documents,
)

# Variables only Kubernetes sets: streams replicated on the three NATS servers (Compose runs one), and
# the gateway's rate limits shared through Redis by its replicas (Compose runs one gateway).
K8S_ONLY = {"NATS_STREAM_REPLICAS", "GATEWAY_REDIS_URL"}
SECRETS_EXAMPLE = K8S / "secrets" / "chungtay-secrets.example.yaml"
ROLES_EXAMPLE = K8S / "secrets" / "postgres-roles.example.yaml"


@pytest.fixture(scope="module")
def base() -> dict[tuple[str, str], Manifest]:
    return by_kind_and_name(build(BASE))


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return resolved_compose()


def app_container(objects: dict[tuple[str, str], Manifest], name: str) -> Manifest:
    containers = pod_spec(objects[("Deployment", name)])["containers"]
    assert len(containers) == 1
    return containers[0]


def test_the_base_lists_every_manifest_of_its_folder() -> None:
    kustomization = yaml.safe_load((BASE / "kustomization.yaml").read_text())
    files = {str(p.relative_to(BASE)) for p in BASE.rglob("*.yaml")} - {"kustomization.yaml"}
    assert set(kustomization["resources"]) == files


def test_every_app_has_a_deployment_and_a_service_on_the_compose_port(base: dict) -> None:
    for name in APPS:
        service = base[("Service", name)]
        assert service["spec"]["selector"] == {"app.kubernetes.io/name": name}
        assert [p["port"] for p in service["spec"]["ports"]] == [PORTS[name]]
        deployment = base[("Deployment", name)]
        assert deployment["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]
        assert deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] == name


def test_deployments_run_the_compose_commands_with_the_same_variables(base: dict, compose: dict) -> None:
    for name in APPS:
        c = app_container(base, name)
        assert c["command"] == compose["services"][name]["command"]
        k8s_env = {e["name"] for e in c["env"]}
        compose_env = {env_name(k) for k in compose["services"][name]["environment"]}
        assert k8s_env - K8S_ONLY == compose_env, f"{name}: k8s {(k8s_env - K8S_ONLY) ^ compose_env} differ"
        assert "NATS_STREAM_REPLICAS" in k8s_env, name
    assert "GATEWAY_REDIS_URL" in {e["name"] for e in app_container(base, "gateway")["env"]}
    config = base[("ConfigMap", "chungtay-config")]["data"]
    assert config["NATS_STREAM_REPLICAS"] == str(base[("StatefulSet", "nats")]["spec"]["replicas"]) == "3"
    assert config["REDIS_URL"] == "redis://redis:6379/0" and ("Service", "redis") in base


def test_probes_liveness_on_health_and_readiness_on_ready(base: dict, compose: dict) -> None:
    for name in APPS:
        c = app_container(base, name)
        assert c["livenessProbe"]["httpGet"]["path"] == "/health"
        assert c["startupProbe"]["httpGet"]["path"] == "/health"
        compose_check = compose["services"][name]["healthcheck"]["test"][-1]
        assert compose_check.endswith(c["readinessProbe"]["httpGet"]["path"])
        assert [p["containerPort"] for p in c["ports"]] == [PORTS[name]]


def test_services_wait_for_their_migrated_database(base: dict) -> None:
    for name in APPS:
        spec = pod_spec(base[("Deployment", name)])
        (init,) = spec["initContainers"]
        assert init["command"] == ["python", "-m", "devstack.migrate", "wait", name]
        assert [e["name"] for e in init["env"]] == [f"{name.upper()}_DATABASE_URL"]
        assert init["image"] == app_container(base, name)["image"]


def test_migrate_job_matches_the_compose_migrate_step(base: dict, compose: dict) -> None:
    job = base[("Job", "migrate")]
    (c,) = pod_spec(job)["containers"]
    assert c["command"] == compose["services"]["migrate"]["command"]
    assert {e["name"] for e in c["env"]} == set(compose["services"]["migrate"]["environment"])
    assert pod_spec(job)["restartPolicy"] == "Never"


@pytest.mark.parametrize("directory", BUILDS, ids=label)
def test_every_secret_and_config_key_the_workloads_read_exists(directory: Path) -> None:
    (example,) = read_yaml_documents(SECRETS_EXAMPLE)
    objects = by_kind_and_name(build(directory))
    config = objects[("ConfigMap", "chungtay-config")]["data"]
    for (kind, name), obj in objects.items():
        if kind not in WORKLOADS:
            continue
        for c in all_containers(obj):
            for e in c.get("env", []):
                ref = e.get("valueFrom", {})
                if "secretKeyRef" in ref:
                    assert ref["secretKeyRef"]["name"] == example["metadata"]["name"]
                    assert ref["secretKeyRef"].get("optional") or ref["secretKeyRef"]["key"] in example["stringData"]
                if "configMapKeyRef" in ref:
                    assert ref["configMapKeyRef"]["key"] in config, f"{name}: {e['name']}"


@pytest.mark.parametrize("directory", BUILDS, ids=label)
def test_the_registry_gets_every_dci_key_from_the_secret(directory: Path) -> None:
    """In every build the DCI keys (signing, encryption) come from chungtay-secrets, required (a pod
    without them does not start), and the example Secret and create-secrets.sh hold them."""
    (example,) = read_yaml_documents(SECRETS_EXAMPLE)
    env = {e["name"]: e for e in app_container(by_kind_and_name(build(directory)), "registry")["env"]}
    script = (K8S / "secrets" / "create-secrets.sh").read_text()
    for name in DCI_KEYS:
        assert name in env, f"the registry is not given {name}"
        ref = env[name].get("valueFrom", {}).get("secretKeyRef")
        assert ref is not None and "value" not in env[name], f"{name} must come from a Secret"
        assert ref["name"] == "chungtay-secrets" and not ref.get("optional"), name
        assert ref["key"] in example["stringData"], f"{ref['key']} is missing from the example Secret"
        assert f'"$main/{ref["key"]}"' in script, f"create-secrets.sh does not make {ref['key']}"


def cnpg_roles(cluster: Manifest) -> dict[str, str]:
    """Role name -> the Secret holding its password, as the Cluster declares them."""
    initdb = cluster["spec"]["bootstrap"]["initdb"]
    roles = {initdb["owner"]: initdb["secret"]["name"]}
    roles.update({r["name"]: r["passwordSecret"]["name"] for r in cluster["spec"]["managed"]["roles"]})
    return roles


def test_postgres_has_the_databases_and_roles_of_the_compose_init_script(base: dict) -> None:
    init_script = (ROOT / "deploy/postgres/init-databases.sh").read_text()
    assert "for service in registry support emulation reporting gateway; do" in init_script
    cluster = base[("Cluster", "chungtay-postgres")]
    databases = {cluster["spec"]["bootstrap"]["initdb"]["database"]: cluster["spec"]["bootstrap"]["initdb"]["owner"]}
    databases.update({d["spec"]["name"]: d["spec"]["owner"] for (kind, _), d in base.items() if kind == "Database"})
    assert databases == {f"chungtay_{app}": f"chungtay_{app}" for app in APPS}
    assert all(d["spec"]["cluster"]["name"] == "chungtay-postgres" for (k, _), d in base.items() if k == "Database")
    # Each role reaches its own database only (Compose: REVOKE ALL ON DATABASE ... FROM PUBLIC).
    rules = [line.split() for line in cluster["spec"]["postgresql"]["pg_hba"]]
    assert rules[:-1] == [["host", f"chungtay_{app}", f"chungtay_{app}", "all", "scram-sha-256"] for app in APPS]
    assert rules[-1] == ["host", "all", "all", "all", "reject"]
    assert cluster["spec"]["enableSuperuserAccess"] is False
    assert cluster["spec"]["imageName"].split(":")[1].startswith("16.")  # Compose runs postgres:16


def test_the_examples_show_every_role_secret_and_urls_with_the_same_passwords(base: dict) -> None:
    roles = {s["metadata"]["name"]: s for s in read_yaml_documents(ROLES_EXAMPLE)}
    (example,) = read_yaml_documents(SECRETS_EXAMPLE)
    for role, secret_name in cnpg_roles(base[("Cluster", "chungtay-postgres")]).items():
        secret = roles[secret_name]
        assert secret["type"] == "kubernetes.io/basic-auth"
        assert secret["stringData"]["username"] == role
        app = role.removeprefix("chungtay_")
        url = example["stringData"][f"{app}-database-url"]
        assert url == (f"postgresql+asyncpg://{role}:{secret['stringData']['password']}"
                       f"@chungtay-postgres-rw:5432/{role}")


def test_nats_keeps_the_compose_jetstream_store_and_runs_three_servers(base: dict) -> None:
    compose_conf = (ROOT / "deploy/nats/nats.conf").read_text()
    k8s_conf = (BASE / "nats/nats.conf").read_text()
    assert "store_dir: /data" in compose_conf and "store_dir: /data" in k8s_conf
    statefulset = base[("StatefulSet", "nats")]
    (nats,) = pod_spec(statefulset)["containers"]
    assert nats["args"] == ["nats-server", "--config", "/etc/nats/nats.conf"]
    assert {m["mountPath"] for m in nats["volumeMounts"]} >= {"/data", "/etc/nats"}
    assert statefulset["spec"]["replicas"] == 3
    routes = re.findall(r"nats://(nats-\d)\.(\S+):6222", k8s_conf)
    assert routes == [(f"nats-{i}", statefulset["spec"]["serviceName"]) for i in range(3)]
    headless = base[("Service", statefulset["spec"]["serviceName"])]
    assert headless["spec"]["clusterIP"] == "None" and headless["spec"]["publishNotReadyAddresses"] is True


def size_in_bytes(quantity: str) -> int:
    """`20Gi` (a Kubernetes quantity) or `18GB` (a NATS size: NATS reads GB as 1024**3) in bytes."""
    number, unit = re.fullmatch(r"(\d+)([A-Za-z]*)", quantity).groups()  # type: ignore[union-attr]
    powers = {"Ki": 1, "Mi": 2, "Gi": 3, "Ti": 4, "KB": 1, "MB": 2, "GB": 3, "TB": 4}
    return int(number) * 1024 ** powers[unit]


@pytest.mark.parametrize("directory", BUILDS, ids=label)
def test_jetstream_fits_on_its_volume(directory: Path) -> None:
    statefulset = by_kind_and_name(build(directory))[("StatefulSet", "nats")]
    (nats,) = pod_spec(statefulset)["containers"]
    env = {e["name"]: e.get("value") for e in nats["env"]}
    (claim,) = statefulset["spec"]["volumeClaimTemplates"]
    volume = size_in_bytes(claim["spec"]["resources"]["requests"]["storage"])
    assert size_in_bytes(env["JETSTREAM_MAX_FILE_STORE"]) <= 0.95 * volume
    assert size_in_bytes(env["JETSTREAM_MAX_MEMORY_STORE"]) < size_in_bytes(nats["resources"]["limits"]["memory"])


@pytest.mark.parametrize("directory", BUILDS, ids=label)
def test_the_database_accepts_every_connection_the_processes_may_hold(directory: Path) -> None:
    objects = by_kind_and_name(build(directory))
    if ("Cluster", "chungtay-postgres") not in objects:
        # External PostgreSQL: its max_connections is the operator's (components/external-postgres);
        # the apps reach that server, not a CloudNativePG instance.
        egress = objects[("NetworkPolicy", "apps-to-postgres")]["spec"]["egress"]
        assert [list(peer) for rule in egress for peer in rule["to"]] == [["ipBlock"]]
        return
    needed = 20  # the migrate Job and the init containers, one at a time
    for name in APPS:
        env = {e["name"]: e.get("value") for e in app_container(objects, name)["env"]}
        pool = int(env.get(f"{name.upper()}_DB_POOL_SIZE") or ServiceSettings.model_fields["db_pool_size"].default)
        # Per process: its pool (kept open) and its relay, consumers and imports (a few more).
        needed += objects[("HorizontalPodAutoscaler", name)]["spec"]["maxReplicas"] * (pool + 10)
    limit = int(objects[("Cluster", "chungtay-postgres")]["spec"]["postgresql"]["parameters"]["max_connections"])
    assert limit >= needed, (label(directory), limit, needed)
