//! LOG010 known-failure-signature.

use super::common;
use crate::findings::Severity;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct KnownFailureSignature;

static META: RuleMeta = RuleMeta {
    code: "LOG010",
    name: "known-failure-signature",
    severity: Severity::Medium,
    area: Area::Log,
    summary: "A log line or Event matches a known Cilium-on-EKS failure from the catalogue",
    what_it_checks: "Agent and operator logs and Event messages for the catalogue's other signatures (`data/log-signatures.json` entries whose rule is LOG010): EC2 API errors of known-bad releases, ENI limit errors, the VPC CNI's egress-v4-cni panic in chaining mode, security group selection failures and more. Each finding names the signature, its meaning, cause and fix, and a public report quoting it.",
    why_it_matters: "Each of these lines is the visible end of a known problem with a known fix; the tool's other rules do not read logs for them.",
    how_to_fix: "Follow the cause and fix the finding quotes from the catalogue.",
    known_limits: "The catalogue matches case-sensitive substrings of messages as Cilium wrote them; a line reworded by a later release is not matched until the catalogue learns it.",
    docs_url: "https://docs.cilium.io/en/stable/operations/troubleshooting/",
};

impl Rule for KnownFailureSignature {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        common::available(cx, META.code)?;
        let seen = common::sightings(cx, META.code);
        Ok(common::signature_findings(&META, &seen, META.severity))
    }
}
