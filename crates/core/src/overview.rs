//! The cluster at a glance, for the report page and `serve`: pod-IP
//! capacity per node group and node, and the running versions against the
//! knowledge's compatibility facts. A pure function of the model and the
//! knowledge; the numbers come from the same helpers the CAP and VER rules
//! use, so the page and the findings cannot disagree.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::knowledge::{CalendarSource, Knowledge};
use crate::model::{Cluster, Node};
use crate::rules::cap::common::{self, Ipam};
use crate::rules::cap::ip_capacity;
use crate::rules::ver::{family_name, family_of_os_image, MAINTAINED_MINORS};
use crate::rules::{CheckOptions, Context};
use crate::version::{Date, KernelVersion, Minor, Version};

/// Nodes drawn per node group: beyond this the page shows the most used
/// ones and says how many it left out (a 5,000-node cluster stays usable).
pub const TOP_NODES_PER_GROUP: usize = 20;

/// Everything the report page shows besides the findings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Overview {
    pub ipam: IpamView,
    pub node_groups: Vec<NodeGroup>,
    pub nodes_total: usize,
    pub versions: Versions,
    /// Freshness of each input source; empty for `check` (one-shot), filled
    /// by `serve` for its API server and AWS collections.
    pub sources: Vec<SourceStatus>,
}

/// One input source of a long-running evaluation (`serve`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SourceStatus {
    pub name: String,
    /// The last collection failed: the page shows the last good evaluation.
    pub stale: bool,
    /// RFC 3339 time of the last successful collection.
    pub last_success: Option<String>,
    pub error: Option<String>,
}

/// How pods get their IPs, which decides what "IP capacity" means.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct IpamView {
    /// `eni`, `overlay`, `chained-vpc-cni`, `other`, `not-installed` or `unknown`.
    pub kind: &'static str,
    /// Cilium's `ipam` setting as configured.
    pub mode: Option<String>,
    pub prefix_delegation: bool,
    /// One sentence on what bounds pods per node in this mode.
    pub explanation: String,
}

/// The nodes of one EKS managed node group, Karpenter NodePool, or the
/// nodes that belong to neither.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeGroup {
    /// `Nodegroup`, `NodePool`, or empty for nodes outside any group.
    pub kind: &'static str,
    pub name: String,
    pub instance_types: Vec<String>,
    pub node_count: usize,
    pub pod_ips_used: u64,
    /// Sum over the nodes whose IP capacity is known; `None` when none is.
    pub ip_capacity: Option<u64>,
    /// Nodes whose IP capacity is not known (overlay, unknown instance type).
    pub nodes_without_ip_capacity: usize,
    /// Nodes whose kubelet admits more pods needing an IP than it has IPs.
    pub nodes_over_ip_capacity: usize,
    /// The most used nodes, most used first, at most [`TOP_NODES_PER_GROUP`].
    pub nodes: Vec<NodeCapacity>,
    /// Nodes of the group not in `nodes`.
    pub nodes_not_shown: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeCapacity {
    pub name: String,
    pub instance_type: Option<String>,
    /// Live pods on the node that are not on the host network.
    pub pod_ips_used: u32,
    pub host_network_pods: u32,
    /// Pod IPs the node can hold in the cluster's IPAM mode (ENI mode only).
    pub ip_capacity: Option<u32>,
    /// How `ip_capacity` was computed, with this node's numbers.
    pub ip_capacity_formula: Option<String>,
    /// Where the instance type's ENI limits came from.
    pub limits_source: Option<&'static str>,
    /// kubelet max pods (`status.capacity.pods`).
    pub kubelet_max_pods: Option<u32>,
    /// `status.allocatable.pods`.
    pub allocatable_pods: Option<u32>,
    /// kubelet max pods minus host-network pods is above the IP capacity
    /// (CAP001's test); `None` when either side is unknown.
    pub max_pods_exceeds_ip_capacity: Option<bool>,
}

