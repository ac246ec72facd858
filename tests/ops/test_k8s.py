"""deploy/k8s/: plain YAML that parses, and says the same as docker-compose.yml (image, commands,
variables, probes, init material)."""

from __future__ import annotations

from typing import Any

import pytest
import yaml

from shared.settings import ServiceSettings
from tests.ops.compose import APPS, PORTS, ROOT, env_name, resolved_compose

K8S = ROOT / "deploy" / "k8s"


@pytest.fixture(scope="module")
def manifests() -> dict[tuple[str, str], dict[str, Any]]:
    """Every object of every manifest, by (kind, name)."""
    objects: dict[tuple[str, str], dict[str, Any]] = {}
    for path in sorted(K8S.glob("*.yaml")):
        for doc in yaml.safe_load_all(path.read_text()):
            assert doc and "kind" in doc and "apiVersion" in doc, f"{path.name}: an object without kind"
            key = (doc["kind"], doc.get("metadata", {}).get("name", ""))
            assert key not in objects, f"{key} defined twice"
            objects[key] = doc
    return objects


@pytest.fixture(scope="module")
def compose() -> dict[str, Any]:
    return resolved_compose()


def container(objects: dict[tuple[str, str], dict[str, Any]], kind: str, name: str) -> dict[str, Any]:
    containers = objects[(kind, name)]["spec"]["template"]["spec"]["containers"]
    assert len(containers) == 1
    return containers[0]


def test_kustomization_lists_every_manifest_except_the_secret_example() -> None:
    kustomization = yaml.safe_load((K8S / "kustomization.yaml").read_text())
    files = {p.name for p in K8S.glob("*.yaml")} - {"kustomization.yaml", "secret.example.yaml"}
    assert set(kustomization["resources"]) == files
    assert all((K8S / r).exists() for r in kustomization["resources"])


def test_every_app_has_a_deployment_and_a_service_on_the_compose_port(manifests: dict) -> None:
    for name in APPS:
        service = manifests[("Service", name)]
        assert service["spec"]["selector"] == {"app.kubernetes.io/name": name}
        assert [p["port"] for p in service["spec"]["ports"]] == [PORTS[name]]
        deployment = manifests[("Deployment", name)]
        assert deployment["spec"]["selector"]["matchLabels"] == service["spec"]["selector"]
        assert deployment["spec"]["template"]["metadata"]["labels"]["app.kubernetes.io/name"] == name


def test_deployments_run_the_compose_commands_with_the_same_variables(manifests: dict, compose: dict) -> None:
    for name in APPS:
        c = container(manifests, "Deployment", name)
        assert c["image"] == "chungtay"  # kustomization's images: sets the tag
        assert c["command"] == compose["services"][name]["command"]
        k8s_env = {e["name"] for e in c["env"]}
        compose_env = {env_name(k) for k in compose["services"][name]["environment"]}
        assert k8s_env == compose_env, f"{name}: k8s {k8s_env ^ compose_env} differ from compose"


def test_probes_liveness_on_health_and_readiness_on_ready(manifests: dict, compose: dict) -> None:
    for name in APPS:
        c = container(manifests, "Deployment", name)
        assert c["livenessProbe"]["httpGet"]["path"] == "/health"
        compose_check = compose["services"][name]["healthcheck"]["test"][-1]
        assert compose_check.endswith(c["readinessProbe"]["httpGet"]["path"])
        assert [p["containerPort"] for p in c["ports"]] == [PORTS[name]]


def test_services_wait_for_their_migrated_database(manifests: dict) -> None:
    for name in APPS:
        spec = manifests[("Deployment", name)]["spec"]["template"]["spec"]
        (init,) = spec["initContainers"]
        assert init["command"] == ["python", "-m", "devstack.migrate", "wait", name]
        assert [e["name"] for e in init["env"]] == [f"{name.upper()}_DATABASE_URL"]
        assert spec["securityContext"]["runAsNonRoot"] is True


def test_migrate_job_matches_the_compose_migrate_step(manifests: dict, compose: dict) -> None:
    job = manifests[("Job", "migrate")]
    c = job["spec"]["template"]["spec"]["containers"][0]
    assert c["command"] == compose["services"]["migrate"]["command"]
    assert {e["name"] for e in c["env"]} == set(compose["services"]["migrate"]["environment"])
    assert job["spec"]["template"]["spec"]["restartPolicy"] == "Never"


def test_secret_references_exist_in_the_secret_example(manifests: dict) -> None:
    example = manifests[("Secret", "chungtay-secrets")]["stringData"]
    config = manifests[("ConfigMap", "chungtay-config")]["data"]
    for (kind, name), doc in manifests.items():
        if kind not in {"Deployment", "StatefulSet", "Job"}:
            continue
        spec = doc["spec"]["template"]["spec"]
        for c in [*spec.get("initContainers", []), *spec["containers"]]:
            for e in c.get("env", []):
                ref = e.get("valueFrom", {})
                if "secretKeyRef" in ref and not ref["secretKeyRef"].get("optional"):
                    assert ref["secretKeyRef"]["key"] in example, f"{name}: {e['name']}"
                if "configMapKeyRef" in ref:
                    assert ref["configMapKeyRef"]["key"] in config, f"{name}: {e['name']}"


def test_init_material_is_the_same_as_compose_uses(manifests: dict) -> None:
    init = manifests[("ConfigMap", "postgres-init")]["data"]["10-init-databases.sh"]
    assert init == (ROOT / "deploy/postgres/init-databases.sh").read_text()
    nats = manifests[("ConfigMap", "nats-config")]["data"]["nats.conf"]
    assert nats == (ROOT / "deploy/nats/nats.conf").read_text()
    nats_container = container(manifests, "StatefulSet", "nats")
    assert nats_container["args"] == ["nats-server", "--config", "/etc/nats/nats.conf"]
    assert {m["mountPath"] for m in nats_container["volumeMounts"]} == {"/data", "/etc/nats"}


def test_the_database_accepts_every_connection_the_services_may_hold(manifests: dict, compose: dict) -> None:
    # Per process: its pool (DB_POOL_SIZE, kept open), its relay, consumers and imports (a few more).
    per_process = ServiceSettings.model_fields["db_pool_size"].default + 10
    processes = sum(manifests[("Deployment", name)]["spec"]["replicas"] for name in APPS)
    k8s = container(manifests, "StatefulSet", "postgres")["args"]
    compose_command = compose["services"]["postgres"]["command"]
    for args in (k8s, compose_command):
        limit = int(next(a for a in args if a.startswith("max_connections=")).split("=")[1])
        assert limit >= processes * per_process, (args, processes, per_process)
