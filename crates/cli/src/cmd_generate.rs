//! `generate`: artifacts that fix what `check` finds (IAM and trust
//! policies, Helm values, alerting rules, the aws-node patch).

use clap::{Args, Subcommand, ValueEnum};
use doctor_core::capacity::{CapacityOptions, Mode as CapacityMode};
use doctor_core::generate::alerts::{self, AlertOptions};
use doctor_core::generate::cidr::Ipv4Net;
use doctor_core::generate::grafana::{self, DashboardOptions};
use doctor_core::generate::helm_values::{self, ApiServer, HelmOptions, Mode};
use doctor_core::generate::iam_policy::{self, FeatureChoice};
use doctor_core::generate::max_pods::{self, Target};
use doctor_core::generate::trust_policy::{self, Binding, ServiceAccount};
use doctor_core::generate::{aws_node, DEFAULT_NAMESPACE, OPERATOR};
use doctor_core::knowledge::Knowledge;
use doctor_core::version::Minor;

use crate::error::CliError;
use crate::output;

#[derive(Debug, Args)]
pub struct GenerateArgs {
    #[command(subcommand)]
    what: What,
}

#[derive(Debug, Subcommand)]
enum What {
    /// The cilium-operator's least-privilege IAM policy for ENI mode (JSON).
    IamPolicy(IamPolicyArgs),
    /// The trust policy of the operator's IAM role, IRSA or EKS Pod
    /// Identity (JSON), or with --commands the AWS CLI steps.
    TrustPolicy(TrustPolicyArgs),
    /// Helm values for a Cilium minor on EKS, every key checked against
    /// that chart (YAML).
    HelmValues(HelmValuesArgs),
    /// Prometheus alerting rules with the metric names of a Cilium minor
    /// (YAML).
    Alerts(AlertsArgs),
    /// Cilium's documented aws-node patch and the vpc-cni add-on choices.
    DisableAwsNode(DisableAwsNodeArgs),
    /// A Grafana dashboard (JSON) for serve's metrics and the Cilium
    /// metrics the rules watch, with a Prometheus data source variable.
    GrafanaDashboard(GrafanaDashboardArgs),
    /// The kubelet max pods Cilium ENI mode can give IPs to, as the exact
    /// setting of nodeadm, Karpenter, Bottlerocket, eksctl or Terraform.
    MaxPods(MaxPodsArgs),
}

pub fn run(args: &GenerateArgs, knowledge: &Knowledge) -> Result<(), CliError> {
    let text = match &args.what {
        What::IamPolicy(a) => iam(a, knowledge)?,
        What::TrustPolicy(a) => trust(a, knowledge)?,
        What::HelmValues(a) => values(a, knowledge)?,
        What::Alerts(a) => alert_rules(a, knowledge)?,
        What::DisableAwsNode(a) => {
            aws_node::disable_aws_node(knowledge, a.cluster_name.as_deref())?
        }
        What::GrafanaDashboard(a) => grafana_dashboard(a, knowledge)?,
        What::MaxPods(a) => max_pods(a, knowledge)?,
    };
    output::emit(&text)
}

/// `--cilium X.Y`.
fn minor(text: &str) -> Result<Minor, CliError> {
    text.parse()
        .map_err(|e| CliError(format!("--cilium: {e} (want a minor such as 1.16)")))
}