/// The running versions and what the knowledge says about them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Versions {
    /// Control plane, e.g. `v1.32.9-eks-113cf36` (or `1.32` from EKS).
    pub kubernetes: Option<String>,
    pub cilium: Option<String>,
    pub cilium_images: Vec<String>,
    /// kubelet versions, with how many nodes run each.
    pub kubelets: Vec<Count>,
    pub kernels: Vec<Count>,
    pub os_images: Vec<Count>,
    /// EKS managed node groups: AMI type and release.
    pub node_group_amis: Vec<NodeGroupAmi>,
    /// The EKS calendar of the control plane's minor.
    pub eks_support: Option<EksSupport>,
    /// Verdicts that do not depend on the date (see [`Versions::support_check`]).
    pub checks: Vec<VersionCheck>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Count {
    pub value: String,
    pub nodes: usize,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NodeGroupAmi {
    pub node_group: String,
    pub ami_type: Option<String>,
    pub release_version: Option<String>,
    pub kubernetes: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct EksSupport {
    pub kubernetes: Minor,
    /// `None` when DescribeClusterVersions gave no release date.
    pub eks_release: Option<Date>,
    pub end_of_standard_support: Date,
    pub end_of_extended_support: Date,
    /// DescribeClusterVersions in the snapshot, or the embedded calendar.
    pub source: CalendarSource,
}

/// One row of the versions table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct VersionCheck {
    pub subject: &'static str,
    pub running: String,
    /// What the knowledge says, e.g. `tested with Kubernetes 1.28–1.31`.
    pub knowledge: String,
    pub verdict: Verdict,
    pub detail: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Ok,
    Warning,
    Problem,
    Unknown,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Ok => "ok",
            Verdict::Warning => "warning",
            Verdict::Problem => "problem",
            Verdict::Unknown => "unknown",
        }
    }
}

impl Overview {
    /// The overview of one cluster on its own (tests, `serve`'s first page).
    pub fn build(cluster: &Cluster, knowledge: &Knowledge) -> Overview {
        // The capacity helpers take a rule context but read no option.
        let options = CheckOptions::default();
        Overview::of(&Context::new(cluster, knowledge, &options))
    }

    /// The overview from an evaluation's context, sharing its facts.
    pub fn of(cx: &Context) -> Overview {
        let (cluster, knowledge) = (cx.cluster, cx.knowledge);
        let ipam = common::ipam_of(cluster);
        let nodes = cluster.nodes.as_deref().unwrap_or_default();
        Overview {
            ipam: ipam_view(cluster, &ipam),
            node_groups: node_groups(cx, ipam.ok().flatten().as_ref()),
            nodes_total: nodes.len(),
            versions: versions(cluster, knowledge),
            sources: Vec::new(),
        }
    }
}

fn ipam_view(c: &Cluster, ipam: &Result<Option<Ipam>, (&str, &str)>) -> IpamView {
    let mode = c.cilium.ipam_mode.clone();
    let prefix_delegation = c.cilium.prefix_delegation;
    let (kind, explanation) = match ipam {
        Ok(Some(Ipam::Eni)) => (
            "eni",
            format!(
                "Cilium ENI mode: pod IPs are VPC addresses on the node's ENIs, so the \
                 instance type bounds pods per node{}.",
                if prefix_delegation {
                    " (with /28 prefixes where the instance supports them)"
                } else {
                    ""
                }
            ),
        ),
        Ok(Some(Ipam::Overlay(m))) => (
            "overlay",
            format!(
                "Cilium overlay IPAM ({m}): pod IPs come from a pod CIDR, not from ENIs; \
                 the kubelet's max pods is the bound per node."
            ),
        ),
        Ok(Some(Ipam::ChainedVpcCni)) => (
            "chained-vpc-cni",
            "Cilium chained onto the VPC CNI: the VPC CNI assigns pod IPs; its capacity \
             is not computed here."
                .to_string(),
        ),
        Ok(Some(Ipam::Other(m))) => (
            "other",
            format!("Cilium IPAM {m}: IP capacity per node is not computed for this mode."),
        ),
        Ok(None) => (
            "not-installed",
            "Cilium is not installed: no IP capacity is computed.".to_string(),
        ),
        Err((missing, how)) => ("unknown", format!("Not known: {missing}. Provide: {how}")),
    };
    IpamView {
        kind,
        mode,
        prefix_delegation,
        explanation,
    }
}

