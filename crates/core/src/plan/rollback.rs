//! `plan rollback`: a runbook from Cilium back to the Amazon VPC CNI for
//! this cluster. It first says what the snapshot shows is already in place
//! (aws-node kept but switched off by Cilium's nodeSelector patch, the
//! vpc-cni add-on, the CNI's IAM permissions), then: bring aws-node back,
//! give services back to kube-proxy when Cilium replaced it, remove Cilium,
//! restart the pods, verify, and clean up.

use serde::Serialize;

use super::{Action, PlanError};
use crate::model::{Cluster, Workload};
use crate::rules::ver::{cilium_namespace, helm_values_backup};
use crate::rules::{CheckOptions, Context};

/// Cilium's documented patch keeps aws-node off every node with this key.
const CILIUM_PATCH_KEY: &str = "io.cilium/aws-node-enabled";
/// The taint Cilium removes once its agent is ready (CNI004).
const AGENT_NOT_READY_TAINT: &str = "node.cilium.io/agent-not-ready";
const CNI_POLICY_ARN: &str = "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy";
const IRSA_ANNOTATION: &str = "eks.amazonaws.com/role-arn";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RollbackStep {
    pub number: usize,
    pub title: String,
    pub actions: Vec<Action>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct RollbackPlan {
    pub schema_version: u32,
    pub cluster: String,
    pub cilium: Option<String>,
    pub ipam_mode: Option<String>,
    /// What the snapshot shows is already in place (or missing).
    pub in_place: Vec<String>,
    pub steps: Vec<RollbackStep>,
}

/// How aws-node gets its AWS permissions.
enum CniIam {
    Irsa(String),
    NodeRoles {
        with: Vec<String>,
        without: Vec<String>,
    },
    Unknown,
}

pub fn plan_rollback(cluster: &Cluster) -> Result<RollbackPlan, PlanError> {
    if cluster.daemonsets.is_none() {
        return Err(PlanError(
            "the snapshot has no DaemonSets: add `kubectl get daemonsets -A -o json` (aws-node and the Cilium agent)".into(),
        ));
    }
    if cluster.cilium.agent_daemonset.is_none() {
        return Err(PlanError(
            "the snapshot shows no Cilium agent DaemonSet: there is no Cilium to roll back from"
                .into(),
        ));
    }
    let options = CheckOptions::default();
    let cx = Context::new(cluster, crate::knowledge::Knowledge::embedded(), &options);
    let name = cx.cluster_name();
    let ns = cilium_namespace(&cx);
    let aws_node = cluster.daemonset("kube-system", "aws-node");
    let patched = aws_node.is_some_and(|d| {
        d.spec
            .template
            .spec
            .node_selector
            .contains_key(CILIUM_PATCH_KEY)
    });
    let addon = has_addon(cluster, "vpc-cni");
    let iam = cni_iam(cluster);

    let mut in_place = Vec::new();
    in_place.push(match (aws_node, patched) {
        (Some(_), true) => format!("aws-node is kept but switched off by Cilium's nodeSelector patch ({CILIUM_PATCH_KEY}=true)"),
        (Some(d), false) => format!("aws-node exists and its nodeSelector does not exclude any node ({})", selector(d)),
        (None, _) => "aws-node is gone: the VPC CNI must be installed again".to_string(),
    });
    in_place.push(match addon {
        Some(true) => "the vpc-cni EKS add-on is installed".to_string(),
        Some(false) => "the vpc-cni EKS add-on is not installed".to_string(),
        None => "the EKS add-on list is not in the snapshot (aws eks list-addons)".to_string(),
    });
    in_place.push(match &iam {
        CniIam::Irsa(arn) => format!("aws-node has an IRSA role: {arn}"),
        CniIam::NodeRoles { with, without } if without.is_empty() => {
            format!(
                "the node roles carry AmazonEKS_CNI_Policy: {}",
                with.join(", ")
            )
        }
        CniIam::NodeRoles { without, .. } => format!(
            "no IRSA role for aws-node, and these node roles lack AmazonEKS_CNI_Policy: {}",
            without.join(", ")
        ),
        CniIam::Unknown => {
            "the CNI's IAM permissions are not in the snapshot (node roles, IAM)".to_string()
        }
    });
    // The VPC CNI objects left behind after aws-node was deleted.
    let leftovers: Vec<String> =
        crate::rules::cni::cni005_vpc_cni_leftovers::present_leftovers(cluster)
            .into_iter()
            .map(|(kind, ns, name)| match ns {
                "" => format!("{kind} {name}"),
                ns => format!("{kind} {ns}/{name}"),
            })
            .collect();
    if !leftovers.is_empty() {
        in_place.push(format!(
            "aws-node is gone but the VPC CNI's objects remain (CNI005): {}",
            leftovers.join(", ")
        ));
    }
    let kpr = cluster.cilium.kube_proxy_replacement == Some(true);
    let kube_proxy = cluster.daemonset("kube-system", "kube-proxy").is_some();
    if kpr {
        in_place.push(format!(
            "Cilium replaces kube-proxy; the kube-proxy DaemonSet {}",
            if kube_proxy {
                "still exists"
            } else {
                "is absent"
            }
        ));
    }
    let tainted = tainted_nodegroups(cluster);
    if !tainted.is_empty() {
        in_place.push(format!(
            "node groups taint new nodes with {AGENT_NOT_READY_TAINT}, which only Cilium removes: {}",
            tainted.join(", ")
        ));
    }

    let mut steps = Vec::new();
    let mut add = |title: &str, actions: Vec<Action>| {
        let number = steps.len() + 1;
        steps.push(RollbackStep {
            number,
            title: title.to_string(),
            actions,
        });
    };

    let mut prepare = vec![
        Action::run(
            "Save Cilium's values, to re-install it later",
            helm_values_backup(&ns),
        ),
        Action::run(
            "Record the pods and their addresses",
            "kubectl get pods -A -o wide > pods-before.txt",
        ),
    ];
    prepare.extend(iam_actions(&iam));
    for ng in &tainted {
        prepare.push(Action::run(
            format!("Node group {ng}: stop tainting new nodes with {AGENT_NOT_READY_TAINT}; without Cilium nothing removes it and no pod would schedule there"),
            format!("aws eks update-nodegroup-config --cluster-name {name} --nodegroup-name {ng} --taints 'removeTaints=[{{key={AGENT_NOT_READY_TAINT},value=true,effect=NO_EXECUTE}}]'"),
        ));
    }
    add("Prepare", prepare);

    add(
        "Bring aws-node back",
        restore_aws_node(&name, aws_node.is_some(), patched, addon),
    );

    if kpr && !kube_proxy {
        add(
            "Give services back to kube-proxy",
            vec![Action::run(
                "Cilium replaces kube-proxy: install kube-proxy before removing Cilium, or Services stop working",
                format!("aws eks create-addon --cluster-name {name} --addon-name kube-proxy\nkubectl -n kube-system rollout status daemonset/kube-proxy"),
            )],
        );
    }

    add("Remove Cilium", remove_cilium(&cx, &ns));

    add("Restart the pods", restart_pods(cluster));

    add(
        "Verify",
        vec![
            Action::run(
                "aws-node is ready on every node",
                "kubectl -n kube-system get daemonset aws-node",
            ),
            Action::run(
                format!("Pods have VPC addresses{}", vpc_cidrs(cluster)),
                "kubectl get pods -A -o wide",
            ),
            Action::run(
                "No Cilium pod is left",
                format!("kubectl -n {ns} get pods -l k8s-app=cilium"),
            ),
        ],
    );

    add(
        "Clean up",
        vec![Action::run(
            "Cilium's CRDs and custom resources stay after helm uninstall; delete them once you do not plan to go back",
            "kubectl get crd -o name | grep cilium.io",
        )],
    );

    Ok(RollbackPlan {
        schema_version: 1,
        cluster: name,
        cilium: cluster.cilium.version.map(|v| v.to_string()),
        ipam_mode: cluster.cilium.ipam_mode.clone(),
        in_place,
        steps,
    })
}

fn selector(d: &Workload) -> String {
    let s = &d.spec.template.spec.node_selector;
    if s.is_empty() {
        return "no nodeSelector".to_string();
    }
    s.iter()
        .map(|(k, v)| format!("{k}={v}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `Some(true)` when the add-on list has `name`; `None` without the list.
fn has_addon(c: &Cluster, name: &str) -> Option<bool> {
    if c.addon_names.is_none() && c.addons.is_none() {
        return None;
    }
    let in_names = c
        .addon_names
        .as_deref()
        .unwrap_or_default()
        .iter()
        .any(|n| n == name);
    let in_addons = c
        .addons
        .as_deref()
        .unwrap_or_default()
        .iter()
        .any(|a| a.addon_name == name);
    Some(in_names || in_addons)
}

fn cni_iam(c: &Cluster) -> CniIam {
    let sa_role = c
        .service_accounts
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|s| s.metadata.name == "aws-node" && s.metadata.namespace() == "kube-system")
        .and_then(|s| s.metadata.annotations.get(IRSA_ANNOTATION).cloned());
    let addon_role = c
        .addons
        .as_deref()
        .unwrap_or_default()
        .iter()
        .find(|a| a.addon_name == "vpc-cni")
        .and_then(|a| a.service_account_role_arn.clone());
    if let Some(arn) = sa_role.or(addon_role) {
        return CniIam::Irsa(arn);
    }
    let (Some(groups), Some(roles)) = (c.nodegroups.as_deref(), c.iam_roles.as_deref()) else {
        return CniIam::Unknown;
    };
    let mut with = Vec::new();
    let mut without = Vec::new();
    for arn in groups.iter().filter_map(|g| g.node_role.as_deref()) {
        let name = arn.rsplit('/').next().unwrap_or(arn).to_string();
        let Some(role) = roles.iter().find(|r| r.name == name) else {
            return CniIam::Unknown;
        };
        let list = if role
            .attached_policy_arns
            .iter()
            .any(|p| p == CNI_POLICY_ARN)
        {
            &mut with
        } else {
            &mut without
        };
        if !list.contains(&name) {
            list.push(name);
        }
    }
    if with.is_empty() && without.is_empty() {
        return CniIam::Unknown;
    }
    CniIam::NodeRoles { with, without }
}

fn iam_actions(iam: &CniIam) -> Vec<Action> {
    match iam {
        CniIam::Irsa(_) => vec![],
        CniIam::NodeRoles { without, .. } => without
            .iter()
            .map(|role| {
                Action::run(
                    format!("aws-node runs with the node role {role}, which lacks AmazonEKS_CNI_Policy: attach it (or give aws-node an IRSA role)"),
                    format!("aws iam attach-role-policy --role-name {role} --policy-arn {CNI_POLICY_ARN}"),
                )
            })
            .collect(),
        CniIam::Unknown => vec![Action::run(
            "Make sure aws-node has AmazonEKS_CNI_Policy (an IRSA role, or the node role): check the node role",
            "aws iam list-attached-role-policies --role-name NODE_ROLE",
        )],
    }
}

fn tainted_nodegroups(c: &Cluster) -> Vec<String> {
    c.nodegroups
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter(|g| g.taints.iter().any(|t| t.key == AGENT_NOT_READY_TAINT))
        .map(|g| g.nodegroup_name.clone())
        .collect()
}

fn restore_aws_node(name: &str, exists: bool, patched: bool, addon: Option<bool>) -> Vec<Action> {
    let mut out = Vec::new();
    let remove_patch = format!(
        "kubectl -n kube-system patch daemonset aws-node --type=json -p='[{{\"op\":\"remove\",\"path\":\"/spec/template/spec/nodeSelector/{}\"}}]'",
        CILIUM_PATCH_KEY.replace('/', "~1")
    );
    match (addon, exists, patched) {
        (Some(true), _, _) => out.push(Action::run(
            "The vpc-cni add-on is installed: update it with OVERWRITE, which sets every field EKS manages back to the EKS default and so removes Cilium's nodeSelector patch",
            format!("aws eks update-addon --cluster-name {name} --addon-name vpc-cni --resolve-conflicts OVERWRITE"),
        )),
        (_, true, true) => {
            out.push(Action::run("Remove Cilium's nodeSelector patch from aws-node", remove_patch));
            out.push(Action::run(
                "Or, to have EKS manage the VPC CNI again, install the add-on over the existing objects instead",
                format!("aws eks create-addon --cluster-name {name} --addon-name vpc-cni --resolve-conflicts OVERWRITE"),
            ));
        }
        (_, true, false) => out.push(Action::note(
            "aws-node already schedules on every node: nothing to restore",
        )),
        (_, false, _) => out.push(Action::run(
            "Install the VPC CNI again as the EKS add-on",
            format!("aws eks create-addon --cluster-name {name} --addon-name vpc-cni --resolve-conflicts OVERWRITE"),
        )),
    }
    out.push(Action::run(
        "Wait until aws-node runs on every node (it writes its CNI config next to Cilium's, which still wins until Cilium is removed)",
        "kubectl -n kube-system rollout status daemonset/aws-node",
    ));
    out
}

fn remove_cilium(cx: &Context, ns: &str) -> Vec<Action> {
    let mut out = Vec::new();
    let running = cx.cluster.cilium.version;
    // The chart's `cni.uninstall` ("Remove the CNI configuration and binary
    // files on agent shutdown. Enable this if you're removing Cilium").
    let has_uninstall = running
        .and_then(|v| cx.knowledge.helm_keys(v.minor()))
        .is_some_and(|keys| keys.contains("cni.uninstall"));
    if let (true, Some(v)) = (has_uninstall, running) {
        out.push(Action::run(
            "Make the agents remove Cilium's CNI configuration (05-cilium.conflist) and binaries when they stop",
            format!("helm upgrade cilium cilium/cilium --namespace {ns} --version {v} --reuse-values --set cni.uninstall=true\nkubectl -n {ns} rollout status daemonset/cilium"),
        ));
    }
    out.push(Action::run(
        "Uninstall Cilium",
        format!("helm uninstall cilium --namespace {ns}"),
    ));
    out.push(Action::note(
        "Cilium's iptables chains, routes and BPF programs can stay on the nodes until they reboot: replace the nodes (roll each node group) for a clean datapath",
    ));
    out
}

fn restart_pods(c: &Cluster) -> Vec<Action> {
    // Pods that are not host-network got their address from Cilium; the
    // namespaces they live in need a restart (Cilium's EKS notes: restart
    // all pods after aws-node flushes the routing tables).
    let mut namespaces: Vec<String> = c
        .pods
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter(|p| !p.spec.host_network)
        .map(|p| p.metadata.namespace().to_string())
        .collect();
    namespaces.sort();
    namespaces.dedup();
    if namespaces.is_empty() {
        return vec![Action::run(
            "Restart every workload that is not host-network, namespace by namespace, so that each pod gets a VPC CNI address",
            "kubectl -n NAMESPACE rollout restart deployment\nkubectl -n NAMESPACE rollout restart daemonset\nkubectl -n NAMESPACE rollout restart statefulset",
        )];
    }
    let commands: Vec<String> = namespaces
        .iter()
        .flat_map(|ns| {
            // kube-system's DaemonSets (aws-node, kube-proxy) are host-network.
            let kinds: &[&str] = if ns == "kube-system" {
                &["deployment"]
            } else {
                &["deployment", "daemonset", "statefulset"]
            };
            kinds
                .iter()
                .map(move |kind| format!("kubectl -n {ns} rollout restart {kind}"))
        })
        .collect();
    vec![Action::run(
        format!(
            "Restart the workloads of the namespaces with pod-network pods ({}), so that each pod gets a VPC CNI address",
            namespaces.join(", ")
        ),
        commands.join("\n"),
    )]
}

fn vpc_cidrs(c: &Cluster) -> String {
    let cidrs: Vec<&str> = c
        .vpcs
        .as_deref()
        .unwrap_or_default()
        .iter()
        .flat_map(|v| v.cidrs())
        .collect();
    if cidrs.is_empty() {
        String::new()
    } else {
        format!(" (VPC {})", cidrs.join(", "))
    }
}
