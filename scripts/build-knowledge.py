#!/usr/bin/env python3
"""Build the compact knowledge files in data/ from the shared ground truth.

Usage:
    python3 scripts/build-knowledge.py [SOURCE_DIR] [--check]

SOURCE_DIR defaults to ../shared/data relative to the repository root.
--check writes nothing: it exits 1 (listing the files) when data/ differs
from what this script would write.

Every fact written here comes from a file in SOURCE_DIR; the few decisions
the sources leave open are made in this script, in one place each, and
recorded in data/SOURCES.md (written by this script too).
"""

import argparse
import csv
import json
import re
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DATA = REPO / "data"

CILIUM_MINORS = ["1.12", "1.13", "1.14", "1.15", "1.16", "1.17", "1.18", "1.19", "1.20"]


class SourceError(Exception):
    """The shared data does not look the way this script expects."""


def require(condition, message):
    if not condition:
        raise SourceError(message)


def minor_key(text):
    return tuple(int(part) for part in text.split("."))


def load_json(src, rel):
    with open(src / rel, encoding="utf-8") as f:
        return json.load(f)


def dump_json(value):
    return json.dumps(value, indent=2, ensure_ascii=False) + "\n"


# --------------------------------------------------------------------------
# data/instances.csv

INSTANCE_COLUMNS = ["instance_type", "enis", "ipv4_per_eni", "hypervisor", "bare_metal", "vcpus", "enis_all_cards"]


def build_instances(src):
    with open(src / "aws/instance_limits.csv", encoding="utf-8", newline="") as f:
        limits = list(csv.DictReader(f))
    with open(src / "aws/instance_vcpus.csv", encoding="utf-8", newline="") as f:
        vcpus = {row["instance_type"]: row["vcpus"] for row in csv.DictReader(f)}
    with open(src / "aws/instance_enis_all_cards.csv", encoding="utf-8", newline="") as f:
        all_cards = {row["instance_type"]: row for row in csv.DictReader(f)}
    names = [row["instance_type"] for row in limits]
    require(len(names) == len(set(names)), "instance_limits.csv has duplicate types")
    require(set(vcpus) <= set(names), "instance_vcpus.csv lists types instance_limits.csv lacks")
    require(set(all_cards) == set(names), "instance_enis_all_cards.csv lists other types than instance_limits.csv")
    lines = [",".join(INSTANCE_COLUMNS)]
    for row in sorted(limits, key=lambda r: r["instance_type"]):
        require(row["HypervisorType"] in ("nitro", "xen", "unknown"), f"hypervisor {row}")
        require(row["IsBareMetal"] in ("true", "false"), f"bare metal {row}")
        cards = all_cards[row["instance_type"]]
        require(cards["ENILimit"] == row["ENILimit"], f"all-cards ENILimit differs: {cards}")
        require(int(cards["ENILimitAllCards"]) >= int(row["ENILimit"]), f"all-cards count below card 0: {cards}")
        require((cards["MultiCard"] == "true") == (int(cards["NetworkCardCount"]) > 1), f"MultiCard: {cards}")
        lines.append(",".join([
            row["instance_type"],
            row["ENILimit"],
            row["IPv4Limit"],
            row["HypervisorType"],
            row["IsBareMetal"],
            vcpus.get(row["instance_type"], ""),
            cards["ENILimitAllCards"],
        ]))
    missing = sorted(set(names) - set(vcpus))
    return "\n".join(lines) + "\n", missing


# --------------------------------------------------------------------------
# data/eks.json

AL2_VARIANT = "AL2_x86_64"
AL2023_VARIANT = "AL2023_x86_64_STANDARD"


def newest_series(series):
    return max(series, key=minor_key)


def ami_kernels(amis):
    rows = []
    for minor, variants in amis["amazon_linux_2"]["detail"].items():
        if AL2_VARIANT in variants:
            rows.append(("AL2", minor, newest_series(variants[AL2_VARIANT])))
    for minor, variants in amis["amazon_linux_2023"]["detail"].items():
        if AL2023_VARIANT in variants:
            rows.append(("AL2023", minor, newest_series(variants[AL2023_VARIANT])))
    for minor, variant in amis["bottlerocket"]["kernel_by_k8s_variant"].items():
        # The 1.37 variant is flagged as "not evidence that EKS offers 1.37".
        if "not evidence" in variant.get("note", ""):
            continue
        package = variant["kernel_package"]
        require(package.startswith("kernel-"), f"bottlerocket kernel package {package}")
        rows.append(("Bottlerocket", minor, package[len("kernel-"):]))
    rows.sort(key=lambda r: (r[0], minor_key(r[1])))
    return [{"family": f, "kubernetes": k, "kernel_series": s} for f, k, s in rows]


def source_ref(s):
    return f"{s['repo']}@{s['commit']}:{s['path']}"


def build_eks(src):
    versions = load_json(src, "aws/eks_versions.json")
    amis = load_json(src, "aws/amis.json")
    calendar = sorted(versions["calendar"], key=lambda r: minor_key(r["kubernetes_version"]))
    cal_sources = versions["calendar_sources"]
    al2_last = amis["amazon_linux_2"]["last_k8s_version_with_al2_amis"]
    changelog = source_ref(amis["amazon_linux_2023"]["source"])
    bottlerocket = sorted({
        v["source"]["repo"] + "@" + v["source"]["commit"]
        for v in amis["bottlerocket"]["kernel_by_k8s_variant"].values()
    })
    sources = {
        "versions": "; ".join(
            f"{key}: " + (source_ref(s) if "repo" in s else s["url"])
            for key, s in sorted(cal_sources.items())
        ),
        "ami_kernels.AL2": f"{changelog} ({AL2_VARIANT} package rows, newest kernel series per Kubernetes minor)",
        "ami_kernels.AL2023": f"{changelog} ({AL2023_VARIANT} package rows, newest kernel series per Kubernetes minor)",
        "ami_kernels.Bottlerocket": "variants/aws-k8s-<minor>/Cargo.toml kernel package at "
        + ", ".join(bottlerocket),
        "al2_last_kubernetes": "; ".join(dict.fromkeys(
            source_ref(s["source"]) for s in amis["amazon_linux_2"]["end_of_al2_publishing"]["statements"]
        )),
    }
    doc = {
        "sources": sources,
        "versions": [
            {
                "version": row["kubernetes_version"],
                "eks_release": row["eks_release"],
                "end_of_standard_support": row["end_of_standard_support"],
                "end_of_extended_support": row["end_of_extended_support"],
            }
            for row in calendar
        ],
        "al2_last_kubernetes": al2_last,
        "ami_kernels": ami_kernels(amis),
        "control_plane_rollback": control_plane_rollback(load_json(src, "aws/eks_features.json")),
        "cluster_insights": cluster_insights(load_json(src, "aws/eks_features.json")),
        "max_pods_settings": max_pods_settings(load_json(src, "aws/node_provisioning.json")),
    }
    sources["control_plane_rollback"] = doc["control_plane_rollback"].pop("source")
    sources["cluster_insights"] = "; ".join(doc["cluster_insights"].pop("sources"))
    sources["max_pods_settings"] = "../shared/data/aws/node_provisioning.json (each setting's own source below)"
    return dump_json(doc), calendar


def quoted_items(fact):
    """The 'quoted' items of a fact, their first sentence each."""
    return [item.split(". ")[0].rstrip(".") for item in re.findall(r"'([^']+)'", fact)]


def max_pods_settings(np):
    """Where each provisioning path sets the kubelet's max pods, each
    setting checked in the wording of node_provisioning.json, with that
    fact's source (used by CAP001's fixes and `generate max-pods`)."""
    paths = np["paths"]

    def fact_with(path, *needles):
        for f in paths[path]["facts"]:
            if all(n in f["fact"] for n in needles):
                return f["source"]
        raise SourceError(f"node_provisioning.json {path}: no fact with {needles}")

    return {
        "nodeadm": {
            "setting": "NodeConfig spec.kubelet.config.maxPods (takes precedence over spec.kubelet.maxPodsExpression)",
            "source": fact_with("al2023_nodeadm", "Values set for maxPods in the kubelet config will take precedence over the result of the maxPodsExpression"),
        },
        "bottlerocket": {
            "setting": "settings.kubernetes.max-pods",
            "source": fact_with("bottlerocket", "settings.kubernetes.max-pods (TOML: [settings.kubernetes] max-pods = N)"),
        },
        "al2_bootstrap": {
            "setting": "bootstrap.sh --use-max-pods false --kubelet-extra-args '--max-pods=N'",
            "source": fact_with("al2_bootstrap_sh", "--kubelet-extra-args '--max-pods=N'", "--use-max-pods false"),
        },
        "karpenter": {
            "setting": "EC2NodeClass spec.kubelet.maxPods (karpenter.k8s.aws/v1; NodePool spec.template.spec.kubelet in v1beta1)",
            "source": fact_with("karpenter", "v1: kubelet settings live in EC2NodeClass spec.kubelet", "NodePool spec.template.spec.kubelet"),
        },
        "eksctl": {
            "setting": "managedNodeGroups[].maxPodsPerNode / nodeGroups[].maxPodsPerNode",
            "source": fact_with("eksctl", "maxPodsPerNode"),
        },
        "terraform_aws_eks": {
            "setting": "eks_managed_node_groups cloudinit_pre_nodeadm (content_type application/node.eks.aws)",
            "source": fact_with("terraform_aws_eks_module", "cloudinit_pre_nodeadm parts with content_type application/node.eks.aws"),
        },
        "managed_node_group_cap": {
            "setting": "EKS managed node groups without a custom AMI cap maxPods at 110 (under 30 vCPUs) or 250",
            "source": fact_with("eks_managed_node_groups", "110 for instances with less than 30 vCPUs and 250 above 30"),
        },
    }


