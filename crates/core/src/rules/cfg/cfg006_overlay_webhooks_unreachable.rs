//! CFG006: admission webhooks served from the overlay pod network, which the
//! EKS control plane cannot reach.

use crate::rules::inputs;
use std::collections::{BTreeMap, HashMap};

use crate::findings::{ObjectRef, Severity};
use crate::model::{Pod, Service, StringMap, Workload};
use crate::rules::cni::shared;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct OverlayWebhooksUnreachable;

const MAX_OWNERS: usize = 10;

static META: RuleMeta = RuleMeta {
    code: "CFG006",
    name: "overlay-webhooks-unreachable",
    severity: Severity::High,
    area: Area::Cfg,
    summary: "Admission webhooks are served by pods on the overlay network, which the EKS control plane cannot reach",
    what_it_checks: "When Cilium is the primary CNI and its IPAM is not `eni` (cluster-pool, \
multi-pool, kubernetes; an unset `ipam` is the agent default cluster-pool), pod addresses come \
from a pod CIDR the VPC does not route, whatever the routing mode. In aws-cni chaining and in \
ENI mode pods have VPC addresses, so the rule does not apply. For every \
Validating/MutatingWebhookConfiguration whose `clientConfig.service` names a Service, the \
Service's selector is matched against the pods of its namespace (or, without pods, the pod \
templates of the Deployments, StatefulSets and DaemonSets); the webhook fires the rule when any \
backing pod is not hostNetwork. One finding per webhook configuration.",
    why_it_matters: "The Kubernetes API server calls a webhook at the address of one of the \
Service's endpoints, i.e. a pod IP. The EKS control plane runs outside the cluster's nodes, in \
the VPC, and cannot route packets to an overlay pod CIDR (Cilium's EKS install guide states \
it). The calls time out: with `failurePolicy: Fail` every matching create/update is rejected \
(deployments, cert issuance, policy admission stop working); with `Ignore` the webhook is \
silently skipped, so whatever it enforces or injects is not applied.",
    how_to_fix: "Run the webhook servers on the host network (`hostNetwork: true`, \
`dnsPolicy: ClusterFirstWithHostNet`, on a port no other host process uses; 10250 is the \
kubelet's), preferably through the chart's own option so upgrades keep it. Or move Cilium to \
ENI mode, where pods have VPC addresses.",
    known_limits: "Webhooks called through a `url` are not checked. Pod CIDRs that the VPC \
route tables do route (unusual on EKS) would make the webhooks reachable; route tables are not \
consulted.",
    docs_url: "https://docs.cilium.io/en/stable/installation/k8s-install-helm/",
};

/// One webhook whose Service has pod-network backends.
struct Unreachable {
    webhook: String,
    service: String,
    failure_policy: String,
    backends: usize,
    pod_network: usize,
    sample: Vec<String>,
}

fn selector_matches(service: &Service, labels: &StringMap) -> bool {
    !service.spec.selector.is_empty()
        && shared::node_selector_matches(&service.spec.selector, labels)
}

impl Rule for OverlayWebhooksUnreachable {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        if !shared::cilium_config_known(c)? {
            return Ok(vec![]);
        }
        if c.cilium.chains_aws_cni() {
            return Ok(vec![]);
        }
        // DaemonSets without a Cilium agent: Cilium does not run (a leftover config).
        if c.daemonsets.is_some() && c.cilium.agent_daemonset.is_none() {
            return Ok(vec![]);
        }
        // Primary CNI with non-ENI IPAM: pod addresses are not VPC addresses.
        let (ipam, ipam_source) = match (&c.cilium.ipam_mode, c.cilium.get("ipam")) {
            (Some(mode), Some(_)) => (mode.clone(), "cilium-config ipam".to_string()),
            (Some(mode), None) => (mode.clone(), "Helm values".to_string()),
            (None, _) => (
                "cluster-pool".to_string(),
                "ipam unset: agent/chart default cluster-pool".to_string(),
            ),
        };
        if ipam == "eni" {
            return Ok(vec![]);
        }
        let Some(configs) = c.webhook_configurations.as_deref() else {
            return META.missing(
                "no Validating/MutatingWebhookConfigurations",
                inputs::WEBHOOKS,
            );
        };
        let Some(services) = c.services.as_deref() else {
            return META.missing("no Service objects", inputs::SERVICES);
        };
        if c.pods.is_none() && c.deployments.is_none() && c.daemonsets.is_none() {
            return META.missing("no Pod objects (the webhooks' backends)", inputs::PODS);
        }
        let svc_index: HashMap<(&str, &str), &Service> = services
            .iter()
            .map(|s| ((s.metadata.namespace(), s.metadata.name.as_str()), s))
            .collect();
        let pods_by_ns = cx.facts.live_pods_by_namespace();
        let mut workloads_by_ns: HashMap<&str, Vec<&Workload>> = HashMap::new();
        for w in c
            .deployments
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter(|w| w.kind != "ReplicaSet")
            .chain(c.daemonsets.as_deref().unwrap_or_default())
        {
            workloads_by_ns
                .entry(w.metadata.namespace())
                .or_default()
                .push(w);
        }