fn node_groups(cx: &Context, ipam: Option<&Ipam>) -> Vec<NodeGroup> {
    let Some(nodes) = cx.cluster.nodes.as_deref() else {
        return Vec::new();
    };
    let host_pods = cx.facts.host_network_pods_per_node();
    let used = cx.facts.pod_network_pods_per_node();
    let cilium_nodes = cx.facts.cilium_nodes_by_name();
    let pools = ip_capacity::EniPools::of(cx);
    let mut groups: BTreeMap<(&'static str, String), Vec<NodeCapacity>> = BTreeMap::new();
    for node in nodes {
        let name = node.metadata.name.as_str();
        let cn = cilium_nodes.get(name).copied();
        let itype = common::instance_type(node, cn);
        let host = host_pods.get(name).copied().unwrap_or(0);
        let kubelet_max_pods = node.max_pods();
        let mut row = NodeCapacity {
            name: name.to_string(),
            instance_type: itype.map(str::to_string),
            pod_ips_used: used.get(name).copied().unwrap_or(0),
            host_network_pods: host,
            ip_capacity: None,
            ip_capacity_formula: None,
            limits_source: None,
            kubelet_max_pods,
            allocatable_pods: node
                .status
                .allocatable
                .get("pods")
                .and_then(|p| p.parse().ok()),
            max_pods_exceeds_ip_capacity: None,
        };
        // Only ENI mode ties pod IPs to the instance type (CAP001's formula).
        if let (Some(Ipam::Eni), Some(itype)) = (ipam, itype) {
            if let Some(limits) = ip_capacity::instance_limits(cx, itype) {
                let (fii, _) = common::first_interface_index(cx, cn);
                let node_pd_off =
                    cn.and_then(|c| c.spec.eni.disable_prefix_delegation) == Some(true);
                let pd_on = cx.cluster.cilium.prefix_delegation && !node_pd_off;
                let cap = pools.node(&limits.it, fii, pd_on);
                let ips = cap.pod_ips.unwrap_or(0);
                row.ip_capacity = Some(ips);
                row.ip_capacity_formula = Some(ip_capacity::cilium_eni_formula(&cap, fii));
                row.limits_source = Some(limits.source.describe());
                row.max_pods_exceeds_ip_capacity =
                    kubelet_max_pods.map(|m| m.saturating_sub(host) > ips);
            }
        }
        let key = common::node_group(node).map_or(("", String::new()), |(k, n)| (k, n.into()));
        groups.entry(key).or_default().push(row);
    }
    groups
        .into_iter()
        .map(|((kind, name), mut rows)| {
            let instance_types: BTreeSet<String> = rows
                .iter()
                .filter_map(|r| r.instance_type.clone())
                .collect();
            let known: Vec<u32> = rows.iter().filter_map(|r| r.ip_capacity).collect();
            let node_count = rows.len();
            let group = NodeGroup {
                kind,
                name,
                instance_types: instance_types.into_iter().collect(),
                node_count,
                pod_ips_used: rows.iter().map(|r| u64::from(r.pod_ips_used)).sum(),
                ip_capacity: (!known.is_empty()).then(|| known.iter().map(|&c| u64::from(c)).sum()),
                nodes_without_ip_capacity: node_count - known.len(),
                nodes_over_ip_capacity: rows
                    .iter()
                    .filter(|r| r.max_pods_exceeds_ip_capacity == Some(true))
                    .count(),
                nodes: Vec::new(),
                nodes_not_shown: node_count.saturating_sub(TOP_NODES_PER_GROUP),
            };
            rows.sort_by(|a, b| usage(b).cmp(&usage(a)).then_with(|| a.name.cmp(&b.name)));
            rows.truncate(TOP_NODES_PER_GROUP);
            NodeGroup {
                nodes: rows,
                ..group
            }
        })
        .collect()
}

/// How full a node is, in millionths of its bound (IP capacity, else the
/// kubelet's max pods), for "most used first".
fn usage(r: &NodeCapacity) -> u64 {
    let bound = r
        .ip_capacity
        .or(r
            .kubelet_max_pods
            .map(|m| m.saturating_sub(r.host_network_pods)))
        .unwrap_or(0);
    match bound {
        0 if r.pod_ips_used > 0 => u64::MAX,
        0 => 0,
        b => u64::from(r.pod_ips_used) * 1_000_000 / u64::from(b),
    }
}

/// Distinct values with their node counts, most common first.
fn counts<'a>(values: impl Iterator<Item = &'a str>) -> Vec<Count> {
    let mut by: BTreeMap<&str, usize> = BTreeMap::new();
    for v in values.filter(|v| !v.is_empty()) {
        *by.entry(v).or_default() += 1;
    }
    let mut out: Vec<Count> = by
        .into_iter()
        .map(|(value, nodes)| Count {
            value: value.to_string(),
            nodes,
        })
        .collect();
    out.sort_by(|a, b| b.nodes.cmp(&a.nodes).then_with(|| a.value.cmp(&b.value)));
    out
}

