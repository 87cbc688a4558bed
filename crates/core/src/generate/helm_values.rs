//! Helm values for Cilium on EKS, correct for the chart of one minor: ENI
//! mode as Cilium's EKS install guide of that minor sets it (plus the
//! explicit IPAM and native-routing keys), or overlay mode with a pod pool
//! outside the VPC. Every key is checked against the chart's key list of
//! that minor (`helm_keys`) before anything is written: a key the chart
//! lacks is a bug of this generator, reported as an error.

use super::cidr::{free_block, Ipv4Net};
use super::yaml::{self, Entry, Yaml};
use super::{cilium_minor, GenerateError, DEFAULT_NAMESPACE};
use crate::knowledge::{CiliumEksMinor, CiliumMinor, Knowledge};
use crate::version::Minor;

/// How pods get their IPs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// AWS ENI IPAM: VPC IPs, native routing.
    Eni,
    /// cluster-pool IPAM: a private pool, tunnelled.
    Overlay,
}

/// Where the agents reach the API server without kube-proxy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiServer {
    pub host: String,
    pub port: u16,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HelmOptions {
    pub mode: Mode,
    /// ENI: delegate /28 prefixes instead of single IPs.
    pub prefix_delegation: bool,
    /// ENI: override the guide's egress masquerade interface selector.
    pub egress_masquerade_interfaces: Option<String>,
    /// ENI: the operator's IRSA role (Helm `eni.iamRole`).
    pub operator_role_arn: Option<String>,
    /// Turn kube-proxy replacement fully on.
    pub kube_proxy_replacement: Option<ApiServer>,
    pub cluster_name: Option<String>,
    /// Overlay: the VPC's CIDRs, which the pod pool must avoid.
    pub vpc_cidrs: Vec<Ipv4Net>,
    /// Overlay: the cluster's service CIDR, which the pod pool must avoid.
    pub service_cidr: Option<Ipv4Net>,
    /// Overlay: the pod pool; chosen when absent.
    pub pod_cidr: Option<Ipv4Net>,
}

impl HelmOptions {
    pub fn new(mode: Mode) -> HelmOptions {
        HelmOptions {
            mode,
            prefix_delegation: false,
            egress_masquerade_interfaces: None,
            operator_role_arn: None,
            kube_proxy_replacement: None,
            cluster_name: None,
            vpc_cidrs: Vec::new(),
            service_cidr: None,
            pod_cidr: None,
        }
    }
}

/// The per-node block of the overlay pool (Helm
/// `ipam.operator.clusterPoolIPv4MaskSize`), written out explicitly.
const NODE_MASK: u8 = 24;
/// The prefix length of a chosen pod pool: 256 node blocks.
const CHOSEN_POOL_PREFIX: u8 = 16;

/// One value to set: its flattened key, value and comment lines.
#[derive(Debug, Clone, PartialEq)]
pub struct Value {
    pub key: String,
    pub value: Yaml,
    pub comments: Vec<String>,
}

/// The generated values: header notes and the values in order.
#[derive(Debug, Clone, PartialEq)]
pub struct HelmValues {
    pub notes: Vec<String>,
    pub values: Vec<Value>,
}

impl HelmValues {
    /// The flattened keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.values.iter().map(|v| v.key.as_str())
    }

    /// The values file, nested as Helm reads it.
    pub fn to_yaml(&self) -> String {
        let mut root: Vec<Entry> = Vec::new();
        for v in &self.values {
            insert(&mut root, &v.key, v.value.clone(), &v.comments);
        }
        yaml::document(&self.notes, &Yaml::Map(root))
    }
}

/// Puts `value` at the dotted `key`, creating parent maps in order.
fn insert(map: &mut Vec<Entry>, key: &str, value: Yaml, comments: &[String]) {
    match key.split_once('.') {
        None => map.push(Entry::new(key, value).with_comments(comments.to_vec())),
        Some((head, rest)) => {
            let at = match map.iter().position(|e| e.key == head) {
                Some(at) => at,
                None => {
                    map.push(Entry::new(head, Yaml::Map(Vec::new())));
                    map.len() - 1
                }
            };
            if let Yaml::Map(inner) = &mut map[at].value {
                insert(inner, rest, value, comments);
            }
        }
    }
}