def control_plane_rollback(features):
    """EKS control-plane version rollback, from the user guide's words as
    eks_features.json quotes them (each number checked in its sentence)."""
    section = features["control_plane_version_rollback"]
    facts = [f["fact"] for f in section["facts"]]
    one_minor = [f for f in facts if "only rollback by one minor version (N to N-1)" in f]
    window = [re.search(r"within (\d+) days of the upgrade completing", f) for f in facts]
    window = [m for m in window if m]
    rolled = [f for f in facts if f.startswith("Rolled back:")]
    not_rolled = [f for f in facts if f.startswith("NOT rolled back:")]
    in_place = [f for f in facts if "upgraded to its current version through in-place upgrade" in f]
    require(one_minor and len(window) == 1 and rolled and not_rolled and in_place,
            "eks_features.json control_plane_version_rollback: wording moved")
    return {
        "minors_back": 1,
        "window_days": int(window[0].group(1)),
        "only_after_in_place_upgrade": True,
        "rolled_back": quoted_items(rolled[0]),
        "not_rolled_back": quoted_items(not_rolled[0]),
        "confidence": section["confidence"].split(" ")[0],
        "source": section["source"],
    }


def cluster_insights(features):
    """EKS cluster insights (VER013, plan upgrade): the statuses, what
    blocks an upgrade and a rollback, how often EKS refreshes them, each
    from the words eks_features.json quotes."""
    facts = features["cluster_insights"]["facts"]
    statuses = [re.search(r"Status values: '([A-Z_ |]+)'", f["fact"]) for f in facts]
    statuses = [(m, f) for m, f in zip(statuses, facts) if m]
    rollback = [re.search(r"For rollback: ([A-Z]+) and ([A-Z]+) block", f["fact"]) for f in facts]
    rollback = [m for m in rollback if m]
    enforcement = [
        (re.search(r"InvalidStateException '([^']+)'", f["fact"]), f)
        for f in facts if f["fact"].startswith("Enforcement:")
    ]
    refresh = [
        (re.search(r"refreshes cluster insights every (\d+) hours", f["fact"]), f)
        for f in facts
    ]
    refresh = [(m, f) for m, f in refresh if m]
    require(len(statuses) == 1 and len(rollback) == 1 and len(enforcement) == 1
            and enforcement[0][0] and len(refresh) == 1,
            "eks_features.json cluster_insights: wording moved")
    return {
        "statuses": [s.strip() for s in statuses[0][0].group(1).split("|")],
        "rollback_blocking_statuses": list(rollback[0].groups()),
        "upgrade_blocked_message": enforcement[0][0].group(1),
        "refresh_hours": int(refresh[0][0].group(1)),
        "sources": [statuses[0][1]["source"], enforcement[0][1]["source"], refresh[0][1]["source"]],
    }


# --------------------------------------------------------------------------
# data/cilium.json

def parse_min_kernel(text):
    match = re.match(r"\s*>=\s*(\d+)\.(\d+)(?:\.(\d+))?", text)
    require(match, f"unparsable minimum kernel {text!r}")
    major, minor, patch = match.groups()
    return f"{major}.{minor}.{patch or 0}"


# Stable ids for the conditions eni.rst words; an unknown wording stops the
# build so that a new condition gets a deliberate id.
CONDITION_IDS = [
    ("ENI GC is enabled", "eni-gc"),
    ("release excess IP", "release-excess-ips"),
    ("--instance-tags-filter", "instance-tags-filter"),
]


def condition_id(condition):
    for needle, feature in CONDITION_IDS:
        if needle in condition:
            return feature
    raise SourceError(f"no feature id for ENI IAM condition {condition!r}")


def condition_default(feature, minor, helm_values):
    if feature == "eni-gc":
        return True  # eni.rst: "If ENI GC is enabled (which is the default)"
    if feature == "release-excess-ips":
        return bool(helm_values[minor]["values"]["eni.awsReleaseExcessIPs"])
    return False  # --instance-tags-filter is empty unless set


def eni_actions(eni, minor):
    """Required and conditional EC2 actions for one minor (see SOURCES.md)."""
    required = set(eni["documented_required_privileges"][minor]["actions"])
    helm = eni["helm_values_eni"]
    conditional = []
    for c in eni["documented_conditional_privileges"][minor]["conditions"]:
        feature = condition_id(c["condition"])
        conditional.append({
            "feature": feature,
            "condition": c["condition"],
            "actions": sorted(c["actions"]),
            "enabled_by_default": condition_default(feature, minor, helm),
        })
    limits_doc = eni["describe_instance_types"][minor]["doc_text"]
    require("DescribeInstanceTypes" in limits_doc, f"{minor}: limits doc names no DescribeInstanceTypes")
    if "only fetched from the EC2 API dynamically" in limits_doc:
        # 1.18+: the operator always calls DescribeInstanceTypes.
        required.add("ec2:DescribeInstanceTypes")
    else:
        require("--update-ec2-adapter-limit-via-api" in limits_doc, f"{minor}: limits doc wording")
        conditional.append({
            "feature": "ec2-adapter-limit-via-api",
            "condition": "If ``--update-ec2-adapter-limit-via-api`` is used "
            "(Helm ``eni.updateEC2AdapterLimitViaAPI``)",
            "actions": ["ec2:DescribeInstanceTypes"],
            "enabled_by_default": bool(helm[minor]["values"]["eni.updateEC2AdapterLimitViaAPI"]),
        })
    static_ip = {"ec2:AssociateAddress", "ec2:DescribeAddresses"}
    calls = eni["code_ec2_api_calls"]
    checked = [m for m in calls if not m.startswith("_") and minor_key(m) <= minor_key(minor)]
    if checked and static_ip <= set(calls[max(checked, key=minor_key)]["calls"]):
        conditional.append({
            "feature": "static-ip",
            "condition": "If a CiliumNode sets ``spec.ipam.static-ip-tags`` "
            "(operator code; not in the documented privileges)",
            "actions": sorted(static_ip),
            "enabled_by_default": False,
        })
    conditional.sort(key=lambda c: c["feature"])
    return sorted(required), conditional


# Replacements the upgrade notes name, with the words that name them.
# key: (minor the key disappears in, key) -> (replacement, note minor, evidence)
REPLACEMENTS = {
    ("1.13", "securityContext.extraCapabilities"): (
        "securityContext.capabilities.ciliumAgent", "1.13",
        ["securityContext.extraCapabilities replaced by securityContext.capabilities.cilium_agent"]),
    ("1.13", "bpf.clockProbe"): (
        "bpfClockProbe", "1.13", ["bpf.clockProbe was misnamed (correct: bpfClockProbe)"]),
    ("1.14", "hubble.tls.ca.cert"): ("tls.ca.cert", "1.12", ["hubble.tls.ca.cert/key (use tls.ca.*)"]),
    ("1.14", "hubble.tls.ca.key"): ("tls.ca.key", "1.12", ["hubble.tls.ca.cert/key (use tls.ca.*)"]),
    ("1.14", "ipam.operator.clusterPoolIPv4PodCIDR"): (
        "ipam.operator.clusterPoolIPv4PodCIDRList", "1.14",
        ["ipam.operator.clusterPoolIPv4PodCIDR / clusterPoolIPv6PodCIDR (use ...PodCIDRList)"]),
    ("1.14", "ipam.operator.clusterPoolIPv6PodCIDR"): (
        "ipam.operator.clusterPoolIPv6PodCIDRList", "1.14",
        ["ipam.operator.clusterPoolIPv4PodCIDR / clusterPoolIPv6PodCIDR (use ...PodCIDRList)"]),
    ("1.15", "tunnel"): (
        "routingMode, tunnelProtocol", "1.14",
        ["Helm value tunnel deprecated in favor of routingMode and tunnelProtocol"]),
    ("1.16", "encryption.keyFile"): (
        "encryption.ipsec.keyFile", "1.14",
        ["encryption.keyFile/mountPath/secretName/interface deprecated for encryption.ipsec.*"]),
    ("1.16", "encryption.mountPath"): (
        "encryption.ipsec.mountPath", "1.14",
        ["encryption.keyFile/mountPath/secretName/interface deprecated for encryption.ipsec.*"]),
    ("1.16", "encryption.secretName"): (
        "encryption.ipsec.secretName", "1.14",
        ["encryption.keyFile/mountPath/secretName/interface deprecated for encryption.ipsec.*"]),
    ("1.16", "encryption.interface"): (
        "encryption.ipsec.interface", "1.14",
        ["encryption.keyFile/mountPath/secretName/interface deprecated for encryption.ipsec.*"]),
    ("1.16", "containerRuntime.integration"): (
        "bpf.autoMount.enabled", "1.14", ["containerRuntime.integration deprecated (bpf.autoMount.enabled)"]),
    ("1.16", "proxy.prometheus.enabled"): (
        "envoy.prometheus.enabled", "1.14", ["proxy.prometheus.* deprecated for envoy.prometheus.*"]),
    ("1.16", "proxy.prometheus.port"): (
        "envoy.prometheus.port", "1.14", ["proxy.prometheus.* deprecated for envoy.prometheus.*"]),
    ("1.18", "enableCiliumEndpointSlice"): (
        "ciliumEndpointSlice.enabled", "1.18", ["enableCiliumEndpointSlice (use ciliumEndpointSlice.enabled)"]),
    ("1.19", "nodePort.enabled"): (
        "kubeProxyReplacement", "1.18",
        ["(Helm nodePort.enabled)", "KPR features only via kube-proxy-replacement=true"]),
}


def check_replacements(notes, helm_keys, removed):
    for (minor, key), (replacement, note_minor, evidence) in REPLACEMENTS.items():
        require(key in removed.get(minor, []), f"replacement for {key} in {minor}: key not removed there")
        texts = [n["text"] for n in notes[note_minor]]
        require(any(all(e in t for e in evidence) for t in texts),
                f"replacement for {key}: evidence not in {note_minor} upgrade notes")
        for part in replacement.split(", "):
            require(part in helm_keys[minor], f"replacement {part} is not a {minor} chart key")


