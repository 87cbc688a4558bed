//! `capacity`: pods per node for EC2 instance types, by IPAM mode.

use clap::{Args, ValueEnum};
use doctor_core::capacity::{
    self, Capacity, CapacityOptions, Mode, EKS_HOST_NETWORK_PODS, LARGE_NODE_MAX_PODS,
    SMALL_NODE_MAX_PODS, SMALL_NODE_MAX_VCPUS,
};
use doctor_core::knowledge::{CiliumMinor, Knowledge};
use doctor_core::version::Minor;

use crate::error::{did_you_mean, CliError};
use crate::output::{self, Align, Format};

#[derive(Debug, Args)]
pub struct CapacityArgs {
    /// EC2 instance type, e.g. m5.large (repeatable).
    #[arg(
        long = "instance-type",
        value_name = "TYPE",
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    instance_types: Vec<String>,
    /// Every instance type the tool knows.
    #[arg(long)]
    all: bool,
    /// How pods get their IPs.
    #[arg(long, value_enum, default_value_t = ModeArg::VpcCni)]
    mode: ModeArg,
    /// Assign /28 prefixes instead of single IPs (nitro instances only).
    #[arg(long)]
    prefix_delegation: bool,
    /// vpc-cni: custom networking (the primary ENI holds no pod IPs).
    #[arg(long)]
    custom_networking: bool,
    /// vpc-cni: use at most N ENIs.
    #[arg(long, value_name = "N")]
    max_enis: Option<u32>,
    #[command(flatten)]
    cilium: CiliumEniFlags,
    #[arg(long, value_enum, default_value_t = Format::Text)]
    format: Format,
}

/// How Cilium's ENI IPAM is set up on the nodes: `capacity --mode
/// cilium-eni` and `generate max-pods` take the same flags.
#[derive(Debug, Args)]
pub(crate) struct CiliumEniFlags {
    /// cilium-eni: the first ENI index whose IPs serve pods (Helm
    /// eni.firstInterfaceIndex; default 0).
    #[arg(long, value_name = "N")]
    first_interface_index: Option<u32>,
    /// cilium-eni: pods on the host network, which need no pod IP (default 2).
    #[arg(long, value_name = "N")]
    host_network_pods: Option<u32>,
    /// cilium-eni: the Cilium minor whose operator rules apply (default: the
    /// newest known).
    #[arg(long, value_name = "X.Y")]
    cilium_version: Option<String>,
    /// cilium-eni: endpoint health checking is off (Helm
    /// endpointHealthChecking.enabled=false, or healthChecking=false): the
    /// agent keeps no health address.
    #[arg(long)]
    no_endpoint_health_checking: bool,
    /// cilium-eni: Envoy config is on (Ingress, Gateway API, envoyConfig or the
    /// Envoy L7 load balancer): the agent keeps an ingress address too.
    #[arg(long)]
    envoy_config: bool,
}

