"""The NetworkPolicies isolate as docs/operations.md says: evaluated with the Kubernetes semantics
(a pod selected by a policy of a direction is isolated in that direction; a connection needs the
source's egress and the destination's ingress to allow it) over the pods the manifests run, pods of
other namespaces and addresses outside the cluster; the set of allowed connections must be exactly
the expected one."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from tests.ops.compose import PORTS, SERVICES
from tests.ops.kustomize import BUILDS, WORKLOADS, Manifest, build, label, pod_template

NAMESPACE = "chungtay"


@dataclass(frozen=True)
class Peer:
    name: str
    namespace: str | None = None  # None: an address outside the cluster
    labels: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    namespace_labels: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    ip: str | None = None


def outside_namespace(name: str, namespace: str, pod_labels: dict[str, str], **ns_labels: str) -> Peer:
    return Peer(name, namespace, pod_labels, {"kubernetes.io/metadata.name": namespace, **ns_labels})


OTHERS = [
    outside_namespace("ingress-controller", "ingress-nginx", {"app.kubernetes.io/name": "ingress-nginx"},
                      **{"chungtay.io/ingress": "true"}),
    outside_namespace("prometheus", "monitoring", {"app.kubernetes.io/name": "prometheus"},
                      **{"chungtay.io/monitoring": "true"}),
    outside_namespace("cnpg-operator", "cnpg-system", {"app.kubernetes.io/name": "cloudnative-pg"}),
    outside_namespace("kube-dns", "kube-system", {"k8s-app": "kube-dns"}),
    # Same labels as our gateway, another namespace: must not reach anything of ours.
    outside_namespace("foreign-gateway", "elsewhere", {"app.kubernetes.io/name": "gateway"}),
    Peer("stranger", NAMESPACE, {"app.kubernetes.io/name": "debug-shell"}, {"kubernetes.io/metadata.name": NAMESPACE}),
    Peer("api-server", ip="192.0.2.1"),  # the placeholder address of the Kubernetes API server
    Peer("callback-partner", ip="198.51.100.7"),
    Peer("external-postgres", ip="203.0.113.10"),
    Peer("internet", ip="8.8.8.8"),
]
PORTS_TRIED = [("UDP", 53), ("TCP", 53), *[("TCP", p) for p in (443, 4222, 5432, 6222, 6379, 6443, 8000, 8222)],
               *[("TCP", PORTS[s]) for s in SERVICES]]


def pods_of(objects: list[Manifest]) -> list[Peer]:
    ns = {"kubernetes.io/metadata.name": NAMESPACE}
    pods = [Peer(o["metadata"]["name"], NAMESPACE, pod_template(o)["metadata"]["labels"], ns)
            for o in objects if o["kind"] in WORKLOADS]
    for cluster in (o for o in objects if o["kind"] == "Cluster"):  # the operator's instance pods
        pods.append(Peer("postgres", NAMESPACE, {"cnpg.io/cluster": cluster["metadata"]["name"],
                                                  "cnpg.io/podRole": "instance"}, ns))
    return pods


def matches(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for e in selector.get("matchExpressions", []):
        key, op, values = e["key"], e["operator"], e.get("values", [])
        ok = {"In": labels.get(key) in values, "NotIn": labels.get(key) not in values,
              "Exists": key in labels, "DoesNotExist": key not in labels}[op]
        if not ok:
            return False
    return True


def peer_matches(rule_peer: dict[str, Any], peer: Peer) -> bool:
    if "ipBlock" in rule_peer:
        if peer.ip is None:
            return False  # pod addresses are not in the CIDRs we use (documentation ranges)
        block = rule_peer["ipBlock"]
        address = ipaddress.ip_address(peer.ip)
        return address in ipaddress.ip_network(block["cidr"]) and not any(
            address in ipaddress.ip_network(x) for x in block.get("except", []))
    if peer.namespace is None:
        return False
    if "namespaceSelector" in rule_peer:
        in_namespace = matches(rule_peer["namespaceSelector"], peer.namespace_labels)
    else:
        in_namespace = peer.namespace == NAMESPACE  # a bare podSelector means the policy's namespace
    return in_namespace and matches(rule_peer.get("podSelector", {}), peer.labels)


def rule_allows(rule: dict[str, Any], direction: str, peer: Peer, port: tuple[str, int]) -> bool:
    everybody = [{"namespaceSelector": {}}, {"ipBlock": {"cidr": "0.0.0.0/0"}}]  # no from/to: any peer
    peers = rule.get("from" if direction == "Ingress" else "to") or everybody
    ports = rule.get("ports") or [{"protocol": port[0], "port": port[1]}]
    for p in ports:
        assert isinstance(p["port"], int), f"named port {p['port']}: give numbers, this check resolves no names"
    return any(peer_matches(x, peer) for x in peers) and any(
        (p.get("protocol", "TCP"), p["port"]) == port for p in ports)


def allowed_by(policies: list[Manifest], direction: str, pod: Peer, peer: Peer, port: tuple[str, int]) -> bool:
    if pod.namespace != NAMESPACE:
        return True  # outside our namespace our policies say nothing (its own may)
    selecting = [p for p in policies
                 if direction in p["spec"]["policyTypes"] and matches(p["spec"]["podSelector"], pod.labels)]
    if not selecting:
        return True
    key = "ingress" if direction == "Ingress" else "egress"
    return any(rule_allows(rule, direction, peer, port) for p in selecting for rule in p["spec"].get(key, []))


def allowed_connections(objects: list[Manifest], extra: tuple[Peer, ...] = ()) -> set[tuple[str, str, str, int]]:
    policies = [o for o in objects if o["kind"] == "NetworkPolicy"]
    everyone = [*pods_of(objects), *OTHERS, *extra]
    found = set()
    for src in everyone:
        for dst in everyone:
            if src.namespace != NAMESPACE and dst.namespace != NAMESPACE:
                continue  # neither end is ours
            if src.namespace is None:
                continue  # nothing outside the cluster connects in except through the ingress controller
            for port in PORTS_TRIED:
                if allowed_by(policies, "Egress", src, dst, port) and allowed_by(policies, "Ingress", dst, src, port):
                    found.add((src.name, dst.name, *port))
    return found


def expected(external_postgres: str | None) -> set[tuple[str, str, str, int]]:
    apps = [*SERVICES, "gateway"]
    ours = [*apps, "migrate", "backup", "nats", "redis", "stranger", *([] if external_postgres else ["postgres"])]
    database = external_postgres or "postgres"
    allowed = {(pod, "kube-dns", protocol, 53) for pod in ours for protocol in ("UDP", "TCP")}
    allowed |= {("ingress-controller", "gateway", "TCP", 8000), ("prometheus", "gateway", "TCP", 8000)}
    allowed |= {("prometheus", s, "TCP", PORTS[s]) for s in SERVICES}
    allowed |= {("gateway", s, "TCP", PORTS[s]) for s in SERVICES} | {("gateway", "redis", "TCP", 6379)}
    allowed |= {(a, "nats", "TCP", 4222) for a in [*apps, "backup"]} | {("nats", "nats", "TCP", 6222)}
    allowed |= {(a, database, "TCP", 5432) for a in [*apps, "migrate", "backup"]}
    allowed |= {("registry", "callback-partner", "TCP", 443)}
    if not external_postgres:
        allowed |= {(src, "postgres", "TCP", p) for src in ("cnpg-operator", "postgres") for p in (5432, 8000)}
        allowed |= {("postgres", "api-server", "TCP", p) for p in (443, 6443)}
    return allowed


@pytest.mark.parametrize("directory", BUILDS, ids=label)
def test_exactly_the_expected_connections_are_allowed(directory: Path) -> None:
    objects = build(directory)
    extra: tuple[Peer, ...] = ()
    external = None
    if not any(o["kind"] == "Cluster" for o in objects):  # PostgreSQL at the address the overlay sets
        (policy,) = [o for o in objects if o["kind"] == "NetworkPolicy" and o["metadata"]["name"] == "apps-to-postgres"]
        (rule,) = policy["spec"]["egress"]
        (peer,) = rule["to"]
        address = ipaddress.ip_network(peer["ipBlock"]["cidr"])
        assert address.prefixlen == 32, "the example sets one server"
        external = "site-postgres"
        extra = (Peer(external, ip=str(address.network_address)),)
    allowed = allowed_connections(objects, extra)
    want = expected(external)
    assert allowed == want, f"unexpected: {sorted(allowed - want)}\nmissing: {sorted(want - allowed)}"


def test_the_evaluator_refuses_what_a_policy_does_not_allow() -> None:
    """The check itself has teeth: dropping the gateway's egress to the registry cuts that connection,
    and a policy opening the services to the whole namespace shows up as unexpected connections."""
    objects = build(BUILDS[0])
    for policy in objects:
        if policy["kind"] == "NetworkPolicy" and policy["metadata"]["name"] == "gateway-egress":
            policy["spec"]["egress"] = policy["spec"]["egress"][1:]
    assert ("gateway", "registry", "TCP", 8101) not in allowed_connections(objects)
    objects.append({"kind": "NetworkPolicy", "metadata": {"name": "too-open"}, "spec": {
        "podSelector": {"matchLabels": {"app.kubernetes.io/name": "support"}}, "policyTypes": ["Ingress"],
        "ingress": [{"from": [{"podSelector": {}}]}]}})
    assert ("stranger", "support", "TCP", 8102) not in allowed_connections(objects)  # stranger's egress is denied
    assert ("registry", "support", "TCP", 8102) not in allowed_connections(objects)  # so is registry's
    objects.append({"kind": "NetworkPolicy", "metadata": {"name": "egress-anywhere"}, "spec": {
        "podSelector": {}, "policyTypes": ["Egress"], "egress": [{}]}})
    opened = allowed_connections(objects)
    assert ("stranger", "support", "TCP", 8102) in opened and ("registry", "internet", "TCP", 443) in opened
