//! SGP002: pods that request a branch ENI (security groups for pods) while
//! Cilium is the primary CNI.

use crate::facts::pod_is_live;
use crate::rules::inputs;
use std::collections::{BTreeMap, HashMap};

use crate::findings::{ObjectRef, Severity};
use crate::model::{Cluster, Container, Pod, Workload};
use crate::rules::cni::shared::{self, CiliumRole};
use crate::rules::log::common::{sightings, Seen};
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct PodsRequestBranchEni;

/// The branch-ENI extended resource and pod annotation of the VPC resource
/// controller (/work/shared/data/aws/sgp.json
/// `node_and_pod_markers.extended_resource_branch_eni`).
const POD_ENI: &str = "vpc.amazonaws.com/pod-eni";
const MAX_OWNERS: usize = 10;

static META: RuleMeta = RuleMeta {
    code: "SGP002",
    name: "pods-request-branch-eni",
    severity: Severity::Medium,
    area: Area::Sgp,
    summary: "Pods request vpc.amazonaws.com/pod-eni or carry branch-ENI annotations while Cilium is the primary CNI",
    what_it_checks: "When Cilium is the primary CNI, no pod should request the extended \
resource `vpc.amazonaws.com/pod-eni` (in a container's requests or limits) or carry the \
`vpc.amazonaws.com/pod-eni` annotation the VPC resource controller writes when it attaches a \
branch ENI. Finished pods (Succeeded/Failed) are ignored. One finding per namespace, grouped by \
owner, saying whether the owner's template asks for the resource itself or it was added at \
admission by the resource controller's webhook.",
    why_it_matters: "The resource is advertised only by nodes with a trunk ENI, which aws-node \
sets up when `ENABLE_POD_ENI=true`. With Cilium as the primary CNI the pods either stay \
Pending (no node has the resource) or land on a node that still has a trunk ENI and get a \
branch ENI address Cilium does not manage. Either way the security groups the pod asked for do \
not protect it.",
    how_to_fix: "Find where the request comes from: a SecurityGroupPolicy selecting the pods \
(the webhook injects the request; see SGP001) or the workload template itself. Delete or \
replace the SecurityGroupPolicy, remove the resource from the template, then recreate the pods.",
    known_limits: "The annotation is only visible when the pods were dumped with their \
annotations. Pods whose owner is not in the snapshot are reported with the owner's name only. \
The VPC resource controller's SecurityGroupRequested Events (\"Pod will get the following \
Security Groups\") are quoted as evidence when the Events are in the snapshot; they do not \
make a finding on their own (the pod may be gone).",
    docs_url: "https://docs.aws.amazon.com/eks/latest/userguide/security-groups-for-pods.html",
};

/// The Event reason of the VPC resource controller's security group
/// assignment, with the count of pods when more than one.
fn events_reason(lines: &[String]) -> String {
    match lines.len() {
        1 => "SecurityGroupRequested".to_string(),
        n => format!("SecurityGroupRequested ({n})"),
    }
}

fn requests_pod_eni(containers: &[Container]) -> bool {
    containers.iter().any(|c| {
        c.resources.requests.iter().any(|r| r == POD_ENI)
            || c.resources.limits.iter().any(|r| r == POD_ENI)
    })
}

fn pod_asks(pod: &Pod) -> bool {
    requests_pod_eni(&pod.spec.containers)
        || requests_pod_eni(&pod.spec.init_containers)
        || pod.metadata.annotations.contains_key(POD_ENI)
}

/// Workloads by (kind, namespace, name), built once per check.
type WorkloadIndex<'a> = HashMap<(&'a str, &'a str, &'a str), &'a Workload>;

fn workload_index(c: &Cluster) -> WorkloadIndex<'_> {
    c.deployments
        .as_deref()
        .unwrap_or_default()
        .iter()
        .chain(c.daemonsets.as_deref().unwrap_or_default())
        .map(|w| {
            (
                (
                    w.kind.as_str(),
                    w.metadata.namespace(),
                    w.metadata.name.as_str(),
                ),
                w,
            )
        })
        .collect()
}

