//! LOG004 bpf-program-rejected.

use super::common;
use crate::findings::Severity;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct BpfProgramRejected;

static META: RuleMeta = RuleMeta {
    code: "LOG004",
    name: "bpf-program-rejected",
    severity: Severity::High,
    area: Area::Log,
    summary: "The kernel verifier rejected a Cilium BPF program: endpoints on the node get no datapath",
    what_it_checks: "The cilium-agent logs for the loader's verifier failures: `Prog section '…' rejected: Argument list too long` (iproute2 loader, signature LS031) and `BPF program is too large` (signature LX004); multi-line verifier dumps after them are counted as continuation lines.",
    why_it_matters: "The endpoint (or the host) keeps its old program or none: pods on that node have no or stale connectivity and policy, and the agent may never become ready.",
    how_to_fix: "Run a Cilium patch that fixes the complexity issue for this kernel, or a node kernel that release is tested on (see VER005); keep the verifier log for the upstream report.",
    known_limits: "Only these two wordings are matched; other verifier errors (`permission denied`, `invalid argument`) are not yet in the catalogue.",
    docs_url: "https://docs.cilium.io/en/stable/operations/system_requirements/",
};

impl Rule for BpfProgramRejected {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        common::available(cx, META.code)?;
        let seen = common::sightings(cx, META.code);
        Ok(common::signature_findings(&META, &seen, META.severity))
    }
}
