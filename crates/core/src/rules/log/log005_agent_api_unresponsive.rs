//! LOG005 agent-api-unresponsive.

use super::common;
use crate::findings::Severity;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct AgentApiUnresponsive;

static META: RuleMeta = RuleMeta {
    code: "LOG005",
    name: "agent-api-unresponsive",
    severity: Severity::High,
    area: Area::Log,
    summary: "Pod sandboxes fail because the local Cilium agent API times out or rate-limits endpoint creation",
    what_it_checks: "Event messages (FailedCreatePodSandBox) with `Unable to create endpoint: Cilium API client timeout exceeded` (signature LS014) or `putEndpointIdTooManyRequests` (LS015), written by cilium-cni when the agent does not answer in time or refuses with HTTP 429.",
    why_it_matters: "Every pod scheduled on that node waits in ContainerCreating while kubelet retries; on EKS this was seen during control-plane upgrades when the agent lost the API server (cilium#20915).",
    how_to_fix: "Check the agent on the affected node (`kubectl -n kube-system logs POD -c cilium-agent`), restart it if it is stuck, and run a Cilium patch that reconnects to the API server quickly (the report could not reproduce it on 1.12.5) before an EKS upgrade.",
    known_limits: "Needs the Events (they expire after an hour by default).",
    docs_url: "https://docs.cilium.io/en/stable/operations/troubleshooting/",
};

impl Rule for AgentApiUnresponsive {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        common::available(cx, META.code)?;
        let seen = common::sightings(cx, META.code);
        Ok(common::signature_findings(&META, &seen, META.severity))
    }
}
