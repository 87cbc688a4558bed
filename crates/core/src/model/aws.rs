//! Lean AWS types, deserialised straight from AWS CLI / API JSON: EKS is
//! camelCase, EC2 and IAM are PascalCase.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::kube::null_default;
use crate::version::{Date, Minor};

// ---------------------------------------------------------------- EKS

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EksVpcConfig {
    #[serde(default)]
    pub vpc_id: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub subnet_ids: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub security_group_ids: Vec<String>,
    #[serde(default)]
    pub cluster_security_group_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EksOidc {
    #[serde(default)]
    pub issuer: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EksIdentity {
    #[serde(default)]
    pub oidc: Option<EksOidc>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EksNetworkConfig {
    #[serde(default)]
    pub service_ipv4_cidr: Option<String>,
    #[serde(default)]
    pub service_ipv6_cidr: Option<String>,
    #[serde(default)]
    pub ip_family: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct UpgradePolicy {
    /// `STANDARD` or `EXTENDED`; AWS's default when absent is EXTENDED.
    #[serde(default)]
    pub support_type: Option<String>,
}

/// `aws eks describe-cluster` → `.cluster`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EksCluster {
    #[serde(default)]
    pub name: String,
    #[serde(default)]
    pub arn: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub platform_version: Option<String>,
    /// API server endpoint (`https://….eks.amazonaws.com`).
    #[serde(default)]
    pub endpoint: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub resources_vpc_config: EksVpcConfig,
    #[serde(default)]
    pub kubernetes_network_config: EksNetworkConfig,
    #[serde(default)]
    pub identity: Option<EksIdentity>,
    #[serde(default)]
    pub upgrade_policy: Option<UpgradePolicy>,
    #[serde(default, deserialize_with = "null_default")]
    pub tags: BTreeMap<String, String>,
    /// Hybrid Nodes: the on-premises node and pod networks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub remote_network_config: Option<RemoteNetworkConfig>,
}

/// `remoteNetworkConfig` of describe-cluster (EKS Hybrid Nodes).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct RemoteNetworkConfig {
    #[serde(default, deserialize_with = "null_default")]
    pub remote_node_networks: Vec<RemoteNetwork>,
    #[serde(default, deserialize_with = "null_default")]
    pub remote_pod_networks: Vec<RemoteNetwork>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct RemoteNetwork {
    #[serde(default, deserialize_with = "null_default")]
    pub cidrs: Vec<String>,
}

impl EksCluster {
    pub fn oidc_issuer(&self) -> Option<&str> {
        self.identity
            .as_ref()
            .and_then(|i| i.oidc.as_ref())
            .and_then(|o| o.issuer.as_deref())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct ScalingConfig {
    #[serde(default)]
    pub min_size: Option<u32>,
    #[serde(default)]
    pub max_size: Option<u32>,
    #[serde(default)]
    pub desired_size: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NodegroupTaint {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub value: Option<String>,
    /// `NO_SCHEDULE`, `NO_EXECUTE` or `PREFER_NO_SCHEDULE`.
    #[serde(default)]
    pub effect: String,
}

/// `aws eks describe-nodegroup` → `.nodegroup`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Nodegroup {
    #[serde(default)]
    pub nodegroup_name: String,
    #[serde(default)]
    pub cluster_name: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub release_version: Option<String>,
    #[serde(default)]
    pub ami_type: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub instance_types: Vec<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub subnets: Vec<String>,
    #[serde(default)]
    pub scaling_config: ScalingConfig,
    #[serde(default, deserialize_with = "null_default")]
    pub taints: Vec<NodegroupTaint>,
    #[serde(default, deserialize_with = "null_default")]
    pub labels: BTreeMap<String, String>,
    #[serde(default)]
    pub node_role: Option<String>,
    /// The node group's own launch template, when it has one (EKS builds
    /// one itself otherwise).
    #[serde(default)]
    pub launch_template: Option<NodegroupLaunchTemplate>,
}

/// describe-nodegroup `launchTemplate`: `{name, version, id}`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
pub struct NodegroupLaunchTemplate {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub version: Option<String>,
    #[serde(default)]
    pub id: Option<String>,
}

/// One `aws ec2 describe-launch-template-versions` entry, its user data
/// read at load time ([`crate::userdata`]); the user data itself is not kept.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LaunchTemplateVersion {
    pub launch_template_id: String,
    pub launch_template_name: String,
    pub version_number: u64,
    pub default_version: bool,
    /// `LaunchTemplateData.ImageId`: a custom AMI (EKS then neither merges
    /// its user data nor caps max pods).
    pub image_id: Option<String>,
    pub instance_type: Option<String>,
    /// What the user data says about max pods; `Format::Empty` without user data.
    pub user_data: crate::userdata::KubeletMaxPods,
    /// Why the user data could not be read (not base64, not text).
    pub user_data_error: Option<String>,
}

impl LaunchTemplateVersion {
    /// `name version N` for messages.
    pub fn label(&self) -> String {
        let name = if self.launch_template_name.is_empty() {
            &self.launch_template_id
        } else {
            &self.launch_template_name
        };
        format!("launch template {name} version {}", self.version_number)
    }
}

/// `aws eks describe-addon` → `.addon` (list-addons gives names only).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct Addon {
    #[serde(default)]
    pub addon_name: String,
    #[serde(default)]
    pub addon_version: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub service_account_role_arn: Option<String>,
    #[serde(default)]
    pub configuration_values: Option<String>,
}

/// `aws eks describe-pod-identity-association` → `.association`: the IAM
/// role EKS Pod Identity gives the pods of one ServiceAccount.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct PodIdentityAssociation {
    #[serde(default)]
    pub cluster_name: Option<String>,
    #[serde(default)]
    pub namespace: String,
    #[serde(default)]
    pub service_account: String,
    /// Absent when not known (`list-pod-identity-associations` has no
    /// role; infrastructure code before apply).
    #[serde(default)]
    pub role_arn: Option<String>,
    #[serde(default)]
    pub association_id: Option<String>,
}

/// One Kubernetes version of `aws eks describe-cluster-versions`
/// (`.clusterVersions[]`): EKS's own support calendar, each date the UTC day
/// of its timestamp.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EksClusterVersion {
    pub cluster_version: Minor,
    /// `eks` (EKS in the region); absent in older outputs.
    #[serde(default)]
    pub cluster_type: Option<String>,
    #[serde(default, deserialize_with = "aws_timestamp")]
    pub release_date: Option<Date>,
    #[serde(default, deserialize_with = "aws_timestamp")]
    pub end_of_standard_support_date: Option<Date>,
    #[serde(default, deserialize_with = "aws_timestamp")]
    pub end_of_extended_support_date: Option<Date>,
    /// `UNSUPPORTED`, `STANDARD_SUPPORT` or `EXTENDED_SUPPORT`.
    #[serde(default)]
    pub version_status: Option<String>,
    /// The deprecated spelling of `versionStatus` (the CLI still prints both).
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub default_version: Option<bool>,
    #[serde(default)]
    pub kubernetes_patch_version: Option<String>,
}

/// One EKS cluster insight: a summary row of `aws eks list-insights`
/// (`.insights[]`) or the full `aws eks describe-insight` (`.insight`), which
/// adds the recommendation, the affected resources and the category's
/// details. Dates are the UTC day of their timestamps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EksInsight {
    #[serde(default)]
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    /// `UPGRADE_READINESS`, `MISCONFIGURATION` or `ROLLBACK_READINESS`.
    #[serde(default)]
    pub category: Option<String>,
    /// The Kubernetes version the insight checks (`1.33`).
    #[serde(default)]
    pub kubernetes_version: Option<String>,
    #[serde(default, deserialize_with = "aws_timestamp")]
    pub last_refresh_time: Option<Date>,
    #[serde(default, deserialize_with = "aws_timestamp")]
    pub last_transition_time: Option<Date>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub insight_status: Option<EksInsightStatus>,
    #[serde(default)]
    pub recommendation: Option<String>,
    /// Link titles to addresses.
    #[serde(default, deserialize_with = "null_default")]
    pub additional_info: BTreeMap<String, String>,
    #[serde(default, deserialize_with = "null_default")]
    pub resources: Vec<EksInsightResource>,
    #[serde(default)]
    pub category_specific_summary: Option<EksInsightSummary>,
    /// Read from `describe-insight` (not only a `list-insights` row); set
    /// by the loader, never read from the input.
    #[serde(skip)]
    pub described: bool,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EksInsightStatus {
    /// `PASSING`, `WARNING`, `ERROR` or `UNKNOWN`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EksInsightResource {
    #[serde(default)]
    pub insight_status: Option<EksInsightStatus>,
    #[serde(default)]
    pub kubernetes_resource_uri: Option<String>,
    #[serde(default)]
    pub arn: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EksInsightSummary {
    #[serde(default, deserialize_with = "null_default")]
    pub deprecation_details: Vec<EksDeprecationDetail>,
    #[serde(default, deserialize_with = "null_default")]
    pub addon_compatibility_details: Vec<EksAddonCompatibility>,
}

/// A deprecated Kubernetes API still called, as the insight reports it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EksDeprecationDetail {
    #[serde(default)]
    pub usage: Option<String>,
    #[serde(default)]
    pub replaced_with: Option<String>,
    #[serde(default)]
    pub stop_serving_version: Option<String>,
    #[serde(default)]
    pub start_serving_replacement_version: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub client_stats: Vec<EksClientStat>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EksClientStat {
    #[serde(default)]
    pub user_agent: Option<String>,
    #[serde(default)]
    pub number_of_requests_last30_days: Option<u64>,
    #[serde(default, deserialize_with = "aws_timestamp")]
    pub last_request_time: Option<Date>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct EksAddonCompatibility {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub compatible_versions: Vec<String>,
}

impl EksInsight {
    /// The status, upper-cased (`ERROR`); `None` when absent.
    pub fn status(&self) -> Option<String> {
        self.insight_status
            .as_ref()
            .and_then(|s| s.status.as_deref())
            .map(str::to_ascii_uppercase)
    }

    /// The Kubernetes minor the insight checks.
    pub fn kubernetes_minor(&self) -> Option<Minor> {
        self.kubernetes_version.as_deref()?.parse().ok()
    }
}

/// An AWS timestamp in any spelling a dump has: the CLI's ISO 8601 string
/// (or boto3's `str()`), epoch seconds (the wire format; the CLI with
/// `cli_timestamp_format = none`), or placebo's `{"__class__": "datetime",
/// "year": …}` (boto3 recordings, zone-less, taken as UTC); `null` is absent.
pub fn aws_timestamp<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<Date>, D::Error> {
    struct Visitor;
    impl<'de> serde::de::Visitor<'de> for Visitor {
        type Value = Option<Date>;
        fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
            f.write_str("a timestamp (ISO 8601 text or epoch seconds)")
        }
        fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_none<E: serde::de::Error>(self) -> Result<Self::Value, E> {
            Ok(None)
        }
        fn visit_some<D2: serde::Deserializer<'de>>(self, d: D2) -> Result<Self::Value, D2::Error> {
            d.deserialize_any(Visitor)
        }
        fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<Self::Value, E> {
            Date::from_timestamp(v).map(Some).map_err(E::custom)
        }
        fn visit_f64<E: serde::de::Error>(self, v: f64) -> Result<Self::Value, E> {
            Date::from_epoch_seconds(v).map(Some).map_err(E::custom)
        }
        fn visit_i64<E: serde::de::Error>(self, v: i64) -> Result<Self::Value, E> {
            self.visit_f64(v as f64)
        }
        fn visit_u64<E: serde::de::Error>(self, v: u64) -> Result<Self::Value, E> {
            self.visit_f64(v as f64)
        }
        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let (mut class, mut year, mut month, mut day) = (None, None, None, None);
            while let Some(key) = map.next_key::<std::borrow::Cow<str>>()? {
                match key.as_ref() {
                    "__class__" => class = Some(map.next_value::<String>()?),
                    "year" => year = Some(map.next_value::<i32>()?),
                    "month" => month = Some(map.next_value::<u32>()?),
                    "day" => day = Some(map.next_value::<u32>()?),
                    _ => {
                        map.next_value::<serde::de::IgnoredAny>()?;
                    }
                }
            }
            let (Some("datetime"), Some(year), Some(month), Some(day)) =
                (class.as_deref(), year, month, day)
            else {
                return Err(serde::de::Error::custom(
                    "not a timestamp: an object that is not placebo's {\"__class__\": \"datetime\", \"year\": …, \"month\": …, \"day\": …}",
                ));
            };
            format!("{year:04}-{month:02}-{day:02}")
                .parse()
                .map(Some)
                .map_err(serde::de::Error::custom)
        }
    }
    d.deserialize_any(Visitor)
}

