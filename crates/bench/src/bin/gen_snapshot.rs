//! Generate a large, deterministic, kubectl-shaped cluster snapshot for
//! benchmarks: nodes, pods (with annotations and statuses, and managedFields
//! with `--managed-fields`), CiliumEndpoints, CiliumNodes, events, and the
//! small config/AWS files of `examples/demo` scaled to the node count. The
//! big Lists are written as `kubectl get -o json` prints them (4-space
//! indent, no managedFields: kubectl's default since 1.21), or compact with
//! `--shape compact`.
//!
//! ```sh
//! cargo run -p doctor-bench --release --bin gen-snapshot -- --nodes 5000 --pods-per-node 30 --out DIR
//! ```
//!
//! Traps sprinkled in (deterministic): every 50th node is a `t3.medium`
//! (kubelet max pods 17) carrying the same pods as the others (over-scheduled),
//! every 997th application pod has no CiliumEndpoint, every 211th is stuck in
//! `ContainerCreating` with a `FailedCreatePodSandBox` event, some Cilium
//! agents restart, and `aws-node` is still scheduled on every node.

use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{json, Value};

/// splitmix64: small, seeded, deterministic.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
    fn hex(&mut self, len: usize) -> String {
        let mut s = String::with_capacity(len);
        while s.len() < len {
            s.push_str(&format!("{:016x}", self.next()));
        }
        s.truncate(len);
        s
    }
    fn suffix(&mut self, len: usize) -> String {
        const ALPHABET: &[u8] = b"bcdfghjklmnpqrstvwxz2456789";
        (0..len)
            .map(|_| ALPHABET[self.below(ALPHABET.len() as u64) as usize] as char)
            .collect()
    }
    fn uid(&mut self) -> String {
        let h = self.hex(32);
        format!(
            "{}-{}-4{}-8{}-{}",
            &h[..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..]
        )
    }
}

/// How the big Lists are written.
#[derive(Clone, Copy, PartialEq, Eq)]
enum Shape {
    /// As `kubectl get -o json` prints them: 4-space indent.
    Pretty,
    /// As the API server sends them (`kubectl get --raw`): no whitespace.
    Compact,
}

struct Args {
    shape: Shape,
    /// Keep `metadata.managedFields` (kubectl hides them since 1.21 unless
    /// `--show-managed-fields`).
    managed_fields: bool,
    nodes: usize,
    pods_per_node: usize,
    out: PathBuf,
    seed: u64,
}

fn args() -> Args {
    let mut args = Args {
        shape: Shape::Pretty,
        managed_fields: false,
        nodes: 500,
        pods_per_node: 30,
        out: PathBuf::from("snapshot"),
        seed: 42,
    };
    let mut it = std::env::args().skip(1);
    while let Some(flag) = it.next() {
        let mut value = || {
            it.next()
                .unwrap_or_else(|| usage(&format!("{flag} needs a value")))
        };
        match flag.as_str() {
            "--nodes" => args.nodes = value().parse().unwrap_or_else(|_| usage("--nodes N")),
            "--pods-per-node" => {
                args.pods_per_node = value()
                    .parse()
                    .unwrap_or_else(|_| usage("--pods-per-node N"))
            }
            "--seed" => args.seed = value().parse().unwrap_or_else(|_| usage("--seed N")),
            "--out" => args.out = PathBuf::from(value()),
            "--managed-fields" => args.managed_fields = true,
            "--shape" => {
                args.shape = match value().as_str() {
                    "pretty" => Shape::Pretty,
                    "compact" => Shape::Compact,
                    _ => usage("--shape pretty|compact"),
                }
            }
            "-h" | "--help" => usage(""),
            other => usage(&format!("unknown argument {other}")),
        }
    }
    if args.pods_per_node < 3 {
        usage("--pods-per-node must be at least 3 (cilium, kube-proxy, aws-node)");
    }
    args
}

fn usage(why: &str) -> ! {
    if !why.is_empty() {
        eprintln!("error: {why}");
    }
    eprintln!("usage: gen-snapshot [--nodes N] [--pods-per-node N] [--seed N] [--shape pretty|compact] [--managed-fields] --out DIR");
    std::process::exit(2)
}