KEY_TOKEN = re.compile(r"(?:\.Values\.)?([A-Za-z][A-Za-z0-9]*(?:\.[A-Za-z0-9]+)*)")
REMOVAL_WORDS = re.compile(r"^\s+(?:was|were|has been)\s+(?:deprecated|removed)")


def expand_braces(message):
    """`encryption.{keyFile,mountPath}` -> `encryption.keyFile encryption.mountPath`."""
    def expand(m):
        return " ".join(m.group(1) + part for part in m.group(2).split(","))
    return re.sub(r"([A-Za-z0-9.]+\.)\{([A-Za-z0-9,]+)\}", expand, message)


def fail_names(message):
    """Keys a validate.yaml fail message names: exactly, or as a removed parent."""
    exact, parents = set(), set()
    text = expand_braces(message)
    for m in KEY_TOKEN.finditer(text):
        exact.add(m.group(1))
        if REMOVAL_WORDS.match(text[m.end():]):
            parents.add(m.group(1))
    return exact, parents


def chart_fails(key, messages):
    for exact, parents in messages:
        if key in exact or any(key.startswith(p + ".") for p in parents):
            return True
    return False


def removed_keys(changes, notes, helm_keys):
    removed = {}
    fails_from = {}
    for transition, change in changes["transitions"].items():
        old, new = transition.split("->")
        require(minor_key(new) > minor_key(old), f"transition {transition}")
        removed[new] = change["removed"]
        fails_from[new] = [fail_names(m) for m in change["validate_fail_messages_new_or_reworded"]]
    check_replacements(notes, helm_keys, removed)
    result = {}
    for minor in CILIUM_MINORS:
        later = [msg for m, msgs in fails_from.items() if minor_key(m) >= minor_key(minor) for msg in msgs]
        result[minor] = [
            {
                "key": key,
                "replacement": REPLACEMENTS.get((minor, key), (None,))[0],
                "chart_fails": chart_fails(key, later),
            }
            for key in sorted(removed.get(minor, []))
        ]
    return result


def helm_key_sets(helm):
    return {
        minor: set(v["values_keys"]) | set(v["template_only_refs"])
        for minor, v in helm["versions"].items()
    }


def accepted_keys(keys, removed):
    """Drop the keys a chart reads only to refuse them (validate.yaml fail)."""
    refused = set()
    accepted = {}
    for minor in CILIUM_MINORS:
        refused |= {r["key"] for r in removed[minor] if r["chart_fails"]}
        accepted[minor] = sorted(keys[minor] - refused)
    return accepted


def patch_evidence(latest):
    """Evidence level of a latest-patch fact: A (the chart index) unless the
    source names another level (compatibility.json `_meta.evidence_levels`)."""
    level = latest.get("evidence_level", "A")[:1]
    require(level in ("A", "B"), f"latest patch {latest['version']}: evidence level {level!r}")
    return level


# The agent's own pool addresses (ipam_reserved.json `allocated_when`): the
# words that name the agent options turning each on, or off. An unknown
# wording stops the build so that a new condition is read deliberately.
RESERVED_CONDITIONS = {
    "router": {"enabled_by": [], "disabled_by": "local-router-ipv4",
               "words": ["always", "unless the agent flag local-router-ipv4 is set"]},
    "health": {"enabled_by": ["enable-health-checking", "enable-endpoint-health-checking"],
               "disabled_by": None,
               "words": ["enable-health-checking AND enable-endpoint-health-checking"]},
    "ingress": {"enabled_by": ["enable-envoy-config"], "disabled_by": None,
                "words": ["enable-envoy-config (agent default false)"]},
}


def reserved_addresses(minor, entry):
    out = []
    for a in entry["allocations"]:
        purpose = a["id"]
        require(purpose in RESERVED_CONDITIONS, f"{minor}: unknown reserved address {purpose!r}")
        rule = RESERVED_CONDITIONS[purpose]
        for words in rule["words"]:
            require(words in a["allocated_when"], f"{minor} {purpose}: wording moved: {a['allocated_when']!r}")
        require(a["counts_ipv4_by_default"] in (0, 1), f"{minor} {purpose}: count")
        helm = a.get("settings", {}).get("helm_keys", [])
        out.append({
            "purpose": purpose,
            "what": a["what"],
            "enabled_by": rule["enabled_by"],
            "disabled_by": rule["disabled_by"],
            "on_by_default": a["counts_ipv4_by_default"] == 1,
            "helm_keys": helm,
            "source": a["sources"][0].split(" ")[0],
        })
    require([a["purpose"] for a in out] == ["router", "health", "ingress"], f"{minor}: reserved order")
    counts = entry["ipv4_count"]
    defaults = sum(a["on_by_default"] for a in out)
    require(counts["chart_defaults"] == defaults and counts["with_envoy_config"] == defaults + 1,
            f"{minor}: reserved addresses differ from ipv4_count {counts}")
    return out


def build_cilium(src):
    compat = load_json(src, "cilium/compatibility.json")["cilium"]
    kernels = load_json(src, "cilium/kernel_requirements.json")["cilium"]
    eni = load_json(src, "cilium/eni_iam.json")
    changes = load_json(src, "cilium/helm_key_changes.json")
    notes = load_json(src, "cilium/upgrade_notes.json")["cilium"]
    helm = load_json(src, "cilium/helm_keys.json")
    keys = helm_key_sets(helm)
    require(sorted(compat, key=minor_key) == CILIUM_MINORS, "compatibility.json minors changed")
    require(sorted(keys, key=minor_key) == CILIUM_MINORS, "helm_keys.json minors changed")
    removed = removed_keys(changes, notes, keys)
    keys = accepted_keys(keys, removed)
    bare_metal = eni["prefix_delegation"]["bare_metal_by_minor"]
    reserved = load_json(src, "cilium/ipam_reserved.json")["minors"]
    require(sorted(reserved, key=minor_key) == CILIUM_MINORS, "ipam_reserved.json minors changed")
    minors = []
    for minor in CILIUM_MINORS:
        c = compat[minor]
        required, conditional = eni_actions(eni, minor)
        latest = c["latest_patch_release"]
        require(isinstance(bare_metal[minor]["value"], bool), f"{minor}: bare_metal_by_minor value")
        minors.append({
            "minor": minor,
            "k8s_tested": sorted(c["k8s_tested"], key=minor_key),
            "latest_patch": latest["version"],
            "latest_patch_published": latest["chart_published"][:10],
            "latest_patch_evidence": patch_evidence(latest),
            "latest_patch_final": bool(latest.get("final", False)),
            "maintenance_eol": c.get("maintenance_eol"),
            "min_kernel": parse_min_kernel(kernels[minor]["min_kernel"]),
            "eni_required_actions": required,
            "eni_conditional_actions": conditional,
            "prefix_delegation_on_bare_metal": bare_metal[minor]["value"],
            "ipam_reserved": reserved_addresses(minor, reserved[minor]),
            "helm_keys_removed": removed[minor],
        })
    sources = {
        "k8s_tested": "cilium/cilium@<minor ref>:Documentation/{concepts,network}/kubernetes/compatibility.rst "
        "(per-minor refs in SOURCES.md)",
        "latest_patch": "; ".join(dict.fromkeys(
            compat[m]["latest_patch_release"]["source"] for m in CILIUM_MINORS)),
        "min_kernel": "cilium/cilium@<minor ref>:Documentation/operations/system_requirements.rst",
        "eni_actions": "cilium/cilium@<minor ref>:Documentation/network/concepts/ipam/eni.rst "
        "(1.12: Documentation/concepts/networking/ipam/eni.rst); operator code for static-ip",
        "prefix_delegation_on_bare_metal": "; ".join(
            f"{m}: {bare_metal[m]['source']}" for m in CILIUM_MINORS),
        "ipam_reserved": "cilium/ipam_reserved.json (per minor, the agent's allocation code at the minor ref)",
        "helm_keys_removed": "cilium/charts@009b5e9582173785abfdedb3fda7a26d85ab7aca:cilium-<version>.tgz "
        "values.yaml and templates/validate.yaml; cilium/cilium@<minor ref>:Documentation/operations/upgrade.rst",
    }
    return dump_json({"sources": sources, "minors": minors}), keys, compat, minors


# --------------------------------------------------------------------------
# data/metrics.json

def doc_ref(source):
    """`cilium/cilium@v1.16.19(011fab...):path` -> `v1.16.19`."""
    match = re.match(r"cilium/cilium@([^(]+)\(", source)
    require(match, f"metrics source {source!r}")
    return match.group(1)


def pressure_maps(conntrack):
    """The CT and NAT map names conntrack.json says report cilium_bpf_map_pressure."""
    text = conntrack["bpf_map_pressure"]["text"]
    match = re.search(r"without the 'cilium_' prefix: ([a-z0-9_, ]+)\.", text)
    require(match, "conntrack.json bpf_map_pressure: map name list moved")
    names = [n.strip() for n in match.group(1).split(",")]
    ct = sorted(n for n in names if n.startswith("ct"))
    nat = sorted(n for n in names if n.startswith("snat_"))
    require(ct and nat and len(ct) + len(nat) == len(names), f"pressure map names {names}")
    return {"conntrack": ct, "nat": nat}


def drop_reasons(conntrack):
    reasons = []
    for r in conntrack["drop_reasons"]:
        require(isinstance(r["code"], int) and r["reason"].strip(), f"drop reason {r}")
        reasons.append({"code": r["code"], "reason": r["reason"], "since": r.get("since", CILIUM_MINORS[0])})
    # conntrack.json: "same strings for 155/163/167/168 at v1.12.19-v1.19.1"; others carry `since`.
    require("v1.12.19" in conntrack["drop_reasons_source"], "drop reasons no longer checked from 1.12")
    return sorted(reasons, key=lambda r: r["code"])


