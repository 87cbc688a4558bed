//! VER009 mixed-cilium-versions: agent pods run different Cilium versions,
//! or the operator's version differs from the agents'.

use std::collections::BTreeMap;

use super::{agent_object, cilium_namespace, helm_values_backup, running_cilium, sample_names};
use crate::findings::{Finding, ObjectRef, Severity};
use crate::model::cilium::image_tag;
use crate::rules::Missing;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};
use crate::version::Version;

pub struct Ver009;

static META: RuleMeta = RuleMeta {
    code: "VER009",
    name: "mixed-cilium-versions",
    severity: Severity::Medium,
    area: Area::Ver,
    summary: "Agent pods run different Cilium versions, or operator and agent versions differ.",
    what_it_checks: "Collects the `cilium-agent` image of the agent DaemonSet template and of \
        every agent pod (`k8s-app=cilium`), and the cilium-operator Deployment's image. Images \
        are compared by their version tag (so a registry mirror or a digest does not count as a \
        difference). Fires when agents run more than one version, and when the operator's \
        version differs from the agents'.",
    why_it_matters: "A rollout that never finished (pods on `OnDelete`, a node that never \
        restarted its agent, a failed `helm upgrade`) leaves nodes on different datapath code, \
        and an operator of another version manages IPAM and CRDs with other assumptions than \
        the agents. Bugs then appear on some nodes only, which is the hardest kind to debug.",
    how_to_fix: "Finish the rollout: `kubectl rollout status` on the agent DaemonSet, delete the \
        agent pods that still run the old image (the DaemonSet recreates them with the template \
        image), and keep operator and agent on the same chart version (remove `image.tag` / \
        `operator.image.tag` overrides that pin one of them).",
    known_limits: "Images without a version tag are compared by repository and digest-less \
        reference. During a rolling upgrade this fires by design until the rollout completes.",
    docs_url: "https://docs.cilium.io/en/stable/operations/upgrade/",
};

impl Rule for Ver009 {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        evaluate(cx)
    }
}

/// What an image runs: its version tag, else the reference without digest.
fn identity(image: &str) -> String {
    match image_tag(image).and_then(|t| t.parse::<Version>().ok()) {
        Some(v) => v.to_string(),
        None => image.split('@').next().unwrap_or(image).to_string(),
    }
}