impl CiliumEniFlags {
    /// The Cilium minor `--cilium-version` names, else the newest known.
    pub(crate) fn minor<'k>(&self, knowledge: &'k Knowledge) -> Result<&'k CiliumMinor, CliError> {
        let Some(text) = &self.cilium_version else {
            return Ok(knowledge.newest_cilium());
        };
        let known = || {
            let minors: Vec<String> = knowledge
                .cilium
                .iter()
                .map(|c| c.minor.to_string())
                .collect();
            minors.join(", ")
        };
        let minor: Minor = text
            .parse()
            .map_err(|e| CliError(format!("--cilium-version: {e}")))?;
        knowledge
            .cilium_minor(minor)
            .ok_or_else(|| CliError(format!("unknown Cilium minor {minor} (known: {})", known())))
    }

    /// The flags' settings, with the addresses the agent of `cilium` keeps.
    pub(crate) fn apply(&self, options: &mut CapacityOptions, cilium: &CiliumMinor) {
        options.first_interface_index = self.first_interface_index;
        options.host_network_pods = self.host_network_pods;
        options.prefix_delegation_on_bare_metal = cilium.prefix_delegation_on_bare_metal;
        // The agent options the flags stand for; the rest keep Cilium's defaults.
        options.reserved = capacity::reserved_ips(cilium, |key| match key {
            "enable-endpoint-health-checking" if self.no_endpoint_health_checking => {
                Some("false".into())
            }
            "enable-envoy-config" if self.envoy_config => Some("true".into()),
            _ => None,
        });
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ModeArg {
    /// The AWS VPC CNI (what the EKS AMI's max pods assume).
    VpcCni,
    /// Cilium ENI IPAM.
    CiliumEni,
    /// Cilium overlay IPAM (cluster-pool, multi-pool, kubernetes).
    Overlay,
}

impl From<ModeArg> for Mode {
    fn from(mode: ModeArg) -> Mode {
        match mode {
            ModeArg::VpcCni => Mode::VpcCni,
            ModeArg::CiliumEni => Mode::CiliumEni,
            ModeArg::Overlay => Mode::Overlay,
        }
    }
}

pub fn run(args: &CapacityArgs, knowledge: &Knowledge) -> Result<(), CliError> {
    let cilium = cilium_minor(args, knowledge)?;
    let options = options(args, cilium)?;
    let instances = if args.all {
        knowledge.instances.values().collect()
    } else {
        args.instance_types
            .iter()
            .map(|name| lookup(knowledge, name))
            .collect::<Result<Vec<_>, _>>()?
    };
    let results: Vec<Capacity> = instances
        .into_iter()
        .map(|it| capacity::capacity(it, &options))
        .collect();
    let text = match args.format {
        Format::Json => output::json(&results)?,
        Format::Text => render_text(&results, cilium),
    };
    output::emit(&text)
}

/// The Cilium minor for cilium-eni mode; `--cilium-version` elsewhere is refused.
fn cilium_minor<'k>(
    args: &CapacityArgs,
    knowledge: &'k Knowledge,
) -> Result<Option<&'k CiliumMinor>, CliError> {
    let flags = &args.cilium;
    if args.mode != ModeArg::CiliumEni {
        let misplaced = [
            ("--cilium-version", flags.cilium_version.is_some()),
            (
                "--no-endpoint-health-checking",
                flags.no_endpoint_health_checking,
            ),
            ("--envoy-config", flags.envoy_config),
        ];
        return match misplaced.iter().find(|(_, given)| *given) {
            Some((flag, _)) => Err(CliError(format!(
                "{flag} applies to --mode cilium-eni only, not {}",
                Mode::from(args.mode)
            ))),
            None => Ok(None),
        };
    }
    flags.minor(knowledge).map(Some)
}

fn options(args: &CapacityArgs, cilium: Option<&CiliumMinor>) -> Result<CapacityOptions, CliError> {
    let mut options = CapacityOptions::new(args.mode.into());
    options.prefix_delegation = args.prefix_delegation;
    options.custom_networking = args.custom_networking;
    options.max_enis = args.max_enis;
    options.first_interface_index = args.cilium.first_interface_index;
    options.host_network_pods = args.cilium.host_network_pods;
    if let Some(minor) = cilium {
        args.cilium.apply(&mut options, minor);
    }
    options.check().map_err(CliError)?;
    Ok(options)
}

pub(crate) fn lookup<'k>(
    knowledge: &'k Knowledge,
    name: &str,
) -> Result<&'k doctor_core::knowledge::InstanceType, CliError> {
    knowledge.instance(name).ok_or_else(|| {
        let suggestions = knowledge.closest_instance_types(name, 3);
        let hint = match did_you_mean(&suggestions) {
            hint if hint.is_empty() => " (`capacity --all` lists the known types)".to_string(),
            hint => hint,
        };
        CliError(format!("unknown instance type {name:?}{hint}"))
    })
}

fn optional(value: Option<u32>) -> String {
    value.map_or_else(|| "-".to_string(), |v| v.to_string())
}

fn yes_no(value: Option<bool>) -> String {
    match value {
        Some(true) => "yes".into(),
        Some(false) => "no".into(),
        None => "-".into(),
    }
}

