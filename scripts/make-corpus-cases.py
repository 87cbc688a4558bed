#!/usr/bin/env python3
"""Write the corpus cases of the chaining, node-OS, node-routing and Pod
Identity families (issues #14 and #15): UP26, UP29, UP41, UP42, UP43, UP47,
UP48 and UP53, each as corpus/UPxx/{input/,case.json}, and the fires/quiet
fixtures of the rules that diagnose them (crates/core/tests/fixtures/CODE/).

Inputs are in the real tools' formats: kubectl JSON as kubectl writes it
(`kubectl get … -o json`: a List with `metadata.resourceVersion: ""`),
`aws eks describe-addon` JSON, and `cilium sysdump` archives laid out as
cilium-cli writes them (../shared/data/cilium/sysdump.json: a zip named
cilium-sysdump-<ts>.zip holding cilium-sysdump-<ts>/ with
cilium-configmap-<ts>.yaml, k8s-nodes-<ts>.yaml, cilium-helm-values-<ts>.yaml
and, per agent, the bugtool output cilium-bugtool-<pod>-<ts>/cmd/ with
`ip -4 r` as ip--4-r.md and `ip -d rule` as ip--d-rule.md). `ip` outputs are
printed as iproute2 prints them (a tab after the rule priority; the real
capture in ../shared/data/realworld/cilium's sysdump shows the shape).

The decisive evidence is quoted from each case's thread
(../shared/research/user-problems-train.jsonl and the threads it names);
everything else is the ordinary content of such a cluster.

Usage: python3 scripts/make-corpus-cases.py   (rewrites those cases and fixtures)
"""

import copy
import hashlib
import io
import json
import shutil
import zipfile
from pathlib import Path

import yaml

REPO = Path(__file__).resolve().parent.parent
CORPUS = REPO / "corpus"
FIXTURES = REPO / "crates" / "core" / "tests" / "fixtures"

_uid = [0]


def uid():
    _uid[0] += 1
    return f"5e1f{_uid[0]:04x}-2c4b-4d7e-9a1b-{_uid[0]:012x}"


def meta(name, namespace=None, labels=None, created="2024-02-10T08:00:00Z", **extra):
    m = {"creationTimestamp": created, "name": name}
    if namespace:
        m["namespace"] = namespace
    if labels:
        m["labels"] = labels
    m["resourceVersion"] = str(1000 + _uid[0] * 7)
    m["uid"] = uid()
    m.update(extra)
    return m


def klist(items):
    return {"apiVersion": "v1", "items": items, "kind": "List", "metadata": {"resourceVersion": ""}}


def kubectl_json(value):
    return json.dumps(value, indent=4) + "\n"


def kubectl_yaml(value):
    return yaml.safe_dump(value, sort_keys=False, default_flow_style=False)


# ------------------------------------------------------------------ objects

def cilium_config(data, namespace="kube-system"):
    return {"apiVersion": "v1", "data": data, "kind": "ConfigMap",
            "metadata": meta("cilium-config", namespace)}


def cilium_ds(version, desired=3, ready=3, init=True):
    image = f"quay.io/cilium/cilium:v{version}"
    init_containers = []
    if init:
        init_containers = [
            {"name": "config", "image": image, "command": ["cilium", "build-config"],
             "env": [{"name": "K8S_NODE_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "spec.nodeName"}}}]},
            {"name": "mount-cgroup", "image": image},
            {"name": "apply-sysctl-overwrites", "image": image},
            {"name": "mount-bpf-fs", "image": image},
            {"name": "clean-cilium-state", "image": image},
            {"name": "install-cni-binaries", "image": image},
        ]
    return {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": meta("cilium", "kube-system", {"app.kubernetes.io/name": "cilium-agent", "k8s-app": "cilium"},
                         annotations={"meta.helm.sh/release-name": "cilium", "meta.helm.sh/release-namespace": "kube-system"}),
        "spec": {
            "selector": {"matchLabels": {"k8s-app": "cilium"}},
            "template": {
                "metadata": {"labels": {"app.kubernetes.io/name": "cilium-agent", "k8s-app": "cilium"}},
                "spec": {
                    "containers": [{"name": "cilium-agent", "image": image, "command": ["cilium-agent"],
                                    "args": ["--config-dir=/tmp/cilium/config-map"]}],
                    "initContainers": init_containers,
                    "hostNetwork": True,
                    "serviceAccountName": "cilium",
                    "tolerations": [{"operator": "Exists"}],
                },
            },
            "updateStrategy": {"rollingUpdate": {"maxUnavailable": 2}, "type": "RollingUpdate"},
        },
        "status": {"currentNumberScheduled": desired, "desiredNumberScheduled": desired,
                   "numberAvailable": ready, "numberMisscheduled": 0, "numberReady": ready,
                   "observedGeneration": 3, "updatedNumberScheduled": desired},
    }


def operator_deploy(version, eni=False):
    flavor = "aws" if eni else "generic"
    return {
        "apiVersion": "apps/v1", "kind": "Deployment",
        "metadata": meta("cilium-operator", "kube-system", {"io.cilium/app": "operator", "name": "cilium-operator"}),
        "spec": {"replicas": 2, "selector": {"matchLabels": {"io.cilium/app": "operator"}},
                 "template": {"metadata": {"labels": {"io.cilium/app": "operator", "name": "cilium-operator"}},
                              "spec": {"containers": [{"name": "cilium-operator",
                                                       "image": f"quay.io/cilium/operator-{flavor}:v{version}",
                                                       "command": [f"cilium-operator-{flavor}"]}],
                                       "serviceAccountName": "cilium-operator"}}},
        "status": {"availableReplicas": 2, "readyReplicas": 2, "replicas": 2, "updatedReplicas": 2},
    }


def aws_node_ds(tag, desired=3, ready=3):
    image = f"602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni:{tag}"
    return {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": meta("aws-node", "kube-system", {"app.kubernetes.io/instance": "aws-vpc-cni", "app.kubernetes.io/name": "aws-node",
                                                      "app.kubernetes.io/version": tag.split("-")[0], "k8s-app": "aws-node"}),
        "spec": {
            "selector": {"matchLabels": {"k8s-app": "aws-node"}},
            "template": {"metadata": {"labels": {"app.kubernetes.io/name": "aws-node", "k8s-app": "aws-node"}},
                         "spec": {"containers": [{"name": "aws-node", "image": image,
                                                  "env": [{"name": "AWS_VPC_K8S_CNI_EXTERNALSNAT", "value": "false"},
                                                          {"name": "AWS_VPC_ENI_MTU", "value": "9001"}]}],
                                  "initContainers": [{"name": "aws-vpc-cni-init",
                                                      "image": image.replace("amazon-k8s-cni:", "amazon-k8s-cni-init:")}],
                                  "hostNetwork": True, "serviceAccountName": "aws-node"}},
        },
        "status": {"currentNumberScheduled": desired, "desiredNumberScheduled": desired, "numberAvailable": ready,
                   "numberMisscheduled": 0, "numberReady": ready, "observedGeneration": 4, "updatedNumberScheduled": desired},
    }