impl Rule for PodsRequestBranchEni {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        match shared::cilium_role(c)? {
            CiliumRole::Primary => {}
            CiliumRole::Absent | CiliumRole::Chaining => return Ok(vec![]),
        }
        let Some(pods) = c.pods.as_deref() else {
            return META.missing("no Pod objects", inputs::PODS);
        };
        let owners_index = cx.facts.owners();
        let mut by_ns: BTreeMap<&str, BTreeMap<(String, String), Vec<&Pod>>> = BTreeMap::new();
        for pod in pods.iter().filter(|p| pod_is_live(p) && pod_asks(p)) {
            by_ns
                .entry(pod.metadata.namespace())
                .or_default()
                .entry(owners_index.owner_of(pod))
                .or_default()
                .push(pod);
        }
        let nodes_with_resource: Option<Vec<&str>> = c.nodes.as_deref().map(|nodes| {
            nodes
                .iter()
                .filter(|n| {
                    n.status
                        .allocatable
                        .get(POD_ENI)
                        .or_else(|| n.status.capacity.get(POD_ENI))
                        .is_some_and(|q| q != "0")
                })
                .map(|n| n.metadata.name.as_str())
                .collect()
        });
        let sgps_in = |ns: &str| -> Option<Vec<&str>> {
            c.security_group_policies.as_deref().map(|list| {
                list.iter()
                    .filter(|s| s.metadata.namespace() == ns)
                    .map(|s| s.metadata.name.as_str())
                    .collect()
            })
        };