def build_metrics(src):
    metrics = load_json(src, "cilium/metrics.json")
    conntrack = load_json(src, "cilium/conntrack.json")
    docs = metrics["docs_by_version"]
    require(sorted(docs, key=minor_key) == CILIUM_MINORS, "metrics.json minors changed")
    minors = []
    refs = []
    for minor in CILIUM_MINORS:
        entry = {"minor": minor}
        disabled = set()
        for component, prefix in (("agent", "cilium_"), ("operator", "cilium_operator_")):
            names = set()
            for m in docs[minor][f"cilium-{component}"]:
                name = m["prometheus_name"]
                require(name.startswith(prefix), f"{minor}: {component} metric {name}")
                names.add(name)
                if m["default"] == "Disabled":
                    disabled.add(name)
            entry[component] = sorted(names)
        entry["disabled_by_default"] = sorted(disabled)
        minors.append(entry)
        refs.append(f"{minor}: {doc_ref(docs[minor]['source'])}")
    sources = {
        "minors": "cilium/cilium@<minor ref>:Documentation/observability/metrics.rst "
        "(1.12: Documentation/operations/metrics.rst), the agent and operator tables via "
        "cilium/metrics.json docs_by_version (" + "; ".join(refs) + ")",
        "drop_reasons": conntrack["drop_reasons_source"],
        "pressure_maps": "; ".join(conntrack["bpf_map_pressure"]["sources"]),
    }
    doc = {
        "sources": sources,
        "drop_reasons": drop_reasons(conntrack),
        "pressure_maps": pressure_maps(conntrack),
        "minors": minors,
    }
    return dump_json(doc)


# --------------------------------------------------------------------------
# data/cilium-eks.json

KPR_FULL = re.compile(r'enable all features \(will panic if any feature cannot be enabled\) \("(\w+)"\)')


def kube_proxy_replacement_full(eni, minor):
    """The --kube-proxy-replacement value that turns every feature on (cmdref)."""
    flags = {f["flag"]: f for f in eni["agent_flags"][minor]["flags"]}
    text = flags["--kube-proxy-replacement"]["text"]
    match = KPR_FULL.search(text)
    if match:
        return match.group(1)
    # 1.18+: "Enable kube-proxy replacement" (a string defaulting to "false",
    # a boolean from 1.19), so "true" turns it on.
    require(re.match(r"(string )?Enable kube-proxy replacement", text), f"{minor}: --kube-proxy-replacement text moved")
    return "true"


def aws_node_patch(eks):
    guide = eks["aws_node_handling"]["helm_install_guide"]
    command = guide["command"]
    match = re.search(r"-p='(\{.*\})'$", command)
    require(match and "1.12-1.20" in guide["versions"], "aws-node patch command moved")
    selector = json.loads(match.group(1))["spec"]["template"]["spec"]["nodeSelector"]
    require(len(selector) == 1, f"aws-node nodeSelector {selector}")
    (key, value), = selector.items()
    return {"command": command, "node_selector_key": key, "node_selector_value": value}


def eni_install(eks, minor):
    guide = eks["helm_install_eni_mode"][minor]
    flags = guide["helm_set_flags"]
    require(all(re.fullmatch(r"[A-Za-z0-9.]+=[^=\s]+", f) for f in flags), f"{minor}: ENI flags {flags}")
    note = guide["interface_naming_note"] or ""
    al2023 = re.search(r"Amazon Linux 2023 uses (\S+?)\.", note)
    return flags, al2023.group(1) if al2023 else None


def hybrid_nodes_cilium(src):
    """The Cilium minors AWS supports on EKS Hybrid Nodes, from the EKS user
    guide's wording (aws/eks_features.json hybrid_nodes)."""
    facts = load_json(src, "aws/eks_features.json")["hybrid_nodes"]["facts"]
    fact = [f for f in facts if f["fact"].startswith("Supported Cilium versions")]
    require(len(fact) == 1, "eks_features.json hybrid_nodes: one 'Supported Cilium versions' fact")
    m = re.search(r"'Cilium versions ((?:v\d+\.\d+\.x(?:, | and )?)+) are supported for EKS Hybrid Nodes", fact[0]["fact"])
    require(m, "hybrid nodes Cilium versions wording moved")
    minors = re.findall(r"v(\d+\.\d+)\.x", m.group(1))
    require(minors and all(x in CILIUM_MINORS for x in minors), f"hybrid nodes Cilium minors {minors}")
    return sorted(minors, key=minor_key), fact[0]["source"]


def build_cilium_eks(src):
    eks = load_json(src, "cilium/eks.json")
    eni = load_json(src, "cilium/eni_iam.json")
    taint = re.search(r"tainted with (\S+=\S+:\w+)", eks["requirements_eks"]["node_taint"])
    require(taint, "requirements_eks node_taint wording moved")
    flush = re.search(r"(iptables -t nat -F .*CHAIN-1)$", eks["aws_node_handling"]["overlay_mode_iptables_flush"]["text"])
    require(flush, "overlay iptables flush wording moved")
    minors = []
    for minor in CILIUM_MINORS:
        flags, al2023 = eni_install(eks, minor)
        minors.append({
            "minor": minor,
            "eni_helm_flags": flags,
            "al2023_egress_masquerade_interfaces": al2023,
            "kube_proxy_replacement_full": kube_proxy_replacement_full(eni, minor),
        })
    sources = {
        "aws_node_patch": "; ".join(eks["aws_node_handling"]["helm_install_guide"]["sources"]),
        "agent_not_ready_taint": "; ".join(eks["requirements_eks"]["sources"]),
        "overlay_iptables_flush": "; ".join(eks["aws_node_handling"]["overlay_mode_iptables_flush"]["sources"]),
        "eni_helm_flags": "cilium/cilium@<minor ref>:Documentation/{gettingstarted,installation}/k8s-install-helm.rst (EKS tab)",
        "kube_proxy_replacement_full": "cilium/cilium@<minor ref>:Documentation/cmdref/cilium-agent.md --kube-proxy-replacement",
    }
    hybrid, hybrid_source = hybrid_nodes_cilium(src)
    sources["hybrid_nodes_cilium_minors"] = hybrid_source
    doc = {
        "sources": sources,
        "aws_node_patch": aws_node_patch(eks),
        "hybrid_nodes_cilium_minors": hybrid,
        "agent_not_ready_taint": taint.group(1),
        "overlay_iptables_flush": flush.group(1),
        "minors": minors,
    }
    return dump_json(doc), minors


# --------------------------------------------------------------------------
# data/eks-iam.json

IRSA_PLACEHOLDERS = ["$account_id", "$oidc_provider", "$namespace", "$service_account"]


def pod_identity_agent(src):
    """Where the EKS Pod Identity agent listens and what pods are given, from
    aws/eks_features.json pod_identity_agent (the EKS user guide's words)."""
    facts = load_json(src, "aws/eks_features.json")["pod_identity_agent"]["facts"]
    listen = next((f for f in facts if "uses port 80 and port 2703" in f["fact"]), None)
    require(listen, "eks_features.json pod_identity_agent: the listen fact moved")
    require("hostNetwork" in listen["fact"], "pod identity agent: hostNetwork no longer stated")
    for address in ("169.254.170.23", "[fd00:ec2::23]"):
        require(address in listen["fact"], f"pod identity agent: {address} no longer stated")
    env = next((f for f in facts if "AWS_CONTAINER_CREDENTIALS_FULL_URI=" in f["fact"]), None)
    require(env, "eks_features.json pod_identity_agent: the env fact moved")
    uri = re.search(r"AWS_CONTAINER_CREDENTIALS_FULL_URI=(\S+)", env["fact"]).group(1)
    return {
        "host_network": True,
        "addresses": ["169.254.170.23", "fd00:ec2::23"],
        "ports": [80, 2703],
        "credentials_env": "AWS_CONTAINER_CREDENTIALS_FULL_URI",
        "credentials_uri": uri,
        "source": listen["source"],
    }


def build_eks_iam(src):
    irsa = load_json(src, "aws/irsa.json")
    template = irsa["irsa"]["trust_policy_template_as_documented"]
    text = json.dumps(template)
    for placeholder in IRSA_PLACEHOLDERS:
        require(placeholder in text, f"IRSA template lost {placeholder}")
    require(any("{arn-aws}" in n for n in irsa["irsa"]["template_notes"]), "IRSA partition note moved")
    annotation = irsa["irsa"]["service_account_annotation"].split(":", 1)[0]
    require(annotation == "eks.amazonaws.com/role-arn", f"IRSA annotation {annotation}")
    pod_identity = irsa["eks_pod_identity"]
    agent = pod_identity_agent(src)
    doc = {
        "sources": {
            "irsa": source_ref(irsa["irsa"]["source"]),
            "pod_identity": source_ref(pod_identity["source"]),
            "pod_identity_agent": agent.pop("source"),
        },
        "pod_identity_agent": agent,
        "irsa_trust_policy_template": template,
        "irsa_service_account_annotation": annotation,
        "pod_identity_trust_policy": pod_identity["trust_policy_as_documented"],
    }
    return dump_json(doc)


# --------------------------------------------------------------------------
# data/log-signatures.json

# The project's own part of the catalogue: which shared signatures are
# matched in logs and Events and which rule each feeds, plus signatures
# researched in public reports (each with its address).
LOG_EXTRA = REPO / "scripts" / "knowledge" / "log-signatures.json"
LOG_STREAMS = {"log", "event"}
LOG_COMPONENTS = {"agent", "operator", "cni", "kubelet", "vpc-resource-controller"}
LOG_RULES = {"CAP002", "IAM001", "CFG005", "SGP002"} | {f"LOG{n:03d}" for n in range(1, 100)}
LOG_TEXT_FIELDS = ["cilium_versions", "meaning", "likely_root_cause", "fix", "example", "report"]


