#!/usr/bin/env python3
"""Write the corpus cases whose decisive evidence is an agent/operator log
line or an Event message (issue #14): corpus/UPxx/input/ as an extracted
`cilium sysdump` directory (cilium-cli's `logs-<pod>-<container>-<ts>.log`
names, the loader reads directories as it reads the zip) and kubectl JSON
as kubectl writes it, plus case.json.

The decisive lines are quoted verbatim from each case's thread
(../shared/research/user-problems-train.jsonl); the other lines are the
ordinary start-up noise of that Cilium version, in that version's log
format (shared log_signatures.json `log_formats`).

Usage: python3 scripts/make-corpus-logs.py   (rewrites those cases)
"""

import json
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"


def kubectl_json(value):
    return json.dumps(value, indent=4) + "\n"


def line(fmt, ts, level, msg, **fields):
    """One log line in the format of a Cilium version.

    fmt: "text" (logrus, no time), "text-ts" (logrus, quoted RFC3339Nano),
    "slog" (>= 1.18, unquoted); kubelet: prefix kubelet's timestamp."""
    def q(v):
        # logrus quotes any value with a character outside [A-Za-z0-9-._/@^+];
        # slog only values with spaces, `=` or quotes.
        v = str(v)
        if fmt == "slog":
            plain = v and not any(c in v for c in ' ="')
        else:
            plain = v and all(c.isalnum() or c in "-._/@^+" for c in v)
        return v if plain else '"' + v.replace('\\', '\\\\').replace('"', '\\"') + '"'
    lv = "warn" if (fmt == "slog" and level == "warning") else level
    parts = []
    if fmt == "text-ts":
        parts.append(f'time="{ts}"')
    elif fmt == "slog":
        parts.append(f"time={ts}")
    parts.append(f"level={lv}")
    parts.append(f"msg={q(msg)}")
    parts += [f"{k}={q(v)}" for k, v in fields.items()]
    return " ".join(parts)


def log_file(lines, kubelet=None):
    out = []
    for ts, text in lines:
        out.append(f"{kubelet and ts} {text}" if kubelet else text)
    return "\n".join(out) + "\n"


def event(name, ns, pod, reason, message, count, first, last, host, kind="Pod", type_="Warning"):
    return {
        "apiVersion": "v1",
        "kind": "Event",
        "count": count,
        "type": type_,
        "reason": reason,
        "message": message,
        "metadata": {"name": name, "namespace": ns, "resourceVersion": "551190"},
        "involvedObject": {"kind": kind, "namespace": ns, "name": pod, "apiVersion": "v1"},
        "source": {"component": "kubelet", "host": host},
        "firstTimestamp": first,
        "lastTimestamp": last,
    }


def event_list(items):
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items}


def stuck_pod(name, ns, node):
    return {
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {"name": name, "namespace": ns},
        "spec": {"nodeName": node, "containers": [{"name": "app", "image": "nginx:1.27"}]},
        "status": {
            "phase": "Pending",
            "containerStatuses": [{
                "name": "app", "ready": False, "restartCount": 0, "image": "nginx:1.27", "imageID": "",
                "started": False, "state": {"waiting": {"reason": "ContainerCreating"}},
            }],
        },
    }


def agent_ds(tag):
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": [{
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": "cilium", "namespace": "kube-system", "labels": {"k8s-app": "cilium"}},
        "spec": {"selector": {"matchLabels": {"k8s-app": "cilium"}}, "template": {
            "metadata": {"labels": {"k8s-app": "cilium"}},
            "spec": {"containers": [{"name": "cilium-agent", "image": f"quay.io/cilium/cilium:v{tag}"}], "hostNetwork": True}}},
    }]}


def cilium_config(data):
    return {"apiVersion": "v1", "kind": "ConfigMap",
            "metadata": {"name": "cilium-config", "namespace": "kube-system"}, "data": data}


OPERATOR_START_TEXT = [
    ("info", "Cilium Operator 1.12.1 4c9a6302 2022-08-15T17:08:55+02:00 go version go1.18.5 linux/amd64", {"subsys": "cilium-operator-aws"}),
    ("info", "Started gops server", {"address": "127.0.0.1:9891", "subsys": "cilium-operator-aws"}),
    ("info", "Establishing connection to apiserver", {"host": "https://172.20.0.1:443", "subsys": "k8s"}),
    ("info", "Connected to apiserver", {"subsys": "k8s"}),
    ("info", "Initializing IPAM", {"mode": "eni", "subsys": "cilium-operator-aws"}),
    ("info", "Starting ENI allocator...", {"subsys": "ipam-allocator-aws"}),
]