def pod_identity_agent_ds():
    image = "602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/eks-pod-identity-agent:0.1.10"
    return {
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": meta("eks-pod-identity-agent", "kube-system",
                         {"app.kubernetes.io/instance": "eks-pod-identity-agent", "app.kubernetes.io/name": "eks-pod-identity-agent"}),
        "spec": {
            "selector": {"matchLabels": {"app.kubernetes.io/name": "eks-pod-identity-agent"}},
            "template": {"metadata": {"labels": {"app.kubernetes.io/name": "eks-pod-identity-agent"}},
                         "spec": {"containers": [{"name": "eks-pod-identity-agent", "image": image,
                                                  "command": ["/go-runner", "/eks-pod-identity-agent", "server"],
                                                  "args": ["--port", "80", "--cluster-name", "platform-prod", "--probe-port", "2703"]}],
                                  "hostNetwork": True}},
        },
        "status": {"currentNumberScheduled": 3, "desiredNumberScheduled": 3, "numberAvailable": 3,
                   "numberMisscheduled": 0, "numberReady": 3, "observedGeneration": 1, "updatedNumberScheduled": 3},
    }


def node(name, os_image, kernel, kubelet, labels=None, taints=None, internal_ip="10.0.1.12", ready=True):
    base_labels = {"kubernetes.io/arch": "amd64", "kubernetes.io/hostname": name, "kubernetes.io/os": "linux",
                   "topology.kubernetes.io/region": "us-west-2", "topology.kubernetes.io/zone": "us-west-2a"}
    base_labels.update(labels or {})
    instance = hashlib.sha256(name.encode()).hexdigest()[:16]
    spec = {"providerID": f"aws:///us-west-2a/i-0{instance}"}
    if taints:
        spec["taints"] = taints
    return {
        "apiVersion": "v1", "kind": "Node", "metadata": meta(name, labels=base_labels),
        "spec": spec,
        "status": {
            "addresses": [{"address": internal_ip, "type": "InternalIP"}, {"address": name, "type": "Hostname"}],
            "conditions": [{"lastHeartbeatTime": "2024-02-12T10:14:02Z", "lastTransitionTime": "2024-02-10T08:01:40Z",
                            "message": "kubelet is posting ready status" if ready else "container runtime network not ready: NetworkReady=false reason:NetworkPluginNotReady message:Network plugin returns error: cni plugin not initialized",
                            "reason": "KubeletReady" if ready else "KubeletNotReady",
                            "status": "True" if ready else "False", "type": "Ready"}],
            "nodeInfo": {"architecture": "amd64", "containerRuntimeVersion": "containerd://1.6.19",
                         "kernelVersion": kernel, "kubeProxyVersion": kubelet, "kubeletVersion": kubelet,
                         "operatingSystem": "linux", "osImage": os_image},
        },
    }


def pod(name, namespace, node_name, labels, containers, phase="Running", ip="10.0.1.45",
        container_statuses=None, init_statuses=None, init_containers=None, host_network=False, sa="default"):
    spec = {"containers": containers, "nodeName": node_name, "serviceAccountName": sa}
    if init_containers:
        spec["initContainers"] = init_containers
    if host_network:
        spec["hostNetwork"] = True
    status = {"phase": phase, "podIP": ip, "hostIP": "10.0.1.12", "qosClass": "BestEffort",
              "startTime": "2024-02-12T10:00:00Z"}
    status["containerStatuses"] = container_statuses if container_statuses is not None else [
        {"name": c["name"], "image": c["image"], "ready": phase == "Running", "restartCount": 0,
         "started": phase == "Running",
         "state": {"running": {"startedAt": "2024-02-12T10:00:05Z"}} if phase == "Running"
         else {"waiting": {"reason": "ContainerCreating"}}} for c in containers]
    if init_statuses is not None:
        status["initContainerStatuses"] = init_statuses
    return {"apiVersion": "v1", "kind": "Pod",
            "metadata": meta(name, namespace, labels, ownerReferences=[]), "spec": spec, "status": status}


def event(namespace, pod_name, reason, message, etype="Warning", count=1, first="2024-02-12T10:01:00Z",
          last="2024-02-12T10:09:00Z", component="kubelet", host=None):
    name = f"{pod_name}.17b2{_uid[0]:08x}"
    return {
        "apiVersion": "v1", "count": count, "eventTime": None, "firstTimestamp": first,
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": pod_name, "namespace": namespace,
                           "resourceVersion": "81234", "uid": uid()},
        "kind": "Event", "lastTimestamp": last, "message": message,
        "metadata": meta(name, namespace, created=first), "reason": reason,
        "reportingComponent": component, "reportingInstance": host or "",
        "source": {"component": component, **({"host": host} if host else {})}, "type": etype,
    }


def addon(name, version, cluster="prod-us-west-2"):
    return {"addon": {
        "addonName": name, "clusterName": cluster, "status": "ACTIVE", "addonVersion": version,
        "health": {"issues": []},
        "addonArn": f"arn:aws:eks:us-west-2:111122223333:addon/{cluster}/{name}/a4c3d2e1-0000-4a5b-8c9d-0123456789ab",
        "createdAt": "2023-01-12T09:31:10.411000+00:00", "modifiedAt": "2023-04-27T16:02:44.902000+00:00",
        "tags": {}}}


def version_info(git):
    major, minor = git.lstrip("v").split(".")[:2]
    return (f'version.Info{{Major:"{major}", Minor:"{minor}+", GitVersion:"{git}", '
            f'GitCommit:"0000000000000000000000000000000000000000", GitTreeState:"clean", '
            f'BuildDate:"2023-01-01T00:00:00Z", GoVersion:"go1.19.6", Compiler:"gc", Platform:"linux/amd64"}}\n')


# ------------------------------------------------------------------ writers