/// One `--FEATURE` / `--no-FEATURE` pair per conditional feature id of the
/// knowledge; a test checks that every id has its pair. The default of each
/// comes from the data (ENI GC is on unless turned off).
#[derive(Debug, Args)]
pub struct IamPolicyArgs {
    /// The Cilium minor, e.g. 1.16.
    #[arg(long, value_name = "X.Y")]
    cilium: String,
    /// Releasing excess IPs (Helm eni.awsReleaseExcessIPs) is on.
    #[arg(long, conflicts_with = "no_release_excess_ips")]
    release_excess_ips: bool,
    #[arg(long, hide = true)]
    no_release_excess_ips: bool,
    /// The operator filters instances by tag (--instance-tags-filter).
    #[arg(long, conflicts_with = "no_instance_tags_filter")]
    instance_tags_filter: bool,
    #[arg(long, hide = true)]
    no_instance_tags_filter: bool,
    #[arg(long, conflicts_with = "no_eni_gc", help = feature_help(
        "eni-gc",
        "ENI garbage collection is on",
    ))]
    eni_gc: bool,
    /// ENI GC is off, or --cluster-name and --eni-gc-tags are custom.
    #[arg(long)]
    no_eni_gc: bool,
    #[arg(long, conflicts_with = "no_ec2_adapter_limit_via_api", help = feature_help(
        "ec2-adapter-limit-via-api",
        "Instance limits come from the EC2 API",
    ))]
    ec2_adapter_limit_via_api: bool,
    #[arg(long, help = feature_help(
        "ec2-adapter-limit-via-api",
        "--update-ec2-adapter-limit-via-api=false",
    ))]
    no_ec2_adapter_limit_via_api: bool,
    #[arg(long, conflicts_with = "no_static_ip", help = feature_help(
        "static-ip",
        "CiliumNodes use spec.ipam.static-ip-tags",
    ))]
    static_ip: bool,
    #[arg(long, hide = true)]
    no_static_ip: bool,
}

/// `text (X.Y-X.Z)`: the Cilium minors whose ENI IAM data has `feature`, and
/// where it is on by default, so the help never states a version the data
/// does not.
fn feature_help(feature: &str, text: &str) -> String {
    let knowledge = Knowledge::embedded();
    let having: Vec<_> = knowledge
        .cilium
        .iter()
        .filter_map(|m| {
            m.eni_conditional_actions
                .iter()
                .find(|c| c.feature == feature)
                .map(|c| (m.minor, c.enabled_by_default))
        })
        .collect();
    let (Some(first), Some(last)) = (having.first(), having.last()) else {
        return text.to_string();
    };
    let range = if last.0 == knowledge.newest_cilium().minor {
        format!("{}+", first.0)
    } else {
        format!("{}-{}", first.0, last.0)
    };
    match having.iter().find(|(_, on)| *on) {
        Some((since, _)) if having.iter().any(|(_, on)| !on) => {
            format!("{text} ({range}; on by default from {since})")
        }
        _ => format!("{text} ({range})"),
    }
}

impl IamPolicyArgs {
    /// (feature id, turned on, turned off).
    fn features(&self) -> [(&'static str, bool, bool); 5] {
        [
            (
                "release-excess-ips",
                self.release_excess_ips,
                self.no_release_excess_ips,
            ),
            (
                "instance-tags-filter",
                self.instance_tags_filter,
                self.no_instance_tags_filter,
            ),
            ("eni-gc", self.eni_gc, self.no_eni_gc),
            (
                "ec2-adapter-limit-via-api",
                self.ec2_adapter_limit_via_api,
                self.no_ec2_adapter_limit_via_api,
            ),
            ("static-ip", self.static_ip, self.no_static_ip),
        ]
    }
}

fn iam(args: &IamPolicyArgs, knowledge: &Knowledge) -> Result<String, CliError> {
    let mut choice = FeatureChoice::default();
    for (id, on, off) in args.features() {
        if on {
            choice.enable.insert(id.to_string());
        }
        if off {
            choice.disable.insert(id.to_string());
        }
    }
    let policy = iam_policy::operator_policy(knowledge, minor(&args.cilium)?, &choice)?;
    output::json(&policy)
}

#[derive(Debug, Args)]
pub struct TrustPolicyArgs {
    /// The cluster's OIDC issuer URL (aws eks describe-cluster --name NAME
    /// --query cluster.identity.oidc.issuer --output text).
    #[arg(
        long,
        value_name = "URL",
        required_unless_present = "pod_identity",
        conflicts_with = "pod_identity"
    )]
    cluster_oidc_issuer: Option<String>,
    /// The 12-digit AWS account id of the cluster.
    #[arg(long, value_name = "ID", required_unless_present = "pod_identity")]
    account: Option<String>,
    /// The operator's namespace.
    #[arg(long, default_value = DEFAULT_NAMESPACE)]
    namespace: String,
    /// The operator's ServiceAccount.
    #[arg(long, default_value = OPERATOR)]
    service_account: String,
    /// The AWS partition (aws, aws-cn, aws-us-gov).
    #[arg(long, default_value = "aws")]
    partition: String,
    /// An EKS Pod Identity trust policy instead of IRSA.
    #[arg(long)]
    pod_identity: bool,
    /// Print the AWS CLI commands that create the role and bind it to the
    /// operator instead of the policy.
    #[arg(long)]
    commands: bool,
    /// The role's name, for --commands.
    #[arg(long, default_value = OPERATOR, requires = "commands")]
    role_name: String,
    /// The EKS cluster, for --commands with --pod-identity.
    #[arg(long, value_name = "NAME", requires = "commands")]
    cluster_name: Option<String>,
}

