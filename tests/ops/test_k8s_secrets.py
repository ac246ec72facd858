"""deploy/k8s/secrets/create-secrets.sh makes every Secret the manifests read, fresh, in the forms the
apps accept (the principal key pair signs and verifies, the symmetric keys decode), with each role's
password the same in its Secret and in its database URL; with an external PostgreSQL it takes the URLs
given and refuses to go on without them."""

from __future__ import annotations

import base64
import os
import subprocess
from pathlib import Path

import kubernetes_validate
import pytest
import yaml

from services.registry.dci.encryption import Decrypter, encrypt
from services.registry.dci.signatures import Signer, verify
from shared.crypto import decode_key
from shared.principal import PrincipalSigner, PrincipalVerifier
from tests.kit import make_principal
from tests.ops.compose import APPS
from tests.ops.kustomize import BASE, K8S, WORKLOADS, all_containers, build, by_kind_and_name, kubectl

SCRIPT = K8S / "secrets" / "create-secrets.sh"


def run(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    path = f"{Path(kubectl()).parent}{os.pathsep}{os.environ.get('PATH', '/usr/bin:/bin')}"
    return subprocess.run(["bash", str(SCRIPT), *args], capture_output=True, text=True, timeout=60,
                          env={"PATH": path, "HOME": os.environ.get("HOME", "/tmp"), **env})


def secrets_of(output: str) -> dict[str, dict[str, str]]:
    """Secret name -> its decoded values; every document validated against the Kubernetes schema."""
    found = {}
    for doc in yaml.safe_load_all(output):
        if doc:
            kubernetes_validate.validate(doc, "1.33", strict=True)
            assert doc["kind"] == "Secret" and doc["metadata"]["namespace"] == "chungtay"
            if doc.get("type") == "kubernetes.io/basic-auth":  # a role: the operator applies a new password
                assert doc["metadata"]["labels"] == {"cnpg.io/reload": "true"}
            found[doc["metadata"]["name"]] = {k: base64.b64decode(v).decode() for k, v in doc["data"].items()}
    return found


def keys_the_workloads_read() -> set[str]:
    keys = set()
    for obj in build(BASE):
        if obj["kind"] in WORKLOADS:
            for c in all_containers(obj):
                for e in c.get("env", []):
                    ref = e.get("valueFrom", {}).get("secretKeyRef")
                    if ref and ref["key"] != "demo-password":  # only with DEMO_ACCOUNTS "1"
                        keys.add(ref["key"])
    return keys


@pytest.fixture(scope="module")
def generated() -> dict[str, dict[str, str]]:
    result = run()
    assert result.returncode == 0, result.stderr
    return secrets_of(result.stdout)


def test_every_key_the_manifests_read_is_made(generated: dict[str, dict[str, str]]) -> None:
    assert set(generated["chungtay-secrets"]) == keys_the_workloads_read()
    assert set(generated) == {"chungtay-secrets", *(f"chungtay-db-{app}" for app in APPS)}


def test_the_keys_are_what_the_apps_accept(generated: dict[str, dict[str, str]]) -> None:
    values = generated["chungtay-secrets"]
    principal = make_principal("province_officer", ["24"])
    token = PrincipalSigner(values["principal-private-key"]).sign(principal)
    assert PrincipalVerifier(values["principal-public-key"]).verify(token).id == principal.id
    keys = [decode_key(values[k], k) for k in ("registry-personal-data-key", "registry-personal-data-hash-key",
                                                "gateway-signing-key-encryption-key")]
    assert len(set(keys)) == 3  # three independent keys
    # The registry's DCI keys: it signs with the first (a client verifies with the published half), and
    # opens what a client encrypted to the public half of the second.
    signer = Signer(values["registry-dci-signing-key"])
    verify(signer.signed({"header": {"action": "on-search"}, "message": {"n": 1}}), [signer.public_jwk])
    decrypter = Decrypter(values["registry-dci-encryption-key"])
    assert decrypter.open(encrypt({"transaction_id": "T-1"}, decrypter.public_jwk)) == {"transaction_id": "T-1"}
    assert signer.public_jwk["kid"] != decrypter.kid
    assert len(values["admin-password"]) >= 24 and len(values["gateway-metrics-token"]) == 64


def test_each_role_password_is_the_one_in_its_database_url(generated: dict[str, dict[str, str]]) -> None:
    cluster = by_kind_and_name(build(BASE))[("Cluster", "chungtay-postgres")]
    initdb = cluster["spec"]["bootstrap"]["initdb"]
    secret_of_role = {initdb["owner"]: initdb["secret"]["name"]}
    secret_of_role.update({r["name"]: r["passwordSecret"]["name"] for r in cluster["spec"]["managed"]["roles"]})
    passwords = set()
    for app in APPS:
        role = generated[secret_of_role[f"chungtay_{app}"]]
        assert role["username"] == f"chungtay_{app}"
        assert generated["chungtay-secrets"][f"{app}-database-url"] == (
            f"postgresql+asyncpg://chungtay_{app}:{role['password']}@chungtay-postgres-rw:5432/chungtay_{app}")
        passwords.add(role["password"])
    assert len(passwords) == len(APPS)


def test_every_run_makes_new_secrets(generated: dict[str, dict[str, str]]) -> None:
    again = secrets_of(run().stdout)
    for key, value in generated["chungtay-secrets"].items():
        assert again["chungtay-secrets"][key] != value, key


def test_an_external_postgres_takes_the_given_urls_and_needs_them_all() -> None:
    urls = {f"{app.upper()}_DATABASE_URL": f"postgresql://chungtay_{app}:pw@db.tinh:5432/chungtay_{app}"
            for app in APPS}
    result = run("--external-postgres", **urls)
    assert result.returncode == 0, result.stderr
    secrets = secrets_of(result.stdout)
    assert set(secrets) == {"chungtay-secrets"}
    assert {secrets["chungtay-secrets"][f"{app}-database-url"] for app in APPS} == set(urls.values())
    del urls["REPORTING_DATABASE_URL"]
    refused = run("--external-postgres", **urls)
    assert refused.returncode == 1 and refused.stdout == ""
    assert "set REPORTING_DATABASE_URL" in refused.stderr