fn render_text(results: &[Capacity], cilium: Option<&CiliumMinor>) -> String {
    // The pool and the agent's own addresses exist in Cilium ENI mode only.
    let pool = results.iter().any(|c| c.pool_ips.is_some());
    let mut columns = vec![
        ("INSTANCE TYPE", Align::Left),
        ("MODE", Align::Left),
        ("ENIS", Align::Right),
        ("IPV4/ENI", Align::Right),
        ("VCPUS", Align::Right),
    ];
    if pool {
        columns.extend([("POOL IPS", Align::Right), ("RESERVED", Align::Right)]);
    }
    columns.extend([
        ("POD IPS", Align::Right),
        ("MAX PODS", Align::Right),
        ("EKS DEFAULT", Align::Right),
        ("OVER-SCHEDULES", Align::Left),
    ]);
    let rows: Vec<Vec<String>> = results
        .iter()
        .map(|c| {
            let mut row = vec![
                c.instance_type.clone(),
                c.mode.to_string(),
                c.enis.to_string(),
                c.ipv4_per_eni.to_string(),
                optional(c.vcpus),
            ];
            if pool {
                row.push(optional(c.pool_ips));
                row.push(optional(
                    c.pool_ips
                        .map(|_| capacity::reserved_total(&c.reserved_ips)),
                ));
            }
            row.extend([
                optional(c.pod_ips),
                c.max_pods.to_string(),
                c.eks_default_max_pods.to_string(),
                yes_no(c.over_schedules),
            ]);
            row
        })
        .collect();
    let mut out = output::table(&columns, &rows);
    if let [single] = results {
        out.push('\n');
        out.push_str(&details(single, cilium));
    }
    out
}

/// The formula in words and numbers, and the notes, for one result.
fn details(c: &Capacity, cilium: Option<&CiliumMinor>) -> String {
    let vcpus = c
        .vcpus
        .map_or("unknown vCPUs".to_string(), |v| format!("{v} vCPUs"));
    let mut heading = format!(
        "{} ({} ENIs, {} IPv4 per ENI, {vcpus}, hypervisor {}{}) in {} mode",
        c.instance_type,
        c.enis,
        c.ipv4_per_eni,
        c.hypervisor,
        if c.bare_metal { ", bare metal" } else { "" },
        c.mode
    );
    if let Some(minor) = cilium {
        heading += &format!(" (Cilium {} operator)", minor.minor);
    }
    if c.prefix_delegation {
        heading += " with prefix delegation";
    }
    let mut out = heading + "\n";
    // Each `; `-separated step of a formula gets its own line.
    out += &labelled("formula:", c.formula_in_words.split("; "));
    out += &labelled("numbers:", c.formula.split("; "));
    out += &format!(
        "  EKS default:  {} * ({} - 1) + {EKS_HOST_NETWORK_PODS} = {} max pods (what the EKS AMI sets)\n",
        c.enis, c.ipv4_per_eni, c.eks_default_max_pods
    );
    if let Some(cap) = c.max_pods_cap {
        let guidance = format!(
            "at most {cap} pods per node (Kubernetes scalability guidance as EKS applies it: \
             {SMALL_NODE_MAX_PODS} up to {SMALL_NODE_MAX_VCPUS} vCPUs, {LARGE_NODE_MAX_PODS} above)"
        );
        out += &labelled("guidance:", [guidance.as_str()]);
    }
    let reserved: Vec<String> = c
        .reserved_ips
        .iter()
        .map(|r| format!("{} {} ({})", r.count, r.purpose.as_str(), r.setting))
        .collect();
    if !reserved.is_empty() {
        out += &labelled("agent keeps:", reserved.iter().map(String::as_str));
    }
    for note in &c.notes {
        out += &labelled("note:", [note.as_str()]);
    }
    out
}

/// `  label:  text`, one line (wrapped and aligned) per part.
fn labelled<'a>(label: &str, parts: impl IntoIterator<Item = &'a str>) -> String {
    const INDENT: &str = "                ";
    let mut out = String::new();
    for (i, part) in parts.into_iter().enumerate() {
        let first = if i == 0 {
            format!("  {label:<14}")
        } else {
            INDENT.to_string()
        };
        out += &output::wrap(part, 100, &first, INDENT);
    }
    out
}