def kube_node(name, instance_type, pods, ready=True, kernel="6.1.112-124.190.amzn2023.x86_64", kubelet="v1.31.2-eks-7f9249a", extra_labels=None):
    labels = {"node.kubernetes.io/instance-type": instance_type, "kubernetes.io/os": "linux",
              "topology.kubernetes.io/zone": "eu-west-1a"}
    labels.update(extra_labels or {})
    condition = ({"type": "Ready", "status": "True", "reason": "KubeletReady", "message": "kubelet is posting ready status"}
                 if ready else
                 {"type": "Ready", "status": "False", "reason": "KubeletNotReady",
                  "message": "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized"})
    return {"apiVersion": "v1", "kind": "Node",
            "metadata": {"name": name, "labels": labels},
            "spec": {"providerID": "aws:///eu-west-1a/i-0" + "".join(f"{ord(c):x}" for c in name)[-16:]},
            "status": {"capacity": {"cpu": "4", "memory": "15896988Ki", "pods": str(pods)},
                       "allocatable": {"cpu": "3920m", "memory": "15207836Ki", "pods": str(pods)},
                       "conditions": [condition],
                       "nodeInfo": {"kubeletVersion": kubelet, "kernelVersion": kernel, "osImage": "Amazon Linux 2023",
                                    "containerRuntimeVersion": "containerd://1.7.23", "architecture": "amd64", "operatingSystem": "linux"}}}


def kube_list(items):
    return {"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": items}


def write_case(case_id, files, case):
    root = CORPUS / case_id
    inp = root / "input"
    if inp.exists():
        for p in sorted(inp.rglob("*"), reverse=True):
            p.unlink() if p.is_file() else p.rmdir()
    for rel, text in files.items():
        path = inp / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    (root / "case.json").write_text(json.dumps(case, indent=2, ensure_ascii=False) + "\n", encoding="utf-8")


def sysdump(ts):
    return f"cilium-sysdump-{ts}"