const REGION: &str = "eu-west-1";
const CLUSTER: &str = "shop-prod";
const ACCOUNT: &str = "111122223333";
const ZONES: [&str; 3] = ["eu-west-1a", "eu-west-1b", "eu-west-1c"];
const SUBNETS: [&str; 3] = [
    "subnet-0aa1b2c3d4e5f6071",
    "subnet-0bb1b2c3d4e5f6072",
    "subnet-0cc1b2c3d4e5f6073",
];
const TS: &str = "2026-11-20T09:14:52Z";
const APPS: [(&str, &str); 8] = [
    ("shop", "checkout"),
    ("shop", "cart"),
    ("shop", "catalog"),
    ("shop", "frontend"),
    ("payments", "ledger"),
    ("payments", "gateway"),
    ("reporting", "exporter"),
    ("search", "indexer"),
];

struct NodeInfo {
    name: String,
    ip: [u8; 4],
    instance_id: String,
    instance_type: &'static str,
    nodegroup: &'static str,
    zone: usize,
    suffix: String,
}

impl NodeInfo {
    fn ip(&self) -> String {
        let [a, b, c, d] = self.ip;
        format!("{a}.{b}.{c}.{d}")
    }
    fn pod_ip(&self, k: usize) -> String {
        let [a, b, c, _] = self.ip;
        format!("{a}.{b}.{c}.{}", 20 + k)
    }
}

/// Writes `{"apiVersion": "v1", "items": [...], "kind": "List", ...}` one
/// item at a time, pretty the way `kubectl get -o json` does (4-space
/// indent) or compact as the API server sends it.
struct ListWriter {
    out: BufWriter<File>,
    shape: Shape,
    managed_fields: bool,
    count: usize,
}

impl ListWriter {
    fn create(dir: &Path, name: &str, args: &Args) -> ListWriter {
        let shape = args.shape;
        let mut out = BufWriter::with_capacity(1 << 20, File::create(dir.join(name)).unwrap());
        let head: &[u8] = match shape {
            Shape::Pretty => b"{\n    \"apiVersion\": \"v1\",\n    \"items\": [",
            Shape::Compact => b"{\"apiVersion\":\"v1\",\"items\":[",
        };
        out.write_all(head).unwrap();
        ListWriter {
            out,
            shape,
            managed_fields: args.managed_fields,
            count: 0,
        }
    }

    fn push(&mut self, item: &Value) {
        if !self.managed_fields && item["metadata"].get("managedFields").is_some() {
            let mut item = item.clone();
            item["metadata"]
                .as_object_mut()
                .unwrap()
                .remove("managedFields");
            return self.push(&item);
        }
        if self.count > 0 {
            self.out.write_all(b",").unwrap();
        }
        self.count += 1;
        if self.shape == Shape::Compact {
            serde_json::to_writer(&mut self.out, item).unwrap();
            return;
        }
        self.out.write_all(b"\n        ").unwrap();
        let mut text = Vec::with_capacity(8192);
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
        let mut ser = serde_json::Serializer::with_formatter(&mut text, formatter);
        item.serialize(&mut ser).unwrap();
        // Re-indent to the item's depth (two levels).
        let text = String::from_utf8(text).unwrap();
        self.out
            .write_all(text.replace('\n', "\n        ").as_bytes())
            .unwrap();
    }

    fn finish(mut self) {
        let tail: &[u8] = match self.shape {
            Shape::Pretty => b"\n    ],\n    \"kind\": \"List\",\n    \"metadata\": {\n        \"resourceVersion\": \"\"\n    }\n}\n",
            Shape::Compact => b"],\"kind\":\"List\",\"metadata\":{\"resourceVersion\":\"\"}}\n",
        };
        self.out.write_all(tail).unwrap();
        self.out.flush().unwrap();
    }
}

fn write_json(dir: &Path, name: &str, value: &Value) {
    let text = serde_json::to_string_pretty(value).unwrap();
    std::fs::write(dir.join(name), text + "\n").unwrap();
}

