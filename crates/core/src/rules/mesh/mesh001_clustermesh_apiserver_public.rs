//! MESH001: the clustermesh-apiserver Service is an internet-facing load
//! balancer.

use crate::findings::{ObjectRef, Severity};
use crate::model::Service;
use crate::rules::cni::shared;
use crate::rules::inputs;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct ClustermeshApiserverPublic;

/// Annotations that make an AWS load balancer internal: the in-tree / AWS
/// Load Balancer Controller `aws-load-balancer-internal` (the Cilium chart's
/// values.yaml comment on `clustermesh.apiserver.service.annotations`
/// names it for EKS) and the Load Balancer Controller's scheme annotation.
const INTERNAL: &str = "service.beta.kubernetes.io/aws-load-balancer-internal";
const SCHEME: &str = "service.beta.kubernetes.io/aws-load-balancer-scheme";

static META: RuleMeta = RuleMeta {
    code: "MESH001",
    name: "clustermesh-apiserver-public",
    severity: Severity::Critical,
    area: Area::Mesh,
    summary: "The clustermesh-apiserver Service is a LoadBalancer without an internal scheme",
    what_it_checks: "The Service `clustermesh-apiserver` (any namespace; also any Service \
selecting `k8s-app: clustermesh-apiserver`) of type LoadBalancer must be internal: it needs \
`service.beta.kubernetes.io/aws-load-balancer-internal` (not \"false\") or \
`service.beta.kubernetes.io/aws-load-balancer-scheme: internal`. An explicit scheme \
`internet-facing` fires too.",
    why_it_matters: "The clustermesh-apiserver serves the cluster's etcd with every identity, \
endpoint, service and node of the cluster to the other clusters of the mesh. Without the \
annotation the AWS load balancer gets a public DNS name and address, so the etcd port (2379) \
is reachable from the internet and protected only by its TLS client certificates; any flaw or \
leaked certificate exposes the whole mesh.",
    how_to_fix: "Set the internal annotation through the Cilium chart \
(`clustermesh.apiserver.service.annotations`). A load balancer's scheme cannot change in place: \
the Service has to be re-created, which gives it a new address, so update the other clusters' \
mesh configuration afterwards (`cilium clustermesh connect` again, or their \
`clustermesh.config.clusters` values).",
    known_limits: "Only the annotations are read: `loadBalancerSourceRanges` and security-group \
restrictions are not, and the AWS Load Balancer Controller's own default scheme is not assumed; \
make the scheme explicit.",
    docs_url: "https://docs.cilium.io/en/stable/network/clustermesh/clustermesh/",
};

fn is_clustermesh_apiserver(s: &Service) -> bool {
    s.metadata.name == "clustermesh-apiserver"
        || s.spec.selector.get("k8s-app").map(String::as_str) == Some("clustermesh-apiserver")
}

/// `Some(reason)` when the Service is an internet-facing load balancer.
fn public_reason(s: &Service) -> Option<String> {
    if s.spec.type_.as_deref() != Some("LoadBalancer") {
        return None;
    }
    let a = &s.metadata.annotations;
    if let Some(scheme) = a.get(SCHEME) {
        return (scheme != "internal").then(|| format!("{SCHEME}: {scheme}"));
    }
    match a.get(INTERNAL) {
        Some(v) if !v.eq_ignore_ascii_case("false") && !v.is_empty() => None,
        Some(v) => Some(format!("{INTERNAL}: \"{v}\"")),
        None => Some(format!("neither {INTERNAL} nor {SCHEME}: internal is set")),
    }
}

impl Rule for ClustermeshApiserverPublic {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        let Some(services) = c.services.as_deref() else {
            return META.missing("no Service objects", inputs::SERVICES);
        };
        let mut findings = Vec::new();
        for s in services.iter().filter(|s| is_clustermesh_apiserver(s)) {
            let Some(reason) = public_reason(s) else {
                continue;
            };
            let ns = s.metadata.namespace();
            let ports: Vec<String> = s.spec.ports.iter().map(|p| p.port.to_string()).collect();
            let mut finding = META
                .finding(
                    ObjectRef::new("Service", Some(ns), &s.metadata.name),
                    format!(
                        "Service {ns}/{} is an internet-facing LoadBalancer: the cluster-mesh etcd is reachable from the internet",
                        s.metadata.name
                    ),
                )
                .with_evidence("spec.type: LoadBalancer")
                .with_evidence(reason)
                .with_evidence(format!(
                    "ports: {}",
                    if ports.is_empty() {
                        "(none)".to_string()
                    } else {
                        ports.join(", ")
                    }
                ));
            if let Some(class) = &s.spec.load_balancer_class {
                finding = finding.with_evidence(format!("spec.loadBalancerClass: {class}"));
            }
            let fix = format!(
                "# Make the load balancer internal through the Cilium chart:\n{}\n\
# The scheme of an existing load balancer does not change: re-create the Service (new address), e.g.\n\
kubectl -n {ns} delete service {name}\n\
{}\n\
# Then point the other clusters at the new internal address (cilium clustermesh connect, or their clustermesh.config.clusters values).",
                shared::helm_upgrade(
                    c,
                    &["--set-string 'clustermesh.apiserver.service.annotations.service\\.beta\\.kubernetes\\.io/aws-load-balancer-internal=true'"]
                ),
                shared::helm_upgrade(c, &[]),
                name = s.metadata.name,
            );
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

    fn svc(annotations: serde_json::Value, type_: &str) -> serde_json::Value {
        json!({"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": "clustermesh-apiserver", "namespace": "kube-system", "annotations": annotations},
            "spec": {"type": type_, "selector": {"k8s-app": "clustermesh-apiserver"},
                "ports": [{"port": 2379, "protocol": "TCP"}]}})
    }

    #[test]
    fn annotations() {
        let fires = |a: serde_json::Value, t: &str| {
            !check(&ClustermeshApiserverPublic, &load_cluster(&[svc(a, t)]))
                .unwrap()
                .is_empty()
        };
        assert!(fires(json!({}), "LoadBalancer"));
        assert!(fires(json!({INTERNAL: "false"}), "LoadBalancer"));
        assert!(fires(
            json!({SCHEME: "internet-facing", INTERNAL: "true"}),
            "LoadBalancer"
        ));
        assert!(!fires(json!({INTERNAL: "true"}), "LoadBalancer"));
        assert!(!fires(json!({INTERNAL: "0.0.0.0/0"}), "LoadBalancer"));
        assert!(!fires(json!({SCHEME: "internal"}), "LoadBalancer"));
        assert!(!fires(json!({}), "NodePort"));
    }

    #[test]
    fn missing_services() {
        let c = load_cluster(&[
            json!({"apiVersion": "v1", "kind": "Node", "metadata": {"name": "n1"}}),
        ]);
        assert!(check(&ClustermeshApiserverPublic, &c).is_err());
    }
}