        let owners_index = cx.facts.owners();
        let pod_cidr = c
            .cilium
            .get("cluster-pool-ipv4-cidr")
            .map(|cidr| format!(", pod CIDR {cidr}"))
            .unwrap_or_default();
        let mut findings = Vec::new();
        for config in configs {
            let mut unreachable = Vec::new();
            // owner (kind, ns, name) -> served webhooks
            let mut owners: BTreeMap<(String, String, String), usize> = BTreeMap::new();
            for hook in &config.webhooks {
                let Some(svc_ref) = &hook.client_config.service else {
                    continue;
                };
                let Some(svc) = svc_index.get(&(svc_ref.namespace.as_str(), svc_ref.name.as_str()))
                else {
                    continue;
                };
                let ns = svc_ref.namespace.as_str();
                let (backends, pod_network, sample) = if c.pods.is_some() {
                    let matching: Vec<&Pod> = pods_by_ns
                        .get(ns)
                        .into_iter()
                        .flatten()
                        .copied()
                        .filter(|p| selector_matches(svc, &p.metadata.labels))
                        .collect();
                    let on_pod_net: Vec<&Pod> = matching
                        .iter()
                        .copied()
                        .filter(|p| !p.spec.host_network)
                        .collect();
                    for p in &on_pod_net {
                        let (kind, name) = owners_index.owner_of(p);
                        *owners.entry((kind, ns.to_string(), name)).or_default() += 1;
                    }
                    let sample = on_pod_net
                        .iter()
                        .map(|p| {
                            format!(
                                "{} (IP {})",
                                p.metadata.name,
                                p.status.pod_ip.as_deref().unwrap_or("?")
                            )
                        })
                        .collect();
                    (matching.len(), on_pod_net.len(), sample)
                } else {
                    let matching: Vec<&Workload> = workloads_by_ns
                        .get(ns)
                        .into_iter()
                        .flatten()
                        .copied()
                        .filter(|w| selector_matches(svc, &w.spec.template.metadata.labels))
                        .collect();
                    let on_pod_net: Vec<&Workload> = matching
                        .iter()
                        .copied()
                        .filter(|w| !w.spec.template.spec.host_network)
                        .collect();
                    for w in &on_pod_net {
                        *owners
                            .entry((w.kind.clone(), ns.to_string(), w.metadata.name.clone()))
                            .or_default() += 1;
                    }
                    let sample = on_pod_net
                        .iter()
                        .map(|w| format!("{} {} (template)", w.kind, w.metadata.name))
                        .collect();
                    (matching.len(), on_pod_net.len(), sample)
                };
                if backends == 0 || pod_network == 0 {
                    continue;
                }
                unreachable.push(Unreachable {
                    webhook: hook.name.clone(),
                    service: format!(
                        "{ns}/{}{}",
                        svc_ref.name,
                        svc_ref.port.map(|p| format!(":{p}")).unwrap_or_default()
                    ),
                    failure_policy: hook.failure_policy.clone().unwrap_or_else(|| "Fail".into()),
                    backends,
                    pod_network,
                    sample,
                });
            }
            if unreachable.is_empty() {
                continue;
            }
            let failing = unreachable
                .iter()
                .filter(|u| u.failure_policy == "Fail")
                .count();
            let mut finding = META
                .finding(
                    ObjectRef::global(&config.kind, &config.metadata.name),
                    format!(
                        "{} {}: {} webhook{} served by pods on the overlay network, which the EKS control plane cannot reach{}",
                        config.kind,
                        config.metadata.name,
                        unreachable.len(),
                        if unreachable.len() == 1 { " is" } else { "s are" },
                        if failing > 0 {
                            format!(" ({failing} with failurePolicy Fail: matching API requests are rejected)")
                        } else {
                            " (failurePolicy Ignore: silently skipped)".to_string()
                        }
                    ),
                )
                .with_evidence(format!(
                    "Cilium IPAM {ipam} ({ipam_source}), routing {}{pod_cidr}: pod addresses are not VPC addresses",
                    c.cilium.routing_mode.as_deref().unwrap_or("tunnel (default)")
                ));
            for u in &unreachable {
                finding = finding.with_evidence(format!(
                    "webhook {} → Service {}, failurePolicy {}: {} of {} backends not hostNetwork: {}",
                    u.webhook,
                    u.service,
                    u.failure_policy,
                    u.pod_network,
                    u.backends,
                    shared::sample_list(&u.sample, 3)
                ));
            }
            let mut fix = String::from(
                "# Serve the webhooks from the host network (prefer the chart's own hostNetwork option so upgrades keep it).\n\
# Pick a container port no host process uses: 10250 is the kubelet's.\n",
            );
            for (kind, ns, name) in owners.keys().take(MAX_OWNERS) {
                match kind.as_str() {
                    "Deployment" | "StatefulSet" | "DaemonSet" => fix.push_str(&format!(
                        "kubectl -n {ns} patch {} {name} --type=strategic -p '{{\"spec\":{{\"template\":{{\"spec\":{{\"hostNetwork\":true,\"dnsPolicy\":\"ClusterFirstWithHostNet\"}}}}}}}}'\n",
                        kind.to_ascii_lowercase()
                    )),
                    _ => fix.push_str(&format!(
                        "# {kind} {ns}/{name}: set hostNetwork: true in the pod template of its controller\n"
                    )),
                }
            }
            if owners.len() > MAX_OWNERS {
                fix.push_str(&format!("# ... and {} more\n", owners.len() - MAX_OWNERS));
            }
            fix.push_str("# Or run Cilium in ENI mode, where pods get VPC addresses the control plane can reach.");
            findings.push(finding.with_remediation(fix));
        }
        Ok(findings)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{check, load_cluster};
    use serde_json::json;

