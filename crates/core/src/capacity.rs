//! Pods per node for an EC2 instance type, in the three ways pods get IPs on
//! EKS: the VPC CNI (what the EKS AMI assumes), Cilium's ENI IPAM, and an
//! overlay. Pure functions of the instance's limits; the formulas and their
//! sources are in `data/SOURCES.md` ("Max-pods formulas").

use std::fmt;
use std::str::FromStr;

use serde::Serialize;

use crate::knowledge::{CiliumMinor, Hypervisor, InstanceType, ReservedPurpose};

/// Pods on the host network that the EKS formula adds (the file names them
/// "AWS CNI and kube-proxy").
pub const EKS_HOST_NETWORK_PODS: u32 = 2;
/// Addresses in one /28 IPv4 prefix.
pub const IPS_PER_PREFIX: u32 = 16;
/// Kubernetes scalability guidance as EKS applies it: 110 pods up to 30
/// vCPUs, 250 above (max-pods-calculator.sh tests `-gt 30`).
pub const SMALL_NODE_MAX_PODS: u32 = 110;
pub const LARGE_NODE_MAX_PODS: u32 = 250;
pub const SMALL_NODE_MAX_VCPUS: u32 = 30;

/// How pods get their IPs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Mode {
    /// The AWS VPC CNI: secondary IPs (or prefixes) of the node's ENIs.
    VpcCni,
    /// Cilium's ENI IPAM: the operator attaches ENIs and assigns their IPs.
    CiliumEni,
    /// Cilium overlay IPAM (cluster-pool, multi-pool, kubernetes): no ENI bound.
    Overlay,
}

impl Mode {
    pub const ALL: [Mode; 3] = [Mode::VpcCni, Mode::CiliumEni, Mode::Overlay];

    pub fn as_str(self) -> &'static str {
        match self {
            Mode::VpcCni => "vpc-cni",
            Mode::CiliumEni => "cilium-eni",
            Mode::Overlay => "overlay",
        }
    }
}

impl fmt::Display for Mode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Mode {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Mode::ALL
            .into_iter()
            .find(|m| m.as_str() == s)
            .ok_or_else(|| format!("unknown mode {s:?} (vpc-cni, cilium-eni, overlay)"))
    }
}

/// What the calculation assumes. Mode-specific settings are `None` (or
/// false) unless given; [`CapacityOptions::check`] refuses them in another mode.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CapacityOptions {
    pub mode: Mode,
    /// VPC CNI `ENABLE_PREFIX_DELEGATION` or Cilium `eni.awsEnablePrefixDelegation`.
    pub prefix_delegation: bool,
    /// VPC CNI custom networking: the primary ENI holds no pod IPs.
    pub custom_networking: bool,
    /// VPC CNI: use at most this many ENIs (max-pods-calculator `--cni-max-eni`).
    pub max_enis: Option<u32>,
    /// Cilium `eni.firstInterfaceIndex` (default 0: eth0 holds pod IPs too).
    pub first_interface_index: Option<u32>,
    /// Cilium ENI mode: pods on the host network (no pod IP), default 2.
    pub host_network_pods: Option<u32>,
    /// Cilium ENI mode: whether the operator also delegates prefixes on
    /// bare metal (`CiliumMinor::prefix_delegation_on_bare_metal`).
    pub prefix_delegation_on_bare_metal: bool,
    /// Cilium ENI mode: the addresses the agent takes from the node's pool
    /// for itself ([`reserved_ips`]); pods get the rest.
    pub reserved: Vec<ReservedIp>,
}

/// Addresses the cilium-agent allocates from the node's pool for itself
/// (`data/cilium.json` `ipam_reserved`), under the setting that turns them on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ReservedIp {
    pub purpose: ReservedPurpose,
    pub count: u32,
    /// The agent setting that allocates it, as configured (or defaulted).
    pub setting: String,
}

