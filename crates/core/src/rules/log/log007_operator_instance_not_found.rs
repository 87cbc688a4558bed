//! LOG007 operator-instance-not-found.

use super::common;
use crate::findings::Severity;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct OperatorInstanceNotFound;

static META: RuleMeta = RuleMeta {
    code: "LOG007",
    name: "operator-instance-not-found",
    severity: Severity::Medium,
    area: Area::Log,
    summary: "The operator cannot find a node's EC2 instance, so that CiliumNode gets no ENIs",
    what_it_checks: "The cilium-operator logs for `Instance not found! Please delete corresponding ciliumnode` (signature LS011) and EC2's `InvalidInstanceID.NotFound` (LS026).",
    why_it_matters: "The CiliumNode of a running instance gets no ENIs or IPs (its agent waits, LOG003). With Karpenter adding many nodes at once the operator's instance cache can miss new instances (cilium#35404); for deleted instances it is a stale CiliumNode.",
    how_to_fix: "If the instance is gone, delete its CiliumNode. If it runs, restart the operator so it resynchronises its instance list (the common workaround in the reports).",
    known_limits: "A few lines about instances that were just deleted are routine; the finding stays at medium.",
    docs_url: "https://docs.cilium.io/en/stable/network/concepts/ipam/eni/",
};

impl Rule for OperatorInstanceNotFound {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        common::available(cx, META.code)?;
        let seen = common::sightings(cx, META.code);
        Ok(common::signature_findings(&META, &seen, META.severity))
    }
}
