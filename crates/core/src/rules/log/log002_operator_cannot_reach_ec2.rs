//! LOG002 operator-cannot-reach-ec2.

use super::common;
use crate::findings::Severity;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct OperatorCannotReachEc2;

static META: RuleMeta = RuleMeta {
    code: "LOG002",
    name: "operator-cannot-reach-ec2",
    severity: Severity::High,
    area: Area::Log,
    summary: "The operator's EC2 calls fail before reaching the API: no network path or no credentials",
    what_it_checks: "The cilium-operator logs for AWS SDK errors that show the EC2 request never got an answer from the API: `request send failed, Post \"https://ec2.…` (DNS, network, proxy) and `failed to refresh cached credentials` (no usable IRSA, Pod Identity or instance credentials). Signatures LX002 and LX003.",
    why_it_matters: "Without EC2 the operator cannot describe instances, create or attach ENIs or assign addresses: the ENI allocator does not start or stops refilling pools, and nodes run out of pod IPs.",
    how_to_fix: "For network errors give the operator pod a path to ec2.REGION.amazonaws.com (an EC2 interface VPC endpoint in private clusters, NAT otherwise; check `ec2-api-endpoint` if set). For credential errors fix the operator's credential source: the IRSA annotation and trust policy (IAM003/IAM004), a Pod Identity association, the region, or the IMDS hop limit when the node role is used.",
    known_limits: "Only these two SDK error shapes are recognised; a timeout reported in other words is not.",
    docs_url: "https://docs.cilium.io/en/stable/network/concepts/ipam/eni/",
};

impl Rule for OperatorCannotReachEc2 {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        common::available(cx, META.code)?;
        let seen = common::sightings(cx, META.code);
        Ok(common::signature_findings(&META, &seen, META.severity))
    }
}