fn managed_fields(manager: &str, fields: Value) -> Value {
    json!({
        "apiVersion": "v1",
        "fieldsType": "FieldsV1",
        "fieldsV1": fields,
        "manager": manager,
        "operation": "Update",
        "time": TS
    })
}

fn node(n: &NodeInfo, rng: &mut Rng) -> Value {
    let max_pods = if n.instance_type == "t3.medium" {
        "17"
    } else {
        "58"
    };
    json!({
        "apiVersion": "v1",
        "kind": "Node",
        "metadata": {
            "annotations": {
                "alpha.kubernetes.io/provided-node-ip": n.ip(),
                "node.alpha.kubernetes.io/ttl": "0",
                "volumes.kubernetes.io/controller-managed-attach-detach": "true"
            },
            "creationTimestamp": TS,
            "labels": {
                "beta.kubernetes.io/arch": "amd64",
                "beta.kubernetes.io/instance-type": n.instance_type,
                "beta.kubernetes.io/os": "linux",
                "eks.amazonaws.com/capacityType": "ON_DEMAND",
                "eks.amazonaws.com/nodegroup": n.nodegroup,
                "eks.amazonaws.com/nodegroup-image": "ami-0c1d2e3f4a5b6c7d8",
                "failure-domain.beta.kubernetes.io/region": REGION,
                "failure-domain.beta.kubernetes.io/zone": ZONES[n.zone],
                "k8s.io/cloud-provider-aws": rng.hex(32),
                "kubernetes.io/arch": "amd64",
                "kubernetes.io/hostname": n.name,
                "kubernetes.io/os": "linux",
                "node.kubernetes.io/instance-type": n.instance_type,
                "topology.k8s.aws/zone-id": format!("euw1-az{}", n.zone + 1),
                "topology.kubernetes.io/region": REGION,
                "topology.kubernetes.io/zone": ZONES[n.zone],
                "workload": n.nodegroup
            },
            "managedFields": [
                managed_fields("kubelet", json!({"f:metadata": {"f:annotations": {".": {}, "f:alpha.kubernetes.io/provided-node-ip": {}, "f:volumes.kubernetes.io/controller-managed-attach-detach": {}}, "f:labels": {".": {}, "f:beta.kubernetes.io/arch": {}, "f:beta.kubernetes.io/os": {}, "f:kubernetes.io/arch": {}, "f:kubernetes.io/hostname": {}, "f:kubernetes.io/os": {}}}, "f:spec": {"f:providerID": {}}})),
                managed_fields("kubelet", json!({"f:status": {"f:allocatable": {"f:cpu": {}, "f:memory": {}, "f:pods": {}}, "f:capacity": {"f:cpu": {}, "f:memory": {}, "f:pods": {}}, "f:conditions": {"k:{\"type\":\"DiskPressure\"}": {"f:lastHeartbeatTime": {}}, "k:{\"type\":\"MemoryPressure\"}": {"f:lastHeartbeatTime": {}}, "k:{\"type\":\"PIDPressure\"}": {"f:lastHeartbeatTime": {}}, "k:{\"type\":\"Ready\"}": {"f:lastHeartbeatTime": {}, "f:lastTransitionTime": {}, "f:message": {}, "f:reason": {}, "f:status": {}}}, "f:images": {}, "f:nodeInfo": {"f:bootID": {}, "f:kernelVersion": {}}}}))
            ],
            "name": n.name,
            "resourceVersion": (100_000 + rng.below(900_000)).to_string(),
            "uid": rng.uid()
        },
        "spec": {"providerID": format!("aws:///{}/{}", ZONES[n.zone], n.instance_id)},
        "status": {
            "addresses": [
                {"address": n.ip(), "type": "InternalIP"},
                {"address": n.name, "type": "InternalDNS"},
                {"address": n.name, "type": "Hostname"}
            ],
            "allocatable": {"cpu": "3920m", "ephemeral-storage": "76224326324", "hugepages-1Gi": "0", "hugepages-2Mi": "0", "memory": "15136204Ki", "pods": max_pods},
            "capacity": {"cpu": "4", "ephemeral-storage": "83873772Ki", "hugepages-1Gi": "0", "hugepages-2Mi": "0", "memory": "16110540Ki", "pods": max_pods},
            "conditions": [
                {"lastHeartbeatTime": TS, "lastTransitionTime": TS, "message": "kubelet has sufficient memory available", "reason": "KubeletHasSufficientMemory", "status": "False", "type": "MemoryPressure"},
                {"lastHeartbeatTime": TS, "lastTransitionTime": TS, "message": "kubelet has no disk pressure", "reason": "KubeletHasNoDiskPressure", "status": "False", "type": "DiskPressure"},
                {"lastHeartbeatTime": TS, "lastTransitionTime": TS, "message": "kubelet has sufficient PID available", "reason": "KubeletHasSufficientPID", "status": "False", "type": "PIDPressure"},
                {"lastHeartbeatTime": TS, "lastTransitionTime": TS, "message": "kubelet is posting ready status", "reason": "KubeletReady", "status": "True", "type": "Ready"},
                {"lastHeartbeatTime": TS, "lastTransitionTime": TS, "message": "Cilium is running on this node", "reason": "CiliumIsUp", "status": "False", "type": "NetworkUnavailable"}
            ],
            "daemonEndpoints": {"kubeletEndpoint": {"Port": 10250}},
            "images": [
                {"names": ["quay.io/cilium/cilium@sha256:".to_string() + &rng.hex(64), "quay.io/cilium/cilium:v1.16.5"], "sizeBytes": 203_456_789},
                {"names": [format!("{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/shop/frontend@sha256:{}", rng.hex(64))], "sizeBytes": 98_765_432}
            ],
            "nodeInfo": {
                "architecture": "amd64",
                "bootID": rng.uid(),
                "containerRuntimeVersion": "containerd://2.1.4",
                "kernelVersion": "6.1.176-221.360.amzn2023.x86_64",
                "kubeProxyVersion": "",
                "kubeletVersion": "v1.32.9-eks-113cf36",
                "machineID": rng.hex(32),
                "operatingSystem": "linux",
                "osImage": "Amazon Linux 2023.9.20260714",
                "systemUUID": rng.uid()
            }
        }
    })
}

