//! CFG005: ENI IPAM with an operator image that has no AWS allocator.

use crate::findings::{ObjectRef, Severity};
use crate::model::cilium::image_name;
use crate::rules::cni::shared;
use crate::rules::inputs;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct EniNeedsAwsOperator;

static META: RuleMeta = RuleMeta {
    code: "CFG005",
    name: "eni-needs-aws-operator",
    severity: Severity::Critical,
    area: Area::Cfg,
    summary: "IPAM is eni but the operator image is not the AWS operator (operator-aws)",
    what_it_checks: "With `ipam: eni`, the cilium-operator Deployment must run the AWS build of \
the operator: image `operator-aws` (the chart's `<repository>-aws<suffix>`), or the all-cloud \
`operator` image. The rule fires for any other image, e.g. `operator-generic`, which the chart \
picks when `eni.enabled` is not set.",
    why_it_matters: "IPAM in ENI mode is done by the operator: it creates and attaches ENIs and \
assigns their addresses to CiliumNodes. The generic operator is built without the AWS \
allocator and stops with \"eni allocator is not supported by this version of \
cilium-operator-generic\": no node gets pod addresses, and new pods hang in ContainerCreating.",
    how_to_fix: "Set `eni.enabled=true` in the Helm values (the chart then selects the \
operator-aws image); if the image is overridden (`operator.image.override`), point it at the \
operator-aws image of the same version.",
    known_limits: "The image is judged by its repository name: mirrored images must keep the \
upstream name (`…/operator-aws`, `…/cilium-operator-aws`).",
    docs_url: "https://docs.cilium.io/en/stable/network/concepts/ipam/eni/",
};

/// The operator images that carry the AWS ENI allocator: `operator-aws`
/// and the all-providers `operator` (cilium/cilium operator/Makefile build
/// tags), with the chart's optional image suffix.
fn has_aws_allocator(name: &str) -> bool {
    let name = name.strip_prefix("cilium-").unwrap_or(name);
    name == "operator" || name == "operator-aws" || name.starts_with("operator-aws-")
}

impl Rule for EniNeedsAwsOperator {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let outcome = self.evaluate_rule(cx);
        crate::rules::log::common::with_signature_evidence(
            cx,
            &META,
            outcome,
            &[crate::logs::Stream::Log],
        )
    }
}

impl EniNeedsAwsOperator {
    fn evaluate_rule(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        if !shared::cilium_config_known(c)? {
            return Ok(vec![]);
        }
        if !c.cilium.ipam_is_eni() {
            return Ok(vec![]);
        }
        let Some(image) = c.cilium.operator_image.as_deref() else {
            return match c.deployments {
                None => META.missing(
                    "no Deployments (the cilium-operator image)",
                    inputs::OPERATOR_DEPLOYMENT,
                ),
                // No operator at all is another problem; nothing to judge here.
                Some(_) => Ok(vec![]),
            };
        };
        let name = image_name(image);
        if has_aws_allocator(name) {
            return Ok(vec![]);
        }
        let operator = c
            .deployments
            .as_deref()
            .unwrap_or_default()
            .iter()
            .find(|d| {
                d.kind != "ReplicaSet"
                    && d.spec
                        .template
                        .spec
                        .containers
                        .first()
                        .map(|c| c.image.as_str())
                        == Some(image)
            });
        let (ns, dname) = operator
            .map(|d| (d.metadata.namespace().to_string(), d.metadata.name.clone()))
            .unwrap_or_else(|| {
                (
                    shared::cilium_namespace(c).to_string(),
                    "cilium-operator".into(),
                )
            });
        let mut finding = META
            .finding(
                ObjectRef::new("Deployment", Some(&ns), &dname),
                format!(
                    "IPAM is eni but the operator runs {name}, which has no AWS ENI allocator: no node gets pod addresses"
                ),
            )
            .with_evidence(format!("operator image: {image}"))
            .with_evidence(format!(
                "ipam: eni ({})",
                if c.cilium.get("ipam").is_some() {
                    "cilium-config"
                } else {
                    "Helm values"
                }
            ))
            .with_evidence(
                "expected operator log: \"eni allocator is not supported by this version of cilium-operator-generic\"",
            );
        if let Some(v) = c.cilium.operator_version {
            finding = finding.with_evidence(format!("operator version: {v}"));
        }
        let fix = format!(
            "# The chart selects the operator-aws image when eni.enabled is set:\n{}\n\
kubectl -n {ns} rollout status deployment/{dname}\n\
# If operator.image.override is set, point it at quay.io/cilium/operator-aws:{tag} instead.",
            shared::helm_upgrade(c, &["--set eni.enabled=true", "--set ipam.mode=eni"]),
            tag = crate::model::cilium::image_tag(image).unwrap_or("<same tag as today>"),
        );
        Ok(vec![finding.with_remediation(fix)])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{check, load_cluster};
    use serde_json::json;

    fn docs(ipam: &str, image: &str) -> Vec<serde_json::Value> {
        vec![
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "cilium-config", "namespace": "kube-system"}, "data": {"ipam": ipam}}),
            json!({"apiVersion": "apps/v1", "kind": "Deployment",
                "metadata": {"name": "cilium-operator", "namespace": "kube-system", "labels": {"io.cilium/app": "operator"}},
                "spec": {"template": {"spec": {"containers": [{"name": "cilium-operator", "image": image}]}}}}),
        ]
    }

    #[test]
    fn images() {
        let fires = |ipam: &str, image: &str| {
            !check(&EniNeedsAwsOperator, &load_cluster(&docs(ipam, image)))
                .unwrap()
                .is_empty()
        };
        assert!(fires("eni", "quay.io/cilium/operator-generic:v1.16.19@sha256:8879e792c5566f6349b5f2865e07c0dd690eb32638afc4417b51b0ec574fa5f0"));
        assert!(fires("eni", "quay.io/cilium/operator-azure:v1.16.19"));
        assert!(!fires("eni", "quay.io/cilium/operator-aws:v1.16.19@sha256:98f10effb7f222d9a1d99303734e851fce7a10ba61ff9b5b2f8d40fcc9162621"));
        assert!(!fires(
            "eni",
            "123456789012.dkr.ecr.eu-west-1.amazonaws.com/mirror/cilium-operator-aws:v1.16.19"
        ));
        assert!(!fires("eni", "quay.io/cilium/operator:v1.16.19"));
        assert!(!fires(
            "cluster-pool",
            "quay.io/cilium/operator-generic:v1.16.19"
        ));
    }

    #[test]
    fn missing_operator() {
        let c = load_cluster(&docs("eni", "x")[..1]);
        assert!(check(&EniNeedsAwsOperator, &c).is_err());
    }
}