/// The values for Cilium `minor` with `options`.
pub fn helm_values(
    knowledge: &Knowledge,
    minor: Minor,
    options: &HelmOptions,
) -> Result<HelmValues, GenerateError> {
    let cilium = cilium_minor(knowledge, minor)?;
    let guide = knowledge.cilium_eks(minor).ok_or_else(|| {
        GenerateError(format!(
            "no EKS install facts for Cilium {minor} in the knowledge"
        ))
    })?;
    let mut values = Values::default();
    match options.mode {
        Mode::Eni => eni(&mut values, cilium, guide, knowledge, options)?,
        Mode::Overlay => overlay(&mut values, options)?,
    }
    if let Some(api) = &options.kube_proxy_replacement {
        kube_proxy_replacement(&mut values, guide, api)?;
    }
    if let Some(name) = &options.cluster_name {
        super::trust_policy::check_cluster_name(name)?;
        values.set(
            "cluster.name",
            Yaml::str(name),
            vec!["The cluster's name; cluster mesh needs it unique (MESH002).".into()],
        );
    }
    let keys = knowledge.helm_keys(minor).ok_or_else(|| {
        GenerateError(format!("no Helm keys for Cilium {minor} in the knowledge"))
    })?;
    if let Some(bad) = values.0.iter().find(|v| !keys.contains(&v.key)) {
        return Err(GenerateError(format!(
            "bug: {} is not a value of the Cilium {minor} chart",
            bad.key
        )));
    }
    Ok(HelmValues {
        notes: notes(cilium, knowledge, options),
        values: values.0,
    })
}

#[derive(Default)]
struct Values(Vec<Value>);

impl Values {
    fn set(&mut self, key: &str, value: Yaml, comments: Vec<String>) {
        self.0.push(Value {
            key: key.to_string(),
            value,
            comments,
        });
    }

    fn has(&self, key: &str) -> bool {
        self.0.iter().any(|v| v.key == key)
    }
}

/// A `--set` value as Helm parses it: booleans and integers, else a string.
fn set_flag_value(text: &str) -> Yaml {
    match text {
        "true" => Yaml::Bool(true),
        "false" => Yaml::Bool(false),
        _ => text
            .parse()
            .map(Yaml::Int)
            .unwrap_or_else(|_| Yaml::str(text)),
    }
}

fn eni(
    values: &mut Values,
    cilium: &CiliumMinor,
    guide: &CiliumEksMinor,
    knowledge: &Knowledge,
    options: &HelmOptions,
) -> Result<(), GenerateError> {
    let minor = cilium.minor;
    if !options.vpc_cidrs.is_empty() || options.service_cidr.is_some() || options.pod_cidr.is_some()
    {
        return Err(GenerateError(
            "--vpc-cidr, --service-cidr and --pod-cidr apply to --mode overlay: ENI mode gives pods VPC IPs".into(),
        ));
    }
    let guide_masquerade = guide
        .eni_helm_values()
        .any(|(k, _)| k == "egressMasqueradeInterfaces");
    if options.egress_masquerade_interfaces.is_some() && !guide_masquerade {
        return Err(GenerateError(format!(
            "--egress-masquerade-interfaces: Cilium {minor}'s EKS guide sets no egressMasqueradeInterfaces"
        )));
    }
    for (key, value) in guide.eni_helm_values() {
        let (value, comments) = match key {
            "eni.enabled" => (
                set_flag_value(value),
                vec![format!(
                    "ENI mode as Cilium {minor}'s EKS install guide sets it: pods get VPC IPs on ENIs \
                     the operator attaches (its IAM policy: eks-cilium-doctor generate iam-policy --cilium {minor})."
                )],
            ),
            "egressMasqueradeInterfaces" => masquerade(value, guide, options),
            "routingMode" | "tunnel" => (
                set_flag_value(value),
                vec!["ENI mode routes pod IPs natively in the VPC (CFG001).".into()],
            ),
            _ => (set_flag_value(value), Vec::new()),
        };
        values.set(key, value, comments);
    }
    if !values.has("ipam.mode") {
        values.set(
            "ipam.mode",
            Yaml::str("eni"),
            vec![format!(
                "The {minor} chart derives this from eni.enabled; set so the file says it."
            )],
        );
    }
    let routing = ["routingMode", "tunnel"];
    if !routing.iter().any(|k| values.has(k)) {
        values.set(
            "routingMode",
            Yaml::str("native"),
            vec!["ENI mode routes pod IPs natively in the VPC (CFG001).".into()],
        );
    }
    if options.prefix_delegation {
        let instances = if cilium.prefix_delegation_on_bare_metal {
            "nitro and bare-metal instances"
        } else {
            "nitro instances only (not bare metal)"
        };
        values.set(
            "eni.awsEnablePrefixDelegation",
            Yaml::Bool(true),
            vec![format!(
                "/28 prefixes instead of single IPs; the {minor} operator delegates them on {instances} (CAP007)."
            )],
        );
    }
    if let Some(arn) = &options.operator_role_arn {
        if !is_role_arn(arn) {
            return Err(GenerateError(format!(
                "--operator-role-arn {arn:?}: want an IAM role ARN, arn:aws:iam::<12-digit account>:role/<name>"
            )));
        }
        let annotation = &knowledge.eks_iam.irsa_service_account_annotation;
        values.set(
            "eni.iamRole",
            Yaml::str(arn),
            vec![format!(
                "The operator's IRSA role: the chart annotates its ServiceAccount with {annotation} (IAM002)."
            )],
        );
    }
    Ok(())
}