// ---------------------------------------------------------------- EC2

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Tag {
    #[serde(default)]
    pub key: String,
    #[serde(default)]
    pub value: String,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Subnet {
    #[serde(default)]
    pub subnet_id: String,
    #[serde(default)]
    pub vpc_id: Option<String>,
    #[serde(default)]
    pub cidr_block: Option<String>,
    #[serde(default)]
    pub available_ip_address_count: Option<u32>,
    #[serde(default)]
    pub availability_zone: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct CidrBlockAssociation {
    #[serde(default)]
    pub cidr_block: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Vpc {
    #[serde(default)]
    pub vpc_id: String,
    #[serde(default)]
    pub cidr_block: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub cidr_block_association_set: Vec<CidrBlockAssociation>,
}

impl Vpc {
    /// Every IPv4 CIDR of the VPC (primary and secondary), deduplicated.
    pub fn cidrs(&self) -> Vec<&str> {
        let mut all: Vec<&str> = self
            .cidr_block
            .iter()
            .map(String::as_str)
            .chain(
                self.cidr_block_association_set
                    .iter()
                    .filter_map(|a| a.cidr_block.as_deref()),
            )
            .collect();
        all.sort_unstable();
        all.dedup();
        all
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Route {
    #[serde(default)]
    pub destination_cidr_block: Option<String>,
    #[serde(default)]
    pub gateway_id: Option<String>,
    #[serde(default)]
    pub vpc_peering_connection_id: Option<String>,
    #[serde(default)]
    pub transit_gateway_id: Option<String>,
    #[serde(default)]
    pub state: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RouteTable {
    #[serde(default)]
    pub route_table_id: String,
    #[serde(default)]
    pub vpc_id: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub routes: Vec<Route>,
    /// Which subnets use the table (`Main: true`: the VPC's main table, for
    /// subnets with no explicit association).
    #[serde(default, deserialize_with = "null_default")]
    pub associations: Vec<RouteTableAssociation>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct RouteTableAssociation {
    #[serde(default)]
    pub main: Option<bool>,
    #[serde(default)]
    pub subnet_id: Option<String>,
}

impl RouteTable {
    /// A default route to an internet gateway: the subnets using the table
    /// are public.
    pub fn routes_to_internet_gateway(&self) -> bool {
        self.routes.iter().any(|r| {
            r.destination_cidr_block.as_deref() == Some("0.0.0.0/0")
                && r.gateway_id
                    .as_deref()
                    .is_some_and(|g| g.starts_with("igw-"))
                && r.state.as_deref() != Some("blackhole")
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct IpRange {
    #[serde(default)]
    pub cidr_ip: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct UserIdGroupPair {
    #[serde(default)]
    pub group_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct IpPermission {
    /// `tcp`, `udp`, `icmp` or `-1` (all).
    #[serde(default)]
    pub ip_protocol: Option<String>,
    #[serde(default)]
    pub from_port: Option<i32>,
    #[serde(default)]
    pub to_port: Option<i32>,
    #[serde(default, deserialize_with = "null_default")]
    pub ip_ranges: Vec<IpRange>,
    #[serde(default, deserialize_with = "null_default")]
    pub user_id_group_pairs: Vec<UserIdGroupPair>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct SecurityGroup {
    #[serde(default)]
    pub group_id: String,
    #[serde(default)]
    pub group_name: Option<String>,
    #[serde(default)]
    pub vpc_id: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub ip_permissions: Vec<IpPermission>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct GroupIdentifier {
    #[serde(default)]
    pub group_id: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Ec2Instance {
    #[serde(default)]
    pub instance_id: String,
    /// `State.Name`: pending, running, shutting-down, terminated, stopping, stopped.
    #[serde(default)]
    pub state: Option<InstanceState>,
    #[serde(default)]
    pub private_ip_address: Option<String>,
    #[serde(default)]
    pub instance_type: Option<String>,
    #[serde(default)]
    pub subnet_id: Option<String>,
    #[serde(default)]
    pub vpc_id: Option<String>,
    #[serde(default)]
    pub private_dns_name: Option<String>,
    #[serde(default, deserialize_with = "null_default")]
    pub security_groups: Vec<GroupIdentifier>,
    #[serde(default, deserialize_with = "null_default")]
    pub tags: Vec<Tag>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct InstanceState {
    #[serde(default)]
    pub name: Option<String>,
}

impl Ec2Instance {
    /// `State.Name`, when the dump has it.
    pub fn state_name(&self) -> Option<&str> {
        self.state.as_ref().and_then(|s| s.name.as_deref())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PrivateIpAddress {
    #[serde(default)]
    pub private_ip_address: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct Ipv4PrefixSpecification {
    #[serde(default)]
    pub ipv4_prefix: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkInterfaceAttachment {
    #[serde(default)]
    pub instance_id: Option<String>,
    #[serde(default)]
    pub device_index: Option<u32>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct NetworkInterface {
    #[serde(default)]
    pub network_interface_id: String,
    #[serde(default)]
    pub subnet_id: Option<String>,
    #[serde(default)]
    pub interface_type: Option<String>,
    /// `available` (not attached), `in-use`, `attaching`, `detaching`.
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub description: Option<String>,
    #[serde(default)]
    pub vpc_id: Option<String>,
    #[serde(default)]
    pub availability_zone: Option<String>,
    #[serde(default)]
    pub private_ip_address: Option<String>,
    #[serde(default)]
    pub attachment: Option<NetworkInterfaceAttachment>,
    #[serde(default, deserialize_with = "null_default")]
    pub private_ip_addresses: Vec<PrivateIpAddress>,
    /// /28 prefixes assigned with prefix delegation (16 addresses each).
    #[serde(default, deserialize_with = "null_default")]
    pub ipv4_prefixes: Vec<Ipv4PrefixSpecification>,
    #[serde(default, deserialize_with = "null_default")]
    pub groups: Vec<GroupIdentifier>,
    #[serde(default, deserialize_with = "null_default")]
    pub tag_set: Vec<Tag>,
}

/// The tags and description Cilium's operator gives the ENIs it creates
/// (Helm `eni.gcTags` default `io.cilium/cilium-managed=true`,
/// `io.cilium/cluster-name=<name>`; description `Cilium-CNI (<instance id>)`,
/// pkg/aws/eni/node.go).
pub const CILIUM_ENI_MANAGED_TAG: &str = "io.cilium/cilium-managed";
pub const CILIUM_ENI_CLUSTER_TAG: &str = "io.cilium/cluster-name";
pub const CILIUM_ENI_DESCRIPTION_PREFIX: &str = "Cilium-CNI (";

impl NetworkInterface {
    pub fn tag(&self, key: &str) -> Option<&str> {
        self.tag_set
            .iter()
            .find(|t| t.key == key)
            .map(|t| t.value.as_str())
    }

    /// Created by Cilium's operator: its GC tag or its description.
    pub fn created_by_cilium(&self) -> bool {
        self.tag(CILIUM_ENI_MANAGED_TAG).is_some()
            || self
                .description
                .as_deref()
                .is_some_and(|d| d.starts_with(CILIUM_ENI_DESCRIPTION_PREFIX))
    }

    /// The instance of `Cilium-CNI (i-…)`.
    pub fn cilium_description_instance(&self) -> Option<&str> {
        self.description
            .as_deref()?
            .strip_prefix(CILIUM_ENI_DESCRIPTION_PREFIX)?
            .strip_suffix(')')
    }

    /// Every private IPv4 address the ENI holds (`PrivateIpAddresses`, and
    /// the primary `PrivateIpAddress`).
    pub fn addresses(&self) -> impl Iterator<Item = &str> {
        self.private_ip_addresses
            .iter()
            .filter_map(|a| a.private_ip_address.as_deref())
            .chain(self.private_ip_address.as_deref())
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PeeringVpcInfo {
    #[serde(default)]
    pub vpc_id: Option<String>,
    #[serde(default)]
    pub cidr_block: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct PeeringStatus {
    #[serde(default)]
    pub code: Option<String>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "PascalCase")]
pub struct VpcPeeringConnection {
    #[serde(default)]
    pub vpc_peering_connection_id: String,
    #[serde(default)]
    pub requester_vpc_info: PeeringVpcInfo,
    #[serde(default)]
    pub accepter_vpc_info: PeeringVpcInfo,
    #[serde(default)]
    pub status: PeeringStatus,
}

/// EC2 DescribeInstanceTypes entry, reduced to network limits.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Ec2InstanceType {
    pub instance_type: String,
    /// ENIs of the default network card (what can be attached to card 0).
    pub enis: u32,
    /// `NetworkInfo.MaximumNetworkInterfaces`: every card (what Cilium's
    /// operator counts).
    pub enis_all_cards: u32,
    pub ipv4_per_eni: u32,
    pub hypervisor: Option<String>,
    pub bare_metal: bool,
    pub vcpus: Option<u32>,
}

// ---------------------------------------------------------------- IAM

/// One IAM policy statement, normalised: single strings become lists.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Statement {
    pub effect_allow: bool,
    pub actions: Vec<String>,
    pub not_actions: Vec<String>,
    pub resources: Vec<String>,
    /// Principal values by type (`Federated`, `AWS`, `Service`, or `*`).
    pub principals: BTreeMap<String, Vec<String>>,
    /// operator → condition key → values (e.g. `StringEquals` → `…:sub` → […]).
    pub conditions: BTreeMap<String, BTreeMap<String, Vec<String>>>,
}

/// A parsed IAM policy document (URL-decoded where it came encoded).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PolicyDocument {
    pub statements: Vec<Statement>,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct InlinePolicy {
    pub name: String,
    pub document: PolicyDocument,
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IamRole {
    pub name: String,
    pub arn: String,
    pub trust_policy: Option<PolicyDocument>,
    pub inline_policies: Vec<InlinePolicy>,
    /// ARNs of attached managed policies.
    pub attached_policy_arns: Vec<String>,
}

/// A managed policy with its default version's document.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct ManagedPolicy {
    pub name: String,
    pub arn: String,
    pub document: Option<PolicyDocument>,
}