def main():
    cases = {}

    # UP16 (cilium#13701, 1.8.4): operator crashes, UnauthorizedOperation.
    lines = [(None, line("text", None, lv, m, **f)) for lv, m, f in OPERATOR_START_TEXT]
    lines += [
        (None, 'level=info msg="Retrieving own metadata from EC2 metadata server..." subsys=ipam-allocator-aws'),
        (None, 'level=info msg="Connected to EC2 metadata server" instance=i-08cb4b6758811177c region=eu-central-1 subsys=ipam-allocator-aws'),
        (None, 'level=info msg="Connected to EC2 service API" subsys=ipam-allocator-aws'),
        (None, 'level=warning msg="Unable to synchronize EC2 interface list" error="UnauthorizedOperation: You are not authorized to perform this operation.\\n\\tstatus code: 403, request id: 23cb8daa-90bc-49e0-94eb-358a2e609770" subsys=eni'),
        (None, 'level=fatal msg="Unable to start eni allocator" error="Initial synchronization with instances API failed" subsys=cilium-operator-aws'),
    ]
    d = sysdump("20201022-093000")
    cases["UP16"] = ({
        f"{d}/logs-cilium-operator-6c9f8d7b5-4kq2z-cilium-operator-20201022-093000-prev.log": log_file(lines),
        f"{d}/logs-cilium-operator-6c9f8d7b5-4kq2z-cilium-operator-20201022-093000.log": log_file(lines[:4]),
    }, {
        "id": "UP16", "url": "https://github.com/cilium/cilium/issues/13701", "root_cause_stated": True,
        "inputs": "the operator logs of an extracted sysdump (current and previous container), Cilium 1.8 logrus text format, the decisive lines verbatim from the thread",
        "diagnosis": [
            {"rule": "IAM001", "severity_at_least": "high", "mentions_any": ["UnauthorizedOperation", "not authorized"]},
            {"rule": "LOG001", "severity_at_least": "high", "mentions_any": ["IAM", "credentials"]},
        ],
    })

    # UP18 (cilium#20703, 1.12): DescribeInstances denied with instance-tags-filter.
    lines = [(None, line("text", None, lv, m, **f)) for lv, m, f in OPERATOR_START_TEXT]
    lines += [
        (None, 'level=warning msg="Unable to synchronize EC2 interface list" error="operation error EC2: DescribeInstances, https response error StatusCode: 403, RequestID: 0b7e2f6c-7c3e-4c42-a1b8-36c61bb0f0b1, api error UnauthorizedOperation: You are not authorized to perform this operation." subsys=eni'),
        (None, 'level=fatal msg="Unable to start eni allocator" error="Initial synchronization with instances API failed" subsys=cilium-operator-aws'),
    ]
    d = sysdump("20220727-101500")
    cases["UP18"] = ({
        f"{d}/logs-cilium-operator-7b9c5d6f8-m2vxp-cilium-operator-20220727-101500-prev.log": log_file(lines),
        "cilium-config.json": kubectl_json(cilium_config({"ipam": "eni", "instance-tags-filter": "team=payments", "tunnel": "disabled"})),
    }, {
        "id": "UP18", "url": "https://github.com/cilium/cilium/pull/20703", "root_cause_stated": True,
        "inputs": "the operator's previous-container log of an extracted sysdump (1.12 logrus text) with the thread's SDK v2 error, and cilium-config with instance-tags-filter",
        "diagnosis": [
            {"rule": "IAM001", "severity_at_least": "high", "mentions_any": ["ec2:DescribeInstances"]},
        ],
    })

    # UP19 (cilium#39519, 1.17.3): generic operator in ENI mode.
    k = "2025-04-29T08:12:0{}.52435{}585Z"
    lines = [
        (k.format(1, 1), line("text-ts", k.format(1, 1), "info", "Cilium Operator 1.17.3 go version go1.23.8 linux/amd64", subsys="cilium-operator-generic")),
        (k.format(1, 2), line("text-ts", k.format(1, 2), "info", "Started gops server", address="127.0.0.1:9891", subsys="cilium-operator-generic")),
        (k.format(2, 3), line("text-ts", k.format(2, 3), "info", "Establishing connection to apiserver", host="https://172.20.0.1:443", subsys="k8s-client")),
        (k.format(2, 4), line("text-ts", k.format(2, 4), "info", "Connected to apiserver", subsys="k8s-client")),
        (k.format(3, 5), 'time="{}" level=fatal msg="eni allocator is not supported by this version of cilium-operator-generic" subsys=cilium-operator-generic'.format(k.format(3, 5))),
    ]
    d = sysdump("20250429-081500")
    cases["UP19"] = ({
        f"{d}/logs-cilium-operator-84d5b7c9f-q8w2n-cilium-operator-20250429-081500-prev.log": log_file(lines, kubelet=True),
    }, {
        "id": "UP19", "url": "https://github.com/cilium/cilium/issues/39519", "root_cause_stated": True,
        "inputs": "the operator's previous-container log of an extracted sysdump (1.17 text-ts with kubelet timestamps), the fatal line verbatim from the thread",
        "diagnosis": [
            {"rule": "CFG005", "severity_at_least": "high", "mentions_any": ["eni.enabled", "operator-aws", "aws operator"]},
        ],
    })

    # UP10 (cilium#35404, 1.17.5): Instance not found for new Karpenter nodes.
    ts = ["2024-10-15T12:0{}:1{}.0Z".format(i, i) for i in range(6)]
    lines = [
        (ts[0], f'time="{ts[0]}" level=info msg="Starting ENI allocator..." subsys=ipam-allocator-aws'),
        (ts[1], f'time="{ts[1]}" level=info msg="Synchronized ENI information" numInstances=112 numSecurityGroups=6 numSubnets=6 numVPCs=1 subsys=eni'),
    ]
    for t in ts[2:]:
        lines.append((t, f'time="{t}" level=warning msg="Instance not found! Please delete corresponding ciliumnode if instance has already been deleted." error="unable to retrieve ENIs" instanceID=i-03b3c98c28605d8e4 name=ip-10-127-218-131.ap-southeast-2.compute.internal subsys=ipam'))
    d = sysdump("20241015-121000")
    cases["UP10"] = ({
        f"{d}/logs-cilium-operator-5f6d8c9b7-h7k2l-cilium-operator-20241015-121000.log": log_file(lines, kubelet=True),
    }, {
        "id": "UP10", "url": "https://github.com/cilium/cilium/issues/35404", "root_cause_stated": True,
        "inputs": "the operator log of an extracted sysdump (text-ts with kubelet timestamps) with the thread's warning repeated",
        "diagnosis": [
            {"rule": "LOG007", "severity_at_least": "medium", "mentions_any": ["restart the operator"]},
        ],
    })

    # UP22 (cilium#26649): custom networking copied from the VPC CNI.
    lines = [(None, line("text", None, lv, m, **f)) for lv, m, f in OPERATOR_START_TEXT[1:]]
    lines.append((None, 'level=warning msg="Instance not found! Please delete corresponding ciliumnode if instance has already been deleted." instanceID=i-0108aa949140cae90 name=ip-100-64-12-7.eu-west-1.compute.internal subsys=ipam'))
    d = sysdump("20230627-140000")
    node = "ip-10-0-12-7.eu-west-1.compute.internal"
    cases["UP22"] = ({
        f"{d}/logs-cilium-operator-7d8f9b6c5-p4r8t-cilium-operator-20230627-140000.log": log_file(lines),
        "events.json": kubectl_json(event_list([event(
            "app-7c9d-x1.17b2", "default", "app-7c9d-x1", "FailedCreatePodSandBox",
            'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "0f3a": plugin type="cilium-cni" name="cilium" failed (add): unable to allocate IP via local cilium agent: [POST /ipam][502] postIpamFailure  No more IPs available',
            12, "2023-06-27T13:40:00Z", "2023-06-27T13:59:00Z", node)])),
        "pods.json": kubectl_json({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": [stuck_pod("app-7c9d-x1", "default", node)]}),
    }, {
        "id": "UP22", "url": "https://github.com/cilium/cilium/issues/26649", "root_cause_stated": True,
        "inputs": "an operator log (logrus text) with the thread's warning, the FailedCreatePodSandBox Event and the stuck pod",
        "diagnosis": [
            {"rule": "CAP002", "severity_at_least": "high", "mentions_any": ["subnet-tags-filter", "subnetTagsFilter", "ENIConfig"]},
        ],
    })

    # UP38 (cilium#20915, 1.12.1): agent API timeouts during an EKS upgrade.
    node = "ip-192-168-3-41.us-west-2.compute.internal"
    cases["UP38"] = ({
        "events.json": kubectl_json(event_list([
            event("api-6f7d-a.1", "shop", "api-6f7d-a", "FailedCreatePodSandBox",
                  'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "9d1c": plugin type="cilium-cni" name="cilium" failed (add): network: Unable to create endpoint: Cilium API client timeout exceeded',
                  23, "2022-08-16T09:12:00Z", "2022-08-16T09:48:00Z", node),
            event("api-6f7d-b.1", "shop", "api-6f7d-b", "FailedCreatePodSandBox",
                  'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "77aa": plugin type="cilium-cni" name="cilium" failed (add): network: Unable to create endpoint: [PUT /endpoint/{id}][429] putEndpointIdTooManyRequests',
                  9, "2022-08-16T09:20:00Z", "2022-08-16T09:45:00Z", node),
        ])),
        "daemonsets.json": kubectl_json(agent_ds("1.12.1")),
    }, {
        "id": "UP38", "url": "https://github.com/cilium/cilium/issues/20915", "root_cause_stated": True,
        "inputs": "the FailedCreatePodSandBox Events with the thread's two messages and the agent DaemonSet (1.12.1)",
        "diagnosis": [
            {"rule": "LOG005", "severity_at_least": "high", "mentions_any": ["1.12.5", "reconnect"]},
        ],
    })

    # UP49 (cilium#13995, 1.9 dev): verifier rejects from-container on 4.14.
    verifier = [
        'level=error msg="Command execution failed" cmd="[tc filter replace dev lxc_health ingress prio 1 handle 1 bpf da obj 2621_next/bpf_lxc.o sec from-container]" error="exit status 1" subsys=datapath-loader',
        'level=warning subsys=datapath-loader',
        'level=warning msg="Prog section \'from-container\' rejected: Argument list too long (7)!" subsys=datapath-loader',
        'level=warning msg=" - Type:         3" subsys=datapath-loader',
        'level=warning msg=" - Attach Type:  0" subsys=datapath-loader',
        'level=warning msg=" - Instructions: 3031 (0 over limit)" subsys=datapath-loader',
        'level=warning msg=" - License:      GPL" subsys=datapath-loader',
        'level=warning subsys=datapath-loader',
        'level=warning msg="Verifier analysis:" subsys=datapath-loader',
    ]
    lines = [(None, l) for l in [
        'level=info msg="Started gops server" address="127.0.0.1:9890" subsys=daemon',
        'level=info msg="Memory available for map entries (0.003% of 8050212864B): 20125532B" subsys=config',
        'level=info msg="Initializing daemon" subsys=daemon',
        'level=info msg="Establishing connection to apiserver" host="https://10.100.0.1:443" subsys=k8s',
        'level=info msg="Connected to apiserver" subsys=k8s',
    ] + verifier]
    d = sysdump("20201112-160000")
    cases["UP49"] = ({
        f"{d}/logs-cilium-75tj9-cilium-agent-20201112-160000.log": log_file(lines),
    }, {
        "id": "UP49", "url": "https://github.com/cilium/cilium/issues/13995", "root_cause_stated": True,
        "inputs": "the agent log of an extracted sysdump (logrus text) with the thread's verifier lines",
        "diagnosis": [
            {"rule": "LOG004", "severity_at_least": "high", "mentions_any": ["verifier", "kernel"]},
        ],
    })

    # UP51 (cilium#15682): empty instance ID, ENIs of other nodes.
    node = "ip-10-1-40-9.eu-west-1.compute.internal"
    cases["UP51"] = ({
        "events.json": kubectl_json(event_list([event(
            "web-1.18", "default", "web-1", "FailedCreatePodSandBox",
            'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to set up sandbox container "5b1e" network for pod "web-1": networkPlugin cni failed to set up pod "web-1_default" network: unable to setup interface datapath: unable to install ip rules and routes: unable to find ifindex for interface MAC: interface with MAC',
            7, "2021-04-13T08:00:00Z", "2021-04-13T08:15:00Z", node)])),
    }, {
        "id": "UP51", "url": "https://github.com/cilium/cilium/issues/15682", "root_cause_stated": True,
        "inputs": "the FailedCreatePodSandBox Event with the thread's CNI error",
        "diagnosis": [
            {"rule": "LOG008", "severity_at_least": "high", "mentions_any": ["instance ID", "instanceID"]},
        ],
    })

    # UP07 (cilium#46598, 1.20.0-pre.3): multi-pool-backed AWS IPAM out of sync.
    node = "ip-10-20-33-17.eu-central-1.compute.internal"
    cases["UP07"] = ({
        "events.json": kubectl_json(event_list([event(
            "worker-0.1", "jobs", "worker-0", "FailedCreatePodSandBox",
            'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "c41d": plugin type="cilium-cni" failed (add): unable to allocate IP via local cilium agent: [POST /ipam][502] postIpamFailure "all CIDR ranges are exhausted"',
            18, "2026-03-20T10:00:00Z", "2026-03-20T10:40:00Z", node)])),
        "pods.json": kubectl_json({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": [stuck_pod("worker-0", "jobs", node)]}),
        "daemonsets.json": kubectl_json(agent_ds("1.20.0-pre.3")),
    }, {
        "id": "UP07", "url": "https://github.com/cilium/cilium/issues/46598", "root_cause_stated": True,
        "inputs": "the FailedCreatePodSandBox Event verbatim from the thread, the stuck pod and the agent DaemonSet",
        "diagnosis": [
            {"rule": "CAP002", "severity_at_least": "high", "mentions_any": ["restart"]},
        ],
    })

    # UP15 (cilium#29634): No more IPs available on Bottlerocket with PD.
    node = "ip-10-0-80-5.us-east-1.compute.internal"
    cases["UP15"] = ({
        "events.json": kubectl_json(event_list([event(
            "batch-9.1", "default", "batch-9", "FailedCreatePodSandBox",
            'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "e2a0": plugin type="cilium-cni" failed (add): unable to allocate IP via local cilium agent: [POST /ipam][502] postIpamFailure  No more IPs available',
            40, "2023-11-28T09:00:00Z", "2023-11-28T10:00:00Z", node)])),
        "pods.json": kubectl_json({"apiVersion": "v1", "kind": "List", "metadata": {"resourceVersion": ""}, "items": [stuck_pod("batch-9", "default", node)]}),
    }, {
        "id": "UP15", "url": "https://github.com/cilium/cilium/issues/29634", "root_cause_stated": True,
        "inputs": "the FailedCreatePodSandBox Event verbatim from the thread and the stuck pod",
        "diagnosis": [
            {"rule": "CAP002", "severity_at_least": "high", "mentions_any": ["prefix delegation", "prefix"]},
        ],
    })

    # UP03 (Smana/cloud-native-ref#1730): AMI max-pods 58 on m5.xlarge, Cilium's ceiling 42.
    n = "ip-10-0-33-201.eu-west-1.compute.internal"
    cases["UP03"] = ({
        "nodes.json": kubectl_json(kube_list([kube_node(n, "m5.xlarge", 58, extra_labels={"eks.amazonaws.com/nodegroup": "default"})])),
        "pods.json": kubectl_json(kube_list([stuck_pod("kyverno-admission-7d9f-k2", "kyverno", n)])),
        "events.json": kubectl_json(event_list([event(
            "kyverno-admission-7d9f-k2.1", "kyverno", "kyverno-admission-7d9f-k2", "FailedCreatePodSandBox",
            'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "3c1e": plugin type="cilium-cni" failed (add): unable to allocate IP via local cilium agent: [POST /ipam][502] "no IPs currently available on the node"',
            25, "2026-01-12T08:00:00Z", "2026-01-12T08:50:00Z", n)])),
        "cilium-config.json": kubectl_json(cilium_config({"ipam": "eni", "enable-endpoint-routes": "true", "first-interface-index": "1", "routing-mode": "native"})),
        "daemonsets.json": kubectl_json(agent_ds("1.18.4")),
    }, {
        "id": "UP03", "url": "https://github.com/Smana/cloud-native-ref/pull/1730", "root_cause_stated": True,
        "inputs": "nodes (m5.xlarge, kubelet max pods 58), the stuck pod and its FailedCreatePodSandBox Event with the thread's message, cilium-config with first-interface-index 1",
        "diagnosis": [
            {"rule": "CAP001", "severity_at_least": "high", "mentions_any": ["max pods", "max-pods", "maxPods"]},
        ],
    })

    # UP04 (Smana/cloud-native-ref#1725): prefix delegation on a Xen i3.large.
    n = "ip-10-0-41-77.eu-west-1.compute.internal"
    cases["UP04"] = ({
        "nodes.json": kubectl_json(kube_list([kube_node(n, "i3.large", 100, extra_labels={"karpenter.sh/nodepool": "default"})])),
        "pods.json": kubectl_json(kube_list([stuck_pod("kyverno-cleanup-5f6b-x9", "kyverno", n)])),
        "events.json": kubectl_json(event_list([event(
            "kyverno-cleanup-5f6b-x9.1", "kyverno", "kyverno-cleanup-5f6b-x9", "FailedCreatePodSandBox",
            'Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "8a2f": plugin type="cilium-cni" failed (add): unable to allocate IP via local cilium agent: [POST /ipam][502] "no IPs currently available on the node"',
            31, "2026-01-09T14:00:00Z", "2026-01-09T14:45:00Z", n)])),
        "cilium-config.json": kubectl_json(cilium_config({"ipam": "eni", "aws-enable-prefix-delegation": "true", "routing-mode": "native"})),
        "daemonsets.json": kubectl_json(agent_ds("1.18.4")),
    }, {
        "id": "UP04", "url": "https://github.com/Smana/cloud-native-ref/pull/1725", "root_cause_stated": True,
        "inputs": "a Karpenter node (i3.large, Xen, kubelet max pods 100), the stuck pod and its FailedCreatePodSandBox Event with the thread's message, cilium-config with prefix delegation",
        "diagnosis": [
            {"rule": "CAP007", "severity_at_least": "high", "mentions_any": ["nitro"]},
            {"rule": "CAP001", "severity_at_least": "high", "mentions_any": ["max pods", "max-pods", "maxPods"]},
        ],
    })

    # UP08 (cilium#46608, 1.16.7 -> 1.19.4): the operator's allocator reports full.
    n = "ip-10-8-1-23.eu-west-1.compute.internal"
    t = ["2026-03-24T07:1{}:0{}.118273645Z".format(i // 10, i % 10) for i in range(4)]
    agent_lines = [
        (t[0], f"time={t[0]} level=info msg=\"Started gops server\" address=127.0.0.1:9890 subsys=gops"),
        (t[1], f"time={t[1]} level=info msg=\"Establishing connection to apiserver\" host=https://172.20.0.1:443 subsys=k8s-client"),
        (t[2], f"time={t[2]} level=info msg=\"Connected to apiserver\" subsys=k8s-client"),
        (t[3], f"time={t[3]} level=error msg=\"Failed to get status\" error=\"dial unix /var/run/cilium/cilium.sock: connect: no such file or directory\" subsys=cilium-health-launcher"),
    ]
    d = sysdump("20260324-072000")
    cases["UP08"] = ({
        f"{d}/logs-cilium-q7z2m-cilium-agent-20260324-072000.log": log_file(agent_lines, kubelet=True),
        "ciliumnodes.json": kubectl_json(kube_list([{
            "apiVersion": "cilium.io/v2", "kind": "CiliumNode", "metadata": {"name": n},
            "spec": {"ipam": {"podCIDRs": []}},
            "status": {"ipam": {"operator-status": {"error": "Error:  allocator full"}}}}])),
        "cilium-config.json": kubectl_json(cilium_config({"ipam": "cluster-pool", "cluster-pool-ipv4-cidr": "100.64.0.0/16", "cluster-pool-ipv4-mask-size": "24", "routing-mode": "tunnel"})),
        "daemonsets.json": kubectl_json(agent_ds("1.19.4")),
    }, {
        "id": "UP08", "url": "https://github.com/cilium/cilium/issues/46608", "root_cause_stated": True,
        "inputs": "the CiliumNode with the thread's operator-status error, an agent log (1.19 slog with kubelet timestamps) with the thread's socket error, cilium-config (cluster-pool)",
        "diagnosis": [
            {"rule": "CAP006", "severity_at_least": "high", "mentions_any": ["restart"]},
        ],
    })

    # UP36 (cilium#29094, 1.14.5): the config init container cannot reach the API server.
    n = "ip-10-2-7-44.eu-west-1.compute.internal"
    agent_pod = {
        "apiVersion": "v1", "kind": "Pod",
        "metadata": {"name": "cilium-w8k4t", "namespace": "kube-system", "labels": {"k8s-app": "cilium"}},
        "spec": {"nodeName": n, "hostNetwork": True,
                 "initContainers": [{"name": "config", "image": "quay.io/cilium/cilium:v1.14.5"}],
                 "containers": [{"name": "cilium-agent", "image": "quay.io/cilium/cilium:v1.14.5"}]},
        "status": {"phase": "Pending",
                   "initContainerStatuses": [{"name": "config", "ready": False, "restartCount": 14, "image": "quay.io/cilium/cilium:v1.14.5", "imageID": "",
                                              "state": {"waiting": {"reason": "CrashLoopBackOff", "message": "back-off 5m0s restarting failed container=config pod=cilium-w8k4t_kube-system"}}}],
                   "containerStatuses": [{"name": "cilium-agent", "ready": False, "restartCount": 0, "image": "quay.io/cilium/cilium:v1.14.5", "imageID": "",
                                          "state": {"waiting": {"reason": "PodInitializing"}}}]}}
    cases["UP36"] = ({
        "nodes.json": kubectl_json(kube_list([kube_node(n, "m5.large", 29, ready=False)])),
        "pods.json": kubectl_json(kube_list([agent_pod])),
        "cilium-config.json": kubectl_json(cilium_config({"ipam": "eni", "kube-proxy-replacement": "false", "routing-mode": "native"})),
        "daemonsets.json": kubectl_json(agent_ds("1.14.5")),
    }, {
        "id": "UP36", "url": "https://github.com/cilium/cilium/issues/29094", "root_cause_stated": True,
        "inputs": "the agent pod in Init:CrashLoopBackOff (config init container), its node NotReady (KubeletNotReady), cilium-config without k8s-service-host",
        "diagnosis": [
            {"rule": "OPS003", "severity_at_least": "high", "mentions_any": ["k8sServiceHost", "k8s-service-host"]},
        ],
    })

    for case_id, (files, case) in cases.items():
        old = CORPUS / case_id / "case.json"
        case["diagnosed"] = json.loads(old.read_text())["diagnosed"] if old.exists() else False
        write_case(case_id, files, case)
    print(f"wrote {len(cases)} cases: {', '.join(sorted(cases))}")


if __name__ == "__main__":
    main()