struct PodPlan<'a> {
    node: &'a NodeInfo,
    namespace: &'a str,
    app: &'a str,
    name: String,
    host_network: bool,
    ip: String,
    restarts: u32,
    stuck: bool,
}

fn pod(p: &PodPlan, rng: &mut Rng) -> Value {
    let image = if p.app == "cilium" {
        "quay.io/cilium/cilium:v1.16.5@sha256:758ca0793f5995bb938a2fa219dcce63dc0b3fa7fc4ce5cc851125281fb7361d".to_string()
    } else if p.app == "kube-proxy" {
        "602401143452.dkr.ecr.eu-west-1.amazonaws.com/eks/kube-proxy:v1.32.6-minimal-eksbuild.12"
            .to_string()
    } else if p.app == "aws-node" {
        "602401143452.dkr.ecr.eu-west-1.amazonaws.com/amazon-k8s-cni:v1.19.2-eksbuild.1".to_string()
    } else {
        format!(
            "{ACCOUNT}.dkr.ecr.{REGION}.amazonaws.com/{}/{}:1.{}.{}",
            p.namespace,
            p.app,
            rng.below(20),
            rng.below(10)
        )
    };
    let (owner_kind, owner_name) = if p.host_network {
        ("DaemonSet", p.app.to_string())
    } else {
        ("ReplicaSet", format!("{}-{}", p.app, rng.hex(10)))
    };
    let label_key = if p.host_network { "k8s-app" } else { "app" };
    let (phase, pod_ip, state, ready) = if p.stuck {
        (
            "Pending",
            None,
            json!({"waiting": {"reason": "ContainerCreating"}}),
            "False",
        )
    } else {
        (
            "Running",
            Some(p.ip.clone()),
            json!({"running": {"startedAt": TS}}),
            "True",
        )
    };
    let mut status = json!({
        "conditions": [
            {"lastProbeTime": null, "lastTransitionTime": TS, "status": "True", "type": "Initialized"},
            {"lastProbeTime": null, "lastTransitionTime": TS, "status": ready, "type": "Ready"},
            {"lastProbeTime": null, "lastTransitionTime": TS, "status": ready, "type": "ContainersReady"},
            {"lastTransitionTime": TS, "status": "True", "type": "PodScheduled"}
        ],
        "containerStatuses": [{
            "containerID": format!("containerd://{}", rng.hex(64)),
            "image": image,
            "imageID": format!("{image}@sha256:{}", rng.hex(64)),
            "lastState": if p.restarts > 0 { json!({"terminated": {"exitCode": 1, "reason": "Error", "startedAt": TS, "finishedAt": TS, "containerID": format!("containerd://{}", rng.hex(64))}}) } else { json!({}) },
            "name": "main",
            "ready": !p.stuck,
            "restartCount": p.restarts,
            "started": !p.stuck,
            "state": state
        }],
        "hostIP": p.node.ip(),
        "hostIPs": [{"ip": p.node.ip()}],
        "phase": phase,
        "qosClass": "Burstable",
        "startTime": TS
    });
    if let Some(ip) = pod_ip {
        status["podIP"] = json!(ip);
        status["podIPs"] = json!([{"ip": ip}]);
    }
    json!({
        "apiVersion": "v1",
        "kind": "Pod",
        "metadata": {
            "annotations": {
                "kubectl.kubernetes.io/restartedAt": TS,
                "prometheus.io/port": "9090",
                "prometheus.io/scrape": "true",
                "checksum/config": rng.hex(64)
            },
            "creationTimestamp": TS,
            "generateName": format!("{}-", p.app),
            "labels": {
                label_key: p.app,
                "app.kubernetes.io/name": p.app,
                "app.kubernetes.io/part-of": p.namespace,
                "pod-template-hash": rng.hex(10),
                "controller-revision-hash": rng.hex(10)
            },
            "managedFields": [
                managed_fields("kube-controller-manager", json!({"f:metadata": {"f:annotations": {".": {}, "f:checksum/config": {}, "f:kubectl.kubernetes.io/restartedAt": {}, "f:prometheus.io/port": {}, "f:prometheus.io/scrape": {}}, "f:generateName": {}, "f:labels": {".": {}, "f:app": {}, "f:app.kubernetes.io/name": {}, "f:pod-template-hash": {}}, "f:ownerReferences": {".": {}, format!("k:{{\"uid\":\"{}\"}}", rng.uid()): {}}}, "f:spec": {"f:containers": {"k:{\"name\":\"main\"}": {".": {}, "f:image": {}, "f:imagePullPolicy": {}, "f:name": {}, "f:resources": {}, "f:terminationMessagePath": {}, "f:terminationMessagePolicy": {}}}, "f:dnsPolicy": {}, "f:enableServiceLinks": {}, "f:restartPolicy": {}, "f:schedulerName": {}, "f:securityContext": {}, "f:terminationGracePeriodSeconds": {}}}))
            ],
            "name": p.name,
            "namespace": p.namespace,
            "ownerReferences": [{
                "apiVersion": "apps/v1",
                "blockOwnerDeletion": true,
                "controller": true,
                "kind": owner_kind,
                "name": owner_name,
                "uid": rng.uid()
            }],
            "resourceVersion": (100_000 + rng.below(900_000)).to_string(),
            "uid": rng.uid()
        },
        "spec": {
            "containers": [{
                "env": [
                    {"name": "LOG_LEVEL", "value": "info"},
                    {"name": "AWS_REGION", "value": REGION},
                    {"name": "POD_NAME", "valueFrom": {"fieldRef": {"apiVersion": "v1", "fieldPath": "metadata.name"}}}
                ],
                "image": image,
                "imagePullPolicy": "IfNotPresent",
                "name": "main",
                "ports": [{"containerPort": 8080, "name": "http", "protocol": "TCP"}],
                "resources": {"limits": {"memory": "512Mi"}, "requests": {"cpu": "100m", "memory": "256Mi"}},
                "terminationMessagePath": "/dev/termination-log",
                "terminationMessagePolicy": "File",
                "volumeMounts": [{"mountPath": "/var/run/secrets/kubernetes.io/serviceaccount", "name": format!("kube-api-access-{}", rng.suffix(5)), "readOnly": true}]
            }],
            "dnsPolicy": if p.host_network { "ClusterFirstWithHostNet" } else { "ClusterFirst" },
            "enableServiceLinks": true,
            "hostNetwork": p.host_network,
            "nodeName": p.node.name,
            "preemptionPolicy": "PreemptLowerPriority",
            "priority": 0,
            "restartPolicy": "Always",
            "schedulerName": "default-scheduler",
            "securityContext": {},
            "serviceAccount": "default",
            "serviceAccountName": "default",
            "terminationGracePeriodSeconds": 30,
            "tolerations": [{"effect": "NoExecute", "key": "node.kubernetes.io/not-ready", "operator": "Exists", "tolerationSeconds": 300}]
        },
        "status": status
    })
}

