//! LOG006 agent-startup-probe-failing.

use super::common;
use crate::findings::Severity;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct AgentStartupProbeFailing;

/// A few failures are routine while the agent starts.
const MIN_COUNT: u64 = 10;

static META: RuleMeta = RuleMeta {
    code: "LOG006",
    name: "agent-startup-probe-failing",
    severity: Severity::High,
    area: Area::Log,
    summary: "The agent's startup probe on port 9879 keeps failing: the agent does not finish starting",
    what_it_checks: "Unhealthy Events of the kubelet for `127.0.0.1:9879/healthz` (signature LS019), the cilium-agent startup and liveness probe, counted at least 10 times; a few failures are routine while the agent starts.",
    why_it_matters: "Until the probe passes the agent is not ready: the node keeps the agent-not-ready taint or its pods get no network, and after the chart's failure threshold kubelet restarts the agent in a loop.",
    how_to_fix: "Read why the agent does not start: `kubectl -n kube-system logs POD -c cilium-agent` (LOG003 for the IP pool wait, LOG004 for BPF). Fix that cause; raising the probe's threshold only hides it.",
    known_limits: "The 10-times threshold is this tool's choice; Events expire after an hour by default.",
    docs_url: "https://docs.cilium.io/en/stable/operations/troubleshooting/",
};

impl Rule for AgentStartupProbeFailing {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        common::available(cx, META.code)?;
        let seen: Vec<_> = common::sightings(cx, META.code)
            .into_iter()
            .filter(|s| s.count() >= MIN_COUNT)
            .collect();
        Ok(common::signature_findings(&META, &seen, META.severity))
    }
}
