//! LOG001 eni-allocator-not-started.

use super::common;
use crate::findings::Severity;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct EniAllocatorNotStarted;

static META: RuleMeta = RuleMeta {
    code: "LOG001",
    name: "eni-allocator-not-started",
    severity: Severity::Critical,
    area: Area::Log,
    summary: "The operator log says the ENI allocator failed to start: no node gets ENIs or pod IPs",
    what_it_checks: "The cilium-operator logs (current and previous container) for the fatal lines with which the operator gives up starting its ENI allocator: `Unable to start eni allocator` with `Initial synchronization with instances API failed`, and `Unable to init eni allocator`. Signatures LS005 and LX001 of `data/log-signatures.json`; each finding quotes the line, the file and container, the first and last time and the count, and names the failing EC2 call when the error value does.",
    why_it_matters: "The operator exits and restarts (CrashLoopBackOff); while it is down no CiliumNode gets ENIs or addresses, so new nodes never become ready and pods on full nodes stay in ContainerCreating. The line before it (the `error=` of `Unable to synchronize EC2 …`) names the real cause: missing IAM actions (IAM001), no path to the EC2 API (LOG002) or an EC2 API error of a known-bad release (LOG010).",
    how_to_fix: "Read the warning just before the fatal line in the operator log: `kubectl -n kube-system logs deployment/cilium-operator --previous | grep -B2 'eni allocator'`. Fix what it names (IAM policy, VPC endpoint/NAT for ec2.REGION.amazonaws.com, credentials), then let the operator restart.",
    known_limits: "Only logs in the snapshot are read: `kubectl get` dumps carry none (use a sysdump or save `kubectl logs`); the operator must have crashed within the log's window.",
    docs_url: "https://docs.cilium.io/en/stable/network/concepts/ipam/eni/",
};

impl Rule for EniAllocatorNotStarted {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        common::available(cx, META.code)?;
        let seen = common::sightings(cx, META.code);
        Ok(common::signature_findings(&META, &seen, META.severity))
    }
}
