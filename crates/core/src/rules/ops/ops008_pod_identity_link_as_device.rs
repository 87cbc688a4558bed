//! OPS008 pod-identity-link-as-device.

use super::common;
use crate::findings::Severity;
use crate::rules::inputs;
use crate::rules::{Area, Context, Outcome, Rule, RuleMeta};

pub struct PodIdentityLinkAsDevice;

/// The EKS Pod Identity agent's link and its addresses (AWS EKS user guide,
/// "EKS Pod Identity considerations": 169.254.170.23 and fd00:ec2::23).
const POD_IDENTITY_LINK: &str = "pod-id-link0";
const POD_IDENTITY_ADDRESSES: &[&str] = &["169.254.170.23", "fd00:ec2::23"];

static META: RuleMeta = RuleMeta {
    code: "OPS008",
    name: "pod-identity-link-as-device",
    severity: Severity::Medium,
    area: Area::Ops,
    summary: "Cilium took the EKS Pod Identity agent's link (pod-id-link0) as a datapath device",
    what_it_checks: "The device list of each `cilium status` output (`KubeProxyReplacement: \
True [ens5 … (Direct Routing), pod-id-link0 169.254.170.23 …]`, or the verbose `Devices:` \
line): a device named `pod-id-link0` or carrying the Pod Identity agent's addresses \
(169.254.170.23, fd00:ec2::23).",
    why_it_matters: "The EKS Pod Identity agent serves credentials on a link-local address of \
its own dummy link. When Cilium auto-detects that link as one of its devices it attaches \
its programs there and treats the address as a node address; users on EKS reported pods \
unable to reach 169.254.170.23 (no AWS credentials: external-dns, cluster-autoscaler, the \
load balancer controller failing) with BPF host routing (`FIB lookup failed DROPPED`, \
cilium#35989) and NetworkPolicy-allowed traffic timing out after an upgrade with that \
device list (cilium#34615).",
    how_to_fix: "Check whether traffic to the agent is dropped: `hubble observe --to-ip \
169.254.170.23 --verdict DROPPED`. If it is, keep Cilium off the link by naming its \
devices (Helm `devices`, e.g. the ENI interfaces), or use the workaround reported in \
cilium#35989: legacy host routing (`bpf.hostLegacyRouting=true`). Pods need an egress \
policy that allows the `host` entity on TCP 80 to reach the agent.",
    known_limits: "Reads `cilium status` text only; the device alone is not proof of a drop \
(the rule says so, and the hubble check tells). The fix that keeps the link out of the \
auto-detected devices in newer releases is not in the data, so no version is named.",
    docs_url: "https://docs.aws.amazon.com/eks/latest/userguide/pod-id-agent-setup.html",
};

impl Rule for PodIdentityLinkAsDevice {
    fn meta(&self) -> &'static RuleMeta {
        &META
    }

    fn check(&self, cx: &Context) -> Outcome {
        let c = cx.cluster;
        let Some(reports) = c.cilium_status.as_deref() else {
            if common::cilium_absent(c) {
                return Ok(vec![]);
            }
            return META.missing(
                "no `cilium status` output (its KubeProxyReplacement device list)",
                inputs::CILIUM_STATUS,
            );
        };
        let mut lines = Vec::new();
        for r in reports {
            let hits: Vec<String> = r
                .kpr_devices
                .iter()
                .filter(|d| {
                    d.name == POD_IDENTITY_LINK
                        || d.addresses
                            .iter()
                            .any(|a| POD_IDENTITY_ADDRESSES.contains(&a.as_str()))
                })
                .map(|d| {
                    if d.addresses.is_empty() {
                        d.name.clone()
                    } else {
                        format!("{} {}", d.name, d.addresses.join(" "))
                    }
                })
                .collect();
            if hits.is_empty() {
                continue;
            }
            let all: Vec<&str> = r.kpr_devices.iter().map(|d| d.name.as_str()).collect();
            lines.push(format!(
                "{}: devices [{}]; Pod Identity link: {}",
                common::status_source(r),
                all.join(", "),
                hits.join(", ")
            ));
        }
        if lines.is_empty() {
            return Ok(vec![]);
        }
        let mut f = META.finding(
            common::agent_object(c),
            format!(
                "Cilium uses the EKS Pod Identity agent's link {POD_IDENTITY_LINK} as a datapath device on {} agent(s): pods may be unable to reach the credentials endpoint 169.254.170.23",
                lines.len()
            ),
        );
        for l in common::capped(lines, 10) {
            f = f.with_evidence(l);
        }
        Ok(vec![f.with_remediation(
            "# Is traffic to the Pod Identity agent dropped?\n\
hubble observe --to-ip 169.254.170.23 --verdict DROPPED --last 100\n\
# If it is: name Cilium's devices so pod-id-link0 is not one of them (Helm values),\n\
#   devices: ens+        # the ENI interfaces of your AMI (eth+ on AL2)\n\
# or, the workaround reported in cilium#35989:\n\
#   bpf:\n#     hostLegacyRouting: true",
        )])
    }
}

#[cfg(test)]
#[allow(clippy::field_reassign_with_default)]
mod tests {
    use super::*;
    use crate::model::{CiliumStatusReport, Cluster, StatusDevice};
    use crate::rules::testing::{fired, outcome};

    fn device(name: &str, addresses: &[&str]) -> StatusDevice {
        StatusDevice {
            name: name.into(),
            addresses: addresses.iter().map(|a| a.to_string()).collect(),
            direct_routing: false,
        }
    }

    #[test]
    fn pod_identity_link_in_the_device_list() {
        // cilium#34615: `[ens5 (Direct Routing), pod-id-link0 169.254.170.23 fd00:ec…`
        let mut c = Cluster::default();
        c.cilium_status = Some(vec![CiliumStatusReport {
            source: "cilium-status.txt".into(),
            kpr_devices: vec![
                device("ens5", &[]),
                device("pod-id-link0", &["169.254.170.23", "fd00:ec"]),
            ],
            ..Default::default()
        }]);
        let f = fired(outcome(&PodIdentityLinkAsDevice, &c));
        assert_eq!(f.len(), 1);
        assert!(f[0].evidence[0].contains("devices [ens5, pod-id-link0]"));
        assert!(f[0].remediation.contains("hostLegacyRouting"));
    }

    #[test]
    fn eni_devices_only_stay_quiet() {
        let mut c = Cluster::default();
        c.cilium_status = Some(vec![CiliumStatusReport {
            kpr_devices: vec![
                device("ens5", &["10.0.10.206"]),
                device("ens6", &["10.0.10.91"]),
            ],
            ..Default::default()
        }]);
        assert_eq!(outcome(&PodIdentityLinkAsDevice, &c), Ok(vec![]));
        assert!(outcome(&PodIdentityLinkAsDevice, &Cluster::default()).is_err());
    }
}