fn versions(c: &Cluster, k: &Knowledge) -> Versions {
    let nodes: &[Node] = c.nodes.as_deref().unwrap_or_default();
    let info = |f: fn(&Node) -> &str| counts(nodes.iter().map(f));
    let kubernetes_minor = c.kubernetes_version().map(Version::minor);
    let cilium = c.cilium.version;
    let mut checks = Vec::new();
    if let Some(running) = cilium {
        checks.extend(cilium_checks(k, running, kubernetes_minor));
        if let Some(m) = k.cilium_minor(running.minor()) {
            checks.push(kernel_check(nodes, running.minor(), m.min_kernel));
        }
    }
    if let Some(minor) = kubernetes_minor {
        checks.push(ami_kernel_check(c, k, minor, cilium));
    }
    Versions {
        kubernetes: c
            .server_version
            .as_ref()
            .map(|v| v.git_version.clone())
            .filter(|v| !v.is_empty())
            .or_else(|| c.kubernetes_version().map(|v| v.to_string())),
        cilium: cilium.map(|v| v.to_string()),
        cilium_images: c.cilium.agent_images.clone(),
        kubelets: info(|n| &n.status.node_info.kubelet_version),
        kernels: info(|n| &n.status.node_info.kernel_version),
        os_images: info(|n| &n.status.node_info.os_image),
        node_group_amis: c
            .nodegroups
            .as_deref()
            .unwrap_or_default()
            .iter()
            .map(|ng| NodeGroupAmi {
                node_group: ng.nodegroup_name.clone(),
                ami_type: ng.ami_type.clone(),
                release_version: ng.release_version.clone(),
                kubernetes: ng.version.clone(),
            })
            .collect(),
        eks_support: kubernetes_minor
            .and_then(|m| k.support_calendar(c, m))
            .map(|v| EksSupport {
                kubernetes: v.version,
                eks_release: v.eks_release,
                end_of_standard_support: v.end_of_standard_support,
                end_of_extended_support: v.end_of_extended_support,
                source: v.source,
            }),
        checks,
    }
}