def affected_text(issue):
    """A known issue's affected versions in words: its own text, else its ranges."""
    if issue.get("affected_text"):
        return issue["affected_text"]
    parts = []
    for r in issue["affected_versions"]:
        if r.get("introduced") and r.get("fixed"):
            parts.append(f"{r['introduced']} up to (not including) {r['fixed']}")
        elif r.get("fixed"):
            parts.append(f"before {r['fixed']}")
        elif r.get("introduced"):
            parts.append(f"from {r['introduced']}, no fix known")
        elif r.get("note"):
            parts.append(r["note"])
    return "; ".join(parts) or "not stated"


def known_issue(issue):
    fixed = issue.get("fixed_in") or {}
    return {
        "id": issue["id"],
        "title": issue["title"],
        "affected": affected_text(issue),
        "fixed_in": fixed.get("cilium", []),
        "workaround": issue["workaround"],
        "source": issue["sources"][0] if issue["sources"] else "",
    }


def log_signature(entry, feed, origin, issues=None):
    match = entry["match"]
    require(match.get("case_sensitive", True), f"{entry['id']}: only case-sensitive matching is supported")
    patterns = [match["substring"]] + match.get("also_patterns", [])
    require(all(p.strip() for p in patterns), f"{entry['id']}: empty pattern")
    streams = feed["streams"]
    require(streams and set(streams) <= LOG_STREAMS, f"{entry['id']}: streams {streams}")
    require(feed["component"] in LOG_COMPONENTS, f"{entry['id']}: component {feed['component']}")
    require(feed["rule"] in LOG_RULES, f"{entry['id']}: rule {feed['rule']}")
    out = {
        "id": entry["id"],
        "patterns": patterns,
        "streams": sorted(streams),
        "component": feed["component"],
        "rule": feed["rule"],
        "unless": feed.get("unless", []),
    }
    require(not out["unless"] or feed.get("unless_why"), f"{entry['id']}: `unless` without `unless_why`")
    for field in LOG_TEXT_FIELDS:
        value = entry.get(field)
        require(isinstance(value, str) and value.strip(), f"{entry['id']}: no {field}")
        out["cause" if field == "likely_root_cause" else field] = value
    require(out["report"].startswith("https://"), f"{entry['id']}: report is not an address")
    out["origin"] = origin
    out["known_issues"] = []
    for ki in entry.get("known_issues", []):
        require(issues is not None and ki in issues, f"{entry['id']}: known issue {ki} not in known_issues.json")
        out["known_issues"].append(known_issue(issues[ki]))
    return out


def log_sources_section(catalogue_text):
    """data/SOURCES.md: where each log/Event signature comes from."""
    doc = json.loads(catalogue_text)
    lines = [
        "",
        "## log-signatures.json",
        "",
        "Signatures of the LOG rules (and the log/Event evidence of IAM001, CFG005,",
        "CAP002, CAP006). `cilium/log_signatures.json` gives the shared entries",
        "(pattern, meaning, cause, fix, versions, report); which of them are matched",
        "in logs or Events, the rule each feeds and routine exceptions (`unless`)",
        "are the project's decisions in `scripts/knowledge/log-signatures.json`,",
        "which also holds the project's researched entries (`LX…`), each with the",
        "public report quoting it. Known issues come from `cilium/known_issues.json`.",
        "",
        "| id | matched in | rule | from | report |",
        "|---|---|---|---|---|",
    ]
    for sig in doc["signatures"]:
        lines.append(f"| {sig['id']} | {', '.join(sig['streams'])} | {sig['rule']} | {sig['origin']} | {sig['report']} |")
    return "\n".join(lines) + "\n"


def build_log_signatures(src):
    shared = load_json(src, "cilium/log_signatures.json")
    with open(LOG_EXTRA, encoding="utf-8") as f:
        extra = json.load(f)
    by_id = {s["id"]: s for s in shared["signatures"]}
    issues = {i["id"]: i for i in load_json(src, "cilium/known_issues.json")["issues"]}
    out = []
    for sid, feed in extra["feeds"].items():
        require(sid in by_id, f"{LOG_EXTRA.name}: feeds {sid}, which the shared catalogue lacks")
        out.append(log_signature(by_id[sid], feed, "cilium/log_signatures.json", issues))
    for entry in extra["extra"]:
        require(entry["id"] not in by_id, f"{entry['id']}: clashes with a shared id")
        out.append(log_signature(entry, entry, "scripts/knowledge/log-signatures.json", issues))
    ids = [s["id"] for s in out]
    require(len(ids) == len(set(ids)), "duplicate signature ids")
    patterns = [p for s in out for p in s["patterns"]]
    require(len(patterns) == len(set(patterns)), "duplicate signature patterns")
    out.sort(key=lambda s: s["id"])
    return dump_json({
        "sources": {
            "shared": "cilium/log_signatures.json (signatures, log_formats, sysdump_logs), cilium/known_issues.json (the known issues a signature names)",
            "project": "scripts/knowledge/log-signatures.json",
        },
        "sysdump_log_file_patterns": shared["sysdump_logs"]["log_file_patterns"],
        "signatures": out,
    })


# --------------------------------------------------------------------------
# data/SOURCES.md

def doc_refs_table(compat):
    rows = ["| minor | docs read at | commit |", "|---|---|---|"]
    for minor in CILIUM_MINORS:
        ref = compat[minor]["doc_ref"]
        shown = "main (2026-06-25, 1.20.0-dev)" if ref["ref"] == ref["commit"] else ref["ref"]
        rows.append(f"| {minor} | {shown} | {ref['commit']} |")
    return "\n".join(rows)


def conditional_table(minors):
    rows = ["| minor | feature | actions | on by default |", "|---|---|---|---|"]
    for m in minors:
        for c in m["eni_conditional_actions"]:
            rows.append(f"| {m['minor']} | {c['feature']} | {', '.join(c['actions'])} | "
                        f"{'yes' if c['enabled_by_default'] else 'no'} |")
    return "\n".join(rows)


def replacements_table():
    rows = ["| removed in | key | replacement | named by (upgrade notes of) |", "|---|---|---|---|"]
    for (minor, key), (replacement, note_minor, evidence) in REPLACEMENTS.items():
        rows.append(f"| {minor} | `{key}` | `{replacement}` | {note_minor}: \"{' ... '.join(evidence)}\" |")
    return "\n".join(rows)


def branch_tip_lines(compat):
    lines = []
    for minor in CILIUM_MINORS:
        tip = compat[minor].get("k8s_tested_changed_after_v" + compat[minor]["doc_ref"]["ref"].lstrip("v"))
        if tip:
            lines.append(f"  {minor}: {', '.join(sorted(tip['k8s_tested'], key=minor_key))} from {tip['source']}")
    return "\n".join(lines) + ")" if lines else "  none)"


def patches_table(minors):
    rows = ["| minor | latest known patch | published | evidence | final | maintenance ends |",
            "|---|---|---|---|---|---|"]
    for m in minors:
        rows.append(f"| {m['minor']} | {m['latest_patch']} | {m['latest_patch_published']} | "
                    f"{m['latest_patch_evidence']} | {'yes' if m['latest_patch_final'] else 'no'} | "
                    f"{m['maintenance_eol'] or '-'} |")
    return "\n".join(rows)


def feature_minors(minors, feature):
    having = [m["minor"] for m in minors if any(c["feature"] == feature for c in m["eni_conditional_actions"])]
    require(having, f"no minor has the {feature} feature")
    return f"{having[0]}+" if having[-1] == minors[-1]["minor"] else f"{having[0]}-{having[-1]}"


