//! CFG003: kube-proxy replacement without an explicit API server address.

use crate::findings::{ObjectRef, Severity};
use crate::rules::cni::shared;
use crate::rules::inputs;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct KprWithoutApiServerHost;

static META: RuleMeta = RuleMeta {
    code: "CFG003",
    name: "kpr-without-api-server-host",
    severity: Severity::Critical,
    area: Area::Cfg,
    summary: "kube-proxy replacement is on but k8s-service-host / k8sServiceHost is unset, or an IP address on EKS",
    what_it_checks: "When `kube-proxy-replacement` is `true` (or `strict` on older versions), \
the agent must be told the API server's address: cilium-config `k8s-service-host`, the agent's \
`KUBERNETES_SERVICE_HOST` environment variable (Helm `k8sServiceHost`). The rule fires when \
none of them is set (critical), and on EKS when the address is an IP literal rather than the \
endpoint's host name (high).",
    why_it_matters: "Without an explicit address the agent reaches the API server through the \
`kubernetes` Service's ClusterIP, which kube-proxy translates. With kube-proxy replaced (or \
removed, see CFG004) nothing translates the ClusterIP until the agent itself is running, and \
the agent cannot start without the API server: a node that reboots or a new node never gets a \
working Cilium, and pods there get no network. The IP addresses behind an EKS endpoint change \
(control-plane scaling, upgrades): an address copied from a lookup works for the nodes of today \
and leaves the agents of nodes added later pointing at a dead address (cilium/cilium#22039).",
    how_to_fix: "Set `k8sServiceHost` to the EKS API server endpoint's host name (without \
`https://`) and `k8sServicePort=443`, as Cilium's kube-proxy-free guide does for EKS.",
    known_limits: "`KUBERNETES_SERVICE_HOST` set through `valueFrom` or `envFrom` (a ConfigMap) \
is not followed; the DaemonSet must be in the snapshot for its environment to be read.",
    docs_url: "https://docs.cilium.io/en/stable/network/kubernetes/kubeproxy-free/",
};

impl Rule for KprWithoutApiServerHost {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        if !shared::cilium_config_known(c)? {
            return Ok(vec![]);
        }
        if c.cilium.kube_proxy_replacement != Some(true) {
            return Ok(vec![]);
        }
        if let Some(host) = &c.cilium.k8s_service_host {
            return Ok(ip_literal_host(cx, host).into_iter().collect());
        }
        // The agent's environment lives in the DaemonSet.
        let Some(agent) = &c.cilium.agent_daemonset else {
            return META.missing(
                "no Cilium agent DaemonSet (its KUBERNETES_SERVICE_HOST may set the API server address)",
                inputs::DAEMONSETS,
            );
        };
        let kpr_source = c
            .cilium
            .get("kube-proxy-replacement")
            .map(|v| format!("cilium-config kube-proxy-replacement: {v}"))
            .unwrap_or_else(|| "Helm values kubeProxyReplacement: true".to_string());
        let object = ObjectRef::new("DaemonSet", Some(&agent.namespace), &agent.name);
        let endpoint = c.eks.as_ref().and_then(|e| e.endpoint.as_deref()).map(|e| {
            e.trim_start_matches("https://")
                .trim_end_matches('/')
                .to_string()
        });
        let mut finding = META
            .finding(
                object,
                "kube-proxy replacement is on but the agent has no API server address (k8s-service-host): it depends on the kubernetes ClusterIP that nothing translates before it starts",
            )
            .with_evidence(kpr_source)
            .with_evidence("cilium-config k8s-service-host: absent")
            .with_evidence("agent container env KUBERNETES_SERVICE_HOST: absent");
        if c.helm_values.is_some() {
            finding = finding.with_evidence("Helm values k8sServiceHost: unset");
        }
        let host = match &endpoint {
            Some(h) => {
                finding = finding.with_evidence(format!("EKS API server endpoint: https://{h}"));
                h.clone()
            }
            None => "'<endpoint host>'".to_string(),
        };
        let mut fix = String::new();
        if endpoint.is_none() {
            fix.push_str(&format!(
                "# The endpoint host: aws eks describe-cluster --name {} --query cluster.endpoint --output text (drop the https://)\n",
                cx.cluster_name()
            ));
        }
        fix.push_str(&shared::helm_upgrade(
            c,
            &[
                &format!("--set k8sServiceHost={host}"),
                "--set k8sServicePort=443",
            ],
        ));
        fix.push_str(&format!(
            "\nkubectl -n {} rollout status daemonset/cilium",
            shared::cilium_namespace(c)
        ));
        Ok(vec![finding.with_remediation(fix)])
    }
}