/// Cilium against Kubernetes, its minor's latest patch, and the
/// maintained minors.
fn cilium_checks(k: &Knowledge, running: Version, kubernetes: Option<Minor>) -> Vec<VersionCheck> {
    let minor = running.minor();
    let Some(m) = k.cilium_minor(minor) else {
        return vec![VersionCheck {
            subject: "Cilium release",
            running: running.to_string(),
            knowledge: format!("known minors: {}", k.cilium_minors_list()),
            verdict: Verdict::Unknown,
            detail: format!("Cilium {minor} is not in the tool's data."),
        }];
    };
    let tested = crate::rules::ver::minor_range(&m.k8s_tested);
    let compat = match kubernetes {
        Some(kube) if m.k8s_tested.contains(&kube) => VersionCheck {
            subject: "Cilium × Kubernetes",
            running: format!("Cilium {minor} on Kubernetes {kube}"),
            knowledge: format!("Cilium {minor} is tested with Kubernetes {tested}"),
            verdict: Verdict::Ok,
            detail: "This pair is in Cilium's e2e-tested matrix.".into(),
        },
        Some(kube) => VersionCheck {
            subject: "Cilium × Kubernetes",
            running: format!("Cilium {minor} on Kubernetes {kube}"),
            knowledge: format!("Cilium {minor} is tested with Kubernetes {tested}"),
            verdict: Verdict::Problem,
            detail: format!("Kubernetes {kube} is not in Cilium {minor}'s tested versions."),
        },
        None => VersionCheck {
            subject: "Cilium × Kubernetes",
            running: format!("Cilium {minor}"),
            knowledge: format!("Cilium {minor} is tested with Kubernetes {tested}"),
            verdict: Verdict::Unknown,
            detail: "The Kubernetes version is not in the inputs.".into(),
        },
    };
    let patch = VersionCheck {
        subject: "Cilium patch",
        running: running.to_string(),
        knowledge: format!(
            "{} of {minor}, published {}",
            k.latest_known_patch(m),
            m.latest_patch_published
        ),
        verdict: if running >= m.latest_patch {
            Verdict::Ok
        } else {
            Verdict::Warning
        },
        detail: if running >= m.latest_patch {
            "On the latest known patch of its minor.".into()
        } else {
            let behind = m.latest_patch.patch.saturating_sub(running.patch);
            format!("{behind} patch release(s) behind within {minor}.")
        },
    };
    let maintained: Vec<Minor> = k
        .cilium
        .iter()
        .rev()
        .take(MAINTAINED_MINORS)
        .map(|c| c.minor)
        .collect();
    let in_support = maintained.contains(&minor) || maintained.first().is_some_and(|n| minor > *n);
    let support = VersionCheck {
        subject: "Cilium support",
        running: minor.to_string(),
        knowledge: format!(
            "maintained minors: {}",
            maintained
                .iter()
                .map(Minor::to_string)
                .collect::<Vec<_>>()
                .join(", ")
        ),
        verdict: if in_support {
            Verdict::Ok
        } else {
            Verdict::Problem
        },
        detail: if in_support {
            "Among the minors that get patch releases.".into()
        } else {
            format!("Older than the {MAINTAINED_MINORS} newest minors: no more patch releases.")
        },
    };
    vec![compat, patch, support]
}

fn kernel_check(nodes: &[Node], minor: Minor, minimum: KernelVersion) -> VersionCheck {
    let mut below = 0usize;
    let mut unreadable = 0usize;
    let mut lowest: Option<KernelVersion> = None;
    for n in nodes {
        let text = n.status.node_info.kernel_version.as_str();
        match text.parse::<KernelVersion>() {
            Ok(v) => {
                below += usize::from(v < minimum);
                lowest = Some(lowest.map_or(v, |l| l.min(v)));
            }
            Err(_) => unreadable += usize::from(!text.is_empty()),
        }
    }
    let (verdict, detail) = match lowest {
        None => (
            Verdict::Unknown,
            "No node reports its kernel version.".to_string(),
        ),
        Some(_) if below > 0 => (
            Verdict::Problem,
            format!("{below} node(s) run a kernel below the minimum."),
        ),
        Some(_) if unreadable > 0 => (
            Verdict::Warning,
            format!("{unreadable} node(s) report a kernel version that does not parse."),
        ),
        Some(_) => (Verdict::Ok, "Every node meets the minimum.".to_string()),
    };
    VersionCheck {
        subject: "Node kernels",
        running: lowest.map_or_else(|| "unknown".into(), |l| format!("lowest {l}")),
        knowledge: format!("Cilium {minor} requires kernel >= {minimum}"),
        verdict,
        detail,
    }
}