def write_dir(root, files):
    """files: relative path -> text."""
    if root.exists():
        shutil.rmtree(root)
    for rel, text in files.items():
        path = root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)


def sysdump_zip(path, ts, files):
    """A cilium sysdump zip: every member under cilium-sysdump-<ts>/."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for rel, text in files.items():
            info = zipfile.ZipInfo(f"cilium-sysdump-{ts}/{rel}", date_time=(2024, 1, 1, 0, 0, 0))
            info.compress_type = zipfile.ZIP_DEFLATED
            z.writestr(info, text)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue())


def case(case_id, url, inputs, diagnosis):
    return json.dumps({"id": case_id, "url": url, "root_cause_stated": True, "inputs": inputs,
                       "diagnosis": diagnosis, "diagnosed": True}, indent=2) + "\n"


def ip_rules(lines):
    """`ip -d rule` as iproute2 prints it: `PRIO:<TAB>SELECTOR ACTION`."""
    return "".join(f"{prio}:\t{rest}\n" for prio, rest in lines)


# ------------------------------------------------------------------ UP26

def up26():
    chained = cilium_config({
        "cni-chaining-mode": "aws-cni", "cni-exclusive": "false", "enable-ipv4-masquerade": "false",
        "tunnel": "disabled", "enable-endpoint-routes": "true", "ipam": "cluster-pool",
        "kube-proxy-replacement": "disabled", "enable-ipv4": "true", "enable-ipv6": "false",
        "cluster-name": "default", "identity-allocation-mode": "crd"})
    nodes = [node(f"i-0{n}7606c4e75f21b52.us-west-2.compute.internal", "Amazon Linux 2", "5.10.176-157.645.amzn2.x86_64",
                  "v1.24.11-eks-a59e1f0", {"eks.amazonaws.com/nodegroup": "default-2023041"}, internal_ip=f"10.20.{n}.14")
             for n in (9, 4, 2)]
    node_name = nodes[0]["metadata"]["name"]
    # cilium#25131 (the same vpc-cni 1.12.5 -> 1.12.6 upgrade, cited with UP26's
    # thread by known issue KI006): the sandbox error, stack shortened.
    panic = ("Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "
             "\"6e7f82eed3c3c40752c08e8fa672029640c64eb5b966f22597154d9cd1ac6bcb\": plugin type=\"egress-v4-cni\" "
             "name=\"egress-v4-cni\" failed (add): netplugin failed: \"panic: runtime error: invalid memory address or nil "
             "pointer dereference\\n[signal SIGSEGV: segmentation violation code=0x1 addr=0x20 pc=0x5598b4660a2c]\\n\\n"
             "goroutine 1 [running, locked to thread]:\\nmain.cmdAdd(0xc000180850)\\n\\t/go/src/github.com/aws/"
             "amazon-vpc-cni-k8s/cmd/egress-v4-cni-plugin/cni.go:256 +0xbec\\n\"")
    events = klist([
        event("monitoring", "prometheus-adapter-8479c7995-nx9jj", "Scheduled",
              f"Successfully assigned monitoring/prometheus-adapter-8479c7995-nx9jj to {node_name}",
              etype="Normal", component="default-scheduler"),
        event("monitoring", "prometheus-adapter-8479c7995-nx9jj", "FailedCreatePodSandBox", panic, count=11,
              host=node_name),
        event("kube-system", "coredns-5c5677bc78-8tq2h", "Pulled",
              "Container image \"602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/coredns:v1.9.3-eksbuild.2\" already present on machine",
              etype="Normal", host=nodes[1]["metadata"]["name"]),
    ])
    pods = klist([
        pod("prometheus-adapter-8479c7995-nx9jj", "monitoring", node_name, {"app.kubernetes.io/name": "prometheus-adapter"},
            [{"name": "prometheus-adapter", "image": "registry.k8s.io/prometheus-adapter/prometheus-adapter:v0.10.0"}],
            phase="Pending", ip=None),
    ])
    ds = klist([cilium_ds("1.13.2"), aws_node_ds("v1.12.6-eksbuild.1")])
    files = {
        "cilium-config.json": kubectl_json(chained),
        "daemonsets.json": kubectl_json(ds),
        "eks-addon-vpc-cni.json": json.dumps(addon("vpc-cni", "v1.12.6-eksbuild.1"), indent=4) + "\n",
        "events.json": kubectl_json(events),
        "nodes.json": kubectl_json(klist(nodes)),
        "pods.json": kubectl_json(pods),
    }
    write_dir(CORPUS / "UP26" / "input", files)
    (CORPUS / "UP26" / "case.json").write_text(case(
        "UP26", "https://github.com/aws/amazon-vpc-cni-k8s/issues/2364",
        "aws-cni chaining (cilium-config), the vpc-cni add-on at v1.12.6-eksbuild.1 (describe-addon) and aws-node with that "
        "image, the reporter's prometheus-adapter pod Pending and its FailedCreatePodSandBox Event (the egress-v4-cni panic of "
        "cilium#25131, the same upgrade)",
        [{"rule": "CNI010", "severity_at_least": "high", "mentions_any": ["1.12.5", "mtu"]}]))
    # Rule fixtures: the case fires; the add-on before the MTU change stays quiet.
    write_dir(FIXTURES / "CNI010" / "fires", files)
    quiet = dict(files)
    quiet["eks-addon-vpc-cni.json"] = json.dumps(addon("vpc-cni", "v1.12.5-eksbuild.2"), indent=4) + "\n"
    quiet["daemonsets.json"] = kubectl_json(klist([cilium_ds("1.13.2"), aws_node_ds("v1.12.5-eksbuild.2")]))
    write_dir(FIXTURES / "CNI010" / "quiet", quiet)


# ------------------------------------------------------------------ UP29

def up29():
    ts = "20221125-093000"
    data = {
        "cni-chaining-mode": "aws-cni", "enable-ipv4-masquerade": "false", "tunnel": "disabled",
        "enable-endpoint-routes": "true", "ipam": "cluster-pool", "enable-ipv4": "true", "enable-ipv6": "false",
        "identity-allocation-mode": "crd", "cluster-name": "default", "bpf-map-dynamic-size-ratio": "0.0025",
        "enable-bpf-masquerade": "false", "enable-bpf-clock-probe": "true",
        # What the 1.12 chart rendered for upgradeCompatibility 1.9-1.11 (cilium#22311).
        "kube-proxy-replacement": "probe",
        "enable-health-check-nodeport": "true", "node-port-bind-protection": "true",
        "enable-auto-protect-node-port-range": "true",
    }
    values = {
        "cni": {"chainingMode": "aws-cni", "exclusive": False},
        "enableIPv4Masquerade": False,
        "tunnel": "disabled",
        "endpointRoutes": {"enabled": True},
        "upgradeCompatibility": "1.11",
        "hubble": {"relay": {"enabled": True}, "ui": {"enabled": True}},
    }
    nodes = [node(f"ip-10-30-{n}-87.eu-central-1.compute.internal", "Amazon Linux 2", "5.4.219-126.411.amzn2.x86_64",
                  "v1.22.15-eks-fb459a0", {"eks.amazonaws.com/nodegroup": "workers"}, internal_ip=f"10.30.{n}.87")
             for n in (1, 2, 3)]
    files = {
        f"cilium-configmap-{ts}.yaml": kubectl_yaml(cilium_config(data)),
        f"cilium-daemonset-{ts}.yaml": kubectl_yaml(cilium_ds("1.12.4")),
        f"aws-node-daemonset-{ts}.yaml": kubectl_yaml(aws_node_ds("v1.11.4-eksbuild.1")),
        f"cilium-helm-values-{ts}.yaml": yaml.safe_dump(values, sort_keys=False),
        f"k8s-nodes-{ts}.yaml": kubectl_yaml(klist(nodes)),
        f"k8s-version-{ts}.txt": version_info("v1.22.15-eks-fb459a0"),
    }
    root = CORPUS / "UP29" / "input"
    if root.exists():
        shutil.rmtree(root)
    sysdump_zip(root / f"cilium-sysdump-{ts}.zip", ts, files)
    (CORPUS / "UP29" / "case.json").write_text(case(
        "UP29", "https://github.com/cilium/cilium/issues/22311",
        "a cilium sysdump zip after the 1.11.11 -> 1.12.4 upgrade: the Helm values with upgradeCompatibility \"1.11\" and "
        "cni.chainingMode aws-cni (the thread's evidence), the rendered cilium-config with kube-proxy-replacement: probe",
        [{"rule": "CNI011", "severity_at_least": "high", "mentions_any": ["kubeProxyReplacement=disabled", "disabled"]}]))
    fx = {
        "cilium-config.json": kubectl_json(cilium_config(data)),
        "daemonsets.json": kubectl_json(klist([cilium_ds("1.12.4"), aws_node_ds("v1.11.4-eksbuild.1")])),
    }
    write_dir(FIXTURES / "CNI011" / "fires", fx)
    quiet_data = dict(data, **{"kube-proxy-replacement": "disabled"})
    write_dir(FIXTURES / "CNI011" / "quiet", dict(fx, **{"cilium-config.json": kubectl_json(cilium_config(quiet_data))}))


# ------------------------------------------------------------------ node routing (UP41, UP42, UP43)

ENI_DATA = {
    "ipam": "eni", "enable-endpoint-routes": "true", "auto-create-cilium-node-resource": "true",
    "routing-mode": "native", "ipv4-native-routing-cidr": "10.0.0.0/16", "egress-masquerade-interfaces": "ens+",
    "enable-ipv4-masquerade": "true", "kube-proxy-replacement": "true",
    "k8s-service-host": "6B3F2A1C9D8E7F6A5B4C3D2E1F0A9B8C.gr7.us-west-2.eks.amazonaws.com", "k8s-service-port": "443",
    "cluster-name": "platform", "enable-ipv4": "true", "enable-ipv6": "false", "identity-allocation-mode": "crd",
}


def routing_sysdump(case_id, ts, version, os_image, kernel, kubelet, routes_by_pod, rules_by_pod, config=None):
    agents = sorted(routes_by_pod)
    nodes, agent_pods = [], []
    for i, agent in enumerate(agents):
        name = f"ip-10-0-{i + 1}-12.us-west-2.compute.internal"
        nodes.append(node(name, os_image, kernel, kubelet, {"node.kubernetes.io/instance-type": "m6i.xlarge"},
                          internal_ip=f"10.0.{i + 1}.12"))
        agent_pods.append(pod(agent, "kube-system", name, {"k8s-app": "cilium", "app.kubernetes.io/name": "cilium-agent"},
                              [{"name": "cilium-agent", "image": f"quay.io/cilium/cilium:v{version}"}],
                              ip=f"10.0.{i + 1}.12", host_network=True, sa="cilium"))
    files = {
        f"cilium-configmap-{ts}.yaml": kubectl_yaml(cilium_config(config or ENI_DATA)),
        f"cilium-daemonset-{ts}.yaml": kubectl_yaml(cilium_ds(version, desired=len(agents), ready=len(agents))),
        f"cilium-operator-deployment-{ts}.yaml": kubectl_yaml(operator_deploy(version, eni=True)),
        f"k8s-nodes-{ts}.yaml": kubectl_yaml(klist(nodes)),
        f"k8s-pods-{ts}.yaml": kubectl_yaml(klist(agent_pods)),
        f"k8s-version-{ts}.txt": version_info(kubelet),
    }
    for agent in agents:
        base = f"cilium-bugtool-{agent}-{ts}/cmd"
        files[f"{base}/ip--4-r.md"] = routes_by_pod[agent]
        files[f"{base}/ip--d-rule.md"] = rules_by_pod[agent]
        files[f"{base}/uname--a.md"] = f"Linux {nodes[agents.index(agent)]['metadata']['name']} {kernel} #1 SMP x86_64 x86_64 x86_64 GNU/Linux\n"
    root = CORPUS / case_id / "input"
    if root.exists():
        shutil.rmtree(root)
    sysdump_zip(root / f"cilium-sysdump-{ts}.zip", ts, files)
    return files


def healthy_rules(pods_by_table, priority_egress=111, to="10.0.0.0/16"):
    lines = [(0, "from all lookup local proto kernel")]
    for table, ips in pods_by_table.items():
        for ip in ips:
            lines.append((20, f"from all to {ip} lookup main proto kernel"))
    for table, ips in pods_by_table.items():
        for ip in ips:
            lines.append((priority_egress, f"from {ip} to {to} lookup {table} proto kernel" if to
                          else f"from {ip} lookup {table} proto kernel"))
    lines += [(32766, "from all lookup main proto kernel"), (32767, "from all lookup default proto kernel")]
    return ip_rules(lines)


AL2023 = ("Amazon Linux 2023.3.20240205", "6.1.75-99.163.amzn2023.x86_64", "v1.29.0-eks-5e0fdde")


def up41():
    # The thread: "both default interface, and Cilium created interface create
    # route with same priority" (RouteMetric 1024 of 80-ec2.network on every ENI).
    routes = ("default via 10.0.0.1 dev ens5 proto dhcp src 10.0.1.12 metric 1024 \n"
              "default via 10.0.0.1 dev ens6 proto dhcp src 10.0.1.201 metric 1024 \n"
              "10.0.0.0/20 dev ens5 proto kernel scope link src 10.0.1.12 metric 1024 \n"
              "10.0.0.0/20 dev ens6 proto kernel scope link src 10.0.1.201 metric 1024 \n"
              "10.0.0.1 dev ens5 proto dhcp scope link src 10.0.1.12 metric 1024 \n"
              "10.0.0.1 dev ens6 proto dhcp scope link src 10.0.1.201 metric 1024 \n"
              "10.0.0.2 dev ens5 proto dhcp scope link src 10.0.1.12 metric 1024 \n")
    rules = healthy_rules({"11": ["10.0.4.73", "10.0.5.190", "10.0.2.31"]})
    files = routing_sysdump("UP41", "20240212-101500", "1.15.1", *AL2023,
                            {"cilium-7xk2p": routes}, {"cilium-7xk2p": rules})
    (CORPUS / "UP41" / "case.json").write_text(case(
        "UP41", "https://github.com/awslabs/amazon-eks-ami/issues/1678",
        "a cilium sysdump zip of an AL2023 self-managed node in ENI mode: its bugtool ip--4-r.md holds the two DHCP "
        "default routes (ens5, and the Cilium-attached ens6) with the same metric the thread describes",
        [{"rule": "CFG012", "severity_at_least": "high", "mentions_any": ["RouteMetric"]}]))
    return files


def up42():
    # amazon-ec2-net-utils v2 "removes custom ip rules periodically" and "even
    # removes `from all lookup local`": what is left is the kernel's main and
    # default rules.
    routes = ("default via 10.0.0.1 dev ens5 proto dhcp src 10.0.1.12 metric 512 \n"
              "10.0.0.0/20 dev ens5 proto kernel scope link src 10.0.1.12 metric 512 \n"
              "10.0.0.2 dev ens5 proto dhcp scope link src 10.0.1.12 metric 512 \n")
    rules = ip_rules([(32766, "from all lookup main proto kernel"), (32767, "from all lookup default proto kernel")])
    routing_sysdump("UP42", "20240301-081500", "1.15.1", *AL2023, {"cilium-9dd2k": routes}, {"cilium-9dd2k": rules})
    (CORPUS / "UP42" / "case.json").write_text(case(
        "UP42", "https://github.com/cilium/cilium/issues/24397",
        "a cilium sysdump zip of a self-managed AL2023 node in ENI mode: its bugtool ip--d-rule.md has lost "
        "`from all lookup local` and Cilium's per-endpoint rules, as the thread reports of amazon-ec2-net-utils",
        [{"rule": "CFG013", "severity_at_least": "high", "mentions_any": ["amazon-ec2-net-utils"]}]))


def up43():
    # ENI mode with masquerading (Cilium 1.18.6 with enable-ipv4-masquerade on, as the
    # reporter ran it): per-endpoint rules "from <IP> to <VPC_CIDR>" only (PR #47008).
    kernel = "6.12.73-95.123.amzn2023.x86_64"
    routes = ("default via 10.0.0.1 dev ens5 proto dhcp src 10.0.1.12 metric 512 \n"
              "10.0.0.0/20 dev ens5 proto kernel scope link src 10.0.1.12 metric 512 \n"
              "10.0.0.2 dev ens5 proto dhcp scope link src 10.0.1.12 metric 512 \n")
    rules = healthy_rules({"11": ["10.0.3.58", "10.0.6.141"], "12": ["10.0.9.22", "10.0.12.7", "10.0.7.215"]})
    routing_sysdump("UP43", "20260318-143000", "1.18.6", "Amazon Linux 2023.10.20260302", kernel, "v1.33.8-eks-f69f56f",
                    {"cilium-lq6vn": routes}, {"cilium-lq6vn": rules})
    (CORPUS / "UP43" / "case.json").write_text(case(
        "UP43", "https://github.com/cilium/cilium/issues/45137",
        "a cilium sysdump zip of an ENI-mode node with masquerading on (Cilium 1.18.6, AL2023 kernel 6.12.73): its "
        "bugtool ip--d-rule.md has per-endpoint egress rules only to the VPC CIDR for pods on two ENIs (tables 11 and 12)",
        [{"rule": "CFG014", "severity_at_least": "high", "mentions_any": ["47008", "masquerade"]}]))


def routing_fixtures():
    """Fires/quiet fixtures of CFG012-CFG014: extracted sysdump directories."""
    ts = "20240212-101500"

    def sysdump_dir(code, kind, routes, rules, config=ENI_DATA, os=AL2023):
        name = f"ip-10-0-1-12.us-west-2.compute.internal"
        files = {
            f"cilium-sysdump-{ts}/cilium-configmap-{ts}.yaml": kubectl_yaml(cilium_config(config)),
            f"cilium-sysdump-{ts}/k8s-nodes-{ts}.yaml": kubectl_yaml(klist([node(name, *os)])),
            f"cilium-sysdump-{ts}/k8s-pods-{ts}.yaml": kubectl_yaml(klist([
                pod("cilium-7xk2p", "kube-system", name, {"k8s-app": "cilium"},
                    [{"name": "cilium-agent", "image": "quay.io/cilium/cilium:v1.15.1"}], ip="10.0.1.12",
                    host_network=True, sa="cilium")])),
            f"cilium-sysdump-{ts}/cilium-daemonset-{ts}.yaml": kubectl_yaml(cilium_ds("1.15.1", 1, 1)),
            f"cilium-sysdump-{ts}/cilium-bugtool-cilium-7xk2p-{ts}/cmd/ip--4-r.md": routes,
            f"cilium-sysdump-{ts}/cilium-bugtool-cilium-7xk2p-{ts}/cmd/ip--d-rule.md": rules,
        }
        write_dir(FIXTURES / code / kind, files)

    one_default = ("default via 10.0.0.1 dev ens5 proto dhcp src 10.0.1.12 metric 512 \n"
                   "10.0.0.0/20 dev ens5 proto kernel scope link src 10.0.1.12 metric 512 \n")
    two_defaults = ("default via 10.0.0.1 dev ens5 proto dhcp src 10.0.1.12 metric 1024 \n"
                    "default via 10.0.0.1 dev ens6 proto dhcp src 10.0.1.201 metric 1024 \n"
                    "10.0.0.0/20 dev ens5 proto kernel scope link src 10.0.1.12 metric 1024 \n")
    one_eni = healthy_rules({"11": ["10.0.4.73", "10.0.5.190"]})
    two_enis_vpc_only = healthy_rules({"11": ["10.0.4.73"], "12": ["10.0.9.22", "10.0.12.7"]})
    two_enis_all = healthy_rules({"11": ["10.0.4.73"], "12": ["10.0.9.22", "10.0.12.7"]}, to=None)
    lost = ip_rules([(32766, "from all lookup main proto kernel"), (32767, "from all lookup default proto kernel")])
    sysdump_dir("CFG012", "fires", two_defaults, one_eni)
    sysdump_dir("CFG012", "quiet", one_default, one_eni)
    sysdump_dir("CFG013", "fires", one_default, lost)
    sysdump_dir("CFG013", "quiet", one_default, one_eni)
    sysdump_dir("CFG014", "fires", one_default, two_enis_vpc_only)
    sysdump_dir("CFG014", "quiet", one_default, two_enis_all)


# ------------------------------------------------------------------ UP47, UP48 (Bottlerocket)

def up47():
    os_image, kernel, kubelet = "Bottlerocket OS 1.13.3 (aws-k8s-1.24)", "5.15.102", "v1.24.12-eks-ec5523e"
    nodes = [node(f"ip-10-1-{n}-20.ec2.internal", os_image, kernel, kubelet,
                  {"eks.amazonaws.com/nodegroup": "bottlerocket-1-13"}, internal_ip=f"10.1.{n}.20") for n in (4, 5, 6)]
    message = ("Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox "
               "\"3b46442e7907405d819707b0309394d2536b4963d69328a403fe2b03e97b1467\": plugin type=\"cilium-cni\" "
               "name=\"cilium\" failed (add): Unable to create endpoint: Cilium API client timeout exceeded")
    n0 = nodes[0]["metadata"]["name"]
    events = klist([
        event("payments", "api-7c9d8b6f5-2mzqk", "FailedCreatePodSandBox", message, count=37, host=n0),
        event("payments", "worker-5f7b9c8d4-hx8wl", "FailedCreatePodSandBox", message, count=21, host=n0),
        event("payments", "api-7c9d8b6f5-2mzqk", "Scheduled", f"Successfully assigned payments/api-7c9d8b6f5-2mzqk to {n0}",
              etype="Normal", component="default-scheduler"),
    ])
    pods = klist([
        pod("api-7c9d8b6f5-2mzqk", "payments", n0, {"app": "api"}, [{"name": "api", "image": "ghcr.io/example/api:2.4.1"}],
            phase="Pending", ip=None),
        pod("worker-5f7b9c8d4-hx8wl", "payments", n0, {"app": "worker"},
            [{"name": "worker", "image": "ghcr.io/example/worker:2.4.1"}], phase="Pending", ip=None),
    ])
    config = cilium_config({"ipam": "eni", "enable-endpoint-routes": "true", "tunnel": "disabled",
                            "enable-ipv4-masquerade": "true", "egress-masquerade-interfaces": "eth0",
                            "kube-proxy-replacement": "disabled", "cluster-name": "default"})
    files = {
        "cilium-config.json": kubectl_json(config),
        "daemonsets.json": kubectl_json(klist([cilium_ds("1.11.5")])),
        "events.json": kubectl_json(events),
        "nodes.json": kubectl_json(klist(nodes)),
        "pods.json": kubectl_json(pods),
    }
    write_dir(CORPUS / "UP47" / "input", files)
    (CORPUS / "UP47" / "case.json").write_text(case(
        "UP47", "https://github.com/cilium/cilium/issues/25133",
        "nodes on Bottlerocket 1.13.3 (kernel 5.15.102), the Cilium 1.11.5 DaemonSet, pods Pending with the thread's "
        "FailedCreatePodSandBox Event ('Unable to create endpoint: Cilium API client timeout exceeded')",
        [{"rule": "CFG011", "severity_at_least": "high", "mentions_any": ["5.15.102"]}]))
    write_dir(FIXTURES / "CFG011" / "fires", files)
    quiet_nodes = [node(f"ip-10-1-{n}-20.ec2.internal", "Bottlerocket OS 1.13.1 (aws-k8s-1.24)", "5.15.90", kubelet,
                        internal_ip=f"10.1.{n}.20") for n in (4, 5, 6)]
    write_dir(FIXTURES / "CFG011" / "quiet", dict(files, **{"nodes.json": kubectl_json(klist(quiet_nodes)),
                                                           "events.json": kubectl_json(klist([]))}))


def crashing_agent(name, node_name, version, restarts):
    image = f"quay.io/cilium/cilium:v{version}"
    return pod(name, "kube-system", node_name, {"k8s-app": "cilium", "controller-revision-hash": "6f9c8d7b5"},
               [{"name": "cilium-agent", "image": image}], phase="Pending", ip="10.2.7.44", host_network=True, sa="cilium",
               init_containers=[{"name": "config", "image": image}, {"name": "mount-cgroup", "image": image}],
               init_statuses=[
                   {"name": "config", "image": image, "imageID": "", "ready": False, "restartCount": restarts,
                    "started": False,
                    "lastState": {"terminated": {"exitCode": 1, "reason": "Error",
                                                 "startedAt": "2023-05-03T06:12:40Z", "finishedAt": "2023-05-03T06:13:10Z"}},
                    "state": {"waiting": {"reason": "CrashLoopBackOff",
                                          "message": f"back-off 5m0s restarting failed container=config pod={name}_kube-system"}}},
                   {"name": "mount-cgroup", "image": image, "imageID": "", "ready": False, "restartCount": 0,
                    "started": False, "state": {"waiting": {"reason": "PodInitializing"}}},
               ],
               container_statuses=[{"name": "cilium-agent", "image": image, "imageID": "", "ready": False,
                                    "restartCount": 0, "started": False, "state": {"waiting": {"reason": "PodInitializing"}}}])


def up48():
    kubelet = "v1.24.13-eks-0a21954"
    taint = [{"effect": "NoExecute", "key": "node.cilium.io/agent-not-ready", "value": "true"}]
    karpenter = {"karpenter.sh/provisioner-name": "default", "karpenter.sh/capacity-type": "on-demand",
                 "karpenter.k8s.aws/instance-family": "m5"}
    stuck = node("ip-10-2-7-44.eu-west-1.compute.internal", "Bottlerocket OS 1.13.3 (aws-k8s-1.24)", "5.15.102",
                 kubelet, karpenter, taints=taint, internal_ip="10.2.7.44")
    fine = node("ip-10-2-9-18.eu-west-1.compute.internal", "Bottlerocket OS 1.13.3 (aws-k8s-1.24)", "5.15.102",
                kubelet, karpenter, internal_ip="10.2.9.18")
    image = "quay.io/cilium/cilium:v1.13.1"
    pods = klist([
        crashing_agent("cilium-b7x4m", stuck["metadata"]["name"], "1.13.1", 23),
        pod("cilium-r2k9d", "kube-system", fine["metadata"]["name"], {"k8s-app": "cilium"},
            [{"name": "cilium-agent", "image": image}], ip="10.2.9.18", host_network=True, sa="cilium",
            init_statuses=[{"name": "config", "image": image, "imageID": "", "ready": True, "restartCount": 0,
                            "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}]),
    ])
    config = cilium_config({"ipam": "eni", "enable-endpoint-routes": "true", "tunnel": "disabled",
                            "kube-proxy-replacement": "disabled", "enable-ipv4-masquerade": "true",
                            "cluster-name": "default", "identity-allocation-mode": "crd"})
    files = {
        "cilium-config.json": kubectl_json(config),
        "daemonsets.json": kubectl_json(klist([cilium_ds("1.13.1", desired=2, ready=1)])),
        "nodes.json": kubectl_json(klist([stuck, fine])),
        "pods.json": kubectl_json(pods),
    }
    write_dir(CORPUS / "UP48" / "input", files)
    (CORPUS / "UP48" / "case.json").write_text(case(
        "UP48", "https://github.com/cilium/cilium/issues/24949",
        "a Karpenter Bottlerocket 1.13.3 node keeping node.cilium.io/agent-not-ready=true:NoExecute, its Cilium pod with "
        "the config init container in CrashLoopBackOff (the thread's evidence), a healthy second node",
        [{"rule": "CFG010", "severity_at_least": "high", "mentions_any": ["1.14.2"]}]))
    write_dir(FIXTURES / "CFG010" / "fires", files)
    healthy = copy.deepcopy(files)
    ok_pods = klist([pods["items"][1]])
    healthy["pods.json"] = kubectl_json(ok_pods)
    write_dir(FIXTURES / "CFG010" / "quiet", healthy)


# ------------------------------------------------------------------ UP53 (Pod Identity)

def up53():
    node_name = "ip-10-4-2-31.eu-west-1.compute.internal"
    env = [{"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"},
           {"name": "AWS_DEFAULT_REGION", "value": "eu-west-1"},
           {"name": "AWS_REGION", "value": "eu-west-1"},
           {"name": "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value": "http://169.254.170.23/v1/credentials"},
           {"name": "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
            "value": "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token"}]
    app = pod("s3-exporter-6d9f7c5b8-kq2xv", "observability", node_name, {"app": "s3-exporter"},
              [{"name": "exporter", "image": "ghcr.io/example/s3-exporter:1.3.0", "env": env}],
              ip="10.4.2.118", sa="s3-exporter")
    other = pod("grafana-7b8d9c6f5-z2m4p", "observability", node_name, {"app": "grafana"},
                [{"name": "grafana", "image": "docker.io/grafana/grafana:11.1.0"}], ip="10.4.2.77")
    # The thread: egress to the agent denied "even with an ipBlock 0.0.0.0/0 rule".
    policy = {
        "apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy",
        "metadata": meta("default-egress", "observability",
                         annotations={"kubectl.kubernetes.io/last-applied-configuration": ""}),
        "spec": {"podSelector": {}, "policyTypes": ["Egress"],
                 "egress": [
                     {"to": [{"namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
                              "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}}}],
                      "ports": [{"port": 53, "protocol": "UDP"}, {"port": 53, "protocol": "TCP"}]},
                     {"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]},
                 ]},
    }
    config = cilium_config({"ipam": "eni", "enable-endpoint-routes": "true", "routing-mode": "native",
                            "kube-proxy-replacement": "true",
                            "k8s-service-host": "A1B2C3D4E5F60718293A4B5C6D7E8F90.gr7.eu-west-1.eks.amazonaws.com",
                            "k8s-service-port": "443", "enable-policy": "default", "cluster-name": "platform-prod"})
    files = {
        "cilium-config.json": kubectl_json(config),
        "daemonsets.json": kubectl_json(klist([cilium_ds("1.16.1"), pod_identity_agent_ds()])),
        "networkpolicies.json": kubectl_json(klist([policy])),
        "pods.json": kubectl_json(klist([app, other])),
    }
    write_dir(CORPUS / "UP53" / "input", files)
    (CORPUS / "UP53" / "case.json").write_text(case(
        "UP53", "https://github.com/cilium/cilium/issues/34387",
        "a pod with the env the Pod Identity webhook injects (AWS_CONTAINER_CREDENTIALS_FULL_URI http://169.254.170.23/v1/"
        "credentials), the eks-pod-identity-agent DaemonSet, and the namespace's egress NetworkPolicy whose only wide rule "
        "is an ipBlock 0.0.0.0/0 (the thread's setup)",
        [{"rule": "OPS009", "severity_at_least": "high", "mentions_any": ["toEntities", "host entity"]}]))
    write_dir(FIXTURES / "OPS009" / "fires", files)
    allow = {
        "apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
        "metadata": meta("allow-eks-pod-identity-agent", "observability"),
        "spec": {"endpointSelector": {},
                 "egress": [{"toEntities": ["host"], "toPorts": [{"ports": [{"port": "80", "protocol": "TCP"}]}]}]},
    }
    write_dir(FIXTURES / "OPS009" / "quiet", dict(files, **{"networkpolicies.json": kubectl_json(klist([policy, allow]))}))


# ------------------------------------------------------------------ quiet clusters

def quiet_case(name, inputs, prefixes):
    return json.dumps({"id": name, "inputs": inputs,
                       "quiet": {"severity_below": "medium", "rules_prefix": prefixes}}, indent=2) + "\n"


def quiet_eni_routing():
    """ENI mode on the EKS AL2023 AMI with masquerading off (the 1.18 chart's
    ENI default): one DHCP default route, the local rule, Cilium's rules for
    pods on two ENIs without `to` (what it installs without masquerading);
    a Pod Identity pod whose namespace allows the host entity."""
    ts = "20260210-120000"
    config = dict(ENI_DATA, **{"enable-ipv4-masquerade": "false"})
    routes = ("default via 10.0.0.1 dev ens5 proto dhcp src 10.0.1.12 metric 512 \n"
              "10.0.0.0/20 dev ens5 proto kernel scope link src 10.0.1.12 metric 512 \n"
              "10.0.0.2 dev ens5 proto dhcp scope link src 10.0.1.12 metric 512 \n")
    rules = healthy_rules({"11": ["10.0.4.73", "10.0.5.190"], "12": ["10.0.9.22"]}, to=None)
    files = routing_sysdump("quiet/eni-routing-healthy", ts, "1.18.7", "Amazon Linux 2023.9.20260120",
                            "6.12.58-82.121.amzn2023.x86_64", "v1.33.5-eks-3025e55",
                            {"cilium-4hz8q": routes, "cilium-w2t7c": routes},
                            {"cilium-4hz8q": rules, "cilium-w2t7c": rules}, config=config)
    del files
    node_name = "ip-10-0-1-12.us-west-2.compute.internal"
    env = [{"name": "AWS_CONTAINER_CREDENTIALS_FULL_URI", "value": "http://169.254.170.23/v1/credentials"},
           {"name": "AWS_CONTAINER_AUTHORIZATION_TOKEN_FILE",
            "value": "/var/run/secrets/pods.eks.amazonaws.com/serviceaccount/eks-pod-identity-token"}]
    app = pod("s3-exporter-6d9f7c5b8-kq2xv", "observability", node_name, {"app": "s3-exporter"},
              [{"name": "exporter", "image": "ghcr.io/example/s3-exporter:1.3.0", "env": env}], ip="10.0.4.73",
              sa="s3-exporter")
    policies = klist([
        {"apiVersion": "networking.k8s.io/v1", "kind": "NetworkPolicy", "metadata": meta("default-egress", "observability"),
         "spec": {"podSelector": {}, "policyTypes": ["Egress"], "egress": [{"to": [{"ipBlock": {"cidr": "0.0.0.0/0"}}]}]}},
        {"apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
         "metadata": meta("allow-eks-pod-identity-agent", "observability"),
         "spec": {"endpointSelector": {"matchLabels": {"app": "s3-exporter"}},
                  "egress": [{"toEntities": ["host"], "toPorts": [{"ports": [{"port": "80", "protocol": "TCP"}]}]}]}},
    ])
    extra = CORPUS / "quiet" / "eni-routing-healthy" / "input"
    (extra / "workloads.json").write_text(kubectl_json(klist([app, pod_identity_agent_ds()])))
    (extra / "policies.json").write_text(kubectl_json(policies))
    (CORPUS / "quiet" / "eni-routing-healthy" / "case.json").write_text(quiet_case(
        "eni-routing-healthy",
        "a cilium sysdump zip of two healthy ENI-mode nodes on the EKS AL2023 AMI (Cilium 1.18.7, masquerading off): one "
        "default route, the local rule, per-endpoint rules for pods on two ENIs; a Pod Identity pod whose egress policy "
        "allows the host entity on TCP 80",
        ["CFG01", "OPS009"]))


def quiet_chaining():
    """aws-cni chaining after a VPC CNI upgrade that went well: no sandbox
    failures, kube-proxy replacement disabled, every config init completed."""
    config = cilium_config({"cni-chaining-mode": "aws-cni", "cni-exclusive": "false",
                            "enable-ipv4-masquerade": "false", "routing-mode": "native",
                            "enable-endpoint-routes": "true", "ipam": "cluster-pool",
                            "kube-proxy-replacement": "false", "cluster-name": "default"})
    nodes = [node(f"ip-10-20-{n}-14.us-west-2.compute.internal", "Amazon Linux 2", "5.10.240-238.955.amzn2.x86_64",
                  "v1.31.13-eks-113cf36", internal_ip=f"10.20.{n}.14") for n in (1, 2)]
    image = "quay.io/cilium/cilium:v1.17.9"
    agents = [pod(f"cilium-{s}", "kube-system", n["metadata"]["name"], {"k8s-app": "cilium"},
                  [{"name": "cilium-agent", "image": image}], ip=n["status"]["addresses"][0]["address"],
                  host_network=True, sa="cilium",
                  init_statuses=[{"name": "config", "image": image, "imageID": "", "ready": True, "restartCount": 0,
                                  "state": {"terminated": {"exitCode": 0, "reason": "Completed"}}}])
              for s, n in zip(("x8p2d", "m4k7q"), nodes)]
    events = klist([
        event("default", "web-6b7d9c8f5-p2x7k", "Scheduled",
              f"Successfully assigned default/web-6b7d9c8f5-p2x7k to {nodes[0]['metadata']['name']}",
              etype="Normal", component="default-scheduler"),
        event("default", "web-6b7d9c8f5-p2x7k", "Pulled",
              "Container image \"nginx:1.27\" already present on machine", etype="Normal",
              host=nodes[0]["metadata"]["name"]),
    ])
    root = CORPUS / "quiet" / "chaining-healthy"
    write_dir(root / "input", {
        "cilium-config.json": kubectl_json(config),
        "daemonsets.json": kubectl_json(klist([cilium_ds("1.17.9", 2, 2), aws_node_ds("v1.20.4-eksbuild.1", 2, 2)])),
        "eks-addon-vpc-cni.json": json.dumps(addon("vpc-cni", "v1.20.4-eksbuild.1"), indent=4) + "\n",
        "events.json": kubectl_json(events),
        "nodes.json": kubectl_json(klist(nodes)),
        "pods.json": kubectl_json(klist(agents)),
    })
    (root / "case.json").write_text(quiet_case(
        "chaining-healthy",
        "aws-cni chaining on a current VPC CNI add-on (v1.20.4-eksbuild.1) with kube-proxy replacement off, "
        "agents whose config init completed, only routine Events",
        ["CNI01", "CFG010", "CFG011"]))


def main():
    up26()
    up29()
    up41()
    up42()
    up43()
    routing_fixtures()
    up47()
    up48()
    up53()
    quiet_eni_routing()
    quiet_chaining()


if __name__ == "__main__":
    main()
