//! Derived Cilium facts: whether Cilium runs and in which role, which
//! version, and how it is configured. Every rule, the overview and the plans
//! read these; none derives them again. The running `cilium-config`
//! ConfigMap wins over Helm values (it is what the agents read); Helm values
//! fill in what the ConfigMap does not say.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{Cluster, ObjectKey, Workload};
use crate::version::Version;

/// Whether Cilium runs, as far as the snapshot can tell. One definition for
/// every rule: an agent is seen as the agent DaemonSet or agent pods
/// (`k8s-app=cilium` with a `cilium-agent` container); absence is proven by
/// DaemonSets or pods that hold no agent.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CiliumPresence {
    /// Nothing in the snapshot tells (no DaemonSets, pods or Cilium config).
    #[default]
    Unknown,
    /// DaemonSets or pods were provided, none is Cilium's, and there is no
    /// Cilium configuration: Cilium is not installed.
    Absent,
    /// An agent is seen.
    Running,
    /// Cilium configuration (cilium-config or Helm values) while DaemonSets
    /// or pods show no agent: a leftover, or an install that never started.
    ConfigOnly,
    /// Cilium configuration, and no DaemonSets or pods to see an agent in.
    Configured,
}

impl CiliumPresence {
    /// The snapshot shows Cilium installed (running, or configured).
    pub fn installed(self) -> bool {
        matches!(
            self,
            CiliumPresence::Running | CiliumPresence::ConfigOnly | CiliumPresence::Configured
        )
    }
}

/// How Cilium relates to the VPC CNI, once its configuration is known.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CiliumRole {
    /// Cilium is the CNI (no `cni-chaining-mode: aws-cni`).
    Primary,
    /// Cilium chains onto the VPC CNI (`cni-chaining-mode: aws-cni`).
    ChainedAwsCni,
}

/// How pod IPs are handed out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Ipam {
    /// Cilium ENI mode: pod IPs are VPC addresses on ENIs.
    Eni,
    /// Cilium overlay IPAM (cluster-pool, multi-pool, kubernetes): pod IPs
    /// come from a CIDR outside the ENI limits.
    Overlay(String),
    /// Chaining onto the VPC CNI: the VPC CNI assigns the IPs.
    ChainedVpcCni,
    /// Another Cilium IPAM (crd, delegated-plugin, …).
    Other(String),
}

/// Cilium IPAM modes whose pod IPs do not come from ENIs.
const OVERLAY_MODES: &[&str] = &[
    "cluster-pool",
    "cluster-pool-v2beta",
    "multi-pool",
    "kubernetes",
];

/// The IPAM the agent uses when neither cilium-config nor the Helm values
/// name one (the agent's `--ipam` default and the chart's `ipam.mode`).
const DEFAULT_IPAM: &str = "cluster-pool";

#[derive(Debug, Clone, Default, Serialize)]
pub struct CiliumSettings {
    pub presence: CiliumPresence,
    /// `None` while the configuration is unknown.
    pub role: Option<CiliumRole>,
    /// `None` while the configuration is unknown (or Cilium is absent).
    pub ipam: Option<Ipam>,
    /// The agent DaemonSet (kube-system/cilium, or one labelled `k8s-app=cilium`).
    pub agent_daemonset: Option<ObjectKey>,
    /// Agent version: the DaemonSet image, else the most common agent pod image.
    pub version: Option<Version>,
    /// Every distinct agent image seen (DaemonSet and pods), sorted.
    pub agent_images: Vec<String>,
    pub operator_image: Option<String>,
    pub operator_version: Option<Version>,
    /// `kube-system/cilium-config` data, when the ConfigMap was provided.
    pub config: Option<BTreeMap<String, String>>,
    /// `eni`, `cluster-pool`, `multi-pool`, `kubernetes`, …
    pub ipam_mode: Option<String>,
    /// Normalised: `native` or `tunnel`.
    pub routing_mode: Option<String>,
    /// `vxlan` or `geneve` when tunnelling.
    pub tunnel_protocol: Option<String>,
    /// `cni-chaining-mode` (`aws-cni`, `none`, …).
    pub chaining_mode: Option<String>,
    pub kube_proxy_replacement: Option<bool>,
    /// `k8s-service-host` / `KUBERNETES_SERVICE_HOST` on the agent / `k8sServiceHost`.
    pub k8s_service_host: Option<String>,
    pub prefix_delegation: bool,
    /// `eni.firstInterfaceIndex` / CiliumNode `spec.eni.first-interface-index`.
    pub first_interface_index: Option<u32>,
}

/// The tag of an image reference: `quay.io/cilium/cilium:v1.16.5@sha256:…` → `v1.16.5`.
pub fn image_tag(image: &str) -> Option<&str> {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last_segment = without_digest.rsplit('/').next().unwrap_or(without_digest);
    last_segment.split_once(':').map(|(_, tag)| tag)
}