fn trust(args: &TrustPolicyArgs, knowledge: &Knowledge) -> Result<String, CliError> {
    let sa = ServiceAccount::new(&args.namespace, &args.service_account)?;
    let account = args.account.as_deref().unwrap_or_default();
    let policy = match &args.cluster_oidc_issuer {
        Some(issuer) => trust_policy::irsa(knowledge, issuer, account, &args.partition, &sa)?,
        None => trust_policy::pod_identity(knowledge),
    };
    if !args.commands {
        return output::json(&policy);
    }
    let binding = if args.pod_identity {
        let cluster_name = args.cluster_name.clone().ok_or_else(|| {
            CliError("--commands with --pod-identity needs --cluster-name".into())
        })?;
        Binding::PodIdentity { cluster_name }
    } else {
        Binding::Irsa {
            account: account.to_string(),
            partition: args.partition.clone(),
        }
    };
    Ok(trust_policy::setup_commands(
        knowledge,
        &args.role_name,
        &sa,
        &binding,
    )?)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ModeArg {
    /// AWS ENI IPAM: pods get VPC IPs, native routing.
    Eni,
    /// cluster-pool IPAM: pods get IPs of a private pool, tunnelled.
    Overlay,
}

#[derive(Debug, Args)]
pub struct HelmValuesArgs {
    /// The Cilium minor, e.g. 1.16.
    #[arg(long, value_name = "X.Y")]
    cilium: String,
    #[arg(long, value_enum)]
    mode: ModeArg,
    /// ENI: delegate /28 prefixes instead of single IPs.
    #[arg(long)]
    prefix_delegation: bool,
    /// ENI: egress masquerade interfaces instead of the guide's (ens+ on
    /// Amazon Linux 2023), where the guide sets them (1.12-1.17).
    #[arg(long, value_name = "SELECTOR")]
    egress_masquerade_interfaces: Option<String>,
    /// ENI: the operator's IRSA role ARN (Helm eni.iamRole).
    #[arg(long, value_name = "ARN")]
    operator_role_arn: Option<String>,
    /// Replace kube-proxy fully (needs --api-server-host).
    #[arg(long, requires = "api_server_host")]
    kube_proxy_replacement: bool,
    /// The API server's host name: the cluster endpoint without https://.
    #[arg(long, value_name = "HOST", requires = "kube_proxy_replacement")]
    api_server_host: Option<String>,
    #[arg(
        long,
        value_name = "PORT",
        default_value_t = 443,
        requires = "kube_proxy_replacement"
    )]
    api_server_port: u16,
    /// The cluster's name (Helm cluster.name).
    #[arg(long, value_name = "NAME")]
    cluster_name: Option<String>,
    /// Overlay: a CIDR of the VPC the pod pool must avoid (repeatable).
    #[arg(long, value_name = "CIDR")]
    vpc_cidr: Vec<Ipv4Net>,
    /// Overlay: the cluster's service CIDR, which the pod pool must avoid.
    #[arg(long, value_name = "CIDR")]
    service_cidr: Option<Ipv4Net>,
    /// Overlay: the pod pool (default: the first free /16 of 100.64.0.0/10,
    /// then RFC 1918 space).
    #[arg(long, value_name = "CIDR")]
    pod_cidr: Option<Ipv4Net>,
}