fn evaluate(cx: &Context) -> Result<Vec<Finding>, Missing> {
    let agent_version = match running_cilium(cx) {
        Ok(None) => return Ok(Vec::new()),
        Ok(Some(v)) => Some(v),
        // Untagged images are still comparable; only a missing input stops us.
        Err(outcome) => {
            if cx.cluster.cilium.agent_images.is_empty() {
                return Err(outcome);
            }
            None
        }
    };
    let c = cx.cluster;
    let ns = cilium_namespace(cx);
    let mut findings = Vec::new();

    // identity → (pod names, in DaemonSet template)
    let mut seen: BTreeMap<String, (Vec<&str>, bool)> = BTreeMap::new();
    if let Some(key) = &c.cilium.agent_daemonset {
        if let Some(ds) = c.daemonset(&key.namespace, &key.name) {
            let containers = &ds.spec.template.spec.containers;
            if let Some(agent) = containers
                .iter()
                .find(|x| x.name == "cilium-agent")
                .or_else(|| containers.first())
            {
                seen.entry(identity(&agent.image)).or_default().1 = true;
            }
        }
    }
    for pod in &cx.facts.cilium_pods().agents {
        if let Some(agent) = pod
            .spec
            .containers
            .iter()
            .find(|x| x.name == "cilium-agent")
        {
            seen.entry(identity(&agent.image))
                .or_default()
                .0
                .push(&pod.metadata.name);
        }
    }
    if seen.len() > 1 {
        let template = seen
            .iter()
            .find(|(_, (_, in_template))| *in_template)
            .map(|(id, _)| id.clone());
        let describe: Vec<String> = seen
            .iter()
            .map(|(id, (pods, in_template))| {
                let mut s = format!("{id} ({} pod(s)", pods.len());
                if *in_template {
                    s.push_str(", DaemonSet template");
                }
                s.push(')');
                s
            })
            .collect();
        let mut finding = META
            .finding(
                agent_object(cx),
                format!(
                    "Cilium agents run {} different versions: {}",
                    seen.len(),
                    describe.join(", ")
                ),
            )
            .with_evidence(format!(
                "Agent images: {}",
                c.cilium.agent_images.join(", ")
            ));
        for (id, (pods, _)) in &seen {
            if !pods.is_empty() {
                finding = finding
                    .with_evidence(format!("{id}: {}", sample_names(pods.iter().copied(), 5)));
            }
        }
        let ds = agent_object(cx);
        let stale: Vec<&str> = match &template {
            Some(t) => seen
                .iter()
                .filter(|(id, _)| *id != t)
                .flat_map(|(_, (pods, _))| pods.iter().copied())
                .collect(),
            None => Vec::new(),
        };
        let mut remediation = vec![format!(
            "kubectl -n {ns} rollout status daemonset/{} --timeout=10m",
            ds.name
        )];
        if !stale.is_empty() {
            remediation.push(format!(
                "Delete the agent pods not on the template image; the DaemonSet recreates them (one node at a time):\nkubectl -n {ns} delete pod {}",
                stale.join(" ")
            ));
        } else {
            remediation.push(format!(
                "kubectl -n {ns} rollout restart daemonset/{}",
                ds.name
            ));
        }
        findings.push(finding.with_remediation(remediation.join("\n")));
    }

    if let (Some(agent), Some(operator)) = (agent_version, c.cilium.operator_version) {
        if agent != operator {
            let deploy = c.cilium_operator_deployment();
            let (dns, dname) = deploy
                .map(|d| (d.metadata.namespace().to_string(), d.metadata.name.clone()))
                .unwrap_or_else(|| (ns.clone(), "cilium-operator".to_string()));
            findings.push(
                META.finding(
                    ObjectRef::new("Deployment", Some(&dns), &dname),
                    format!("The cilium-operator runs {operator} while the agents run {agent}"),
                )
                .with_evidence(format!(
                    "Operator image: {}",
                    c.cilium.operator_image.as_deref().unwrap_or_default()
                ))
                .with_evidence(format!(
                    "Agent images: {}",
                    c.cilium.agent_images.join(", ")
                ))
                .with_remediation(format!(
                    "Put both on the same chart version; remove image.tag / operator.image.tag overrides from the values if one is pinned:\n{}\nhelm upgrade cilium cilium/cilium --namespace {ns} --version {agent} -f cilium-values.yaml",
                    helm_values_backup(&ns)
                )),
            );
        }
    }
    Ok(findings)
}

#[cfg(test)]
mod tests {
    use super::super::testkit::*;
    use super::*;
    use crate::rules::testing::{fired, missing, options, run};

    #[test]
    fn fires_on_mixed_agents_and_operator() {
        let k = knowledge();
        let c = typed_cluster(vec![
            agent_ds("1.16.5"),
            agent_pod("cilium-aaaaa", "n1", "1.16.5"),
            agent_pod("cilium-bbbbb", "n2", "1.16.5"),
            agent_pod("cilium-ccccc", "n3", "1.16.3"),
            operator_deploy("quay.io/cilium/operator-aws:v1.16.3@sha256:1111111111111111111111111111111111111111111111111111111111111111", "cilium-operator"),
        ]);
        let f = fired(run(&Ver009, &c, &k, &options("2026-11-26")));
        assert_eq!(f.len(), 2);
        assert_eq!(
            f[0].message,
            "Cilium agents run 2 different versions: 1.16.3 (1 pod(s)), 1.16.5 (2 pod(s), DaemonSet template)"
        );
        assert!(f[0]
            .remediation
            .contains("kubectl -n kube-system delete pod cilium-ccccc"));
        assert_eq!(f[1].object.kind, "Deployment");
        assert_eq!(
            f[1].message,
            "The cilium-operator runs 1.16.3 while the agents run 1.16.5"
        );
    }

    #[test]
    fn digests_and_mirrors_are_not_differences() {
        let k = knowledge();
        let mut pod = agent_pod("cilium-aaaaa", "n1", "1.16.5");
        pod["spec"]["containers"][0]["image"] =
            serde_json::json!("123456789012.dkr.ecr.eu-west-1.amazonaws.com/cilium/cilium:v1.16.5");
        let c = typed_cluster(vec![
            agent_ds("1.16.5"),
            pod,
            operator_deploy("quay.io/cilium/operator-aws:v1.16.5", "cilium-operator"),
        ]);
        assert!(fired(run(&Ver009, &c, &k, &options("2026-11-26"))).is_empty());
        assert!(missing(run(
            &Ver009,
            &typed_cluster(vec![]),
            &k,
            &options("2026-11-26")
        ))
        .contains("DaemonSets"));
    }
}