def build_sources(instance_count, missing_vcpus, calendar, compat, minors):
    one_source = [r["kubernetes_version"] for r in calendar if r["sources"] == ["D"]]
    scraped = [r["kubernetes_version"] for r in calendar if "E" in r["sources"]]
    return f"""# Sources of data/

Generated by `scripts/build-knowledge.py` from the shared ground truth
(`../shared/data`); do not edit by hand. Re-run
`python3 scripts/build-knowledge.py [SOURCE_DIR]` after the sources change,
`--check` verifies that data/ is current. Each fact below names where it was
read as `repo@commit:path`; the shared READMEs (`aws/README.md`,
`aws/max_pods_formula.md`, `cilium/README.md`) describe how it was read.

## instances.csv

`instance_type,enis,ipv4_per_eni,hypervisor,bare_metal,vcpus,enis_all_cards`,
one row per EC2 instance type ({instance_count} rows, sorted by name).

- `enis`, `ipv4_per_eni`, `hypervisor`, `bare_metal`: `ENILimit`, `IPv4Limit`,
  `HypervisorType`, `IsBareMetal` of
  aws/amazon-vpc-cni-k8s@b52188387f2e2f10bf289ace929d6a63b176a4fa:pkg/vpc/vpc_ip_resource_limit.go
  (file last changed in 6152e01c83bb8f04fdc8690e99134ebe1445db29, 2026-08-11).
  `enis` counts the default network card only, as the VPC CNI does, and is
  what can be attached to card 0, where Cilium's operator attaches every ENI.
- `enis_all_cards`: `ENILimitAllCards` of `aws/instance_enis_all_cards.csv`,
  the sum of `NetworkCards[*].MaximumNetworkInterfaces` from the same file
  and commit: the number Cilium's operator counts (EC2
  `NetworkInfo.MaximumNetworkInterfaces`, `cilium/eni_iam.json`
  `adapter_limit`). It differs from `enis` on the multi-card types only.
- `vcpus`: `VCpuInfo.DefaultVCpus`, from
  aws/karpenter-provider-aws@1d927085dd81a9df9301e613f371dac5b4d16bfe:website/content/en/preview/reference/instance-types.md
  and, for 14 types Karpenter does not list,
  kubernetes/autoscaler@55c37cd5eb550756c5ccc5a89e9068d77797e575:cluster-autoscaler/cloudprovider/aws/ec2_instance_types.go.
  Empty for the {len(missing_vcpus)} types neither lists: {', '.join(missing_vcpus)}.

## upstream/eni-max-pods.txt

Verbatim copy of
aws/amazon-vpc-cni-k8s@b52188387f2e2f10bf289ace929d6a63b176a4fa:misc/eni-max-pods.txt.
Not embedded in the binary: the test suite checks that the default max-pods
formula over `instances.csv` reproduces every one of its lines.

## Max-pods formulas (used by `capacity`)

From `aws/max_pods_formula.md`, which cites
awslabs/amazon-eks-ami@0ab842803d827b8087d78dd2eff0bc408caec771:templates/al2/runtime/max-pods-calculator.sh
(CALC), aws/amazon-vpc-cni-k8s@b52188387f:scripts/gen_vpc_ip_limits.go and
awsdocs/amazon-eks-user-guide@4d52b4d05e3478582e7d10a73cbd9ba9194dd5f7:latest/ug/nodes/choosing-instance-type.adoc.

- Default: `ENIs * (IPv4 per ENI - 1) + 2`. The eni-max-pods table and
  nodeadm's value are this number UNCAPPED; `capacity` reports it uncapped
  as the EKS AMI default.
- Prefix delegation: `ENIs * ((IPv4 per ENI - 1) * 16) + 2`, only on `nitro`
  hypervisors (else CALC falls back to the default formula), then capped by
  CALC at 110, or 250 when vCPUs > 30.
- **30-vCPU boundary**: CALC tests `-gt 30` (30 vCPUs -> 110) while the EKS
  docs say "less than 30" (30 vCPUs -> 250). `capacity` follows CALC. No
  type in `instances.csv` has exactly 30 vCPUs, so no result depends on it.
- Custom networking: one ENI fewer; `--max-enis N` first limits ENIs to
  `min(N, ENIs)` (CALC lines 132-140). CALC caps these results too.
- Bare metal types mostly report hypervisor `unknown`, so CALC's nitro test
  fails for them and prefix delegation falls back to the default formula
  (an under-report the shared notes call an inference).

## eks.json

- `versions`: the EKS release calendar from `aws/eks_versions.json`
  (awsdocs/amazon-eks-user-guide@013856044148d6eeed4723027a45aa2180536bcb:latest/ug/versioning/kubernetes-versions.adoc,
  …@4d52b4d05e3478582e7d10a73cbd9ba9194dd5f7:latest/ug/clusters/kubernetes-versions.adoc,
  …@96b802f8957be13c6dc8a7e713261fe8b245e156:doc_source/kubernetes-versions.md).
  Caveat: the {', '.join(one_source)} row comes only from a stored rendering of
  docs.aws.amazon.com/eks/latest/userguide/kubernetes-versions.md (no
  repo@commit); the {', '.join(scraped)} row comes from endoflife.date's
  scrape of the same page (evidence B). Newest row: {calendar[-1]['kubernetes_version']}.
- `ami_kernels`: newest kernel series per Kubernetes minor, from
  awslabs/amazon-eks-ami@81fec2e895854f599974fe4d3d72f61c0a9aaffa:CHANGELOG.md
  (releases v20231106..v20260714). Decision: AL2 uses the `{AL2_VARIANT}`
  rows and AL2023 the `{AL2023_VARIANT}` rows (GPU/Neuron/ARM variants
  sometimes move earlier, e.g. AL2023_ARM_64_NVIDIA to 6.12 at 1.26).
  Bottlerocket: the kernel package of
  bottlerocket-os/bottlerocket variants/aws-k8s-<minor>/Cargo.toml (commits
  listed in `aws/amis.json`; 1.32+ read from index versions). The 1.37
  Bottlerocket variant is left out: the source says it is no evidence that
  EKS offers 1.37.
- `al2_last_kubernetes`: 1.32, per
  awsdocs/amazon-eks-user-guide@0657cd08b3fccc6bf4dbfd217b20d46ec99698d5:latest/ug/nodes/eks-ami-deprecation-faqs.adoc
  and awslabs/amazon-eks-ami@81fec2e895:README.md. Caveat: AL2 publishing
  stopped on 2025-11-26 per the docs, yet the CHANGELOG lists AL2 AMIs in
  v20251209.

- `max_pods_settings`: where each way of provisioning nodes sets the
  kubelet's max pods (nodeadm, Bottlerocket, AL2 bootstrap.sh, Karpenter,
  eksctl, terraform-aws-eks) and the managed node group cap, each checked
  in the wording of `aws/node_provisioning.json` and carrying that fact's
  source. Used by CAP001's fixes and `generate max-pods`.

- `control_plane_rollback`: EKS's in-place control-plane version rollback
  (N to N-1 within a window after an in-place upgrade, what is and is not
  rolled back) from `control_plane_version_rollback` of
  `aws/eks_features.json`, each number checked in the quoted sentence
  of its source (cited there; confidence as recorded).
- `cluster_insights`: EKS cluster insights (VER013, `plan upgrade`): the
  insight statuses, the message UpdateClusterVersion fails with while
  upgrade insights report blocking issues (`force` overrides it), the
  statuses that block a control-plane rollback, and how often EKS
  refreshes insights, from `cluster_insights` of `aws/eks_features.json`
  (the EKS API reference, the botocore exception page and the user guide).

## knowledge-dates.json

Per fact family, the commit date of the newest source it was read from
(`knowledge-dates.json` of the shared data; checked to be the newest of the
family's dated sources). Reports show these dates, and the staleness rule
compares them with the evaluation date.

## cilium.json

Per Cilium minor, docs and code read at (see `cilium/README.md`):

{doc_refs_table(compat)}

Caveat: 1.20 was read from `main` before the v1.20 branch (the v1.20.0 tag
was not readable); 1.17/1.18/1.19 docs are older than their newest patches.

- `k8s_tested`: `k8s_tested` of `cilium/compatibility.json`
  (Documentation/{{concepts,network}}/kubernetes/compatibility.rst at the ref
  above, or where the shared data says so at a release branch tip:
{branch_tip_lines(compat)}
- `latest_patch`, `latest_patch_published`: `latest_patch_release` of
  `cilium/compatibility.json`; `latest_patch_evidence` its level (A: the
  chart index, cilium/charts@009b5e9582173785abfdedb3fda7a26d85ab7aca:index.yaml;
  B: upstream tags as endoflife-date/release-data scraped them, date of the
  tag); `latest_patch_final` whether the minor gets no more patches;
  `maintenance_eol` the end of maintenance endoflife.date records. These
  are the latest *known* patches: see knowledge-dates.json.

{patches_table(minors)}
- `min_kernel`: the version of "Linux kernel >= X" in
  Documentation/operations/system_requirements.rst ("or equivalent" and
  RHEL exceptions dropped; a missing patch is 0).
- `eni_required_actions`: "Required Privileges" of
  Documentation/network/concepts/ipam/eni.rst. Decision: from 1.18 on,
  `ec2:DescribeInstanceTypes` is added, because the same page says the
  instance limits are "only fetched from the EC2 API dynamically from 1.18
  onwards. This requires ... DescribeInstanceTypes" (it points to
  AmazonEKSWorkerNodePolicy, which an operator with its own IRSA role does
  not have).
- `eni_conditional_actions`: the conditional privileges of eni.rst with a
  stable feature id (`eni-gc`, `release-excess-ips`,
  `instance-tags-filter`), plus two deliberate additions:
  - `ec2-adapter-limit-via-api` (1.12-1.17): eni.rst's "EC2 instance types
    ENI limits" section says `--update-ec2-adapter-limit-via-api` "will
    require an additional EC2 IAM permission: DescribeInstanceTypes". The
    1.14 upgrade notes say `ec2:DescribeInstances` instead; eni.rst and the
    operator code say DescribeInstanceTypes, which is used.
  - `static-ip` ({feature_minors(minors, "static-ip")}): `ec2:AssociateAddress` and
    `ec2:DescribeAddresses` are called by the operator code for
    `spec.ipam.static-ip-tags` (`code_ec2_api_calls` of `cilium/eni_iam.json`,
    per checked minor), but not documented. The feature starts at the first
    checked minor whose calls include both.
  - Left out: `ec2:AssignIpv6Addresses` (in main's code only; the docs say
    ENI mode does not support IPv6).
  - `enabled_by_default`: `eni-gc` per eni.rst ("which is the default");
    `release-excess-ips` and `ec2-adapter-limit-via-api` from the chart
    defaults `eni.awsReleaseExcessIPs` / `eni.updateEC2AdapterLimitViaAPI`
    (`eni_iam.json` `helm_values_eni`); the others are off unless set.

{conditional_table(minors)}

- `prefix_delegation_on_bare_metal`: whether `IsPrefixDelegated()` also
  accepts bare-metal types (it always accepts `nitro`), per minor from
  `prefix_delegation.bare_metal_by_minor` of `cilium/eni_iam.json`, each
  read in the operator code: true in {', '.join(m['minor'] for m in minors if m['prefix_delegation_on_bare_metal'])}.
- `ipam_reserved`: the addresses the agent takes for itself from the
  node's pool (`cilium/ipam_reserved.json`): `router` (cilium_host) unless
  `local-router-ipv4` is set, `health` while `enable-health-checking` and
  `enable-endpoint-health-checking` are both on, `ingress` while
  `enable-envoy-config` is on. `on_by_default` follows the chart defaults
  (two addresses; three with Ingress, Gateway API or Envoy config). In ENI
  mode each is one ENI address no pod can get, so pod IPs = pool - these.
- `helm_keys_removed`: for each transition "X->Y" of
  `cilium/helm_key_changes.json`, the keys of the X chart missing from the Y
  chart (structure changes leaf<->map are not removals).
  - `chart_fails`: a `templates/validate.yaml` fail message of Y or a later
    chart names the key, exactly or as a removed parent (`endpointStatus
    has been removed` covers `endpointStatus.enabled`; braces such as
    `encryption.{{keyFile,...}}` are expanded). Caveat: the 1.20 message
    "The support for providing Cluster Mesh certs and keys as helm values has
    been removed" names no key, so those keys are not marked.
  - `replacement`: only where the upgrade notes
    (Documentation/operations/upgrade.rst, `cilium/upgrade_notes.json`) name
    one; the script checks each against the note text and the Y chart keys:

{replacements_table()}

## helm-keys/<minor>.txt

Every flattened Helm value key the chart of that minor accepts, one per
line, sorted: `values_keys` plus `template_only_refs` (keys the templates
read although values.yaml only shows them as commented-out examples, such as
`kubeProxyReplacement` before 1.18) of `cilium/helm_keys.json`, from
cilium/charts@009b5e9582173785abfdedb3fda7a26d85ab7aca:cilium-<version>.tgz.
Decision: a removed key the templates read only to fail on it (`chart_fails`,
e.g. `tunnel` from 1.15 on) is not listed, since the chart refuses it;
removed keys still read as fallbacks (`hubble.export.fileMaxBackups` in 1.18+)
stay. Lists and empty maps are leaves, so keys below them are not listed.
"""