fn values(args: &HelmValuesArgs, knowledge: &Knowledge) -> Result<String, CliError> {
    let mut options = HelmOptions::new(match args.mode {
        ModeArg::Eni => Mode::Eni,
        ModeArg::Overlay => Mode::Overlay,
    });
    options.prefix_delegation = args.prefix_delegation;
    options.egress_masquerade_interfaces = args.egress_masquerade_interfaces.clone();
    options.operator_role_arn = args.operator_role_arn.clone();
    options.kube_proxy_replacement = args.api_server_host.as_ref().map(|host| ApiServer {
        host: host.clone(),
        port: args.api_server_port,
    });
    options.cluster_name = args.cluster_name.clone();
    options.vpc_cidrs = args.vpc_cidr.clone();
    options.service_cidr = args.service_cidr;
    options.pod_cidr = args.pod_cidr;
    let values = helm_values::helm_values(knowledge, minor(&args.cilium)?, &options)?;
    Ok(values.to_yaml())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum FormatArg {
    /// A monitoring.coreos.com/v1 PrometheusRule object.
    PrometheusRule,
    /// A plain Prometheus rules file.
    Rules,
}

#[derive(Debug, Args)]
pub struct AlertsArgs {
    /// The Cilium minor whose metric names to use (default: the newest known).
    #[arg(long, value_name = "X.Y")]
    cilium: Option<String>,
    #[arg(long, value_enum, default_value_t = FormatArg::PrometheusRule)]
    format: FormatArg,
    /// The PrometheusRule's namespace.
    #[arg(long, default_value = "monitoring")]
    namespace: String,
    /// Where Cilium runs (for the kube-state-metrics selectors).
    #[arg(long, default_value = DEFAULT_NAMESPACE)]
    cilium_namespace: String,
}

fn alert_rules(args: &AlertsArgs, knowledge: &Knowledge) -> Result<String, CliError> {
    let minor = match &args.cilium {
        Some(text) => minor(text)?,
        None => knowledge.newest_cilium().minor,
    };
    let rules = alerts::alert_rules(knowledge, minor, &args.cilium_namespace)?;
    let options = AlertOptions {
        format: match args.format {
            FormatArg::PrometheusRule => alerts::Format::PrometheusRule,
            FormatArg::Rules => alerts::Format::Rules,
        },
        namespace: args.namespace.clone(),
    };
    Ok(rules.to_yaml(&options)?)
}

#[derive(Debug, Args)]
pub struct GrafanaDashboardArgs {
    /// The Cilium minor whose metric names to use (default: the newest known).
    #[arg(long, value_name = "X.Y")]
    cilium: Option<String>,
}

fn grafana_dashboard(
    args: &GrafanaDashboardArgs,
    knowledge: &Knowledge,
) -> Result<String, CliError> {
    let cilium = match &args.cilium {
        Some(text) => minor(text)?,
        None => knowledge.newest_cilium().minor,
    };
    let dashboard = grafana::dashboard(knowledge, &DashboardOptions { cilium })?;
    output::json(&dashboard)
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ForArg {
    /// AL2023 launch template user data: a nodeadm NodeConfig in MIME.
    Nodeadm,
    /// Amazon Linux 2 user data: bootstrap.sh `--use-max-pods false --kubelet-extra-args '--max-pods=N'`.
    Al2,
    /// Karpenter v1 EC2NodeClass `spec.kubelet.maxPods`.
    Karpenter,
    /// Bottlerocket user data `settings.kubernetes.max-pods`.
    Bottlerocket,
    /// eksctl `managedNodeGroups[].maxPodsPerNode`.
    Eksctl,
    /// terraform-aws-modules/eks `cloudinit_pre_nodeadm`.
    Terraform,
}

#[derive(Debug, Args)]
pub struct MaxPodsArgs {
    /// Where the setting goes.
    #[arg(long = "for", value_enum)]
    target: ForArg,
    /// EC2 instance type (repeatable: the tightest type sets the value).
    #[arg(long = "instance-type", value_name = "TYPE", required = true)]
    instance_types: Vec<String>,
    /// eni.awsEnablePrefixDelegation is on (nitro instances).
    #[arg(long)]
    prefix_delegation: bool,
    #[command(flatten)]
    cilium: crate::cmd_capacity::CiliumEniFlags,
    /// The node group (nodeadm/eksctl/terraform) or EC2NodeClass (karpenter) name.
    #[arg(long, value_name = "NAME")]
    name: Option<String>,
}

fn max_pods(args: &MaxPodsArgs, knowledge: &Knowledge) -> Result<String, CliError> {
    let cilium = args.cilium.minor(knowledge)?;
    let mut options = CapacityOptions::new(CapacityMode::CiliumEni);
    options.prefix_delegation = args.prefix_delegation;
    args.cilium.apply(&mut options, cilium);
    options.check().map_err(CliError)?;
    let types = args
        .instance_types
        .iter()
        .map(|t| crate::cmd_capacity::lookup(knowledge, t))
        .collect::<Result<Vec<_>, _>>()?;
    let m = max_pods::compute(&types, &options)?;
    let target = match args.target {
        ForArg::Nodeadm => Target::Nodeadm,
        ForArg::Al2 => Target::Al2,
        ForArg::Karpenter => Target::Karpenter,
        ForArg::Bottlerocket => Target::Bottlerocket,
        ForArg::Eksctl => Target::Eksctl,
        ForArg::Terraform => Target::Terraform,
    };
    let default_name = if target == Target::Karpenter {
        "default"
    } else {
        "NODEGROUP"
    };
    let names: Vec<&str> = args.instance_types.iter().map(String::as_str).collect();
    Ok(max_pods::render(
        knowledge,
        target,
        &m,
        &names,
        args.name.as_deref().unwrap_or(default_name),
    ))
}

#[derive(Debug, Args)]
pub struct DisableAwsNodeArgs {
    /// The EKS cluster, for the add-on commands (default: $CLUSTER_NAME).
    #[arg(long, value_name = "NAME")]
    cluster_name: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        args: IamPolicyArgs,
    }

    #[test]
    fn every_conditional_feature_of_the_knowledge_has_a_flag_pair() {
        let args = Cli::parse_from(["x", "--cilium", "1.16"]).args;
        let flags: Vec<&str> = args.features().iter().map(|(id, _, _)| *id).collect();
        for c in &Knowledge::embedded().cilium {
            for f in &c.eni_conditional_actions {
                assert!(
                    flags.contains(&f.feature.as_str()),
                    "{} {}",
                    c.minor,
                    f.feature
                );
            }
        }
        for (id, ..) in args.features() {
            let on = format!("--{id}");
            let off = format!("--no-{id}");
            assert!(
                Cli::try_parse_from(["x", "--cilium", "1.16", &on]).is_ok(),
                "{on}"
            );
            assert!(
                Cli::try_parse_from(["x", "--cilium", "1.16", &off]).is_ok(),
                "{off}"
            );
            assert!(Cli::try_parse_from(["x", "--cilium", "1.16", &on, &off]).is_err());
        }
    }
}
