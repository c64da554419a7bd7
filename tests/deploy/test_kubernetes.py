"""Every Kubernetes overlay renders, validates against the Kubernetes schemas, and keeps its promises:
hardened workloads, NetworkPolicies that let each service reach only what it needs, and Strimzi topics and
users that match what the services' code publishes and consumes."""

from __future__ import annotations

from typing import Any

import kubernetes_validate
import pytest

from coalitionctl.config import CtlSettings
from coalitionctl.services import all_groups
from common.contracts import topics
from common.contracts.topics import dead_letter_topic

KUBERNETES_VERSION = "1.32"  # the oldest minor the manifests support (kubectl on the build machines is 1.32)
WORKLOAD_OVERLAYS = ("overlays/dev", "overlays/production")
SERVICES = ("identity", "coalition", "campaigns", "notifications")
STRIMZI = "kafka.strimzi.io/v1beta2"


def _deployments(rendered: dict[str, list[dict[str, Any]]], overlay: str) -> list[dict[str, Any]]:
    return [d for d in rendered[overlay] if d["kind"] == "Deployment"]


@pytest.mark.parametrize("overlay", ["overlays/dev", "overlays/production", "overlays/production/kafka"])
def test_every_resource_of_the_overlay_is_valid_against_the_kubernetes_schemas(
    rendered: dict[str, list[dict[str, Any]]], overlay: str
) -> None:
    problems = []
    for resource in rendered[overlay]:
        if resource["apiVersion"] == STRIMZI:
            continue  # custom resources: checked against Strimzi's structure below
        try:
            kubernetes_validate.validate(resource, KUBERNETES_VERSION, strict=True)
        except (kubernetes_validate.ValidationError, kubernetes_validate.SchemaNotFoundError) as exc:
            problems.append(f"{resource['kind']}/{resource['metadata']['name']}: {exc}")

    assert problems == []
    assert rendered[overlay], f"{overlay} rendered nothing"


def test_a_broken_manifest_is_refused_by_the_schemas(rendered: dict[str, list[dict[str, Any]]]) -> None:
    deployment = _deployments(rendered, "overlays/production")[0]
    broken = {**deployment, "spec": {**deployment["spec"], "replicas": "two"}}

    with pytest.raises(kubernetes_validate.ValidationError):
        kubernetes_validate.validate(broken, KUBERNETES_VERSION, strict=True)


@pytest.mark.parametrize("overlay", WORKLOAD_OVERLAYS)
def test_every_workload_is_hardened_limited_and_probed(
    rendered: dict[str, list[dict[str, Any]]], overlay: str
) -> None:
    deployments = _deployments(rendered, overlay)
    assert {d["metadata"]["labels"]["app.kubernetes.io/name"] for d in deployments} == set(SERVICES)
    for deployment in deployments:
        name = deployment["metadata"]["name"]
        pod = deployment["spec"]["template"]["spec"]
        assert pod["securityContext"]["runAsNonRoot"] is True, name
        assert pod["securityContext"]["runAsUser"] != 0, name
        assert pod.get("automountServiceAccountToken") is False, name
        for container in pod["containers"]:
            security = container["securityContext"]
            assert security["allowPrivilegeEscalation"] is False, name
            assert security["readOnlyRootFilesystem"] is True, name
            assert security["capabilities"]["drop"] == ["ALL"], name
            assert security.get("privileged", False) is False, name
            for kind in ("requests", "limits"):
                assert {"cpu", "memory"} <= set(container["resources"][kind]), f"{name} {kind}"
            assert container["livenessProbe"]["httpGet"]["path"] == "/healthz", name
            assert container["readinessProbe"]["httpGet"]["path"] == "/readyz", name


def _selects(selector: dict[str, Any], labels: dict[str, str]) -> bool:
    if any(labels.get(k) != v for k, v in selector.get("matchLabels", {}).items()):
        return False
    for expression in selector.get("matchExpressions", []):
        value = labels.get(expression["key"])
        if expression["operator"] == "In" and value not in expression["values"]:
            return False
        if expression["operator"] == "NotIn" and value in expression["values"]:
            return False
    return True