def eks_install_table(minors):
    rows = ["| minor | ENI install flags | AL2023 interfaces | full kube-proxy replacement |", "|---|---|---|---|"]
    for m in minors:
        rows.append(f"| {m['minor']} | `{' '.join(m['eni_helm_flags'])}` | "
                    f"{m['al2023_egress_masquerade_interfaces'] or '-'} | `{m['kube_proxy_replacement_full']}` |")
    return "\n".join(rows)


def build_generate_sources(eks_minors):
    return f"""
## metrics.json

Used by `generate alerts`.

- `minors`: every agent (`cilium_*`) and operator (`cilium_operator_*`)
  metric the metrics tables of the docs list for that minor
  (Documentation/observability/metrics.rst at the refs above; 1.12:
  Documentation/operations/metrics.rst), read from `cilium/metrics.json`
  `docs_by_version`. `disabled_by_default`: the ones the table marks
  "Disabled" (e.g. `cilium_bpf_map_pressure` in 1.12).
  Caveat: names are the documented prefix plus the doc name; the few whose
  registered name differs (docs `ipam_api_duration_seconds`, code
  `cilium_operator_ec2_api_duration_seconds`) are listed as documented.
- `drop_reasons`: the CT and NAT drop reason texts of `pkg/monitor/api/drop.go`
  from `cilium/conntrack.json` (`since`: 1.12 unless the source says
  otherwise, 190/191 from 1.14). `cilium_drop_count_total{{reason}}` carries
  these texts.
- `pressure_maps`: the `map_name` values of `cilium_bpf_map_pressure` for
  the conntrack (`ct*`) and NAT (`snat_*`) maps, from `cilium/conntrack.json`
  `bpf_map_pressure` (read at v1.19.1).

## eks-iam.json

The trust policies of the EKS user guide, verbatim from `aws/irsa.json`
(awsdocs/amazon-eks-user-guide@4d52b4d05e3478582e7d10a73cbd9ba9194dd5f7:latest/ug/manage-access/aws-access/service-accounts.adoc);
used by `generate trust-policy`.

- `irsa_trust_policy_template`: the IRSA template with its placeholders
  `$account_id`, `$oidc_provider` (the issuer without `https://`),
  `$namespace` and `$service_account`. The guide writes the ARN prefix as
  `{{arn-aws}}`, the partition's prefix (`arn:aws:` in the template).
- `irsa_service_account_annotation`: the ServiceAccount annotation that
  names the role.
- `pod_identity_trust_policy`: the EKS Pod Identity trust policy
  (`pods.eks.amazonaws.com`, `sts:AssumeRole` and `sts:TagSession`).
- `pod_identity_agent`: where the EKS Pod Identity agent serves credentials
  (hostNetwork, 169.254.170.23 and fd00:ec2::23, ports 80 and 2703) and the
  env var pods are given, from `aws/eks_features.json` `pod_identity_agent`
  (the same user guide page); used by OPS009.

## cilium-eks.json

What Cilium's EKS install guide says, from `cilium/eks.json` and
`cilium/eni_iam.json`; used by `generate helm-values` and
`generate disable-aws-node`.

- `aws_node_patch`: the documented `kubectl patch` of the aws-node
  nodeSelector (identical in k8s-install-helm.rst 1.12-1.20), and the
  selector it sets.
- `agent_not_ready_taint`: the node taint of requirements-eks.rst.
- `overlay_iptables_flush`: the commands that flush the VPC CNI's iptables
  chains before overlay mode.
- per minor: `eni_helm_flags`, the `--set` flags of the EKS tab of
  k8s-install-helm.rst; `al2023_egress_masquerade_interfaces`, the
  interface selector the same page names for Amazon Linux 2023 (1.14-1.17);
  `kube_proxy_replacement_full`, the `--kube-proxy-replacement` value that
  enables every feature (cmdref/cilium-agent.md: `strict` to 1.13, `true`
  from 1.14; from 1.18 the flag reads only "Enable kube-proxy replacement",
  so `true`).

{eks_install_table(eks_minors)}
"""


# --------------------------------------------------------------------------

KNOWLEDGE_FAMILIES = ["cilium_releases", "cilium_docs", "eks_calendar", "ec2_limits",
                      "ami_kernels", "helm_charts", "metrics"]


def build_knowledge_dates(src):
    """data/knowledge-dates.json: per family, the date of its newest source."""
    dates = load_json(src, "knowledge-dates.json")
    families = dates["families"]
    require(sorted(families) == sorted(KNOWLEDGE_FAMILIES),
            f"knowledge-dates.json families changed: {sorted(families)}")
    out = {}
    for name in KNOWLEDGE_FAMILIES:
        f = families[name]
        require(re.fullmatch(r"\d{4}-\d{2}-\d{2}", f["date"]), f"{name}: date {f['date']!r}")
        dated = [s["date"] for s in f["sources"] if s.get("date")]
        require(f["date"] == max(dated), f"{name}: date is not its newest source's ({max(dated)})")
        newest = [s for s in f["sources"] if s.get("date") == f["date"]]
        out[name] = {
            "date": f["date"],
            "covers": f["covers"],
            "newest_source": newest[0]["ref"],
        }
    return dump_json({"compiled": dates["compiled"], "families": out})


# --------------------------------------------------------------------------
# data/known-issues.json

# How each Cilium-versioned known issue is matched against a cluster: the
# stable ids of the conditions (besides the version) that must all hold, each
# checked against the wording of the source entry so that a changed entry
# stops the build. Entries of these kinds with a Cilium version range must be
# listed here or in KNOWN_ISSUES_UNMATCHED (with the reason).
KNOWN_ISSUE_KINDS = ("cilium-regression", "cilium-bug", "cilium-limitation")
KNOWN_ISSUE_CONDITIONS = {
    "KI001": ["ipam-eni", "instance-tags-filter"],
    "KI002": ["ipam-eni"],
    "KI008": ["chaining-aws-cni"],
    "KI020": ["ipam-eni"],
    "KI033": ["ipam-eni"],
    "KI035": ["ipam-eni"],
}
KNOWN_ISSUES_UNMATCHED = {
    "KI009": "needs L7 policies and an EKS endpoint change, which the snapshot does not show",
    "KI018": "no Cilium version range (MESH002 checks the cluster id)",
    "KI019": "no release with the fix identified",
    "KI021": "needs the instances' metadata options (HttpTokens), not an input",
}
# Issues other rules cite (their id, symptom, workaround and sources).
KNOWN_ISSUES_CITED = ["KI006", "KI008", "KI013", "KI015", "KI016", "KI017", "KI018", "KI019", "KI023",
                      "KI029", "KI030"]
# The project's own cited issues (KP ids), each with its public sources.
KNOWN_ISSUES_EXTRA = REPO / "scripts" / "knowledge" / "known-issues.json"


# Cited issues about a node OS or kernel: the platform the rule matches,
# read from the shared entry's `affected_other` (and its Cilium range),
# checked against the entry's condition wording.
def known_issue_platform(issue):
    other = (issue.get("affected_other") or {}).get("bottlerocket")
    if not other:
        return None
    cond = json.dumps(issue.get("condition", {}))
    require("Bottlerocket" in cond, f"{issue['id']}: affected_other.bottlerocket but no Bottlerocket condition")
    platform = {"os": "Bottlerocket"}
    if other.get("fixed"):
        require(RELEASE.fullmatch(other["fixed"]), f"{issue['id']}: Bottlerocket fix {other['fixed']!r}")
        platform["os_fixed"] = other["fixed"]
    if other.get("version"):
        platform["os_version"] = other["version"]
    if other.get("kernel"):
        require(other["kernel"] in cond, f"{issue['id']}: kernel {other['kernel']} not in the condition")
        platform["kernel"] = other["kernel"]
    introduced = [r["introduced"] for r in issue["affected_versions"] if r.get("introduced")]
    if introduced:
        platform["cilium_introduced"] = introduced[0]
    return platform


def condition_holds(cid, cond):
    """Check that the source entry's condition still words what `cid` matches."""
    text = json.dumps(cond)
    checks = {
        "ipam-eni": cond.get("ipam") == "eni",
        "chaining-aws-cni": cond.get("cni_chaining_mode") == "aws-cni",
        "instance-tags-filter": "instance-tags-filter" in cond.get("operator_flag", ""),
    }
    require(cid in checks, f"unknown known-issue condition {cid}")
    require(checks[cid], f"known issue condition {cid} no longer matches {text}")


RELEASE = re.compile(r"\d+\.\d+\.\d+")


def release_ranges(issue):
    """The affected Cilium ranges whose bounds are releases (pre-releases are
    not told apart by the version parser, so their ranges are left out)."""
    out = []
    for r in issue["affected_versions"]:
        bounds = [r.get("introduced"), r.get("fixed")]
        if not any(bounds):
            continue
        if any(b and not RELEASE.fullmatch(b) for b in bounds):
            continue
        out.append({"introduced": bounds[0], "fixed": bounds[1]})
    return out


def urls(issue):
    return [s for s in issue["sources"] if s.startswith("https://")]


