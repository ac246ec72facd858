"""Every object of the base and of every overlay is valid for the Kubernetes API server, offline:
built-in kinds against the Kubernetes JSON schemas that `kubernetes-validate` ships (strict: an unknown
field is an error, as `kubectl apply` makes it), CloudNativePG's kinds against the CRDs vendored in
deploy/k8s/schemas/ (see its README for the release)."""

from __future__ import annotations

import functools
import re
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate
import pytest
import referencing
import yaml
from kubernetes_validate.utils import schema_contents

from tests.ops.kustomize import BUILDS, K8S, Manifest, build, label

# The oldest Kubernetes release still maintained upstream when this was written, and the newest the
# schemas cover: the manifests must be valid on both.
KUBERNETES_VERSIONS = ("1.33", "1.37")
CNPG_SCHEMAS = K8S / "schemas" / "cloudnative-pg-1.29.2"


def strict(schema: Any) -> Any:
    """A CRD's openAPIV3Schema that, like the API server with field validation on, rejects unknown
    fields: every object schema listing its properties gets additionalProperties: false."""
    if isinstance(schema, dict):
        schema = {key: strict(value) for key, value in schema.items()}
        if ("properties" in schema and "additionalProperties" not in schema
                and not schema.get("x-kubernetes-preserve-unknown-fields")):
            schema["additionalProperties"] = False
        return schema
    if isinstance(schema, list):
        return [strict(item) for item in schema]
    return schema


@functools.cache
def crd_validators() -> dict[tuple[str, str], jsonschema.protocols.Validator]:
    """(apiVersion, kind) -> a validator of that custom resource."""
    validators = {}
    for path in sorted(CNPG_SCHEMAS.glob("*.yaml")):
        crd = yaml.safe_load(path.read_text())
        group, kind = crd["spec"]["group"], crd["spec"]["names"]["kind"]
        for version in crd["spec"]["versions"]:
            if version["served"]:
                schema = strict(version["schema"]["openAPIV3Schema"])
                validators[(f"{group}/{version['name']}", kind)] = jsonschema.Draft7Validator(schema)
    return validators


@functools.cache
def kubernetes_validator(version: str, api_version: str, kind: str) -> jsonschema.protocols.Validator | None:
    """kubernetes_validate.validate's strict schema of one kind, loaded once (it reads the files anew
    for every object: several times slower over hundreds of objects)."""
    folder = f"kubernetes-json-schema/v{version}.0-local-strict"
    group_version = re.sub(r"^([^./]*)(?:\.[^/]*)?/", r"\1-", api_version)  # networking.k8s.io/v1 -> networking-v1
    try:
        schema = schema_contents(f"{folder}/{kind.lower()}-{group_version}.json", version)
    except FileNotFoundError:
        return None
    definitions = schema_contents(f"{folder}/_definitions.json", version)
    registry = referencing.Resource.from_contents(definitions) @ (
        referencing.Resource.from_contents(schema) @ referencing.Registry())
    return jsonschema.Draft202012Validator(schema, registry=registry)


def errors_of(obj: Manifest, version: str) -> list[str]:
    name = f"{obj['kind']}/{obj['metadata']['name']}"
    validator = crd_validators().get((obj["apiVersion"], obj["kind"]))
    if validator is None:
        validator = kubernetes_validator(version, obj["apiVersion"], obj["kind"])
    if validator is None:
        return [f"{name}: no schema for {obj['apiVersion']} {obj['kind']} in Kubernetes {version}"]
    return [f"{name} (Kubernetes {version}): {'.'.join(map(str, e.absolute_path))}: {e.message}"
            for e in validator.iter_errors(obj)]


@pytest.mark.parametrize("version", KUBERNETES_VERSIONS)
@pytest.mark.parametrize("directory", BUILDS, ids=label)
def test_every_object_is_valid_against_its_schema(directory: Path, version: str) -> None:
    objects = build(directory)
    errors = [error for obj in objects for error in errors_of(obj, version)]
    assert not errors, "\n".join(errors)
    assert {obj["kind"] for obj in objects} >= {"Deployment", "StatefulSet", "Job", "CronJob", "NetworkPolicy"}


def test_the_vendored_crds_catch_what_the_api_server_would_refuse() -> None:
    """The CRD check has teeth: a misspelt field, a wrong type and a missing required field fail."""
    cluster = next(o for o in build(BUILDS[0]) if o["kind"] == "Cluster")
    assert errors_of(cluster, KUBERNETES_VERSIONS[0]) == []
    misspelt = {**cluster, "spec": {**cluster["spec"], "instance": 3}}
    wrong_type = {**cluster, "spec": {**cluster["spec"], "instances": "three"}}
    for broken in (misspelt, wrong_type):
        assert errors_of(broken, KUBERNETES_VERSIONS[0]), broken["spec"]
    database = next(o for o in build(BUILDS[0]) if o["kind"] == "Database")
    no_owner = {**database, "spec": {k: v for k, v in database["spec"].items() if k != "owner"}}
    assert errors_of(no_owner, KUBERNETES_VERSIONS[0])


def test_the_kubernetes_schemas_agree_with_kubernetes_validate_and_catch_mistakes() -> None:
    deployment = next(o for o in build(BUILDS[0]) if o["kind"] == "Deployment")
    policy = next(o for o in build(BUILDS[0]) if o["kind"] == "NetworkPolicy")
    for good in (deployment, policy):
        kubernetes_validate.validate(good, KUBERNETES_VERSIONS[0], strict=True)  # raises when invalid
    misspelt = {**deployment, "spec": {**deployment["spec"], "replica": 2}}
    bad_port = {**policy, "spec": {**policy["spec"], "ingress": [{"ports": [{"port": [5432]}]}]}}
    for broken in (misspelt, bad_port):
        assert errors_of(broken, KUBERNETES_VERSIONS[0])
        with pytest.raises(kubernetes_validate.ValidationError):
            kubernetes_validate.validate(broken, KUBERNETES_VERSIONS[0], strict=True)