def _peer(peer: dict[str, Any]) -> str:
    if "ipBlock" in peer:
        return f"internet except {','.join(peer['ipBlock'].get('except', []))}"
    namespace = (
        peer.get("namespaceSelector", {}).get("matchLabels", {}).get("kubernetes.io/metadata.name", "own")
    )
    pods = peer.get("podSelector", {}).get("matchLabels", {})
    who = pods.get("app.kubernetes.io/name") or pods.get("k8s-app") or "any"
    return f"{namespace}/{who}"


def _egress(
    rendered: dict[str, list[dict[str, Any]]], overlay: str, labels: dict[str, str]
) -> set[tuple[str, int]]:
    allowed: set[tuple[str, int]] = set()
    for policy in rendered[overlay]:
        if policy["kind"] != "NetworkPolicy" or not _selects(policy["spec"]["podSelector"], labels):
            continue
        for rule in policy["spec"].get("egress", []):
            assert rule.get("to"), f"{policy['metadata']['name']} allows egress to everywhere"
            assert rule.get("ports"), f"{policy['metadata']['name']} allows egress on every port"
            for peer in rule["to"]:
                allowed |= {(_peer(peer), port["port"]) for port in rule["ports"]}
    return allowed


BASE_EGRESS = {
    ("kube-system/kube-dns", 53),
    ("mongodb/any", 27017),
    ("kafka/any", 9092),
    ("kafka/any", 9093),
    ("observability/any", 4318),
}
PRIVATE = "10.0.0.0/8,172.16.0.0/12,192.168.0.0/16,169.254.0.0/16,100.64.0.0/10"
EXPECTED_EGRESS = {
    "identity": BASE_EGRESS,
    "coalition": BASE_EGRESS | {("own/identity", 8001)},
    "campaigns": BASE_EGRESS | {("own/identity", 8001)},
    "notifications": BASE_EGRESS
    | {("own/identity", 8001), *((f"internet except {PRIVATE}", p) for p in (443, 465, 587))},
}


@pytest.mark.parametrize("overlay", WORKLOAD_OVERLAYS)
def test_each_service_reaches_only_dns_mongodb_kafka_traces_and_what_it_calls(
    rendered: dict[str, list[dict[str, Any]]], overlay: str
) -> None:
    for deployment in _deployments(rendered, overlay):
        labels = deployment["spec"]["template"]["metadata"]["labels"]
        service = labels["app.kubernetes.io/name"]
        assert _egress(rendered, overlay, labels) == EXPECTED_EGRESS[service], deployment["metadata"]["name"]


@pytest.mark.parametrize("overlay", WORKLOAD_OVERLAYS)
def test_every_platform_pod_is_denied_by_default(
    rendered: dict[str, list[dict[str, Any]]], overlay: str
) -> None:
    deny = [
        p
        for p in rendered[overlay]
        if p["kind"] == "NetworkPolicy" and "ingress" not in p["spec"] and "egress" not in p["spec"]
    ]
    assert len(deny) == 1
    assert set(deny[0]["spec"]["policyTypes"]) == {"Ingress", "Egress"}
    for deployment in _deployments(rendered, overlay):
        assert _selects(deny[0]["spec"]["podSelector"], deployment["spec"]["template"]["metadata"]["labels"])


# ---- Strimzi (production) -------------------------------------------------------------------------------
# No registry package ships Strimzi's CRD schemas, so their structure is asserted here (kafka.strimzi.io/v1beta2).
TOPIC_SPEC = {"topicName", "partitions", "replicas", "config"}
ACL_OPERATIONS = {
    "Read",
    "Write",
    "Create",
    "Delete",
    "Alter",
    "Describe",
    "ClusterAction",
    "AlterConfigs",
    "DescribeConfigs",
    "IdempotentWrite",
    "All",
}


