//! CNI010: chaining onto a VPC CNI release whose egress-v4-cni MTU changed
//! type, while pod sandboxes fail in egress-v4-cni.

use super::shared::{self, CiliumRole};
use crate::findings::{ObjectRef, Severity};
use crate::model::cilium::image_tag;
use crate::model::Cluster;
use crate::rules::{inputs, Area, Context, Missing, Outcome, Rule, RuleMeta};
use crate::version::Version;

pub struct ChainingVpcCniMtuType;

/// The known issue this rule is about (`data/known-issues.json`).
const ISSUE: &str = "KI006";

/// The VPC CNI release that changed the type of egress-v4-cni's `mtu` (KI006).
const MTU_TYPE_CHANGED: Version = Version::new(1, 12, 6);

/// The chained plugins whose failure this rule explains: the VPC CNI's
/// egress plugin, and Cilium's chained configuration file.
const FAILURE_MARKS: [&str; 2] = ["egress-v4-cni", "05-cilium.conflist"];

static META: RuleMeta = RuleMeta {
    code: "CNI010",
    name: "chaining-vpc-cni-mtu-type",
    severity: Severity::High,
    area: Area::Cni,
    summary: "aws-cni chaining on VPC CNI >= 1.12.6 while pod sandboxes fail in egress-v4-cni: a stale chained conflist with an integer MTU",
    what_it_checks: "When Cilium chains onto the VPC CNI (`cni-chaining-mode: aws-cni`), reads \
the VPC CNI version (the `vpc-cni` add-on's `addonVersion`, else the tag of the aws-node \
container image) and the `FailedCreatePodSandBox` Events. It fires when the VPC CNI is 1.12.6 or \
later and sandbox creation fails in the VPC CNI's `egress-v4-cni` plugin or names Cilium's \
chained `05-cilium.conflist`.",
    why_it_matters: "VPC CNI v1.12.6 changed egress-v4-cni's `mtu` parameter from an integer to \
a string. In chaining, Cilium writes `05-cilium.conflist` from the VPC CNI's configuration; a \
file built before the upgrade still carries the integer, and egress-v4-cni panics on it, so new \
pods (and pods being torn down) fail sandbox creation while reverting the add-on to 1.12.5 makes \
them work again. AWS also states that chaining the VPC CNI with Cilium is not something EKS \
supports.",
    how_to_fix: "Make the chained configuration match the VPC CNI that runs: keep the add-on \
at 1.12.5 until the Cilium agents are restarted on every node (they rebuild 05-cilium.conflist \
from the new 10-aws.conflist), or roll the add-on back to 1.12.5 (`aws eks update-addon \
--addon-name vpc-cni --addon-version v1.12.5-eksbuild.2`). Upgrade the VPC CNI and restart \
Cilium together from then on.",
    known_limits: "The conflist on the nodes is not an input: the rule infers the stale file \
from the version and the failing plugin named in the Events. Sandbox failures in egress-v4-cni \
with another cause are reported too; the Events are quoted so the reader can tell.",
    docs_url: "https://docs.cilium.io/en/stable/installation/cni-chaining-aws-cni/",
};

/// The VPC CNI version and where it was read.
fn vpc_cni_version(c: &Cluster) -> Option<(Version, String)> {
    let addon = c
        .addons
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find_map(|a| {
            let text = a.addon_version.as_deref()?;
            (a.addon_name == "vpc-cni").then(|| {
                text.parse()
                    .ok()
                    .map(|v| (v, format!("add-on vpc-cni {text}")))
            })?
        });
    addon.or_else(|| {
        let ds = c.daemonset("kube-system", "aws-node")?;
        let image = shared::container_image(ds, "aws-node")?;
        let v = image_tag(image)?.parse().ok()?;
        Some((v, format!("DaemonSet kube-system/aws-node image {image}")))
    })
}

