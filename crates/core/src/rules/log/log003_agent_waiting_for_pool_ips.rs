//! LOG003 agent-waiting-for-pool-ips.

use super::common;
use crate::findings::Severity;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct AgentWaitingForPoolIps;

/// Fewer and shorter waits are the routine one at agent start.
const MIN_COUNT: u64 = 6;
const MIN_SECONDS: i64 = 60;

static META: RuleMeta = RuleMeta {
    code: "LOG003",
    name: "agent-waiting-for-pool-ips",
    severity: Severity::High,
    area: Area::Log,
    summary: "Agents keep waiting for IPs in the CRD-backed pool: the operator does not fill their CiliumNode",
    what_it_checks: "The cilium-agent logs for `Waiting for IPs to become available in CRD-backed allocation pool` (signature LS004) repeated at least 6 times or over at least 60 seconds; a shorter wait is the routine one at agent start.",
    why_it_matters: "The agent does not become ready until its CiliumNode has addresses (`required=` in the line): the node stays NotReady or pods on it get no IP. The operator is down, cannot call EC2, or cannot find the instance.",
    how_to_fix: "Look at the operator: `kubectl -n kube-system get pods -l io.cilium/app=operator`, its log (LOG001, LOG002, LOG007, IAM001) and the node's CiliumNode `status.ipam.operator-status`. Restart the operator once its cause is fixed.",
    known_limits: "The 6-times/60-seconds threshold is this tool's choice to leave the routine start-up wait out; a log whose lines carry no timestamps is judged by the count alone.",
    docs_url: "https://docs.cilium.io/en/stable/network/concepts/ipam/crd/",
};

impl Rule for AgentWaitingForPoolIps {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        common::available(cx, META.code)?;
        let seen: Vec<_> = common::sightings(cx, META.code)
            .into_iter()
            .filter(|s| {
                s.count() >= MIN_COUNT || common::span_seconds(s).is_some_and(|d| d >= MIN_SECONDS)
            })
            .collect();
        Ok(common::signature_findings(&META, &seen, META.severity))
    }
}