/// The kernel series the nodes' AMI families ship for this Kubernetes
/// minor, against the running Cilium's minimum.
fn ami_kernel_check(
    c: &Cluster,
    k: &Knowledge,
    kubernetes: Minor,
    cilium: Option<Version>,
) -> VersionCheck {
    let families: BTreeSet<_> = c
        .nodes
        .as_deref()
        .unwrap_or_default()
        .iter()
        .filter_map(|n| family_of_os_image(&n.status.node_info.os_image))
        .collect();
    let minimum = cilium
        .and_then(|v| k.cilium_minor(v.minor()))
        .map(|m| m.min_kernel);
    let mut shipped = Vec::new();
    let mut verdict = if families.is_empty() {
        Verdict::Unknown
    } else {
        Verdict::Ok
    };
    for f in &families {
        match k.ami_kernel(*f, kubernetes) {
            Some(series) => {
                shipped.push(format!("{} ships kernel {series}", family_name(*f)));
                // VER005's test: the series against the minimum's major.minor.
                if minimum.is_some_and(|min| (series.major, series.minor) < (min.major, min.minor))
                {
                    verdict = Verdict::Problem;
                }
            }
            None => {
                shipped.push(format!("{}: not in the data", family_name(*f)));
                if verdict == Verdict::Ok {
                    verdict = Verdict::Unknown;
                }
            }
        }
    }
    VersionCheck {
        subject: "AMI kernel",
        running: if families.is_empty() {
            "no EKS-optimised AMI recognised".into()
        } else {
            families
                .iter()
                .map(|f| family_name(*f))
                .collect::<Vec<_>>()
                .join(", ")
        },
        knowledge: if shipped.is_empty() {
            format!("EKS AMIs for Kubernetes {kubernetes}")
        } else {
            format!("for Kubernetes {kubernetes}: {}", shipped.join("; "))
        },
        verdict,
        detail: match minimum {
            Some(min) => format!("Against Cilium's minimum kernel {min}."),
            None => "The running Cilium's minimum kernel is not known.".into(),
        },
    }
}

impl Versions {
    /// Where the control plane's minor stands in the EKS calendar on `as_of`.
    pub fn support_check(&self, as_of: Date) -> Option<VersionCheck> {
        let s = self.eks_support.as_ref()?;
        let knowledge = format!(
            "EKS {}: standard support until {}, extended until {} ({})",
            s.kubernetes, s.end_of_standard_support, s.end_of_extended_support, s.source
        );
        let (verdict, detail) = if as_of < s.end_of_standard_support {
            (
                Verdict::Ok,
                format!(
                    "In standard support for {} more day(s).",
                    as_of.days_until(s.end_of_standard_support)
                ),
            )
        } else if as_of < s.end_of_extended_support {
            (
                Verdict::Warning,
                format!(
                    "In extended support (extra cost); EKS upgrades the control plane after {}.",
                    s.end_of_extended_support
                ),
            )
        } else {
            (
                Verdict::Problem,
                "Past the end of extended support: EKS upgrades the control plane.".to_string(),
            )
        };
        Some(VersionCheck {
            subject: "EKS support",
            running: format!("Kubernetes {} as of {as_of}", s.kubernetes),
            knowledge,
            verdict,
            detail,
        })
    }
}

#[cfg(test)]
mod tests;