    fn docs(ipam: &str, host_network: bool, policy: &str) -> Vec<serde_json::Value> {
        vec![
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
                "metadata": {"name": "cilium", "namespace": "kube-system", "labels": {"k8s-app": "cilium"}},
                "spec": {"template": {"spec": {"containers": [
                    {"name": "cilium-agent", "image": "quay.io/cilium/cilium:v1.16.19"}]}}}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "cilium-config", "namespace": "kube-system"},
                "data": {"ipam": ipam, "routing-mode": "tunnel", "cluster-pool-ipv4-cidr": "10.96.0.0/16"}}),
            json!({"apiVersion": "admissionregistration.k8s.io/v1", "kind": "ValidatingWebhookConfiguration",
                "metadata": {"name": "cert-manager-webhook"},
                "webhooks": [{"name": "webhook.cert-manager.io", "failurePolicy": policy,
                    "clientConfig": {"service": {"namespace": "cert-manager", "name": "cert-manager-webhook", "port": 443}}}]}),
            json!({"apiVersion": "v1", "kind": "Service",
                "metadata": {"name": "cert-manager-webhook", "namespace": "cert-manager"},
                "spec": {"type": "ClusterIP", "selector": {"app.kubernetes.io/name": "webhook"},
                    "ports": [{"name": "https", "port": 443}]}}),
            json!({"apiVersion": "v1", "kind": "Pod",
                "metadata": {"name": "cert-manager-webhook-5d8f7c9b4-x2k9p", "namespace": "cert-manager",
                    "labels": {"app.kubernetes.io/name": "webhook", "pod-template-hash": "5d8f7c9b4"},
                    "ownerReferences": [{"kind": "ReplicaSet", "name": "cert-manager-webhook-5d8f7c9b4"}]},
                "spec": {"hostNetwork": host_network, "nodeName": "ip-10-0-1-23.eu-west-1.compute.internal"},
                "status": {"phase": "Running", "podIP": "10.96.1.17"}}),
        ]
    }

    #[test]
    fn fires_on_overlay_pod_backends() {
        let f = check(
            &OverlayWebhooksUnreachable,
            &load_cluster(&docs("cluster-pool", false, "Fail")),
        )
        .unwrap();
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("failurePolicy Fail"));
        assert!(f[0]
            .remediation
            .contains("kubectl -n cert-manager patch deployment cert-manager-webhook"));
    }

    #[test]
    fn quiet_on_host_network_or_eni() {
        assert!(check(
            &OverlayWebhooksUnreachable,
            &load_cluster(&docs("cluster-pool", true, "Fail"))
        )
        .unwrap()
        .is_empty());
        assert!(check(
            &OverlayWebhooksUnreachable,
            &load_cluster(&docs("eni", false, "Fail"))
        )
        .unwrap()
        .is_empty());
    }

    #[test]
    fn missing_webhooks() {
        let c = load_cluster(&docs("cluster-pool", false, "Fail")[..2]);
        assert!(check(&OverlayWebhooksUnreachable, &c).is_err());
    }
}