def _strimzi(rendered: dict[str, list[dict[str, Any]]], kind: str) -> dict[str, dict[str, Any]]:
    found = {r["metadata"]["name"]: r for r in rendered["overlays/production/kafka"] if r["kind"] == kind}
    for resource in found.values():
        assert resource["apiVersion"] == STRIMZI
        assert resource["metadata"]["namespace"] == "kafka"
        assert resource["metadata"]["labels"]["strimzi.io/cluster"] == "coalition"
    return found


def test_every_topic_and_dead_letter_topic_is_declared_with_partitions_replicas_and_retention(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    declared = _strimzi(rendered, "KafkaTopic")
    groups = all_groups(CtlSettings())
    contract = {v for k, v in vars(topics).items() if k.isupper() and isinstance(v, str)}
    expected = contract | {dead_letter_topic(g.name) for g in groups}

    assert {t["spec"]["topicName"] for t in declared.values()} == expected
    for topic in declared.values():
        spec = topic["spec"]
        assert set(spec) == TOPIC_SPEC
        assert spec["replicas"] == 3
        assert spec["config"]["min.insync.replicas"] == 2
        assert spec["config"]["cleanup.policy"] in ("delete", "compact", "compact,delete")
        assert isinstance(spec["config"]["retention.ms"], int)
    assert (
        declared[topics.CAMPAIGNS_ACTIONS]["spec"]["partitions"] == 12
    )  # CAMPAIGNS_ACTIONS_TOPIC_PARTITIONS
    # Projections are rebuilt from the beginning of these topics: they are kept.
    for source in (topics.IDENTITY_ORGANIZATIONS, topics.COALITION_COALITIONS, topics.COALITION_MEMBERSHIPS):
        assert declared[source]["spec"]["config"]["retention.ms"] == -1


def _acls(user: dict[str, Any]) -> set[tuple[str, str, str, str]]:
    spec = user["spec"]
    assert spec["authentication"]["type"] in ("scram-sha-512", "tls")
    assert spec["authorization"]["type"] == "simple"
    found = set()
    for acl in spec["authorization"]["acls"]:
        resource = acl["resource"]
        assert resource["type"] in ("topic", "group", "cluster", "transactionalId")
        assert set(acl["operations"]) <= ACL_OPERATIONS
        found |= {
            (resource["type"], resource["name"], resource["patternType"], op) for op in acl["operations"]
        }
    return found


def _allows(acls: set[tuple[str, str, str, str]], kind: str, name: str, operation: str) -> bool:
    return any(
        k == kind and op == operation and (n == name if pattern == "literal" else name.startswith(n))
        for k, n, pattern, op in acls
    )


def test_each_service_user_may_read_what_its_groups_consume_and_write_its_dead_letters(
    rendered: dict[str, list[dict[str, Any]]],
) -> None:
    users = _strimzi(rendered, "KafkaUser")
    for group in all_groups(CtlSettings()):
        acls = _acls(users[group.service])
        assert _allows(acls, "group", group.name, "Read"), group.name
        for topic in group.topics:
            assert _allows(acls, "topic", topic, "Read"), (group.name, topic)
        assert _allows(acls, "topic", dead_letter_topic(group.name), "Write"), group.name
    assert not _allows(_acls(users["identity"]), "topic", topics.CAMPAIGNS_ACTIONS, "Read")
    assert _allows(_acls(users["campaigns"]), "topic", topics.FEDERATION_CAMPAIGNS, "Write")
    assert not _allows(_acls(users["coalition"]), "topic", topics.IDENTITY_ORGANIZATIONS, "Write")


def test_the_partner_user_only_reads_the_federation_topic(rendered: dict[str, list[dict[str, Any]]]) -> None:
    acls = _acls(_strimzi(rendered, "KafkaUser")["partner-example"])

    assert {(kind, name, op) for kind, name, _, op in acls} == {
        ("topic", topics.FEDERATION_CAMPAIGNS, "Read"),
        ("topic", topics.FEDERATION_CAMPAIGNS, "Describe"),
        ("group", "partner-example-", "Read"),
    }