        let workloads = workload_index(c);
        let sightings = sightings(cx, META.code);
        let mut findings = Vec::new();
        for (ns, owners) in by_ns {
            let total: usize = owners.values().map(Vec::len).sum();
            let pending = owners
                .values()
                .flatten()
                .filter(|p| p.status.phase.as_deref() == Some("Pending"))
                .count();
            let mut finding = META.finding(
                ObjectRef::global("Namespace", ns),
                format!(
                    "{total} pod{} in namespace {ns} ask{} for a branch ENI ({POD_ENI}), which Cilium does not provide{}",
                    if total == 1 { "" } else { "s" },
                    if total == 1 { "s" } else { "" },
                    if pending > 0 {
                        format!(": {pending} Pending")
                    } else {
                        String::new()
                    }
                ),
            );
            let mut commands = Vec::new();
            let mut template_owned = Vec::new();
            for ((kind, name), list) in owners.iter().take(MAX_OWNERS) {
                let requested = list
                    .iter()
                    .filter(|p| {
                        requests_pod_eni(&p.spec.containers)
                            || requests_pod_eni(&p.spec.init_containers)
                    })
                    .count();
                let annotated = list
                    .iter()
                    .filter(|p| p.metadata.annotations.contains_key(POD_ENI))
                    .count();
                let workload = workloads.get(&(kind.as_str(), ns, name.as_str())).copied();
                let source = match workload {
                    Some(w) if requests_pod_eni(&w.spec.template.spec.containers) => {
                        template_owned.push(format!("{kind} {name}"));
                        "the template itself requests it"
                    }
                    Some(_) => "not in the template: added at admission by the VPC resource controller webhook",
                    None => "owner not in the snapshot",
                };
                let names: Vec<String> = list
                    .iter()
                    .map(|p| {
                        format!(
                            "{} ({})",
                            p.metadata.name,
                            p.status.phase.as_deref().unwrap_or("?")
                        )
                    })
                    .collect();
                finding = finding.with_evidence(format!(
                    "{kind} {name}: {} pod{} ({requested} requesting {POD_ENI}, {annotated} with the {POD_ENI} annotation; {source}): {}",
                    list.len(),
                    if list.len() == 1 { "" } else { "s" },
                    shared::sample_list(&names, 3)
                ));
                let pod_names: Vec<&str> = list.iter().map(|p| p.metadata.name.as_str()).collect();
                commands.push(shared::restart_command(ns, kind, name, &pod_names));
            }
            if owners.len() > MAX_OWNERS {
                finding =
                    finding.with_evidence(format!("and {} more owners", owners.len() - MAX_OWNERS));
            }
            match &nodes_with_resource {
                Some(list) if list.is_empty() => {
                    finding = finding.with_evidence(format!("no node advertises {POD_ENI}"))
                }
                Some(list) => {
                    finding = finding.with_evidence(format!(
                        "{} node{} still advertise {POD_ENI} (trunk ENI attached): {}",
                        list.len(),
                        if list.len() == 1 { "" } else { "s" },
                        shared::sample_list(list, 5)
                    ))
                }
                None => {}
            }
            // The VPC resource controller's own word that it gave pods of
            // this namespace a branch ENI (catalogue signature LX007).
            let requested: Vec<String> = sightings
                .iter()
                .filter_map(|s| match s.seen {
                    Seen::Event(e) => Some(e),
                    Seen::Log(..) => None,
                })
                .filter(|e| e.involved_object.namespace.as_deref() == Some(ns))
                .map(|e| {
                    format!(
                        "{} {}: {}",
                        e.involved_object.kind.as_deref().unwrap_or("Pod"),
                        e.involved_object.name.as_deref().unwrap_or("?"),
                        e.text()
                    )
                })
                .collect();
            if !requested.is_empty() {
                finding = finding.with_evidence(format!(
                    "Events {} from vpc-resource-controller: {}",
                    events_reason(&requested),
                    shared::sample_list(&requested, 3)
                ));
            }
            let sgps = sgps_in(ns);
            if let Some(list) = &sgps {
                if !list.is_empty() {
                    finding = finding.with_evidence(format!(
                        "SecurityGroupPolicies in {ns}: {}",
                        shared::sample_list(list, 5)
                    ));
                }
            }
            let mut fix = String::from(
                "# 1. Remove the source of the request: the SecurityGroupPolicies that select these pods (see SGP001)\n",
            );
            match &sgps {
                Some(list) if !list.is_empty() => {
                    for s in list {
                        fix.push_str(&format!(
                            "kubectl -n {ns} delete securitygrouppolicy {s}   # after replacing it with a CiliumNetworkPolicy\n"
                        ));
                    }
                }
                _ => fix.push_str(&format!("kubectl -n {ns} get securitygrouppolicies\n")),
            }
            if !template_owned.is_empty() {
                fix.push_str(&format!(
                    "#    and delete `{POD_ENI}` from the container resources of: {}\n",
                    template_owned.join(", ")
                ));
            }
            fix.push_str("# 2. Recreate the pods without the request:\n");
            fix.push_str(&commands.join("\n"));
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

    fn base() -> Vec<serde_json::Value> {
        vec![
            json!({"apiVersion": "apps/v1", "kind": "DaemonSet",
                "metadata": {"name": "cilium", "namespace": "kube-system", "labels": {"k8s-app": "cilium"}},
                "spec": {"template": {"spec": {"containers": [
                    {"name": "cilium-agent", "image": "quay.io/cilium/cilium:v1.16.19"}]}}}}),
            json!({"apiVersion": "v1", "kind": "ConfigMap",
                "metadata": {"name": "cilium-config", "namespace": "kube-system"}, "data": {"ipam": "eni"}}),
        ]
    }

    fn pod(name: &str, phase: &str, request: bool, annotation: bool) -> serde_json::Value {
        let mut p = json!({"apiVersion": "v1", "kind": "Pod",
            "metadata": {"name": name, "namespace": "payments", "labels": {"pod-template-hash": "6f7d9"},
                "ownerReferences": [{"kind": "ReplicaSet", "name": "ledger-6f7d9"}]},
            "spec": {"containers": [{"name": "app", "image": "ledger:1"}]},
            "status": {"phase": phase}});
        if request {
            p["spec"]["containers"][0]["resources"] = json!({"requests": {"vpc.amazonaws.com/pod-eni": "1"}, "limits": {"vpc.amazonaws.com/pod-eni": "1"}});
        }
        if annotation {
            p["metadata"]["annotations"] = json!({"vpc.amazonaws.com/pod-eni":
                "[{\"eniId\":\"eni-0b1c2d3e4f5a6b7c8\",\"ifAddress\":\"02:1f:2e:3d:4c:5b\",\"privateIp\":\"10.0.2.41\",\"vlanId\":1,\"subnetCidr\":\"10.0.2.0/24\"}]"});
        }
        p
    }

    #[test]
    fn groups_requesting_pods() {
        let mut docs = base();
        docs.push(pod("ledger-6f7d9-a", "Pending", true, false));
        docs.push(pod("ledger-6f7d9-b", "Running", false, true));
        docs.push(pod("ledger-6f7d9-c", "Succeeded", true, false));
        let f = check(&PodsRequestBranchEni, &load_cluster(&docs)).unwrap();
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message.starts_with("2 pods in namespace payments ask"),
            "{}",
            f[0].message
        );
        assert!(f[0].message.ends_with("1 Pending"));
    }