fn masquerade(
    guide_value: &str,
    guide: &CiliumEksMinor,
    options: &HelmOptions,
) -> (Yaml, Vec<String>) {
    let value = options
        .egress_masquerade_interfaces
        .as_deref()
        .unwrap_or(guide_value);
    let mut comments = vec![format!(
        "Masquerade pod traffic leaving through these interfaces (the guide's value: {guide_value})."
    )];
    if let Some(al2023) = &guide.al2023_egress_masquerade_interfaces {
        comments.push(format!(
            "The guide: Amazon Linux 2023 nodes name them {al2023} (--egress-masquerade-interfaces {al2023})."
        ));
    }
    (Yaml::str(value), comments)
}

fn is_role_arn(arn: &str) -> bool {
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts[..] else {
        return false;
    };
    prefix == "arn"
        && super::trust_policy::partition(partition).is_ok()
        && service == "iam"
        && region.is_empty()
        && super::trust_policy::account_id(account).is_ok()
        && resource.strip_prefix("role/").is_some_and(|name| {
            !name.is_empty()
                && name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || "+=,.@_-/".contains(c))
        })
}

fn overlay(values: &mut Values, options: &HelmOptions) -> Result<(), GenerateError> {
    let eni_only = [
        (options.prefix_delegation, "--prefix-delegation"),
        (
            options.egress_masquerade_interfaces.is_some(),
            "--egress-masquerade-interfaces",
        ),
        (options.operator_role_arn.is_some(), "--operator-role-arn"),
    ];
    if let Some((_, flag)) = eni_only.iter().find(|(set, _)| *set) {
        return Err(GenerateError(format!("{flag} applies to --mode eni only")));
    }
    if options.vpc_cidrs.is_empty() {
        return Err(GenerateError(
            "--mode overlay needs --vpc-cidr (repeat it for every CIDR of the VPC, e.g. from \
             aws ec2 describe-vpcs --vpc-ids VPC --query 'Vpcs[].CidrBlockAssociationSet[].CidrBlock'): \
             the pod pool must not overlap the VPC (CAP008)"
                .into(),
        ));
    }
    let mut avoid: Vec<(Ipv4Net, &str)> =
        options.vpc_cidrs.iter().map(|c| (*c, "VPC CIDR")).collect();
    avoid.extend(options.service_cidr.map(|c| (c, "service CIDR")));
    let pool = match options.pod_cidr {
        Some(pool) => {
            if pool.prefix() >= NODE_MASK {
                return Err(GenerateError(format!(
                    "--pod-cidr {pool}: the pool must be larger than one /{NODE_MASK} node block"
                )));
            }
            if let Some((clash, what)) = avoid.iter().find(|(c, _)| c.overlaps(pool)) {
                return Err(GenerateError(format!(
                    "--pod-cidr {pool} overlaps the {what} {clash} (CAP008)"
                )));
            }
            pool
        }
        None => {
            let nets: Vec<Ipv4Net> = avoid.iter().map(|(c, _)| *c).collect();
            free_block(CHOSEN_POOL_PREFIX, &nets).ok_or_else(|| {
                GenerateError(format!(
                    "no /{CHOSEN_POOL_PREFIX} in 100.64.0.0/10 or RFC 1918 space is free of the given CIDRs: pass --pod-cidr"
                ))
            })?
        }
    };
    let avoided: Vec<String> = avoid
        .iter()
        .map(|(c, what)| format!("{what} {c}"))
        .collect();
    let mut why = vec![format!(
        "Overlay: pods get IPs from {pool}, which overlaps none of {} (CAP008).",
        avoided.join(", ")
    )];
    if options.pod_cidr.is_none() {
        why.push(
            "Chosen as the first free /16 of 100.64.0.0/10, then 10.0.0.0/8, 172.16.0.0/12 and \
             192.168.0.0/16; pass --pod-cidr to pick another (also keep it clear of peered networks)."
                .into(),
        );
    }
    if options.service_cidr.is_none() {
        why.push(
            "No --service-cidr given: check the pool against it (aws eks describe-cluster --name NAME \
             --query cluster.kubernetesNetworkConfig.serviceIpv4Cidr)."
                .into(),
        );
    }
    values.set("ipam.mode", Yaml::str("cluster-pool"), Vec::new());
    values.set(
        "ipam.operator.clusterPoolIPv4PodCIDRList",
        Yaml::List(vec![Yaml::str(pool.to_string())]),
        why,
    );
    let blocks = 1u64 << (NODE_MASK - pool.prefix());
    values.set(
        "ipam.operator.clusterPoolIPv4MaskSize",
        Yaml::Int(i64::from(NODE_MASK)),
        vec![format!(
            "One /{NODE_MASK} per node: the pool holds {blocks} node blocks, so at most {blocks} nodes."
        )],
    );
    Ok(())
}

