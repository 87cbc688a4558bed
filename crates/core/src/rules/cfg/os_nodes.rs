//! Nodes by AMI family, for the node-OS-aware CFG rules: from the Node's
//! `status.nodeInfo.osImage`, else the EKS node group's `amiType`.

use crate::knowledge::AmiFamily;
use crate::model::Cluster;
use crate::rules::ver::{family_of_ami_type, family_of_os_image};

/// Names of the nodes (and node groups without nodes in the snapshot) of
/// `family`, each with what told it (`ip-… (Amazon Linux 2023.6.2024…)`).
pub(crate) fn of_family(c: &Cluster, family: AmiFamily) -> Vec<String> {
    let mut out: Vec<String> = c
        .nodes
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter(|n| family_of_os_image(&n.status.node_info.os_image) == Some(family))
        .map(|n| format!("{} ({})", n.metadata.name, n.status.node_info.os_image))
        .collect();
    let groups_with_nodes: std::collections::BTreeSet<&str> = c
        .nodes
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter_map(|n| n.nodegroup())
        .collect();
    for ng in c.nodegroups.as_deref().unwrap_or_default() {
        if groups_with_nodes.contains(ng.nodegroup_name.as_str()) {
            continue;
        }
        if let Some(t) = ng.ami_type.as_deref() {
            if family_of_ami_type(t) == Some(family) {
                out.push(format!("node group {} (amiType {t})", ng.nodegroup_name));
            }
        }
    }
    out
}

/// Whether the snapshot can tell node OSes at all.
pub(crate) fn known(c: &Cluster) -> bool {
    c.nodes.is_some() || c.nodegroups.is_some()
}