/// The agent's own addresses in Cilium `minor` under the agent options
/// `option` reports (a cilium-config key → its value; `None` when unset,
/// which means Cilium's default). Only IPv4 addresses are counted: ENI mode
/// is IPv4-only.
pub fn reserved_ips(
    minor: &CiliumMinor,
    option: impl Fn(&str) -> Option<String>,
) -> Vec<ReservedIp> {
    let is_true = |value: &str| value.trim().eq_ignore_ascii_case("true");
    minor
        .ipam_reserved
        .iter()
        .filter_map(|r| {
            if let Some(off) = r.disabled_by.as_deref() {
                if option(off).is_some_and(|v| !v.trim().is_empty()) {
                    return None;
                }
            }
            let mut shown = Vec::new();
            for key in &r.enabled_by {
                let value = option(key);
                let on = value.as_deref().map_or(r.on_by_default, is_true);
                if !on {
                    return None;
                }
                shown.push(match value {
                    Some(v) => format!("{key}={}", v.trim()),
                    None => format!("{key} (default on)"),
                });
            }
            let setting = match (&r.disabled_by, shown.is_empty()) {
                (Some(off), true) => format!("always, unless {off} is set"),
                (None, true) => "always".to_string(),
                (_, false) => shown.join(", "),
            };
            Some(ReservedIp {
                purpose: r.purpose,
                count: 1,
                setting,
            })
        })
        .collect()
}

/// Total of `reserved`.
pub fn reserved_total(reserved: &[ReservedIp]) -> u32 {
    reserved.iter().map(|r| r.count).sum()
}

impl CapacityOptions {
    pub fn new(mode: Mode) -> Self {
        CapacityOptions {
            mode,
            prefix_delegation: false,
            custom_networking: false,
            max_enis: None,
            first_interface_index: None,
            host_network_pods: None,
            prefix_delegation_on_bare_metal: false,
            reserved: Vec::new(),
        }
    }

    /// Refuses settings that mean nothing in the chosen mode.
    pub fn check(&self) -> Result<(), String> {
        let misplaced = |flag: &str, wanted: &str| {
            Err(format!(
                "{flag} applies to --mode {wanted} only, not {}",
                self.mode
            ))
        };
        if self.mode != Mode::VpcCni {
            if self.custom_networking {
                return misplaced("--custom-networking", "vpc-cni");
            }
            if self.max_enis.is_some() {
                return misplaced("--max-enis", "vpc-cni");
            }
        }
        if self.mode != Mode::CiliumEni {
            if self.first_interface_index.is_some() {
                return misplaced("--first-interface-index", "cilium-eni");
            }
            if self.host_network_pods.is_some() {
                return misplaced("--host-network-pods", "cilium-eni");
            }
        }
        if self.mode == Mode::Overlay && self.prefix_delegation {
            return Err("--prefix-delegation does not apply to --mode overlay (pod IPs do not come from ENIs)".into());
        }
        if self.max_enis == Some(0) {
            return Err("--max-enis must be at least 1".into());
        }
        Ok(())
    }
}

/// Pods per node for one instance type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Capacity {
    pub instance_type: String,
    pub mode: Mode,
    /// vpc-cni: the max-pods value for this setup; cilium-eni: the kubelet
    /// max-pods that matches the pod IPs; overlay: the AMI default that
    /// applies until raised.
    pub max_pods: u32,
    /// Pod IPs the node can hold (ENI modes); `None` in overlay. In Cilium
    /// ENI mode: `pool_ips` minus `reserved_ips`.
    pub pod_ips: Option<u32>,
    /// Cilium ENI mode: the addresses of the node's pool, the operator's
    /// `(ENIs - first interface index) * (IPv4 per ENI - 1)`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pool_ips: Option<u32>,
    /// Cilium ENI mode: the pool addresses the agent keeps for itself.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reserved_ips: Vec<ReservedIp>,
    /// ENIs of the instance type on the default network card: what can be
    /// attached to card 0.
    pub enis: u32,
    /// ENIs over all network cards: what Cilium's operator counts.
    pub enis_all_cards: u32,
    /// ENIs whose addresses serve pods; `None` in overlay.
    pub enis_for_pods: Option<u32>,
    pub ipv4_per_eni: u32,
    pub vcpus: Option<u32>,
    pub hypervisor: Hypervisor,
    pub bare_metal: bool,
    /// Whether prefixes are delegated (false when the type falls back).
    pub prefix_delegation: bool,
    /// The formula with this type's numbers, e.g. `3 * (6 - 1) + 2 = 17`.
    pub formula: String,
    /// The same formula in words.
    pub formula_in_words: String,
    /// kubelet max-pods the EKS AMIs set: `ENIs * (IPv4 per ENI - 1) + 2`.
    pub eks_default_max_pods: u32,
    /// 110 or 250 by vCPUs; `None` when the vCPU count is unknown.
    pub max_pods_cap: Option<u32>,
    /// Whether kubelet with the EKS default admits more pods than get an IP
    /// (ENI modes); `None` in overlay, where IPs do not bound pods.
    pub over_schedules: Option<bool>,
    pub notes: Vec<String>,
}

