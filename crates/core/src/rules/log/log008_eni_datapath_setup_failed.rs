//! LOG008 eni-datapath-setup-failed.

use super::common;
use crate::findings::Severity;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct EniDatapathSetupFailed;

static META: RuleMeta = RuleMeta {
    code: "LOG008",
    name: "eni-datapath-setup-failed",
    severity: Severity::High,
    area: Area::Log,
    summary: "The agent could not set up the ENI datapath (routes, rules or links) for pods on a node",
    what_it_checks: "Agent logs and Event messages for ENI datapath setup failures: `unable to find ifindex for interface MAC` (LS018), `Found multiple default routes with the same priority` (LS039) and `Timed out waiting for ENIs to be attached` (LX005).",
    why_it_matters: "Pods get an address whose ENI the agent cannot route: they start without connectivity or never start, on that node only.",
    how_to_fix: "Follow the signature's fix below: an empty instance ID from IMDS (cilium#15682), a second default route the OS put on a Cilium ENI (systemd-networkd on older AL2023 AMIs), or an interrupted link list (restart the agent).",
    known_limits: "Only these wordings are matched.",
    docs_url: "https://docs.cilium.io/en/stable/network/concepts/ipam/eni/",
};

impl Rule for EniDatapathSetupFailed {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        common::available(cx, META.code)?;
        let seen = common::sightings(cx, META.code);
        Ok(common::signature_findings(&META, &seen, META.severity))
    }
}