/// On EKS, an API server address given as an IP literal: EKS endpoint
/// addresses change, so agents started later point at a dead address.
fn ip_literal_host(cx: &Context, host: &str) -> Option<crate::findings::Finding> {
    let c = cx.cluster;
    let bare = host.trim().trim_start_matches("https://");
    let addr = bare
        .strip_prefix('[')
        .and_then(|b| b.split(']').next())
        .unwrap_or(bare);
    addr.parse::<std::net::IpAddr>().ok()?;
    let endpoint = c.eks.as_ref().and_then(|e| e.endpoint.as_deref());
    let on_eks = c.eks.is_some()
        || c.nodegroups.is_some()
        || c.nodes.as_deref().unwrap_or_default().iter().any(|n| {
            n.metadata
                .labels
                .keys()
                .any(|k| k.starts_with("eks.amazonaws.com/"))
        });
    if !on_eks {
        return None;
    }
    let source = if c.cilium.get("k8s-service-host").is_some() {
        "cilium-config k8s-service-host"
    } else if c.helm_values.is_some() {
        "k8sServiceHost / the agent's KUBERNETES_SERVICE_HOST"
    } else {
        "the agent's KUBERNETES_SERVICE_HOST"
    };
    let object = match &c.cilium.agent_daemonset {
        Some(a) => ObjectRef::new("DaemonSet", Some(&a.namespace), &a.name),
        None => ObjectRef::new("ConfigMap", Some("kube-system"), "cilium-config"),
    };
    let mut f = META
        .finding(
            object,
            format!("kube-proxy replacement reaches the API server at the IP address {addr}: EKS endpoint addresses change, and agents on nodes added later will point at a dead address"),
        )
        .with_evidence(format!("{source}: {host}"));
    f.severity = Severity::High;
    let h = match endpoint {
        Some(e) => {
            let h = e
                .trim_start_matches("https://")
                .trim_end_matches('/')
                .to_string();
            f = f.with_evidence(format!("EKS API server endpoint: {e}"));
            h
        }
        None => "'<endpoint host>'".to_string(),
    };
    let mut fix = String::new();
    if endpoint.is_none() {
        fix.push_str(&format!(
            "# The endpoint host: aws eks describe-cluster --name {} --query cluster.endpoint --output text (drop the https://)\n",
            cx.cluster_name()
        ));
    }
    fix.push_str(&shared::helm_upgrade(
        c,
        &[
            &format!("--set k8sServiceHost={h}"),
            "--set k8sServicePort=443",
        ],
    ));
    Some(f.with_remediation(fix))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{check, load_cluster};
    use serde_json::json;

    fn docs(data: serde_json::Value, env: Option<&str>) -> Vec<serde_json::Value> {
        let mut container =
            json!({"name": "cilium-agent", "image": "quay.io/cilium/cilium:v1.16.19"});
        if let Some(host) = env {
            container["env"] = json!([{"name": "KUBERNETES_SERVICE_HOST", "value": host},
                {"name": "KUBERNETES_SERVICE_PORT", "value": "443"}]);
        }
        vec![
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
                "metadata": {"name": "cilium", "namespace": "kube-system", "labels": {"k8s-app": "cilium"}},
                "spec": {"template": {"spec": {"containers": [container]}}}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "cilium-config", "namespace": "kube-system"}, "data": data}),
            json!({"cluster": {"name": "prod", "endpoint": "https://0A1B2C3D4E5F.gr7.eu-west-1.eks.amazonaws.com"}}),
        ]
    }

    #[test]
    fn fires_without_host() {
        let f = check(
            &KprWithoutApiServerHost,
            &load_cluster(&docs(json!({"kube-proxy-replacement": "true"}), None)),
        )
        .unwrap();
        assert_eq!(f.len(), 1);
        assert!(f[0]
            .remediation
            .contains("k8sServiceHost=0A1B2C3D4E5F.gr7.eu-west-1.eks.amazonaws.com"));
    }

    #[test]
    fn quiet_with_env_or_config_or_without_kpr() {
        let env = docs(
            json!({"kube-proxy-replacement": "true"}),
            Some("0A1B2C3D4E5F.gr7.eu-west-1.eks.amazonaws.com"),
        );
        assert!(check(&KprWithoutApiServerHost, &load_cluster(&env))
            .unwrap()
            .is_empty());
        let cfg = docs(
            json!({"kube-proxy-replacement": "true", "k8s-service-host": "0A1B2C3D4E5F.gr7.eu-west-1.eks.amazonaws.com"}),
            None,
        );
        assert!(check(&KprWithoutApiServerHost, &load_cluster(&cfg))
            .unwrap()
            .is_empty());
        let off = docs(json!({"kube-proxy-replacement": "false"}), None);
        assert!(check(&KprWithoutApiServerHost, &load_cluster(&off))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn an_ip_address_on_eks_fires_high() {
        // UP35 (cilium#22039): k8sServiceHost was an address of the EKS endpoint.
        let ip = docs(
            json!({"kube-proxy-replacement": "true", "k8s-service-host": "10.0.52.17"}),
            None,
        );
        let f = check(&KprWithoutApiServerHost, &load_cluster(&ip)).unwrap();
        assert_eq!(f.len(), 1);
        assert_eq!(f[0].severity, Severity::High);
        assert!(f[0].message.contains("10.0.52.17"));
        assert!(f[0]
            .remediation
            .contains("k8sServiceHost=0A1B2C3D4E5F.gr7.eu-west-1.eks.amazonaws.com"));
        // Not EKS (no describe-cluster, node groups or EKS node labels): quiet.
        let f = check(&KprWithoutApiServerHost, &load_cluster(&ip[..2])).unwrap();
        assert!(f.is_empty());
    }

    #[test]
    fn config_without_daemonset_is_not_evaluated() {
        let c = load_cluster(&docs(json!({"kube-proxy-replacement": "true"}), None)[1..]);
        assert!(check(&KprWithoutApiServerHost, &c).is_err());
    }
}