/// The kubelet max-pods the EKS AMIs set (the eni-max-pods table, uncapped).
pub fn eks_default_max_pods(instance: &InstanceType) -> u32 {
    instance
        .enis
        .saturating_mul(instance.ipv4_per_eni.saturating_sub(1))
        .saturating_add(EKS_HOST_NETWORK_PODS)
}

/// 110 up to 30 vCPUs, 250 above; `None` when the vCPU count is unknown.
pub fn max_pods_cap(vcpus: Option<u32>) -> Option<u32> {
    vcpus.map(|v| {
        if v > SMALL_NODE_MAX_VCPUS {
            LARGE_NODE_MAX_PODS
        } else {
            SMALL_NODE_MAX_PODS
        }
    })
}

/// Pods per node for `instance` under `options` (see [`CapacityOptions::check`]).
pub fn capacity(instance: &InstanceType, options: &CapacityOptions) -> Capacity {
    let mut result = Capacity {
        instance_type: instance.name.clone(),
        mode: options.mode,
        max_pods: 0,
        pod_ips: None,
        pool_ips: None,
        reserved_ips: Vec::new(),
        enis: instance.enis,
        enis_all_cards: instance.enis_all_cards,
        enis_for_pods: None,
        ipv4_per_eni: instance.ipv4_per_eni,
        vcpus: instance.vcpus,
        hypervisor: instance.hypervisor,
        bare_metal: instance.bare_metal,
        prefix_delegation: false,
        formula: String::new(),
        formula_in_words: String::new(),
        eks_default_max_pods: eks_default_max_pods(instance),
        max_pods_cap: max_pods_cap(instance.vcpus),
        over_schedules: None,
        notes: Vec::new(),
    };
    match options.mode {
        Mode::VpcCni => vpc_cni(instance, options, &mut result),
        Mode::CiliumEni => cilium_eni(instance, options, &mut result),
        Mode::Overlay => overlay(instance, &mut result),
    }
    result
}

/// `(IPv4 per ENI - 1)`, times 16 with prefixes: (words, numbers, value).
fn per_eni(instance: &InstanceType, prefixes: bool) -> (String, String, u32) {
    let ips = instance.ipv4_per_eni.saturating_sub(1);
    if prefixes {
        (
            format!("((IPv4 per ENI - 1) * {IPS_PER_PREFIX})"),
            format!("(({} - 1) * {IPS_PER_PREFIX})", instance.ipv4_per_eni),
            ips.saturating_mul(IPS_PER_PREFIX),
        )
    } else {
        (
            "(IPv4 per ENI - 1)".into(),
            format!("({} - 1)", instance.ipv4_per_eni),
            ips,
        )
    }
}

