#!/usr/bin/env python3
"""Write the bundled example snapshots, examples/demo and examples/healthy.

Both are dumps of one EKS cluster running Cilium in ENI mode, in the exact
shapes `scripts/dump.sh` writes (kubectl -o json, aws ... --output json,
Prometheus text). `demo` carries the classic traps; `healthy` is the same
cluster after the fixes and must produce no finding above `low`.

    python3 scripts/make-examples.py          # rewrite both folders
"""

import json
import pathlib
import shutil

ROOT = pathlib.Path(__file__).resolve().parent.parent
ACCOUNT = "111122223333"
REGION = "eu-west-1"
CLUSTER = "shop-prod"
OIDC_ID = "4F1E2C9A7B3D5E6F8A9B0C1D2E3F4A5B"
ISSUER = f"https://oidc.eks.{REGION}.amazonaws.com/id/{OIDC_ID}"
ISSUER_HOST = ISSUER.removeprefix("https://")
VPC = "vpc-0a1b2c3d4e5f60718"
SUBNETS = [
    ("subnet-0aa1b2c3d4e5f6071", "10.0.0.0/19", f"{REGION}a", 7421),
    ("subnet-0bb1b2c3d4e5f6072", "10.0.32.0/19", f"{REGION}b", 7388),
    ("subnet-0cc1b2c3d4e5f6073", "10.0.64.0/19", f"{REGION}c", 7402),
]
OPERATOR_ROLE = f"arn:aws:iam::{ACCOUNT}:role/{CLUSTER}-cilium-operator"
NODE_ROLE = f"arn:aws:iam::{ACCOUNT}:role/{CLUSTER}-node"
CREATED = "2025-02-11T09:14:52Z"


def meta(name, namespace=None, labels=None, annotations=None, owner=None, uid=0):
    m = {"name": name, "creationTimestamp": CREATED,
         "uid": f"5f0c{uid:04x}-9a1e-4c3b-8d2e-0c1f2a3b{uid:04x}", "resourceVersion": str(100000 + uid)}
    if namespace:
        m["namespace"] = namespace
    if labels:
        m["labels"] = labels
    if annotations:
        m["annotations"] = annotations
    if owner:
        m["ownerReferences"] = [{"apiVersion": "apps/v1", "kind": owner[0], "name": owner[1],
                                 "controller": True, "blockOwnerDeletion": True,
                                 "uid": f"7a1b{uid:04x}-0000-4000-8000-00000000{uid:04x}"}]
    return m


def k8s_list(items, typed=None):
    """A kubectl-style `List`. An empty one names its kind (as the API server
    and `collect` write it, e.g. `EventList`): an empty `kind: List` cannot
    say what it was a list of."""
    api_version, kind = typed if typed and not items else ("v1", "List")
    return {"apiVersion": api_version, "kind": kind, "items": items, "metadata": {"resourceVersion": ""}}


