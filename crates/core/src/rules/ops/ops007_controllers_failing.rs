//! OPS007 controllers-failing.

use crate::rules::inputs;
use std::collections::BTreeMap;

use super::common;
use crate::findings::Severity;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct ControllersFailing;

static META: RuleMeta = RuleMeta {
    code: "OPS007",
    name: "controllers-failing",
    severity: Severity::Medium,
    area: Area::Ops,
    summary:
        "Cilium agent controllers keep failing (cilium status lists them with their last error)",
    what_it_checks: "Every `cilium status` / `cilium-dbg status --verbose` output (a sysdump \
holds one per agent): `Controller Status: x/y healthy` with x < y, and each row of the \
controller table whose consecutive failure count is above zero, with its last error.",
    why_it_matters: "Controllers are the agent's retry loops: syncing endpoints to \
CiliumEndpoint objects, injecting identities into the ipcache, regenerating endpoint \
policy, keeping BPF maps in sync. A controller that keeps failing leaves that state stale: \
pods with an old identity, policy not applied, endpoints missing on other nodes. Its last \
error names the cause (API server unreachable, RBAC, a map full, a kvstore down).",
    how_to_fix: "Read each failing controller's last error (quoted in the finding) and the \
agent log around it (`kubectl -n kube-system logs POD -c cilium-agent | grep CONTROLLER`). \
Errors about the Kubernetes API (`k8s cache not fully synced`, timeouts) point at the \
agent's reach to the API server (OPS004, CFG003); errors about maps point at map pressure \
(OPS001, OPS002). Restarting the agent clears a failure only when the cause is gone.",
    known_limits: "Needs `cilium status` text (verbose, or the default output that lists only \
failing controllers); a controller failing once at the moment of the snapshot (an agent \
starting up) also fires. `cilium status -o json` is not read.",
    docs_url: "https://docs.cilium.io/en/stable/operations/troubleshooting/#component-health",
};

impl Rule for ControllersFailing {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        let reports: Vec<_> = c
            .cilium_status
            .as_deref()
            .unwrap_or_default()
            .iter()
            .filter(|r| r.controllers.is_some() || !r.failing_controllers.is_empty())
            .collect();
        if reports.is_empty() {
            if common::cilium_absent(c) {
                return Ok(vec![]);
            }
            return META.missing(
                "no `cilium status` output with a `Controller Status` section",
                inputs::CILIUM_STATUS,
            );
        }
        // Controller name → (agents, an example error).
        let mut by_name: BTreeMap<String, (usize, String)> = BTreeMap::new();
        let mut lines = Vec::new();
        let mut agents = 0usize;
        for r in reports {
            let short = r.controllers.filter(|(ok, total)| ok < total);
            if short.is_none() && r.failing_controllers.is_empty() {
                continue;
            }
            agents += 1;
            let source = common::status_source(r);
            let mut line = format!("{source}: ");
            if let Some((ok, total)) = r.controllers {
                line.push_str(&format!("Controller Status {ok}/{total} healthy"));
            }
            lines.push(line);
            for f in &r.failing_controllers {
                // Endpoint-specific names end in `(ID)`: group by the base name.
                let base = f
                    .name
                    .split_once(" (")
                    .map_or(f.name.as_str(), |(b, _)| b)
                    .to_string();
                let entry = by_name.entry(base).or_insert((0, f.message.clone()));
                entry.0 += 1;
                lines.push(format!(
                    "  {}: last error {}, {} consecutive failure(s): {}",
                    f.name,
                    f.last_error,
                    f.count,
                    if f.message.is_empty() {
                        "(no message)"
                    } else {
                        f.message.as_str()
                    }
                ));
            }
        }
        if agents == 0 {
            return Ok(vec![]);
        }
        let named: Vec<String> = by_name
            .iter()
            .map(|(name, (_, message))| {
                if message.is_empty() {
                    name.clone()
                } else {
                    format!("{name} ({message})")
                }
            })
            .collect();
        let what = if named.is_empty() {
            format!("Cilium controllers are failing on {agents} agent(s)")
        } else {
            format!(
                "Cilium controllers are failing on {agents} agent(s): {}",
                common::capped(named, 5).join(", ")
            )
        };
        let mut f = META.finding(common::agent_object(c), what);
        for l in common::capped(lines, 25) {
            f = f.with_evidence(l);
        }
        let cli = common::agent_cli(cx);
        let mut fix = format!(
            "# Every controller with its last error, on each agent:\n\
kubectl -n kube-system exec ds/cilium -c cilium-agent -- {cli} status --all-controllers"
        );
        for name in by_name.keys().take(3) {
            fix.push_str(&format!(
                "\nkubectl -n kube-system logs ds/cilium -c cilium-agent --since=1h | grep '{name}'"
            ));
        }
        Ok(vec![f.with_remediation(fix)])
    }
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)]
mod tests {
    use super::*;
    use crate::model::{CiliumStatusReport, Cluster, FailingController};
    use crate::rules::testing::{fired, missing, outcome};

    fn status(controllers: (u32, u32), failing: Vec<FailingController>) -> CiliumStatusReport {
        CiliumStatusReport {
            source: "cilium-sysdump/cilium-bugtool-cilium-4xk2p/cilium-dbg-status---verbose.md"
                .into(),
            controllers: Some(controllers),
            failing_controllers: failing,
            ..Default::default()
        }
    }

    #[test]
    fn names_each_failing_controller_with_its_error() {
        let mut c = Cluster::default();
        c.cilium_status = Some(vec![status(
            (20, 21),
            vec![FailingController {
                name: "ipcache-inject-labels".into(),
                last_error: "7s ago".into(),
                count: 8,
                message: "k8s cache not fully synced".into(),
            }],
        )]);
        let f = fired(outcome(&ControllersFailing, &c));
        assert_eq!(f.len(), 1);
        assert!(
            f[0].message
                .contains("ipcache-inject-labels (k8s cache not fully synced)"),
            "{}",
            f[0].message
        );
        assert!(f[0].evidence[0].contains("Controller Status 20/21 healthy"));
        assert!(f[0].evidence[1].contains("8 consecutive failure(s)"));
        assert!(f[0].remediation.contains("--all-controllers"));
    }

    #[test]
    fn healthy_and_missing() {
        let mut c = Cluster::default();
        assert!(missing(outcome(&ControllersFailing, &c)).contains("Controller Status"));
        c.cilium_status = Some(vec![status((38, 38), vec![])]);
        assert_eq!(outcome(&ControllersFailing, &c), Ok(vec![]));
    }
}