fn endpoint(p: &PodPlan, rng: &mut Rng) -> Value {
    json!({
        "apiVersion": "cilium.io/v2",
        "kind": "CiliumEndpoint",
        "metadata": {
            "creationTimestamp": TS,
            "generation": 1,
            "labels": {"app": p.app},
            "name": p.name,
            "namespace": p.namespace,
            "ownerReferences": [{"apiVersion": "v1", "blockOwnerDeletion": true, "kind": "Pod", "name": p.name, "uid": rng.uid()}],
            "resourceVersion": (100_000 + rng.below(900_000)).to_string(),
            "uid": rng.uid()
        },
        "status": {
            "encryption": {},
            "external-identifiers": {"cni-attachment-id": format!("{}:eth0", rng.hex(64)), "container-id": rng.hex(64), "k8s-namespace": p.namespace, "k8s-pod-name": p.name, "pod-name": format!("{}/{}", p.namespace, p.name)},
            "id": 100 + rng.below(4000),
            "identity": {"id": 20_000 + rng.below(40_000), "labels": [format!("k8s:app={}", p.app), format!("k8s:io.kubernetes.pod.namespace={}", p.namespace), "k8s:io.cilium.k8s.policy.serviceaccount=default".to_string()]},
            "networking": {"addressing": [{"ipv4": p.ip}], "node": p.node.ip()},
            "policy": {"egress": {"enforcing": false, "state": "<status disabled>"}, "ingress": {"enforcing": false, "state": "<status disabled>"}},
            "state": "ready"
        }
    })
}