fn kube_proxy_replacement(
    values: &mut Values,
    guide: &CiliumEksMinor,
    api: &ApiServer,
) -> Result<(), GenerateError> {
    let host = &api.host;
    if host.contains("://") || host.contains('/') {
        return Err(GenerateError(format!(
            "--api-server-host {host:?}: give the host name alone, without https:// or a path \
             (aws eks describe-cluster --name NAME --query cluster.endpoint --output text, minus https://)"
        )));
    }
    let host_ok = !host.is_empty()
        && host
            .split('.')
            .all(|l| !l.is_empty() && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-'));
    if !host_ok {
        return Err(GenerateError(format!(
            "--api-server-host {host:?}: not a host name or IPv4 address"
        )));
    }
    if api.port == 0 {
        return Err(GenerateError("--api-server-port: 0 is not a port".into()));
    }
    values.set(
        "kubeProxyReplacement",
        Yaml::str(&guide.kube_proxy_replacement_full),
        vec![format!(
            "Full kube-proxy replacement ({:?} in this minor); remove kube-proxy afterwards (CFG004).",
            guide.kube_proxy_replacement_full
        )],
    );
    values.set(
        "k8sServiceHost",
        Yaml::str(host),
        vec!["Without kube-proxy the agents reach the API server here, not through the kubernetes Service (CFG003).".into()],
    );
    values.set("k8sServicePort", Yaml::Int(i64::from(api.port)), Vec::new());
    Ok(())
}

fn notes(cilium: &CiliumMinor, knowledge: &Knowledge, options: &HelmOptions) -> Vec<String> {
    let minor = cilium.minor;
    let mode = match options.mode {
        Mode::Eni => "ENI",
        Mode::Overlay => "overlay",
    };
    let mut notes = vec![
        format!(
            "Helm values for Cilium {minor} on Amazon EKS, {mode} mode (eks-cilium-doctor generate helm-values)."
        ),
        format!("Every key below is a value of the Cilium {minor} chart."),
        format!(
            "  helm upgrade --install cilium cilium/cilium --version {} --namespace {DEFAULT_NAMESPACE} -f values.yaml",
            cilium.latest_patch
        ),
        if cilium.latest_patch_final {
            format!("  ({}, the final patch of {minor})", cilium.latest_patch)
        } else {
            format!(
                "  ({}; a newer patch of {minor} may exist)",
                knowledge.latest_known_patch(cilium)
            )
        },
        "Before installing: eks-cilium-doctor generate disable-aws-node (CNI001).".to_string(),
        format!(
            "Taint node groups {} so pods wait for the agent (CNI004).",
            knowledge.cilium_eks.agent_not_ready_taint
        ),
    ];
    match options.mode {
        Mode::Eni => notes.push(
            "The chart runs the operator-aws image because eni.enabled is true: leave operator.image alone (CFG005)."
                .into(),
        ),
        Mode::Overlay => {
            notes.push(
                "Moving nodes off the VPC CNI: flush its iptables chains on each node first (Cilium's EKS guide):"
                    .into(),
            );
            notes.push(format!("  {}", knowledge.cilium_eks.overlay_iptables_flush));
            notes.push(
                "The EKS control plane cannot reach overlay pod IPs: a webhook must run on the host network \
                 or be exposed through a Service or Ingress (Cilium's EKS guide; CFG006)."
                    .into(),
            );
        }
    }
    notes.push(String::new());
    notes
}

#[cfg(test)]
mod tests;