fn vpc_cni(instance: &InstanceType, options: &CapacityOptions, out: &mut Capacity) {
    let (mut eni_words, mut eni_numbers) = ("ENIs".to_string(), instance.enis.to_string());
    let mut enis = instance.enis;
    if let Some(limit) = options.max_enis {
        enis = enis.min(limit);
        eni_words = "min(max ENIs, ENIs)".into();
        eni_numbers = format!("min({limit}, {})", instance.enis);
    }
    if options.custom_networking {
        enis = enis.saturating_sub(1);
        eni_words = format!("({eni_words} - 1)");
        eni_numbers = format!("({eni_numbers} - 1)");
    }
    let prefixes = options.prefix_delegation && instance.hypervisor == Hypervisor::Nitro;
    if options.prefix_delegation && !prefixes {
        out.notes.push(format!(
            "prefix delegation needs a nitro hypervisor and {} reports {}: the VPC CNI \
             assigns secondary IPs, so the secondary-IP formula applies",
            instance.name, instance.hypervisor
        ));
    }
    let (ip_words, ip_numbers, per_eni) = per_eni(instance, prefixes);
    // Saturating: limits may come from a hostile describe-instance-types file.
    let raw = enis
        .saturating_mul(per_eni)
        .saturating_add(EKS_HOST_NETWORK_PODS);
    out.enis_for_pods = Some(enis);
    out.pod_ips = Some(enis.saturating_mul(per_eni));
    out.prefix_delegation = prefixes;
    out.formula_in_words = format!("{eni_words} * {ip_words} + {EKS_HOST_NETWORK_PODS}");
    out.formula = format!("{eni_numbers} * {ip_numbers} + {EKS_HOST_NETWORK_PODS} = {raw}");
    out.max_pods = raw;
    // The AMI table is the plain formula; any other setup is the
    // max-pods-calculator's, which caps at 110/250.
    let calculator =
        options.prefix_delegation || options.custom_networking || options.max_enis.is_some();
    match (calculator, out.max_pods_cap) {
        (true, Some(cap)) => {
            out.max_pods = raw.min(cap);
            out.formula_in_words += &format!(
                ", at most {SMALL_NODE_MAX_PODS} (<= {SMALL_NODE_MAX_VCPUS} vCPUs) or {LARGE_NODE_MAX_PODS}"
            );
            out.formula += &format!("; min({raw}, {cap}) = {}", out.max_pods);
        }
        (true, None) => out.notes.push(format!(
            "the vCPU count of {} is unknown, so the {SMALL_NODE_MAX_PODS}/{LARGE_NODE_MAX_PODS} \
             cap is not applied",
            instance.name
        )),
        (false, _) => {}
    }
    if let Some(cap) = out
        .max_pods_cap
        .filter(|cap| out.eks_default_max_pods > *cap)
    {
        out.notes.push(format!(
            "the EKS AMI default of {} max pods is above the {cap} pods Kubernetes guidance \
             allows for {} vCPUs: max-pods-calculator.sh recommends at most {cap} and managed \
             node groups cap maxPods there",
            out.eks_default_max_pods,
            instance.vcpus.unwrap_or_default()
        ));
    }
    // Over-scheduling is about IPs: compare with the uncapped bound.
    compare_with_eks_default(out, raw, out.max_pods, "pods this setup gives IPs to");
}