impl Rule for ChainingVpcCniMtuType {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        match shared::cilium_role(c)? {
            CiliumRole::Chaining => {}
            CiliumRole::Absent | CiliumRole::Primary => return Ok(vec![]),
        }
        let Some((version, read_from)) = vpc_cni_version(c) else {
            if c.addons.is_none() && c.daemonsets.is_none() {
                return Err(Missing::new(
                    "the VPC CNI version (the vpc-cni add-on or the aws-node DaemonSet)",
                    inputs::ADDONS,
                ));
            }
            return Ok(vec![]);
        };
        if version < MTU_TYPE_CHANGED {
            return Ok(vec![]);
        }
        let Some(events) = c.events.as_deref() else {
            return Err(Missing::new(
                "Events (FailedCreatePodSandBox)",
                "kubectl get events -A -o json > events.json",
            ));
        };
        let failing: Vec<_> = events
            .iter()
            .filter(|e| e.reason.as_deref() == Some("FailedCreatePodSandBox"))
            .filter(|e| FAILURE_MARKS.iter().any(|m| e.text().contains(m)))
            .collect();
        let Some(first) = failing.first() else {
            return Ok(vec![]);
        };
        let issue = cx
            .knowledge
            .cited_issue(ISSUE)
            .ok_or_else(|| Missing::new(format!("known issue {ISSUE}"), inputs::KNOWLEDGE))?;
        let pods: Vec<String> = failing
            .iter()
            .map(|e| {
                let o = e.object();
                format!(
                    "{}/{}",
                    o.namespace.as_deref().unwrap_or("?"),
                    o.name.as_deref().unwrap_or("?")
                )
            })
            .collect();
        let mut quoted = first.text().to_string();
        if quoted.chars().count() > 400 {
            quoted = quoted.chars().take(400).collect::<String>() + "…";
        }
        let f = META
            .finding(
                ObjectRef::new("DaemonSet", Some("kube-system"), "aws-node"),
                format!(
                    "Cilium chains onto VPC CNI {version} (1.12.6 changed egress-v4-cni's mtu from an integer to a string) and {} pod sandbox(es) fail in egress-v4-cni: Cilium's chained 05-cilium.conflist still carries the old integer MTU",
                    failing.len()
                ),
            )
            .with_evidence(format!(
                "cni-chaining-mode: {}",
                c.cilium.chaining_mode.as_deref().unwrap_or("aws-cni")
            ))
            .with_evidence(read_from)
            .with_evidence(format!(
                "FailedCreatePodSandBox on {}: {quoted}",
                shared::sample_list(&pods, 5)
            ))
            .with_evidence(format!("{}: {}", issue.reference(), issue.title));
        Ok(vec![f.with_remediation(format!(
            "# {}\n\
# either roll the add-on back to the release before the MTU type change:\n\
aws eks update-addon --cluster-name {} --addon-name vpc-cni --addon-version v1.12.5-eksbuild.2\n\
# or keep the new release and let Cilium rebuild 05-cilium.conflist from the new 10-aws.conflist:\n\
kubectl -n {} rollout restart daemonset/cilium",
            issue.workaround,
            cx.cluster_name(),
            shared::cilium_namespace(c)
        ))])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::testing::{check, load_cluster};
    use serde_json::json;

    /// The message of cilium#25131 (the same upgrade as UP26), shortened.
    const PANIC: &str = "Failed to create pod sandbox: rpc error: code = Unknown desc = failed to setup network for sandbox \"6e7f82eed3c3\": plugin type=\"egress-v4-cni\" name=\"egress-v4-cni\" failed (add): netplugin failed: \"panic: runtime error: invalid memory address or nil pointer dereference\"";

    fn cluster(addon: &str, event: Option<&str>) -> Cluster {
        let mut docs = vec![
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
                "metadata": {"name": "cilium", "namespace": "kube-system", "labels": {"k8s-app": "cilium"}},
                "spec": {"template": {"spec": {"containers": [
                    {"name": "cilium-agent", "image": "quay.io/cilium/cilium:v1.13.2"}]}}}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "cilium-config", "namespace": "kube-system"},
                "data": {"cni-chaining-mode": "aws-cni"}}),
            json!({"addon": {"addonName": "vpc-cni", "clusterName": "prod", "addonVersion": addon, "status": "ACTIVE"}}),
        ];
        if let Some(message) = event {
            docs.push(json!({"apiVersion": "v1", "kind": "Event",
                "metadata": {"name": "web-1.175a", "namespace": "default"},
                "involvedObject": {"kind": "Pod", "namespace": "default", "name": "web-1"},
                "reason": "FailedCreatePodSandBox", "type": "Warning", "message": message}));
        } else {
            docs.push(json!({"apiVersion": "v1", "kind": "EventList", "items": []}));
        }
        load_cluster(&docs)
    }

    #[test]
    fn fires_on_1_12_6_with_egress_cni_panics() {
        let f = check(
            &ChainingVpcCniMtuType,
            &cluster("v1.12.6-eksbuild.1", Some(PANIC)),
        )
        .unwrap();
        assert_eq!(f.len(), 1);
        assert!(f[0].message.contains("VPC CNI 1.12.6"));
        assert!(f[0].evidence.iter().any(|e| e.contains("default/web-1")));
        assert!(f[0].remediation.contains("v1.12.5-eksbuild.2"));
    }

    #[test]
    fn quiet_before_1_12_6_or_without_failures() {
        assert!(check(
            &ChainingVpcCniMtuType,
            &cluster("v1.12.5-eksbuild.2", Some(PANIC))
        )
        .unwrap()
        .is_empty());
        assert!(
            check(&ChainingVpcCniMtuType, &cluster("v1.12.6-eksbuild.1", None))
                .unwrap()
                .is_empty()
        );
    }
}