fn cilium_node(n: &NodeInfo, pods: usize, rng: &mut Rng) -> Value {
    let eni = format!("eni-0{}", rng.hex(16));
    let mut pool = serde_json::Map::new();
    let mut used = serde_json::Map::new();
    for k in 0..pods + 8 {
        let ip = n.pod_ip(k);
        pool.insert(ip.clone(), json!({"resource": eni}));
        if k < pods {
            used.insert(ip, json!({"owner": format!("pod-{k}"), "resource": eni}));
        }
    }
    json!({
        "apiVersion": "cilium.io/v2",
        "kind": "CiliumNode",
        "metadata": {
            "creationTimestamp": TS,
            "labels": {"node.kubernetes.io/instance-type": n.instance_type, "topology.kubernetes.io/zone": ZONES[n.zone]},
            "name": n.name,
            "ownerReferences": [{"apiVersion": "v1", "kind": "Node", "name": n.name, "uid": rng.uid()}],
            "resourceVersion": (100_000 + rng.below(900_000)).to_string(),
            "uid": rng.uid()
        },
        "spec": {
            "addresses": [{"ip": n.ip(), "type": "InternalIP"}],
            "eni": {"first-interface-index": 1, "instance-type": n.instance_type, "vpc-id": "vpc-0a1b2c3d4e5f60718", "availability-zone": ZONES[n.zone], "instance-id": n.instance_id, "node-subnet-id": SUBNETS[n.zone]},
            "health": {"ipv4": n.pod_ip(pods + 9)},
            "instance-id": n.instance_id,
            "ipam": {"pool": pool, "pre-allocate": 8}
        },
        "status": {"eni": {"enis": {}}, "ipam": {"used": used, "operator-status": {}}}
    })
}