/// The repository name of an image: `quay.io/cilium/operator-aws:v1.16.5` → `operator-aws`.
pub fn image_name(image: &str) -> &str {
    let without_digest = image.split('@').next().unwrap_or(image);
    let last_segment = without_digest.rsplit('/').next().unwrap_or(without_digest);
    last_segment.split(':').next().unwrap_or(last_segment)
}

/// Look up a dotted path (`eni.enabled`) in Helm values.
pub fn helm_get<'a>(values: &'a serde_json::Value, path: &str) -> Option<&'a serde_json::Value> {
    path.split('.')
        .try_fold(values, |v, key| v.as_object().and_then(|m| m.get(key)))
        .filter(|v| !v.is_null())
}

fn value_text(v: &serde_json::Value) -> Option<String> {
    match v {
        serde_json::Value::String(s) => Some(s.clone()),
        serde_json::Value::Bool(b) => Some(b.to_string()),
        serde_json::Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn is_truthy(text: &str) -> bool {
    matches!(text, "true" | "True" | "TRUE" | "strict")
}

fn agent_container_image(ds: &Workload) -> Option<&str> {
    let containers = &ds.spec.template.spec.containers;
    containers
        .iter()
        .find(|c| c.name == "cilium-agent")
        .or_else(|| containers.first())
        .map(|c| c.image.as_str())
}

impl CiliumSettings {
    pub(super) fn derive(cluster: &Cluster) -> CiliumSettings {
        let mut s = CiliumSettings::default();
        let daemonsets = cluster.daemonsets.as_deref().unwrap_or_default();
        let agent_ds = daemonsets
            .iter()
            .find(|d| d.metadata.namespace() == "kube-system" && d.metadata.name == "cilium")
            .or_else(|| {
                daemonsets.iter().find(|d| {
                    d.metadata.labels.get("k8s-app").map(String::as_str) == Some("cilium")
                })
            });
        s.agent_daemonset =
            agent_ds.map(|d| ObjectKey::new("DaemonSet", d.metadata.namespace(), &d.metadata.name));

        // Agent images: DaemonSet template first, then the pods it runs.
        let ds_image = agent_ds.and_then(agent_container_image);
        let mut pod_image_counts: BTreeMap<&str, usize> = BTreeMap::new();
        for pod in cluster.pods.as_deref().unwrap_or_default() {
            if pod.metadata.labels.get("k8s-app").map(String::as_str) == Some("cilium") {
                if let Some(c) = pod
                    .spec
                    .containers
                    .iter()
                    .find(|c| c.name == "cilium-agent")
                {
                    *pod_image_counts.entry(c.image.as_str()).or_default() += 1;
                }
            }
        }
        let mut images: Vec<String> = ds_image
            .into_iter()
            .chain(pod_image_counts.keys().copied())
            .map(str::to_string)
            .collect();
        images.sort();
        images.dedup();
        s.agent_images = images;
        let main_image = ds_image.or_else(|| {
            pod_image_counts
                .iter()
                .max_by_key(|(_, n)| **n)
                .map(|(i, _)| *i)
        });
        s.version = main_image.and_then(image_tag).and_then(|t| t.parse().ok());

        let operator = cluster.cilium_operator_deployment();
        s.operator_image = operator
            .and_then(|d| d.spec.template.spec.containers.first())
            .map(|c| c.image.clone());
        s.operator_version = s
            .operator_image
            .as_deref()
            .and_then(image_tag)
            .and_then(|t| t.parse().ok());

        s.config = cluster
            .config_map("kube-system", "cilium-config")
            .map(|c| c.data.clone());

        let helm = cluster.helm_values.as_ref();
        let helm_text = |path: &str| helm.and_then(|h| helm_get(h, path)).and_then(value_text);

        s.ipam_mode = s.get("ipam").map(str::to_string).or_else(|| {
            // Chart 1.19+ forces ipam=eni when eni.enabled; older charts need ipam.mode.
            helm_text("ipam.mode").or_else(|| {
                (helm_text("eni.enabled").as_deref() == Some("true")).then(|| "eni".to_string())
            })
        });

        let tunnel = s
            .get("tunnel")
            .map(str::to_string)
            .or_else(|| helm_text("tunnel"));
        s.routing_mode = s
            .get("routing-mode")
            .map(str::to_string)
            .or_else(|| helm_text("routingMode"))
            .or_else(|| {
                tunnel
                    .as_deref()
                    .map(|t| if t == "disabled" { "native" } else { "tunnel" }.to_string())
            });
        s.tunnel_protocol = s
            .get("tunnel-protocol")
            .map(str::to_string)
            .or_else(|| helm_text("tunnelProtocol"))
            .or_else(|| tunnel.filter(|t| t != "disabled"));

        s.chaining_mode = s
            .get("cni-chaining-mode")
            .map(str::to_string)
            .or_else(|| helm_text("cni.chainingMode"));

        s.kube_proxy_replacement = s
            .get("kube-proxy-replacement")
            .map(str::to_string)
            .or_else(|| helm_text("kubeProxyReplacement"))
            .map(|v| is_truthy(&v));

        let agent_env = agent_ds.and_then(|ds| {
            ds.spec
                .template
                .spec
                .containers
                .iter()
                .flat_map(|c| &c.env)
                .find(|e| e.name == "KUBERNETES_SERVICE_HOST")
                .and_then(|e| e.value.clone())
        });
        s.k8s_service_host = s
            .get("k8s-service-host")
            .map(str::to_string)
            .or(agent_env)
            .or_else(|| helm_text("k8sServiceHost"))
            .filter(|h| !h.is_empty());

        s.prefix_delegation = s
            .get("aws-enable-prefix-delegation")
            .map(str::to_string)
            .or_else(|| helm_text("eni.awsEnablePrefixDelegation"))
            .is_some_and(|v| is_truthy(&v));

        s.first_interface_index = s
            .get("eni-first-interface-index")
            .and_then(|v| v.parse().ok())
            .or_else(|| {
                cluster
                    .cilium_nodes
                    .as_deref()
                    .unwrap_or_default()
                    .iter()
                    .find_map(|n| n.spec.eni.first_interface_index)
            })
            .or_else(|| {
                helm.and_then(|h| helm_get(h, "eni.nodeSpec.firstInterfaceIndex"))
                    .and_then(serde_json::Value::as_u64)
                    .and_then(|n| u32::try_from(n).ok())
            });
        s.presence = presence(cluster, &s);
        s.role = s.configured(cluster).then(|| {
            if s.chains_aws_cni() {
                CiliumRole::ChainedAwsCni
            } else {
                CiliumRole::Primary
            }
        });
        s.ipam = ipam(cluster, &s);
        s
    }

    /// Whether the configuration is known: cilium-config or Helm values.
    fn configured(&self, cluster: &Cluster) -> bool {
        self.config.is_some() || cluster.helm_values.is_some()
    }

    /// Whether Cilium runs as the primary CNI (an agent is seen, no chaining).
    pub fn is_primary(&self) -> bool {
        self.presence == CiliumPresence::Running && self.role == Some(CiliumRole::Primary)
    }

    /// A `cilium-config` key, when the ConfigMap was provided and sets it.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.config.as_ref()?.get(key).map(String::as_str)
    }

    pub fn ipam_is_eni(&self) -> bool {
        self.ipam_mode.as_deref() == Some("eni")
    }

    pub fn chains_aws_cni(&self) -> bool {
        self.chaining_mode.as_deref() == Some("aws-cni")
    }
}

fn presence(cluster: &Cluster, s: &CiliumSettings) -> CiliumPresence {
    let agent_seen = s.agent_daemonset.is_some() || !s.agent_images.is_empty();
    let could_see_agent = cluster.daemonsets.is_some() || cluster.pods.is_some();
    let configured = s.configured(cluster);
    match (agent_seen, configured, could_see_agent) {
        (true, _, _) => CiliumPresence::Running,
        (false, true, true) => CiliumPresence::ConfigOnly,
        (false, true, false) => CiliumPresence::Configured,
        (false, false, true) => CiliumPresence::Absent,
        (false, false, false) => CiliumPresence::Unknown,
    }
}

fn ipam(cluster: &Cluster, s: &CiliumSettings) -> Option<Ipam> {
    if s.chains_aws_cni() {
        return Some(Ipam::ChainedVpcCni);
    }
    let mode = match s.ipam_mode.as_deref() {
        Some(mode) => mode,
        // A configuration that names no IPAM runs the default.
        None if s.configured(cluster) => DEFAULT_IPAM,
        None => return None,
    };
    Some(match mode {
        "eni" => Ipam::Eni,
        m if OVERLAY_MODES.contains(&m) => Ipam::Overlay(m.to_string()),
        m => Ipam::Other(m.to_string()),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_parts() {
        assert_eq!(
            image_tag("quay.io/cilium/cilium:v1.16.5@sha256:abc"),
            Some("v1.16.5")
        );
        assert_eq!(
            image_tag("registry:5000/cilium/cilium:v1.15.1"),
            Some("v1.15.1")
        );
        assert_eq!(image_tag("cilium/cilium"), None);
        assert_eq!(
            image_name("quay.io/cilium/operator-aws:v1.16.5"),
            "operator-aws"
        );
    }

    #[test]
    fn helm_paths() {
        let v = serde_json::json!({"eni": {"enabled": true}, "tunnel": null});
        assert_eq!(helm_get(&v, "eni.enabled"), Some(&serde_json::json!(true)));
        assert_eq!(helm_get(&v, "tunnel"), None);
        assert_eq!(helm_get(&v, "eni.enabled.deeper"), None);
    }
}
