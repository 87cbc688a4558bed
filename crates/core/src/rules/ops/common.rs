//! Helpers shared by the OPS rules.

use crate::findings::ObjectRef;
use crate::model::Cluster;
use crate::rules::Context;
use crate::version::Minor;

/// The agent DaemonSet as a finding object (kube-system/cilium when unknown).
pub fn agent_object(c: &Cluster) -> ObjectRef {
    match &c.cilium.agent_daemonset {
        Some(k) => ObjectRef::new("DaemonSet", Some(&k.namespace), &k.name),
        None => ObjectRef::new("DaemonSet", Some("kube-system"), "cilium"),
    }
}

/// Cilium is provably absent: the DaemonSets were provided, none is
/// Cilium's agent, and there is no Cilium config or Helm values.
pub fn cilium_absent(c: &Cluster) -> bool {
    c.cilium.presence == crate::model::cilium::CiliumPresence::Absent
}

/// The in-pod debug CLI: `cilium-dbg` from 1.15, `cilium` before
/// (conntrack.json log_lines: "'cilium-dbg monitor' ('cilium monitor' before 1.15)").
pub fn agent_cli(cx: &Context) -> &'static str {
    match cx.cluster.cilium.version {
        Some(v) if v.minor() < Minor::new(1, 15) => "cilium",
        _ => "cilium-dbg",
    }
}

/// Evidence lines, at most `max`, then "… and N more".
pub fn capped(lines: Vec<String>, max: usize) -> Vec<String> {
    let total = lines.len();
    let mut out: Vec<String> = lines.into_iter().take(max).collect();
    if total > max {
        out.push(format!("… and {} more", total - max));
    }
    out
}

/// The one implementation lives with the CAP rules.
pub use crate::rules::cap::common::helm_key_exists;

/// An input's name for evidence: the file name without its directory (so
/// findings do not depend on where the snapshot was unpacked), keeping the
/// archive member path after `!` (`sysdump.zip!cilium-sysdump-…/x.txt`).
pub fn display_source(source: &str) -> String {
    let base = |p: &str| p.rsplit(['/', '\\']).next().unwrap_or(p).to_string();
    match source.split_once('!') {
        Some((file, member)) => format!("{}!{member}", base(file)),
        None => base(source),
    }
}

/// The node a `cilium status` output belongs to: the node its `Cluster
/// health` table marks `(localhost)`, else the node of the agent pod its
/// file name carries (`cilium-status-cilium-abcde.txt`, a sysdump's
/// `cilium-bugtool-cilium-abcde-…`).
pub fn status_node(cx: &Context, report: &crate::model::CiliumStatusReport) -> Option<String> {
    if let Some(node) = &report.local_node {
        return Some(node.clone());
    }
    cx.facts
        .cilium_pods()
        .agents
        .iter()
        .filter(|p| report.source.contains(p.metadata.name.as_str()))
        .max_by_key(|p| p.metadata.name.len())
        .and_then(|p| p.spec.node_name.clone())
}

/// A `cilium status` output's name for evidence.
pub fn status_source(report: &crate::model::CiliumStatusReport) -> String {
    if report.source.is_empty() {
        "cilium status".to_string()
    } else {
        display_source(&report.source)
    }
}

#[cfg(test)]
mod tests {
    use super::display_source;

    #[test]
    fn sources_lose_their_directory_but_keep_archive_members() {
        assert_eq!(
            display_source("/tmp/x/cilium-metrics.txt"),
            "cilium-metrics.txt"
        );
        assert_eq!(
            display_source(
                "/home/a/sysdump.zip!cilium-sysdump-20261126/cilium-status-cilium-4xk2p.txt"
            ),
            "sysdump.zip!cilium-sysdump-20261126/cilium-status-cilium-4xk2p.txt"
        );
        assert_eq!(display_source("-"), "-");
        assert_eq!(display_source(r"C:\\dump\\m.txt"), "m.txt");
    }
}
