"""What an operator relies on in every build (the base and each overlay): each app has probes,
requests and limits, an autoscaler and a disruption budget; every pod meets the "restricted" Pod
Security Standard; images are pinned and the project's image has one tag; no secret is in the
repository, only examples."""

from __future__ import annotations

import subprocess
import tomllib
from pathlib import Path

import pytest

from tests.ops.compose import APPS, ROOT, resolved_compose
from tests.ops.kustomize import (
    BASE,
    BUILDS,
    OVERLAYS,
    WORKLOADS,
    Manifest,
    all_containers,
    build,
    by_kind_and_name,
    label,
    pod_spec,
    read_yaml_documents,
)

PROJECT_IMAGE = "chungtay"


def selects(selector: dict[str, str], labels: dict[str, str]) -> bool:
    return all(labels.get(k) == v for k, v in selector.items())


@pytest.mark.parametrize("directory", BUILDS, ids=label)
def test_every_app_has_probes_resources_an_autoscaler_and_a_disruption_budget(directory: Path) -> None:
    objects = by_kind_and_name(build(directory))
    for name in APPS:
        deployment = objects[("Deployment", name)]
        pod_labels = deployment["spec"]["template"]["metadata"]["labels"]
        assert "replicas" not in deployment["spec"], f"{name}: the HPA owns the replica count"
        (c,) = pod_spec(deployment)["containers"]
        for probe, path in (("startupProbe", "/health"), ("livenessProbe", "/health"), ("readinessProbe", "/ready")):
            assert c[probe]["httpGet"] == {"path": path, "port": "http"}, (name, probe)
        assert {p["name"] for p in c["ports"]} == {"http"}

        hpa = objects[("HorizontalPodAutoscaler", name)]["spec"]
        assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": name}
        assert 2 <= hpa["minReplicas"] <= hpa["maxReplicas"], (name, hpa)
        (metric,) = hpa["metrics"]
        assert metric["resource"]["name"] == "cpu" and "cpu" in c["resources"]["requests"]

        pdb = objects[("PodDisruptionBudget", name)]["spec"]
        assert selects(pdb["selector"]["matchLabels"], pod_labels)
        # One pod may go at a time, and the autoscaler never runs fewer than two: a drain never stops
        # an app, and the budget never blocks a drain.
        assert pdb == {"maxUnavailable": 1, "selector": pdb["selector"]}


@pytest.mark.parametrize("directory", BUILDS, ids=label)
def test_every_container_has_requests_and_limits(directory: Path) -> None:
    for obj in build(directory):
        if obj["kind"] not in WORKLOADS:
            continue
        for c in all_containers(obj):
            resources = c.get("resources", {})
            for kind in ("requests", "limits"):
                assert set(resources.get(kind, {})) == {"cpu", "memory"}, (obj["metadata"]["name"], c["name"], kind)


@pytest.mark.parametrize("directory", BUILDS, ids=label)
def test_every_pod_meets_the_restricted_pod_security_standard(directory: Path) -> None:
    objects = build(directory)
    (namespace,) = [o for o in objects if o["kind"] == "Namespace"]
    assert namespace["metadata"]["labels"]["pod-security.kubernetes.io/enforce"] == "restricted"
    for obj in objects:
        if obj["kind"] not in WORKLOADS:
            continue
        name = obj["metadata"]["name"]
        spec = pod_spec(obj)
        assert spec["securityContext"]["runAsNonRoot"] is True, name
        assert spec["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}, name
        assert spec["automountServiceAccountToken"] is False, f"{name} never calls the Kubernetes API"
        for c in all_containers(obj):
            context = c["securityContext"]
            assert context["allowPrivilegeEscalation"] is False, (name, c["name"])
            assert context["capabilities"] == {"drop": ["ALL"]}, (name, c["name"])
            assert context["readOnlyRootFilesystem"] is True, (name, c["name"])


@pytest.mark.parametrize("directory", BUILDS, ids=label)
def test_every_object_lives_in_the_chungtay_namespace(directory: Path) -> None:
    for obj in build(directory):
        if obj["kind"] != "Namespace":
            assert obj["metadata"]["namespace"] == "chungtay", (obj["kind"], obj["metadata"]["name"])


def images(objects: list[Manifest]) -> dict[str, set[str]]:
    """Image name (without tag) -> the references used."""
    found: dict[str, set[str]] = {}
    for obj in objects:
        if obj["kind"] in WORKLOADS:
            for c in all_containers(obj):
                found.setdefault(c["image"].rsplit(":", 1)[0], set()).add(c["image"])
        if obj["kind"] == "Cluster":
            image = obj["spec"]["imageName"]
            found.setdefault(image.rsplit(":", 1)[0], set()).add(image)
    return found


@pytest.mark.parametrize("directory", BUILDS, ids=label)
def test_images_are_pinned_and_the_project_image_has_one_tag(directory: Path) -> None:
    objects = build(directory)
    used = images(objects)
    project = [name for name in used if name.rsplit("/", 1)[-1] == PROJECT_IMAGE]
    assert len(project) == 1 and len(used[project[0]]) == 1, used  # apps, init containers and migrate alike
    # Every container running the project's code runs the project's image (and nothing else does).
    for obj in objects:
        if obj["kind"] in WORKLOADS:
            for c in all_containers(obj):
                runs_project = c.get("command", [""])[0] in {"python", "uvicorn"}
                assert runs_project == (c["image"].rsplit(":", 1)[0] == project[0]), (obj["metadata"]["name"], c)
    for references in used.values():
        for reference in references:
            assert ":" in reference.rsplit("/", 1)[-1], f"{reference}: no tag"
            if directory != BASE:
                assert not reference.endswith(":latest"), reference


def test_overlays_deploy_this_release_and_the_compose_nats_image() -> None:
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    compose = resolved_compose()
    for directory in OVERLAYS:
        used = images(build(directory))
        (project,) = [refs for name, refs in used.items() if name.endswith(PROJECT_IMAGE)]
        assert {ref.rsplit(":", 1)[1] for ref in project} == {version}, label(directory)
        assert used["nats"] == {compose["services"]["nats"]["image"]}, label(directory)


@pytest.mark.parametrize("directory", BUILDS, ids=label)
def test_no_build_carries_a_secret(directory: Path) -> None:
    assert [o["metadata"]["name"] for o in build(directory) if o["kind"] == "Secret"] == []


def test_the_repository_holds_secrets_only_as_examples() -> None:
    tracked = subprocess.run(["git", "ls-files", "deploy"], cwd=ROOT, capture_output=True, text=True, check=True)
    examples = 0
    for name in tracked.stdout.split():
        path = ROOT / name
        if path.suffix not in {".yaml", ".yml"} or "schemas" in path.parts:
            continue
        for doc in read_yaml_documents(path):
            # Non-manifest YAML (e.g. a Prometheus scrape list) holds no Kubernetes object.
            if not isinstance(doc, dict) or doc.get("kind") != "Secret":
                continue
            assert path.name.endswith(".example.yaml"), f"{name}: a Secret outside an example"
            examples += 1
            # Placeholders only: every value says change-me (passwords, keys, URLs) or how to generate it.
            for key, value in {**doc.get("stringData", {}), **doc.get("data", {})}.items():
                if key == "username":
                    continue
                assert "change-me" in value or "(generated, see above)" in value, (name, key)
    assert examples == 6  # chungtay-secrets and one role Secret per app
