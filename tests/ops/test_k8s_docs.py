"""The site overlay that docs/operations.md tells an operator to write builds, and its patches land
where the guide says (ingress host, the API server's and the callbacks' addresses, the image)."""

from __future__ import annotations

import re
from pathlib import Path

from tests.ops.compose import ROOT
from tests.ops.kustomize import build, by_kind_and_name, pod_spec

GUIDE = ROOT / "docs" / "operations.md"


def site_overlay_of_the_guide() -> str:
    blocks = re.findall(r"```yaml\n(# site/kustomization.yaml\n.*?)```", GUIDE.read_text(), re.DOTALL)
    assert len(blocks) == 1, "docs/operations.md shows one site overlay"
    return str(blocks[0])


def test_the_guides_site_overlay_builds_and_sets_the_site(tmp_path: Path) -> None:
    (tmp_path / "chungtay").symlink_to(ROOT)  # the repository checked out beside the site's folder
    site = tmp_path / "site"
    site.mkdir()
    (site / "kustomization.yaml").write_text(site_overlay_of_the_guide())
    objects = by_kind_and_name(build(site))

    rule = objects[("Ingress", "gateway")]["spec"]
    assert rule["rules"][0]["host"] == rule["tls"][0]["hosts"][0] == "chungtay.tinh.gov.vn"
    api_server = objects[("NetworkPolicy", "postgres")]["spec"]["egress"][1]
    assert api_server["to"] == [{"ipBlock": {"cidr": "10.0.0.10/32"}}]
    assert {p["port"] for p in api_server["ports"]} == {443, 6443}
    callbacks = objects[("NetworkPolicy", "registry-callbacks-egress")]["spec"]["egress"][0]
    assert callbacks["to"] == [{"ipBlock": {"cidr": "10.1.2.0/24"}}]
    (registry,) = pod_spec(objects[("Deployment", "registry")])["containers"]
    assert registry["image"] == "REGISTRY/chungtay:0.1.0"
    # Built on the province overlay: its sizing came along.
    assert objects[("Cluster", "chungtay-postgres")]["spec"]["storage"]["size"] == "200Gi"