fn event(p: &PodPlan, rng: &mut Rng) -> Value {
    json!({
        "apiVersion": "v1",
        "count": 1 + rng.below(40),
        "eventTime": null,
        "firstTimestamp": TS,
        "involvedObject": {"apiVersion": "v1", "kind": "Pod", "name": p.name, "namespace": p.namespace, "uid": rng.uid()},
        "kind": "Event",
        "lastTimestamp": TS,
        "message": "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox: plugin type=\"cilium-cni\" failed (add): unable to allocate IP via local cilium agent: [POST /ipam][502] postIpamFailure  No more IPs available",
        "metadata": {"creationTimestamp": TS, "name": format!("{}.{}", p.name, rng.hex(16)), "namespace": p.namespace, "resourceVersion": (100_000 + rng.below(900_000)).to_string(), "uid": rng.uid()},
        "reason": "FailedCreatePodSandBox",
        "reportingComponent": "kubelet",
        "reportingInstance": p.node.name,
        "source": {"component": "kubelet", "host": p.node.name},
        "type": "Warning"
    })
}

/// The small files of `examples/demo`, with node counts scaled.
fn small_files(dir: &Path, nodes: usize) {
    const DEMO: &[(&str, &str)] = &[
        (
            "eks-cluster.json",
            include_str!("../../../../examples/demo/eks-cluster.json"),
        ),
        (
            "eks-addons.json",
            include_str!("../../../../examples/demo/eks-addons.json"),
        ),
        (
            "ec2-vpcs.json",
            include_str!("../../../../examples/demo/ec2-vpcs.json"),
        ),
        (
            "ec2-subnets.json",
            include_str!("../../../../examples/demo/ec2-subnets.json"),
        ),
        (
            "iam-authorization-details.json",
            include_str!("../../../../examples/demo/iam-authorization-details.json"),
        ),
        (
            "iam-oidc-providers.json",
            include_str!("../../../../examples/demo/iam-oidc-providers.json"),
        ),
        (
            "k8s-cilium-config.json",
            include_str!("../../../../examples/demo/k8s-cilium-config.json"),
        ),
        (
            "k8s-deployments.json",
            include_str!("../../../../examples/demo/k8s-deployments.json"),
        ),
        (
            "k8s-serviceaccounts.json",
            include_str!("../../../../examples/demo/k8s-serviceaccounts.json"),
        ),
        (
            "k8s-services.json",
            include_str!("../../../../examples/demo/k8s-services.json"),
        ),
        (
            "k8s-webhooks.json",
            include_str!("../../../../examples/demo/k8s-webhooks.json"),
        ),
        (
            "k8s-networkpolicies.json",
            include_str!("../../../../examples/demo/k8s-networkpolicies.json"),
        ),
        (
            "k8s-securitygrouppolicies.json",
            include_str!("../../../../examples/demo/k8s-securitygrouppolicies.json"),
        ),
        (
            "version.json",
            include_str!("../../../../examples/demo/version.json"),
        ),
    ];
    for (name, text) in DEMO {
        std::fs::write(dir.join(name), text).unwrap();
    }
    std::fs::write(
        dir.join("metrics-cilium-agent.txt"),
        include_str!("../../../../examples/demo/metrics-cilium-agent.txt"),
    )
    .unwrap();
    let mut daemonsets: Value = serde_json::from_str(include_str!(
        "../../../../examples/demo/k8s-daemonsets.json"
    ))
    .unwrap();
    for ds in daemonsets["items"].as_array_mut().unwrap() {
        let status = ds["status"].as_object_mut().unwrap();
        for key in [
            "currentNumberScheduled",
            "desiredNumberScheduled",
            "numberAvailable",
            "numberReady",
            "updatedNumberScheduled",
        ] {
            status.insert(key.into(), json!(nodes));
        }
    }
    write_json(dir, "k8s-daemonsets.json", &daemonsets);
    for (group, instance_type, size) in [
        ("general", "m5.xlarge", nodes - nodes / 50),
        ("small", "t3.medium", nodes / 50),
    ] {
        let ng = json!({"nodegroup": {
            "nodegroupName": group,
            "clusterName": CLUSTER,
            "version": "1.32",
            "nodegroupArn": format!("arn:aws:eks:{REGION}:{ACCOUNT}:nodegroup/{CLUSTER}/{group}/3ec9a1b2-4c5d-6e7f-8091-a2b3c4d5e6f7"),
            "releaseVersion": "1.32.9-20260714",
            "createdAt": "2025-02-11T09:20:44.120000+00:00",
            "status": "ACTIVE",
            "capacityType": "ON_DEMAND",
            "instanceTypes": [instance_type],
            "scalingConfig": {"minSize": size, "maxSize": size * 2 + 1, "desiredSize": size},
            "subnets": SUBNETS,
            "amiType": "AL2023_x86_64_STANDARD",
            "nodeRole": format!("arn:aws:iam::{ACCOUNT}:role/{CLUSTER}-node"),
            "labels": {"workload": group},
            "taints": [],
            "diskSize": 80,
            "updateConfig": {"maxUnavailable": 1}
        }});
        write_json(dir, &format!("eks-nodegroup-{group}.json"), &ng);
    }
}