    /// The VPC resource controller's Event as aws/amazon-vpc-cni-k8s#1569
    /// quotes it (`kubectl describe pod`), in `kubectl get events -o json`.
    fn sg_requested(pod: &str, ns: &str) -> serde_json::Value {
        json!({"apiVersion": "v1", "kind": "Event",
            "metadata": {"name": format!("{pod}.17a2b3c4d5e6f708"), "namespace": ns},
            "involvedObject": {"kind": "Pod", "namespace": ns, "name": pod},
            "reason": "SecurityGroupRequested", "type": "Normal",
            "source": {"component": "vpc-resource-controller"},
            "message": "Pod will get the following Security Groups [sg-0c9f460bb4a0a1234]"})
    }

    #[test]
    fn the_resource_controllers_events_are_quoted() {
        let mut docs = base();
        docs.push(pod("ledger-6f7d9-b", "Running", false, true));
        docs.push(json!({"apiVersion": "v1", "kind": "EventList", "items": [
            sg_requested("ledger-6f7d9-b", "payments"),
            sg_requested("other-1", "elsewhere")
        ]}));
        let f = check(&PodsRequestBranchEni, &load_cluster(&docs)).unwrap();
        assert_eq!(f.len(), 1);
        let quoted: Vec<&String> = f[0]
            .evidence
            .iter()
            .filter(|e| e.starts_with("Events SecurityGroupRequested"))
            .collect();
        assert_eq!(
            quoted,
            ["Events SecurityGroupRequested from vpc-resource-controller: Pod ledger-6f7d9-b: Pod will get the following Security Groups [sg-0c9f460bb4a0a1234]"]
        );
        // The Events alone make no finding (the pods may be gone).
        let mut docs = base();
        docs.push(pod("ledger-6f7d9-a", "Running", false, false));
        docs.push(json!({"apiVersion": "v1", "kind": "EventList", "items": [sg_requested("gone-1", "payments")]}));
        assert!(check(&PodsRequestBranchEni, &load_cluster(&docs))
            .unwrap()
            .is_empty());
    }

    #[test]
    fn quiet_and_missing() {
        let mut docs = base();
        docs.push(pod("ledger-6f7d9-a", "Running", false, false));
        assert!(check(&PodsRequestBranchEni, &load_cluster(&docs))
            .unwrap()
            .is_empty());
        assert!(check(&PodsRequestBranchEni, &load_cluster(&base())).is_err());
    }
}