class Cluster:
    def __init__(self, healthy):
        self.healthy = healthy
        self.k8s = "1.35" if healthy else "1.32"
        self.kubelet = "v1.35.2-eks-3f1c9b7" if healthy else "v1.32.9-eks-113cf36"
        self.kernel = "6.12.94-123.180.amzn2023.x86_64" if healthy else "6.1.176-221.360.amzn2023.x86_64"
        self.os_image = "Amazon Linux 2023.9.20260714"
        self.cilium = "1.20.0" if healthy else "1.16.5"
        self.uid = 0
        # (nodegroup, instance type, nodes, kubelet max pods)
        # Healthy nodes run kubelet max-pods matched to Cilium's pod IPs
        # (`capacity --mode cilium-eni --first-interface-index 1`): the pool
        # less the agent's router and health addresses, plus 2 host-network pods.
        self.groups = [
            ("general", "t3.medium", 3, 10 if healthy else 17),
            ("apps", "m5.xlarge", 2, 42 if healthy else 58),
        ]
        self.nodes = []
        n = 0
        for group, itype, count, max_pods in self.groups:
            for i in range(count):
                subnet = SUBNETS[n % 3]
                ip = f"10.0.{(n % 3) * 32 + 1 + i}.{23 + 17 * n}"
                name = f"ip-{ip.replace('.', '-')}.{REGION}.compute.internal"
                self.nodes.append({"name": name, "group": group, "type": itype, "ip": ip,
                                   "zone": subnet[2], "subnet": subnet[0], "max_pods": max_pods,
                                   "instance": f"i-0{n:x}3f9a1c2b4d5e6f7{n:x}"})
                n += 1

    def next_uid(self):
        self.uid += 1
        return self.uid

    # ---------------------------------------------------------------- AWS

    def eks_cluster(self):
        return {"cluster": {
            "name": CLUSTER, "arn": f"arn:aws:eks:{REGION}:{ACCOUNT}:cluster/{CLUSTER}",
            "createdAt": "2025-02-11T09:02:17.415000+00:00", "version": self.k8s,
            "endpoint": f"https://{OIDC_ID}.gr7.{REGION}.eks.amazonaws.com",
            "roleArn": f"arn:aws:iam::{ACCOUNT}:role/{CLUSTER}-cluster",
            "resourcesVpcConfig": {"subnetIds": [s[0] for s in SUBNETS],
                                   "securityGroupIds": ["sg-0d1e2f3a4b5c6d7e8"],
                                   "clusterSecurityGroupId": "sg-0f9e8d7c6b5a49382",
                                   "vpcId": VPC, "endpointPublicAccess": False,
                                   "endpointPrivateAccess": True},
            "kubernetesNetworkConfig": {"serviceIpv4Cidr": "172.20.0.0/16", "ipFamily": "ipv4"},
            "identity": {"oidc": {"issuer": ISSUER}},
            "status": "ACTIVE", "platformVersion": "eks.12" if self.healthy else "eks.21",
            "tags": {"team": "platform"},
            "upgradePolicy": {"supportType": "EXTENDED" if self.healthy else "STANDARD"},
            "accessConfig": {"authenticationMode": "API_AND_CONFIG_MAP"},
        }}

    def insights(self):
        """`aws eks list-insights`: EKS's upgrade checks for the next
        version, all PASSING (the names, descriptions and reasons are the
        texts EKS returns, from a real list-insights output; see
        crates/core/tests/fixtures/VER013/_SOURCES.md)."""
        major, minor = self.k8s.split(".")
        target = f"{major}.{int(minor) + 1}"
        refreshed = "2026-11-25T09:45:21+00:00"
        checks = [
            ("kube-proxy version skew",
             "Checks version of kube-proxy in cluster to see if upgrade would cause non compliance with supported Kubernetes kube-proxy version skew policy.",
             "kube-proxy versions match the cluster control plane version."),
            ("Kubelet version skew",
             "Checks for kubelet versions of worker nodes in the cluster to see if upgrade would cause non compliance with supported Kubernetes kubelet version skew policy.",
             "Node kubelet versions match the cluster control plane version."),
            ("Cluster health issues",
             "Checks for any cluster health issues that prevent successful upgrade to the next Kubernetes version on EKS.",
             "No cluster health issues detected."),
            ("EKS add-on version compatibility",
             "Checks version of installed EKS add-ons to ensure they are compatible with the next version of Kubernetes. ",
             "All installed EKS add-on versions are compatible with next Kubernetes version."),
        ]
        return {"insights": [
            {"id": f"{i + 1:08x}-5e1f-4c2a-9d3b-{(0x6a7b8c9d0e1f + i):012x}", "name": name,
             "category": "UPGRADE_READINESS", "kubernetesVersion": target,
             "lastRefreshTime": refreshed, "lastTransitionTime": "2025-02-11T10:14:36+00:00",
             "description": description,
             "insightStatus": {"status": "PASSING", "reason": reason}}
            for i, (name, description, reason) in enumerate(checks)
        ]}

    def addons(self):
        names = ["coredns", "eks-pod-identity-agent", "kube-proxy"]
        if not self.healthy:
            names.append("vpc-cni")
        return {"addons": sorted(names)}

    def nodegroup(self, group, itype, count, _max_pods):
        taints = [{"key": "node.cilium.io/agent-not-ready", "value": "true", "effect": "NO_EXECUTE"}]
        if not self.healthy and group == "general":
            taints = []  # the demo's general group forgot the Cilium startup taint
        return {"nodegroup": {
            "nodegroupName": group, "clusterName": CLUSTER, "version": self.k8s,
            "nodegroupArn": f"arn:aws:eks:{REGION}:{ACCOUNT}:nodegroup/{CLUSTER}/{group}/3ec9a1b2-4c5d-6e7f-8091-a2b3c4d5e6f7",
            "releaseVersion": "1.35.2-20260714" if self.healthy else "1.32.9-20260714",
            "createdAt": "2025-02-11T09:20:44.120000+00:00", "status": "ACTIVE",
            "capacityType": "ON_DEMAND", "instanceTypes": [itype],
            "scalingConfig": {"minSize": count, "maxSize": count * 2, "desiredSize": count},
            "subnets": [s[0] for s in SUBNETS], "amiType": "AL2023_x86_64_STANDARD",
            "nodeRole": NODE_ROLE, "labels": {"workload": group}, "taints": taints,
            "diskSize": 20, "updateConfig": {"maxUnavailable": 1},
        }}

    def subnets(self):
        return {"Subnets": [{
            "AvailabilityZone": zone, "AvailableIpAddressCount": free, "CidrBlock": cidr,
            "DefaultForAz": False, "MapPublicIpOnLaunch": False, "State": "available",
            "SubnetId": sid, "VpcId": VPC, "OwnerId": ACCOUNT,
            "SubnetArn": f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/{sid}",
            "Tags": [{"Key": "kubernetes.io/role/internal-elb", "Value": "1"},
                     {"Key": "Name", "Value": f"{CLUSTER}-private-{zone[-1]}"}],
        } for sid, cidr, zone, free in SUBNETS]}

    def vpcs(self):
        return {"Vpcs": [{"CidrBlock": "10.0.0.0/16", "VpcId": VPC, "State": "available",
                          "OwnerId": ACCOUNT, "IsDefault": False,
                          "CidrBlockAssociationSet": [{"AssociationId": "vpc-cidr-assoc-0123456789abcdef0",
                                                       "CidrBlock": "10.0.0.0/16",
                                                       "CidrBlockState": {"State": "associated"}}]}]}

    def iam(self):
        sub_condition = {f"{ISSUER_HOST}:aud": "sts.amazonaws.com"}
        if self.healthy:
            sub_condition[f"{ISSUER_HOST}:sub"] = "system:serviceaccount:kube-system:cilium-operator"
        trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow",
            "Principal": {"Federated": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER_HOST}"},
            "Action": "sts:AssumeRoleWithWebIdentity",
            "Condition": {"StringEquals": sub_condition}}]}
        operator_actions = sorted([
            "ec2:AssignPrivateIpAddresses", "ec2:AttachNetworkInterface", "ec2:CreateNetworkInterface",
            "ec2:CreateTags", "ec2:DeleteNetworkInterface", "ec2:DescribeInstanceTypes",
            "ec2:DescribeInstances", "ec2:DescribeNetworkInterfaces", "ec2:DescribeRouteTables",
            "ec2:DescribeSecurityGroups", "ec2:DescribeSubnets", "ec2:DescribeTags", "ec2:DescribeVpcs",
            "ec2:ModifyNetworkInterfaceAttribute", "ec2:UnassignPrivateIpAddresses"])
        operator_policy = {"Version": "2012-10-17", "Statement": [
            {"Sid": "CiliumEniIpam", "Effect": "Allow", "Action": operator_actions, "Resource": "*"}]}
        node_attached = [
            {"PolicyName": "AmazonEKSWorkerNodePolicy", "PolicyArn": "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy"},
            {"PolicyName": "AmazonEC2ContainerRegistryReadOnly", "PolicyArn": "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"},
        ]
        if not self.healthy:
            node_attached.append({"PolicyName": "AmazonEKS_CNI_Policy",
                                  "PolicyArn": "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"})
        node_trust = {"Version": "2012-10-17", "Statement": [{
            "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
        return {
            "UserDetailList": [], "GroupDetailList": [],
            "RoleDetailList": [
                {"Path": "/", "RoleName": f"{CLUSTER}-cilium-operator", "RoleId": "AROAQEXAMPLEOPERATOR1",
                 "Arn": OPERATOR_ROLE, "CreateDate": "2025-02-11T09:05:31+00:00",
                 "AssumeRolePolicyDocument": trust, "InstanceProfileList": [],
                 "RolePolicyList": [{"PolicyName": "cilium-operator-eni", "PolicyDocument": operator_policy}],
                 "AttachedManagedPolicies": [], "Tags": []},
                {"Path": "/", "RoleName": f"{CLUSTER}-node", "RoleId": "AROAQEXAMPLENODEROLE1",
                 "Arn": NODE_ROLE, "CreateDate": "2025-02-11T09:05:30+00:00",
                 "AssumeRolePolicyDocument": node_trust, "InstanceProfileList": [],
                 "RolePolicyList": [], "AttachedManagedPolicies": node_attached, "Tags": []},
            ],
            "Policies": [],
        }

    def oidc_providers(self):
        return {"OpenIDConnectProviderList": [
            {"Arn": f"arn:aws:iam::{ACCOUNT}:oidc-provider/{ISSUER_HOST}"}]}

    # ---------------------------------------------------------------- Kubernetes

    def version(self):
        git = self.kubelet
        minor = self.k8s.split(".")[1]
        return {"clientVersion": {"major": "1", "minor": minor, "gitVersion": f"v1.{minor}.0",
                                  "platform": "linux/amd64"},
                "kustomizeVersion": "v5.4.2",
                "serverVersion": {"major": "1", "minor": f"{minor}+", "gitVersion": git,
                                  "gitCommit": "4d7c1c5e8f0b9a2c3d4e5f60718293a4b5c6d7e8",
                                  "gitTreeState": "clean", "buildDate": "2026-06-12T17:02:11Z",
                                  "goVersion": "go1.24.4", "compiler": "gc", "platform": "linux/amd64"}}

    def node_objects(self):
        items = []
        for n in self.nodes:
            cpu, mem = ("2", "3955228Ki") if n["type"] == "t3.medium" else ("4", "15896988Ki")
            labels = {"beta.kubernetes.io/arch": "amd64", "beta.kubernetes.io/instance-type": n["type"],
                      "beta.kubernetes.io/os": "linux", "eks.amazonaws.com/capacityType": "ON_DEMAND",
                      "eks.amazonaws.com/nodegroup": n["group"],
                      "eks.amazonaws.com/nodegroup-image": "ami-0c1d2e3f4a5b6c7d8",
                      "kubernetes.io/arch": "amd64", "kubernetes.io/hostname": n["name"],
                      "kubernetes.io/os": "linux", "node.kubernetes.io/instance-type": n["type"],
                      "topology.kubernetes.io/region": REGION, "topology.kubernetes.io/zone": n["zone"],
                      "workload": n["group"]}
            items.append({
                "apiVersion": "v1", "kind": "Node",
                "metadata": meta(n["name"], labels=labels, uid=self.next_uid(),
                                 annotations={"node.alpha.kubernetes.io/ttl": "0",
                                              "volumes.kubernetes.io/controller-managed-attach-detach": "true"}),
                "spec": {"providerID": f"aws:///{n['zone']}/{n['instance']}"},
                "status": {
                    "addresses": [{"type": "InternalIP", "address": n["ip"]},
                                  {"type": "Hostname", "address": n["name"]}],
                    "capacity": {"cpu": cpu, "ephemeral-storage": "20959212Ki", "memory": mem,
                                 "pods": str(n["max_pods"])},
                    "allocatable": {"cpu": "1930m" if cpu == "2" else "3920m", "memory": mem,
                                    "pods": str(n["max_pods"])},
                    "conditions": [{"type": "Ready", "status": "True", "reason": "KubeletReady",
                                    "message": "kubelet is posting ready status"},
                                   {"type": "NetworkUnavailable", "status": "False",
                                    "reason": "CiliumIsUp", "message": "Cilium is running on this node"}],
                    "nodeInfo": {"architecture": "amd64", "containerRuntimeVersion": "containerd://2.1.4",
                                 "kernelVersion": self.kernel, "kubeProxyVersion": "",
                                 "kubeletVersion": self.kubelet, "operatingSystem": "linux",
                                 "osImage": self.os_image},
                }})
        return k8s_list(items)

    def pod(self, name, namespace, node, labels, image, host_network=False, ip=None,
            owner=None, sa="default", restarts=0, container="main", phase="Running", extra=None):
        spec = {"nodeName": node["name"], "serviceAccountName": sa,
                "containers": [{"name": container, "image": image, "resources": {}}],
                "restartPolicy": "Always", "dnsPolicy": "ClusterFirst"}
        if host_network:
            spec["hostNetwork"] = True
        if extra:
            spec.update(extra)
        ready = phase == "Running"
        return {"apiVersion": "v1", "kind": "Pod",
                "metadata": meta(name, namespace, labels, owner=owner, uid=self.next_uid()),
                "spec": spec,
                "status": {"phase": phase, "hostIP": node["ip"],
                           "podIP": node["ip"] if host_network else ip,
                           "conditions": [{"type": "Ready", "status": str(ready)}],
                           "containerStatuses": [{"name": container, "image": image, "ready": ready,
                                                  "restartCount": restarts,
                                                  "state": {"running": {"startedAt": CREATED}}}]}}

    def workloads(self):
        """Pods, DaemonSets, Deployments, CiliumEndpoints."""
        cilium_image = f"quay.io/cilium/cilium:v{self.cilium}"
        operator_image = f"quay.io/cilium/operator-aws:v{self.cilium}"
        pods, eps, daemonsets, deployments = [], [], [], []
        ip_counter = [10]

        def pod_ip(node):
            ip_counter[0] += 1
            a, b, c, _ = node["ip"].split(".")
            return f"{a}.{b}.{c}.{100 + ip_counter[0]}"

        def suffix(i):
            return "".join("abcdefghjkmnpqrstvwxz2456789"[(i * 7 + k * 3) % 28] for k in range(5))

        ds_specs = [("cilium", {"k8s-app": "cilium", "app.kubernetes.io/name": "cilium-agent",
                                "app.kubernetes.io/part-of": "cilium"}, cilium_image, "cilium-agent", "cilium"),
                    ("kube-proxy", {"k8s-app": "kube-proxy"},
                     "602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/kube-proxy:v1.32.6-minimal-eksbuild.2"
                     if not self.healthy else
                     "602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/kube-proxy:v1.35.0-minimal-eksbuild.1",
                     "kube-proxy", "kube-proxy")]
        if not self.healthy:
            ds_specs.append(("aws-node", {"k8s-app": "aws-node"},
                             "602401143452.dkr.ecr.eu-west-1.amazonaws.com/amazon-k8s-cni:v1.19.2-eksbuild.1",
                             "aws-node", "aws-node"))
        for ds_name, labels, image, container, sa in ds_specs:
            node_selector = {"kubernetes.io/os": "linux"}
            env = []
            if ds_name == "cilium":
                env = [{"name": "KUBERNETES_SERVICE_HOST", "value": f"{OIDC_ID}.gr7.{REGION}.eks.amazonaws.com"},
                       {"name": "KUBERNETES_SERVICE_PORT", "value": "443"}]
            count = len(self.nodes)
            daemonsets.append({
                "apiVersion": "apps/v1", "kind": "DaemonSet",
                "metadata": meta(ds_name, "kube-system", dict(labels), uid=self.next_uid()),
                "spec": {"selector": {"matchLabels": {"k8s-app": labels["k8s-app"]}},
                         "template": {"metadata": {"labels": dict(labels)},
                                      "spec": {"hostNetwork": True, "serviceAccountName": sa,
                                               "nodeSelector": node_selector,
                                               "containers": [{"name": container, "image": image, "env": env}]}}},
                "status": {"currentNumberScheduled": count, "desiredNumberScheduled": count,
                           "numberAvailable": count, "numberMisscheduled": 0, "numberReady": count,
                           "observedGeneration": 3, "updatedNumberScheduled": count}})
            for i, node in enumerate(self.nodes):
                pods.append(self.pod(f"{ds_name}-{suffix(i + len(ds_name))}", "kube-system", node,
                                     dict(labels), image, host_network=True, owner=("DaemonSet", ds_name),
                                     sa=sa, container=container))

        def deployment(name, ns, labels, image, replicas, sa="default", host_network=False,
                       container="main"):
            deployments.append({
                "apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": meta(name, ns, dict(labels), uid=self.next_uid()),
                "spec": {"replicas": replicas, "selector": {"matchLabels": dict(labels)},
                         "template": {"metadata": {"labels": dict(labels)},
                                      "spec": {"serviceAccountName": sa, "hostNetwork": host_network,
                                               "containers": [{"name": container, "image": image}]}}},
                "status": {"replicas": replicas, "readyReplicas": replicas,
                           "availableReplicas": replicas, "updatedReplicas": replicas}})
            for r in range(replicas):
                node = self.nodes[(r * 2 + len(name)) % len(self.nodes)]
                pod_name = f"{name}-7d9f{len(name)}c6b8-{suffix(r + len(name) * 3)}"
                ip = None if host_network else pod_ip(node)
                pods.append(self.pod(pod_name, ns, node, dict(labels), image, host_network=host_network,
                                     ip=ip, owner=("ReplicaSet", f"{name}-7d9f{len(name)}c6b8"), sa=sa,
                                     container=container))
                if not host_network:
                    eps.append(self.endpoint(pod_name, ns, node, ip, labels))

        deployment("cilium-operator", "kube-system",
                   {"io.cilium/app": "operator", "name": "cilium-operator",
                    "app.kubernetes.io/name": "cilium-operator", "app.kubernetes.io/part-of": "cilium"},
                   operator_image, 2, sa="cilium-operator", host_network=True, container="cilium-operator")
        deployment("coredns", "kube-system", {"k8s-app": "kube-dns", "eks.amazonaws.com/component": "coredns"},
                   "602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/coredns:v1.11.4-eksbuild.14", 2,
                   sa="coredns", container="coredns")
        deployment("hubble-relay", "kube-system", {"k8s-app": "hubble-relay"},
                   f"quay.io/cilium/hubble-relay:v{self.cilium}", 1, sa="hubble-relay",
                   container="hubble-relay")
        deployment("storefront", "shop", {"app": "storefront"},
                   f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/shop/storefront:2026.11.3", 4)
        deployment("payments-api", "payments", {"app": "payments-api", "tier": "backend"},
                   f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/payments/api:4.12.0", 3, sa="payments-api")
        deployment("orders-worker", "shop", {"app": "orders-worker"},
                   f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/shop/orders-worker:2026.11.1", 2)
        if not self.healthy:
            # Started before Cilium took over: an IP from the VPC CNI, no CiliumEndpoint.
            node = self.nodes[1]
            pods.append(self.pod("legacy-report-7c4d9-xq2lp", "reporting", node, {"app": "legacy-report"},
                                 f"{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/reporting/legacy:1.4.2",
                                 ip=pod_ip(node), owner=("ReplicaSet", "legacy-report-7c4d9")))
        return pods, eps, daemonsets, deployments

    def endpoint(self, name, ns, node, ip, labels):
        return {"apiVersion": "cilium.io/v2", "kind": "CiliumEndpoint",
                "metadata": meta(name, ns, dict(labels), owner=None, uid=self.next_uid()),
                "status": {"id": 1000 + self.uid, "identity": {"id": 20000 + self.uid},
                           "networking": {"addressing": [{"ipv4": ip}], "node": node["ip"]},
                           "state": "ready"}}

    def cilium_nodes(self, pods):
        used_by_node = {}
        for p in pods:
            if not p["spec"].get("hostNetwork") and p["status"].get("podIP"):
                used_by_node.setdefault(p["spec"]["nodeName"], []).append(p["status"]["podIP"])
        items = []
        for n in self.nodes:
            used = used_by_node.get(n["name"], [])
            a, b, c, _ = n["ip"].split(".")
            pool = {f"{a}.{b}.{c}.{100 + k}": {"resource": "eni-0a1b2c3d4e5f6a7b8"} for k in range(1, 9)}
            for ip in used:
                pool[ip] = {"resource": "eni-0a1b2c3d4e5f6a7b8"}
            items.append({
                "apiVersion": "cilium.io/v2", "kind": "CiliumNode",
                "metadata": meta(n["name"], labels={"node.kubernetes.io/instance-type": n["type"]},
                                 uid=self.next_uid()),
                "spec": {"eni": {"first-interface-index": 1, "instance-type": n["type"], "vpc-id": VPC,
                                 "availability-zone": n["zone"], "instance-id": n["instance"],
                                 "node-subnet-id": n["subnet"]},
                         "ipam": {"pool": pool, "pre-allocate": 8}},
                "status": {"ipam": {"used": {ip: {"owner": "pod"} for ip in used},
                                    "operator-status": {}}}})
        return k8s_list(items)

    def config_map(self):
        data = {
            "cluster-name": CLUSTER, "cluster-id": "0", "ipam": "eni",
            "enable-endpoint-routes": "true", "auto-create-cilium-node-resource": "true",
            "routing-mode": "native", "enable-ipv4-masquerade": "true",
            "egress-masquerade-interfaces": "ens+", "kube-proxy-replacement": "false",
            "prometheus-serve-addr": ":9962", "operator-prometheus-serve-addr": ":9963",
            "enable-metrics": "true", "enable-hubble": "true", "hubble-listen-address": ":4244",
            "hubble-metrics-server": ":9965", "enable-ipv4": "true", "enable-ipv6": "false",
            "ec2-api-endpoint": "", "eni-tags": "{}", "bpf-ct-global-tcp-max": "524288",
            "bpf-ct-global-any-max": "262144", "bpf-map-dynamic-size-ratio": "0.0025",
            "cni-exclusive": "true", "enable-policy": "default",
        }
        return {"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": meta("cilium-config", "kube-system", uid=self.next_uid()), "data": data}

    def service_accounts(self):
        items = []
        for ns, name, ann in [
            ("kube-system", "cilium", None),
            ("kube-system", "cilium-operator", {"eks.amazonaws.com/role-arn": OPERATOR_ROLE}),
            ("kube-system", "coredns", None), ("kube-system", "kube-proxy", None),
            ("kube-system", "hubble-relay", None), ("payments", "payments-api", None),
            ("shop", "default", None), ("payments", "default", None),
        ] + ([] if self.healthy else [("kube-system", "aws-node", None)]):
            items.append({"apiVersion": "v1", "kind": "ServiceAccount",
                          "metadata": meta(name, ns, annotations=ann, uid=self.next_uid())})
        return k8s_list(items)

    def services(self):
        def svc(name, ns, selector, ports, type_="ClusterIP", ip="172.20.0.10"):
            return {"apiVersion": "v1", "kind": "Service", "metadata": meta(name, ns, uid=self.next_uid()),
                    "spec": {"type": type_, "selector": selector, "clusterIP": ip,
                             "ports": [{"name": p[0], "port": p[1], "protocol": "TCP"} for p in ports]}}
        return k8s_list([
            svc("kube-dns", "kube-system", {"k8s-app": "kube-dns"}, [("dns-tcp", 53)], ip="172.20.0.10"),
            svc("hubble-peer", "kube-system", {"k8s-app": "cilium"}, [("peer-service", 443)], ip="172.20.61.2"),
            svc("hubble-relay", "kube-system", {"k8s-app": "hubble-relay"}, [("grpc", 80)], ip="172.20.88.14"),
            svc("storefront", "shop", {"app": "storefront"}, [("http", 80)], ip="172.20.140.7"),
            svc("payments-api", "payments", {"app": "payments-api"}, [("https", 443)], ip="172.20.201.33"),
        ])

    def security_group_policies(self):
        if self.healthy:
            return k8s_list([], ("vpcresources.k8s.aws/v1beta1", "SecurityGroupPolicyList"))
        return k8s_list([{
            "apiVersion": "vpcresources.k8s.aws/v1beta1", "kind": "SecurityGroupPolicy",
            "metadata": meta("payments-api-db-access", "payments", uid=self.next_uid()),
            "spec": {"podSelector": {"matchLabels": {"app": "payments-api"}},
                     "securityGroups": {"groupIds": ["sg-04c1d2e3f4a5b6c7d"]}}}])

    def network_policies(self):
        items = []
        if self.healthy:
            items.append({
                "apiVersion": "cilium.io/v2", "kind": "CiliumNetworkPolicy",
                "metadata": meta("payments-api-db-egress", "payments", uid=self.next_uid()),
                "spec": {"endpointSelector": {"matchLabels": {"app": "payments-api"}},
                         "egress": [{"toCIDR": ["10.20.0.0/24"],
                                     "toPorts": [{"ports": [{"port": "5432", "protocol": "TCP"}]}]}]}})
        return k8s_list(items, ("cilium.io/v2", "CiliumNetworkPolicyList"))

    def metrics(self):
        """An agent's /metrics (trimmed to the families the doctor reads)."""
        ct_pressure = "0.41" if self.healthy else "0.93"
        drops = "0" if self.healthy else "1873"
        lines = [
            "# HELP cilium_bpf_map_pressure Fill percentage of map, tagged by map name",
            "# TYPE cilium_bpf_map_pressure gauge",
            f'cilium_bpf_map_pressure{{map_name="ct4_global"}} {ct_pressure}',
            'cilium_bpf_map_pressure{map_name="ct_any4_global"} 0.22',
            'cilium_bpf_map_pressure{map_name="nat4_global"} 0.18',
            'cilium_bpf_map_pressure{map_name="lb4_services_v2"} 0.01',
            "# HELP cilium_drop_count_total Total dropped packets, tagged by drop reason and ingress/egress direction",
            "# TYPE cilium_drop_count_total counter",
            f'cilium_drop_count_total{{direction="EGRESS",reason="CT: Map insertion failed"}} {drops}',
            'cilium_drop_count_total{direction="INGRESS",reason="Policy denied"} 412',
            "# HELP cilium_unreachable_nodes Number of nodes that cannot be reached",
            "# TYPE cilium_unreachable_nodes gauge",
            "cilium_unreachable_nodes 0",
            "# HELP cilium_endpoint_state Count of all endpoints, tagged by different endpoint states",
            "# TYPE cilium_endpoint_state gauge",
            'cilium_endpoint_state{endpoint_state="ready"} 4',
        ]
        return "\n".join(lines) + "\n"


def write(folder, name, content):
    path = folder / name
    if isinstance(content, str):
        path.write_text(content)
    else:
        path.write_text(json.dumps(content, indent=2) + "\n")


def build(healthy):
    folder = ROOT / "examples" / ("healthy" if healthy else "demo")
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    c = Cluster(healthy)
    pods, eps, daemonsets, deployments = c.workloads()
    write(folder, "version.json", c.version())
    write(folder, "eks-cluster.json", c.eks_cluster())
    write(folder, "eks-addons.json", c.addons())
    write(folder, "eks-insights.json", c.insights())
    for group in c.groups:
        write(folder, f"eks-nodegroup-{group[0]}.json", c.nodegroup(*group))
    write(folder, "ec2-subnets.json", c.subnets())
    write(folder, "ec2-vpcs.json", c.vpcs())
    write(folder, "iam-authorization-details.json", c.iam())
    write(folder, "iam-oidc-providers.json", c.oidc_providers())
    write(folder, "k8s-nodes.json", c.node_objects())
    write(folder, "k8s-pods.json", k8s_list(pods))
    write(folder, "k8s-ciliumendpoints.json", k8s_list(eps))
    write(folder, "k8s-ciliumnodes.json", c.cilium_nodes(pods))
    write(folder, "k8s-daemonsets.json", k8s_list(daemonsets))
    write(folder, "k8s-deployments.json", k8s_list(deployments))
    write(folder, "k8s-cilium-config.json", c.config_map())
    write(folder, "k8s-serviceaccounts.json", c.service_accounts())
    write(folder, "k8s-services.json", c.services())
    write(folder, "k8s-securitygrouppolicies.json", c.security_group_policies())
    write(folder, "k8s-networkpolicies.json", c.network_policies())
    write(folder, "k8s-events.json", k8s_list([], ("v1", "EventList")))
    write(folder, "k8s-webhooks.json",
          k8s_list([], ("admissionregistration.k8s.io/v1", "ValidatingWebhookConfigurationList")))
    write(folder, "metrics-cilium-agent.txt", c.metrics())


if __name__ == "__main__":
    build(healthy=False)
    build(healthy=True)
    print("wrote examples/demo and examples/healthy")