fn main() {
    let args = args();
    let dir = &args.out;
    std::fs::create_dir_all(dir).unwrap();
    let mut rng = Rng(args.seed);

    let nodes: Vec<NodeInfo> = (0..args.nodes)
        .map(|i| {
            let zone = i % 3;
            let ip = [10, (i / 200 + 1) as u8, (i % 200) as u8, 10];
            let small = i % 50 == 49;
            NodeInfo {
                name: format!("ip-10-{}-{}-10.{REGION}.compute.internal", ip[1], ip[2]),
                ip,
                instance_id: format!("i-0{}", rng.hex(16)),
                instance_type: if small { "t3.medium" } else { "m5.xlarge" },
                nodegroup: if small { "small" } else { "general" },
                zone,
                suffix: rng.suffix(5),
            }
        })
        .collect();

    let mut node_list = ListWriter::create(dir, "k8s-nodes.json", &args);
    let mut cn_list = ListWriter::create(dir, "k8s-ciliumnodes.json", &args);
    for n in &nodes {
        node_list.push(&node(n, &mut rng));
        cn_list.push(&cilium_node(n, args.pods_per_node, &mut rng));
    }
    node_list.finish();
    cn_list.finish();

    let mut pods = ListWriter::create(dir, "k8s-pods.json", &args);
    let mut ceps = ListWriter::create(dir, "k8s-ciliumendpoints.json", &args);
    let mut events = ListWriter::create(dir, "k8s-events.json", &args);
    let mut app_pods = 0usize;
    for (i, n) in nodes.iter().enumerate() {
        for k in 0..args.pods_per_node {
            let (namespace, app, host_network) = match k {
                0 => ("kube-system", "cilium", true),
                1 => ("kube-system", "kube-proxy", true),
                2 => ("kube-system", "aws-node", true),
                _ => {
                    let (ns, app) = APPS[(i + k) % APPS.len()];
                    (ns, app, false)
                }
            };
            let name = if host_network {
                format!("{app}-{}", n.suffix)
            } else {
                format!("{app}-{}-{}", rng.hex(10), rng.suffix(5))
            };
            let mut plan = PodPlan {
                node: n,
                namespace,
                app,
                name,
                host_network,
                ip: if host_network { n.ip() } else { n.pod_ip(k) },
                restarts: 0,
                stuck: false,
            };
            if app == "cilium" && i % 101 == 7 {
                plan.restarts = 4 + (i % 9) as u32;
            }
            if !host_network {
                app_pods += 1;
                plan.stuck = app_pods.is_multiple_of(211);
            }
            pods.push(&pod(&plan, &mut rng));
            if plan.stuck {
                events.push(&event(&plan, &mut rng));
            } else if !host_network && !app_pods.is_multiple_of(997) {
                ceps.push(&endpoint(&plan, &mut rng));
            }
        }
    }
    pods.finish();
    ceps.finish();
    events.finish();
    small_files(dir, args.nodes);

    let mut total = 0u64;
    for entry in std::fs::read_dir(dir).unwrap() {
        total += entry.unwrap().metadata().unwrap().len();
    }
    println!(
        "{}: {} nodes, {} pods, {} bytes",
        dir.display(),
        args.nodes,
        args.nodes * args.pods_per_node,
        total
    );
}