def build_known_issues(src):
    data = load_json(src, "cilium/known_issues.json")
    by_id = {i["id"]: i for i in data["issues"]}
    versioned = []
    for issue in data["issues"]:
        ranges = release_ranges(issue)
        if issue["kind"] not in KNOWN_ISSUE_KINDS or not ranges:
            continue
        iid = issue["id"]
        if iid in KNOWN_ISSUES_UNMATCHED:
            continue
        require(iid in KNOWN_ISSUE_CONDITIONS,
                f"known issue {iid} has a Cilium version range but no matching conditions in this script")
        require(issue["confidence"] in ("high", "medium"), f"{iid}: confidence {issue['confidence']}")
        for cid in KNOWN_ISSUE_CONDITIONS[iid]:
            condition_holds(cid, issue["condition"])
        fixed = (issue.get("fixed_in") or {}).get("cilium") or []
        versioned.append({
            "id": iid,
            "title": issue["title"],
            "component": issue["component"],
            "affected": ranges,
            "conditions": KNOWN_ISSUE_CONDITIONS[iid],
            "symptom": issue["symptom"],
            "fixed_in": [v for v in fixed if RELEASE.fullmatch(v)],
            "release_note": (issue.get("fixed_in") or {}).get("release_note"),
            "workaround": issue["workaround"],
            "sources": urls(issue),
            "confidence": issue["confidence"],
        })
    for iid in list(KNOWN_ISSUE_CONDITIONS) + list(KNOWN_ISSUES_UNMATCHED):
        require(iid in by_id, f"known issue {iid} is gone from known_issues.json")
    cited = []
    for iid in KNOWN_ISSUES_CITED:
        require(iid in by_id, f"cited known issue {iid} is gone from known_issues.json")
        issue = by_id[iid]
        entry = {
            "id": iid,
            "title": issue["title"],
            "symptom": issue["symptom"],
            "workaround": issue["workaround"],
            "sources": urls(issue),
            "confidence": issue["confidence"],
        }
        platform = known_issue_platform(issue)
        if platform:
            entry["platform"] = platform
        cited.append(entry)
    extra = json.loads(KNOWN_ISSUES_EXTRA.read_text())
    for issue in extra["issues"]:
        iid = issue["id"]
        require(iid.startswith("KP"), f"{KNOWN_ISSUES_EXTRA.name}: {iid} is not a KP id")
        require(iid not in by_id, f"{KNOWN_ISSUES_EXTRA.name}: {iid} collides with a shared id")
        require(urls(issue), f"{KNOWN_ISSUES_EXTRA.name}: {iid} has no public source")
        cited.append({
            "id": iid,
            "title": issue["title"],
            "symptom": issue["symptom"],
            "workaround": issue["workaround"],
            "sources": urls(issue),
            "confidence": issue["confidence"],
        })
    doc = {
        "sources": {
            "issues": "cilium/known_issues.json (each entry's own sources: Cilium CHANGELOG.md at the "
                      "release tags, the issue and PR threads); KP ids: scripts/knowledge/known-issues.json",
        },
        "versioned": versioned,
        "cited": cited,
    }
    return dump_json(doc)


def known_issues_sources(src):
    """SOURCES.md: where known-issues.json and the hybrid-nodes list come from."""
    doc = json.loads(build_known_issues(src))
    rows = ["| id | affected | conditions | fixed in | sources |", "|---|---|---|---|---|"]
    for i in doc["versioned"]:
        affected = "; ".join(f"{r['introduced'] or '(any)'} to {r['fixed'] or '(not fixed)'}" for r in i["affected"])
        rows.append(f"| {i['id']} | {affected} | {', '.join(i['conditions'])} | "
                    f"{', '.join(i['fixed_in']) or '-'} | {' '.join(i['sources'])} |")
    minors, source = hybrid_nodes_cilium(src)
    return (
        "\n## known-issues.json\n\n"
        "Used by VER012 (`versioned`), the upgrade steps (a step never installs a release in a\n"
        "`versioned` range) and the rules that cite a problem (`cited`: CNI007 KI023, CNI008 KI008,\n"
        "CNI010 KI006, CNI011 KP001, MESH002 KI018, CFG007 KI029, CFG008 KI015, CFG010 KI016,\n"
        "CFG011 KI017, CFG012 and CFG013 KI030, CFG014 KI019, OPS009 KI013; KI016 and KI017 carry\n"
        "the node platform of their `affected_other`). Read from `cilium/known_issues.json` (KP ids:\n"
        "`scripts/knowledge/known-issues.json`, the project's own, each with its public sources); an entry\n"
        "with a Cilium release range is matched only with the conditions this script names for it\n"
        "(each checked against the entry's own condition wording), or is listed as not matched with\n"
        "the reason. Ranges with pre-release bounds are left out (the version parser does not tell\n"
        "pre-releases apart).\n\n" + "\n".join(rows) + "\n\n"
        "Not matched: " + "; ".join(f"{k}: {v}" for k, v in KNOWN_ISSUES_UNMATCHED.items()) + ".\n\n"
        "## cilium-eks.json hybrid_nodes_cilium_minors\n\n"
        f"{', '.join(minors)}: the minors the EKS user guide supports on EKS Hybrid Nodes, read from\n"
        f"`aws/eks_features.json` hybrid_nodes ({source}). Used by CNI009.\n"
    )


# --------------------------------------------------------------------------
# data/iac-defaults.json

def build_iac_defaults(src):
    """terraform-aws-modules/eks defaults per major, from
    scripts/knowledge/terraform-aws-eks.json, each bootstrap fact checked
    against the shared node_provisioning.json wording."""
    with open(REPO / "scripts/knowledge/terraform-aws-eks.json", encoding="utf-8") as f:
        project = json.load(f)
    shared = load_json(src, "aws/node_provisioning.json")["paths"]["terraform_aws_eks_module"]["facts"]
    facts = " ".join(f["fact"] for f in shared)
    require("Default true" in facts, "node_provisioning.json: the provider default of bootstrap_self_managed_addons moved")
    require("v19.x: no bootstrap_self_managed_addons input" in facts, "node_provisioning.json: the v19 fact moved")
    require("v20.18.0 (2024-07-15) adds bootstrap_self_managed_addons" in facts, "node_provisioning.json: the v20.18 fact moved")
    require("bootstrap_self_managed_addons is now hardcoded to false" in facts, "node_provisioning.json: the v21 fact moved")
    majors = project["majors"]
    require(majors["19"]["bootstrap_self_managed_addons"] == {"input": None, "default": True}, "v19 bootstrap entry")
    require(majors["20"]["bootstrap_self_managed_addons"].get("input_from") == "20.18.0", "v20 bootstrap entry")
    require(majors["21"]["bootstrap_self_managed_addons"].get("hardcoded") is False, "v21 bootstrap entry")
    doc = {
        "sources": {
            "terraform_aws_eks": "scripts/knowledge/terraform-aws-eks.json; ../shared/data/aws/node_provisioning.json paths.terraform_aws_eks_module",
        },
        "terraform_aws_eks": {
            "module_source": project["module_source"],
            "majors": majors,
        },
    }
    return dump_json(doc)


def build(src):
    """All generated files, as {relative path: text}."""
    instances, missing_vcpus = build_instances(src)
    eks, calendar = build_eks(src)
    cilium, helm_keys, compat, minors = build_cilium(src)
    with open(src / "aws/eni-max-pods.txt", encoding="utf-8", newline="") as f:
        upstream = f.read()
    cilium_eks, eks_minors = build_cilium_eks(src)
    sources = build_sources(instances.count("\n") - 1, missing_vcpus, calendar, compat, minors)
    log_signatures = build_log_signatures(src)
    files = {
        "instances.csv": instances,
        "eks.json": eks,
        "cilium.json": cilium,
        "metrics.json": build_metrics(src),
        "cilium-eks.json": cilium_eks,
        "eks-iam.json": build_eks_iam(src),
        "log-signatures.json": log_signatures,
        "knowledge-dates.json": build_knowledge_dates(src),
        "known-issues.json": build_known_issues(src),
        "iac-defaults.json": build_iac_defaults(src),
        "upstream/eni-max-pods.txt": upstream,
        "SOURCES.md": sources
        + build_generate_sources(eks_minors)
        + log_sources_section(log_signatures)
        + known_issues_sources(src),
    }
    for minor, keys in helm_keys.items():
        files[f"helm-keys/{minor}.txt"] = "\n".join(keys) + "\n"
    return files


def stale_files(files):
    present = {p.relative_to(DATA).as_posix() for p in DATA.rglob("*") if p.is_file()} if DATA.exists() else set()
    differ = [rel for rel, text in files.items()
              if not (DATA / rel).exists() or (DATA / rel).read_text(encoding="utf-8") != text]
    extra = sorted(present - set(files))
    return sorted(differ), extra


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("source", nargs="?", default=str(REPO / ".." / "shared" / "data"),
                        help="the shared ground-truth directory (default: ../shared/data)")
    parser.add_argument("--check", action="store_true", help="only check that data/ is current")
    args = parser.parse_args()
    src = Path(args.source)
    if not (src / "aws").is_dir() or not (src / "cilium").is_dir():
        print(f"error: {src} has no aws/ and cilium/ folders", file=sys.stderr)
        return 2
    try:
        files = build(src)
    except (SourceError, OSError, KeyError, ValueError) as e:
        print(f"error: {src}: {e}", file=sys.stderr)
        return 2
    differ, extra = stale_files(files)
    if args.check:
        for rel in differ:
            print(f"data/{rel} is out of date", file=sys.stderr)
        for rel in extra:
            print(f"data/{rel} is not generated by this script", file=sys.stderr)
        return 1 if differ or extra else 0
    for rel, text in files.items():
        path = DATA / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        with open(path, "w", encoding="utf-8", newline="") as f:
            f.write(text)
    for rel in extra:
        (DATA / rel).unlink()
    print(f"wrote {len(files)} files to {DATA} ({len(differ)} changed, {len(extra)} removed)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