fn cilium_eni(instance: &InstanceType, options: &CapacityOptions, out: &mut Capacity) {
    let first = options.first_interface_index.unwrap_or(0);
    let host_pods = options.host_network_pods.unwrap_or(EKS_HOST_NETWORK_PODS);
    let enis = instance.enis.saturating_sub(first);
    if enis == 0 {
        out.notes.push(format!(
            "first interface index {first} leaves none of the {} ENIs of {} for pods",
            instance.enis, instance.name
        ));
    }
    if instance.enis_all_cards > instance.enis {
        out.notes.push(format!(
            "{} has several network cards: Cilium's operator counts {} ENIs over all of them \
             but attaches every ENI to card 0, which takes {}; the pool counts the {} that can \
             really be attached, so the operator's own figure (and `cilium_operator_ipam_*` \
             metrics) can be higher",
            instance.name, instance.enis_all_cards, instance.enis, instance.enis
        ));
    }
    let capable = instance.hypervisor == Hypervisor::Nitro
        || (instance.bare_metal && options.prefix_delegation_on_bare_metal);
    let prefixes = options.prefix_delegation && capable;
    if options.prefix_delegation && !prefixes {
        let where_ = if options.prefix_delegation_on_bare_metal {
            "nitro and bare-metal instances"
        } else {
            "nitro instances in this Cilium version"
        };
        out.notes.push(format!(
            "Cilium's operator delegates prefixes only on {where_}; {} reports hypervisor {}{}, \
             so it assigns secondary IPs",
            instance.name,
            instance.hypervisor,
            if instance.bare_metal {
                ", bare metal"
            } else {
                ""
            }
        ));
    }
    let (ip_words, ip_numbers, per_eni) = per_eni(instance, prefixes);
    let pool = enis.saturating_mul(per_eni);
    let reserved = reserved_total(&options.reserved);
    let pod_ips = pool.saturating_sub(reserved);
    out.enis_for_pods = Some(enis);
    out.pool_ips = Some(pool);
    out.reserved_ips = options.reserved.clone();
    out.pod_ips = Some(pod_ips);
    out.prefix_delegation = prefixes;
    out.max_pods = pod_ips.saturating_add(host_pods);
    let purposes: Vec<&str> = options
        .reserved
        .iter()
        .map(|r| r.purpose.as_str())
        .collect();
    out.formula_in_words = format!(
        "pool = (ENIs - first interface index) * {ip_words}; \
         pod IPs = pool - the agent's own addresses; max pods = pod IPs + host-network pods"
    );
    out.formula = format!(
        "({} - {first}) * {ip_numbers} = {pool}; {pool} - {reserved} ({}) = {pod_ips}; \
         {pod_ips} + {host_pods} = {}",
        instance.enis,
        if purposes.is_empty() {
            "none".to_string()
        } else {
            purposes.join(", ")
        },
        out.max_pods
    );
    let mut recommended = out.max_pods;
    if let Some(cap) = out.max_pods_cap.filter(|cap| out.max_pods > *cap) {
        recommended = cap;
        out.notes.push(format!(
            "Kubernetes guidance allows {cap} pods for {} vCPUs: keep kubelet max-pods at {cap} or below",
            instance.vcpus.unwrap_or_default()
        ));
    }
    let supported =
        format!("pods this node gives IPs to ({pod_ips} pod IPs + {host_pods} host-network pods)");
    compare_with_eks_default(out, out.max_pods, recommended, &supported);
}

fn overlay(instance: &InstanceType, out: &mut Capacity) {
    let default = out.eks_default_max_pods;
    out.max_pods = default;
    out.formula_in_words = format!("ENIs * (IPv4 per ENI - 1) + {EKS_HOST_NETWORK_PODS}");
    out.formula = format!(
        "{} * ({} - 1) + {EKS_HOST_NETWORK_PODS} = {default}",
        instance.enis, instance.ipv4_per_eni
    );
    let guidance = match out.max_pods_cap {
        Some(cap) if default > cap => format!(
            ", which is already above the {cap} pods Kubernetes guidance allows for {} vCPUs",
            instance.vcpus.unwrap_or_default()
        ),
        Some(cap) => format!(
            ": raise it up to the {cap} pods Kubernetes guidance allows for {} vCPUs",
            instance.vcpus.unwrap_or_default()
        ),
        None => String::new(),
    };
    out.notes.push(format!(
        "ENIs do not bound pods in overlay mode, yet the EKS AMI still sets kubelet max-pods \
         to {default} from the ENI formula until you change it{guidance}"
    ));
}

/// `over_schedules` and a note comparing the AMI default with `ip_bound`,
/// the pods that can get an IP, and the max-pods value to set instead.
fn compare_with_eks_default(out: &mut Capacity, ip_bound: u32, recommended: u32, what: &str) {
    let default = out.eks_default_max_pods;
    out.over_schedules = Some(default > ip_bound);
    if default > ip_bound {
        out.notes.push(format!(
            "the EKS AMI default of {default} max pods is above the {ip_bound} {what}: kubelet \
             would admit {} pods that wait in ContainerCreating without an IP; set kubelet \
             max-pods to {recommended}",
            default - ip_bound
        ));
    } else if recommended > default {
        out.notes.push(format!(
            "the EKS AMI default of {default} max pods stays in force until you raise kubelet \
             max-pods to {recommended}"
        ));
    }
}

#[cfg(test)]
mod tests;
