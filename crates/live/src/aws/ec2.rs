//! EC2: the cluster VPC with its subnets, route tables and security
//! groups, and the instance types in use, as `aws ec2 describe-*` outputs.

use std::collections::BTreeSet;

use aws_sdk_ec2::types::Filter;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use doctor_core::model::{
    CidrBlockAssociation, Ec2Instance, GroupIdentifier, InstanceState, IpPermission, IpRange,
    Ipv4PrefixSpecification, NetworkInterface, NetworkInterfaceAttachment, PrivateIpAddress, Route,
    RouteTable, RouteTableAssociation, SecurityGroup, Subnet, Tag, UserIdGroupPair, Vpc,
};
use serde::Serialize;
use serde_json::json;

use super::Aws;
use crate::calls::aws::*;
use crate::LiveError;

fn s(v: Option<&str>) -> Option<String> {
    v.map(str::to_string)
}

fn tags(tags: &[aws_sdk_ec2::types::Tag]) -> Vec<Tag> {
    tags.iter()
        .map(|t| Tag {
            key: t.key().unwrap_or_default().to_string(),
            value: t.value().unwrap_or_default().to_string(),
        })
        .collect()
}

fn subnet(x: &aws_sdk_ec2::types::Subnet) -> Subnet {
    Subnet {
        subnet_id: x.subnet_id().unwrap_or_default().to_string(),
        vpc_id: s(x.vpc_id()),
        cidr_block: s(x.cidr_block()),
        available_ip_address_count: x
            .available_ip_address_count()
            .and_then(|n| u32::try_from(n).ok()),
        availability_zone: s(x.availability_zone()),
        tags: tags(x.tags()),
    }
}

fn vpc(x: &aws_sdk_ec2::types::Vpc) -> Vpc {
    Vpc {
        vpc_id: x.vpc_id().unwrap_or_default().to_string(),
        cidr_block: s(x.cidr_block()),
        cidr_block_association_set: x
            .cidr_block_association_set()
            .iter()
            .map(|a| CidrBlockAssociation {
                cidr_block: s(a.cidr_block()),
            })
            .collect(),
    }
}

fn route_table(x: &aws_sdk_ec2::types::RouteTable) -> RouteTable {
    RouteTable {
        route_table_id: x.route_table_id().unwrap_or_default().to_string(),
        vpc_id: s(x.vpc_id()),
        routes: x
            .routes()
            .iter()
            .map(|r| Route {
                destination_cidr_block: s(r.destination_cidr_block()),
                gateway_id: s(r.gateway_id()),
                vpc_peering_connection_id: s(r.vpc_peering_connection_id()),
                transit_gateway_id: s(r.transit_gateway_id()),
                state: r.state().map(|v| v.as_str().to_string()),
            })
            .collect(),
        associations: x
            .associations()
            .iter()
            .map(|a| RouteTableAssociation {
                main: a.main(),
                subnet_id: s(a.subnet_id()),
            })
            .collect(),
    }
}

fn group_identifiers(groups: &[aws_sdk_ec2::types::GroupIdentifier]) -> Vec<GroupIdentifier> {
    groups
        .iter()
        .map(|g| GroupIdentifier {
            group_id: s(g.group_id()),
        })
        .collect()
}

fn network_interface(x: &aws_sdk_ec2::types::NetworkInterface) -> NetworkInterface {
    NetworkInterface {
        network_interface_id: x.network_interface_id().unwrap_or_default().to_string(),
        subnet_id: s(x.subnet_id()),
        interface_type: x.interface_type().map(|t| t.as_str().to_string()),
        status: x.status().map(|t| t.as_str().to_string()),
        description: s(x.description()),
        vpc_id: s(x.vpc_id()),
        availability_zone: s(x.availability_zone()),
        private_ip_address: s(x.private_ip_address()),
        attachment: x.attachment().map(|a| NetworkInterfaceAttachment {
            instance_id: s(a.instance_id()),
            device_index: a.device_index().and_then(|i| u32::try_from(i).ok()),
        }),
        private_ip_addresses: x
            .private_ip_addresses()
            .iter()
            .map(|a| PrivateIpAddress {
                private_ip_address: s(a.private_ip_address()),
            })
            .collect(),
        ipv4_prefixes: x
            .ipv4_prefixes()
            .iter()
            .map(|p| Ipv4PrefixSpecification {
                ipv4_prefix: s(p.ipv4_prefix()),
            })
            .collect(),
        groups: group_identifiers(x.groups()),
        tag_set: tags(x.tag_set()),
    }
}

fn ec2_instance(x: &aws_sdk_ec2::types::Instance) -> Ec2Instance {
    Ec2Instance {
        instance_id: x.instance_id().unwrap_or_default().to_string(),
        state: x.state().map(|st| InstanceState {
            name: st.name().map(|n| n.as_str().to_string()),
        }),
        private_ip_address: s(x.private_ip_address()),
        instance_type: x.instance_type().map(|t| t.as_str().to_string()),
        subnet_id: s(x.subnet_id()),
        vpc_id: s(x.vpc_id()),
        private_dns_name: s(x.private_dns_name()),
        security_groups: x
            .security_groups()
            .iter()
            .map(|g| GroupIdentifier {
                group_id: s(g.group_id()),
            })
            .collect(),
        tags: tags(x.tags()),
    }
}

fn security_group(x: &aws_sdk_ec2::types::SecurityGroup) -> SecurityGroup {
    SecurityGroup {
        group_id: x.group_id().unwrap_or_default().to_string(),
        group_name: s(x.group_name()),
        vpc_id: s(x.vpc_id()),
        ip_permissions: x
            .ip_permissions()
            .iter()
            .map(|p| IpPermission {
                ip_protocol: s(p.ip_protocol()),
                from_port: p.from_port(),
                to_port: p.to_port(),
                ip_ranges: p
                    .ip_ranges()
                    .iter()
                    .map(|r| IpRange {
                        cidr_ip: s(r.cidr_ip()),
                    })
                    .collect(),
                user_id_group_pairs: p
                    .user_id_group_pairs()
                    .iter()
                    .map(|g| UserIdGroupPair {
                        group_id: s(g.group_id()),
                    })
                    .collect(),
            })
            .collect(),
    }
}

/// DescribeInstanceTypes entry: the model keeps only derived numbers, so
/// the fields the loader reads are written here in the AWS CLI shape.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct InstanceType {
    instance_type: String,
    hypervisor: Option<String>,
    bare_metal: Option<bool>,
    v_cpu_info: VCpuInfo,
    network_info: NetworkInfo,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct VCpuInfo {
    default_v_cpus: Option<i32>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct NetworkInfo {
    maximum_network_interfaces: Option<i32>,
    ipv4_addresses_per_interface: Option<i32>,
    default_network_card_index: Option<i32>,
    network_cards: Vec<NetworkCard>,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct NetworkCard {
    network_card_index: Option<i32>,
    maximum_network_interfaces: Option<i32>,
}

fn instance_type(x: &aws_sdk_ec2::types::InstanceTypeInfo) -> InstanceType {
    let net = x.network_info();
    InstanceType {
        instance_type: x
            .instance_type()
            .map(|t| t.as_str().to_string())
            .unwrap_or_default(),
        hypervisor: x.hypervisor().map(|h| h.as_str().to_string()),
        bare_metal: x.bare_metal(),
        v_cpu_info: VCpuInfo {
            default_v_cpus: x.v_cpu_info().and_then(|v| v.default_v_cpus()),
        },
        network_info: NetworkInfo {
            maximum_network_interfaces: net.and_then(|n| n.maximum_network_interfaces()),
            ipv4_addresses_per_interface: net.and_then(|n| n.ipv4_addresses_per_interface()),
            default_network_card_index: net.and_then(|n| n.default_network_card_index()),
            network_cards: net
                .map(|n| n.network_cards())
                .unwrap_or_default()
                .iter()
                .map(|c| NetworkCard {
                    network_card_index: c.network_card_index(),
                    maximum_network_interfaces: c.maximum_network_interfaces(),
                })
                .collect(),
        },
    }
}

/// DescribeLaunchTemplateVersions entry in the AWS CLI shape, its user
/// data reduced to the max pods settings it holds
/// ([`doctor_core::userdata::KubeletMaxPods::reduced`]): user data can hold
/// secrets, and nothing else of it is read.
#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LaunchTemplateVersion {
    launch_template_id: Option<String>,
    launch_template_name: Option<String>,
    version_number: Option<i64>,
    default_version: Option<bool>,
    launch_template_data: LaunchTemplateData,
}

#[derive(Serialize)]
#[serde(rename_all = "PascalCase")]
struct LaunchTemplateData {
    image_id: Option<String>,
    instance_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    user_data: Option<String>,
}

fn launch_template_version(v: &aws_sdk_ec2::types::LaunchTemplateVersion) -> LaunchTemplateVersion {
    use base64::Engine;
    let data = v.launch_template_data();
    let user_data = data.and_then(|d| d.user_data()).and_then(|text| {
        let reduced = match doctor_core::userdata::from_base64(text) {
            Ok(u) => u.reduced()?,
            // Kept as unreadable, without the text.
            Err(why) => format!(
                "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet:\n    config:\n      maxPods: {}\n",
                serde_json::to_string(&format!("unreadable: {why}")).unwrap_or_default()
            ),
        };
        Some(base64::engine::general_purpose::STANDARD.encode(reduced))
    });
    LaunchTemplateVersion {
        launch_template_id: s(v.launch_template_id()),
        launch_template_name: s(v.launch_template_name()),
        version_number: v.version_number(),
        default_version: v.default_version(),
        launch_template_data: LaunchTemplateData {
            image_id: s(data.and_then(|d| d.image_id())),
            instance_type: data
                .and_then(|d| d.instance_type())
                .map(|t| t.as_str().to_string()),
            user_data,
        },
    }
}

fn in_vpc(vpc: &str) -> Filter {
    Filter::builder().name("vpc-id").values(vpc).build()
}

impl Aws {
    /// The cluster VPC, its subnets (those of every node group among
    /// them), route tables and security groups.
    pub(super) async fn vpc(&mut self, id: &str) -> Result<(), LiveError> {
        let pages = self
            .ec2
            .describe_vpcs()
            .vpc_ids(id)
            .into_paginator()
            .items()
            .send();
        if let Some(found) = self.call(EC2_DESCRIBE_VPCS, pages.try_collect()).await? {
            let vpcs: Vec<Vpc> = found.iter().map(vpc).collect();
            self.part.put(
                "ec2-vpcs.json".into(),
                EC2_DESCRIBE_VPCS,
                vpcs.len(),
                &json!({ "Vpcs": vpcs }),
            );
        }
        let pages = self
            .ec2
            .describe_subnets()
            .filters(in_vpc(id))
            .into_paginator()
            .items()
            .send();
        if let Some(found) = self.call(EC2_DESCRIBE_SUBNETS, pages.try_collect()).await? {
            let subnets: Vec<Subnet> = found.iter().map(subnet).collect();
            let n = subnets.len();
            self.part.put(
                "ec2-subnets.json".into(),
                EC2_DESCRIBE_SUBNETS,
                n,
                &json!({ "Subnets": subnets }),
            );
        }
        let pages = self
            .ec2
            .describe_route_tables()
            .filters(in_vpc(id))
            .into_paginator()
            .items()
            .send();
        if let Some(found) = self
            .call(EC2_DESCRIBE_ROUTE_TABLES, pages.try_collect())
            .await?
        {
            let tables: Vec<RouteTable> = found.iter().map(route_table).collect();
            let n = tables.len();
            let value = json!({ "RouteTables": tables });
            self.part.put(
                "ec2-route-tables.json".into(),
                EC2_DESCRIBE_ROUTE_TABLES,
                n,
                &value,
            );
        }
        let pages = self
            .ec2
            .describe_security_groups()
            .filters(in_vpc(id))
            .into_paginator()
            .items()
            .send();
        if let Some(found) = self
            .call(EC2_DESCRIBE_SECURITY_GROUPS, pages.try_collect())
            .await?
        {
            let groups: Vec<SecurityGroup> = found.iter().map(security_group).collect();
            let n = groups.len();
            let value = json!({ "SecurityGroups": groups });
            self.part.put(
                "ec2-security-groups.json".into(),
                EC2_DESCRIBE_SECURITY_GROUPS,
                n,
                &value,
            );
        }
        Ok(())
    }

    /// The ENIs and EC2 instances of the cluster VPC, to hold Cilium's IPAM
    /// view (CiliumNodes) against EC2: leaked ENIs, CiliumNodes whose
    /// instance is gone, pool addresses on no ENI of the node.
    pub(super) async fn enis_and_instances(&mut self, id: &str) -> Result<(), LiveError> {
        let pages = self
            .ec2
            .describe_network_interfaces()
            .filters(in_vpc(id))
            .into_paginator()
            .items()
            .send();
        if let Some(found) = self
            .call(EC2_DESCRIBE_NETWORK_INTERFACES, pages.try_collect())
            .await?
        {
            let enis: Vec<NetworkInterface> = found.iter().map(network_interface).collect();
            let n = enis.len();
            self.part.put(
                "ec2-network-interfaces.json".into(),
                EC2_DESCRIBE_NETWORK_INTERFACES,
                n,
                &json!({ "NetworkInterfaces": enis }),
            );
        }
        let pages = self
            .ec2
            .describe_instances()
            .filters(in_vpc(id))
            .into_paginator()
            .items()
            .send();
        if let Some(found) = self
            .call(EC2_DESCRIBE_INSTANCES, pages.try_collect())
            .await?
        {
            let instances: Vec<Ec2Instance> = found
                .iter()
                .flat_map(|r| r.instances())
                .map(ec2_instance)
                .collect();
            let n = instances.len();
            self.part.put(
                "ec2-instances.json".into(),
                EC2_DESCRIBE_INSTANCES,
                n,
                &json!({ "Reservations": [{ "Instances": instances }] }),
            );
        }
        Ok(())
    }

    /// The launch template version each node group uses (the max pods its
    /// new nodes get), one request per node group, into one file.
    pub(super) async fn launch_templates(
        &mut self,
        nodegroups: &[doctor_core::model::Nodegroup],
    ) -> Result<(), LiveError> {
        let mut found = Vec::new();
        let mut asked = BTreeSet::new();
        for lt in nodegroups.iter().filter_map(|n| n.launch_template.as_ref()) {
            let version = lt.version.clone().unwrap_or_else(|| "$Default".into());
            let key = (lt.id.clone(), lt.name.clone(), version.clone());
            if !asked.insert(key) {
                continue;
            }
            let mut request = self
                .ec2
                .describe_launch_template_versions()
                .versions(version);
            request = match (&lt.id, &lt.name) {
                (Some(id), _) => request.launch_template_id(id),
                (None, Some(name)) => request.launch_template_name(name),
                (None, None) => continue,
            };
            if let Some(out) = self
                .call(EC2_DESCRIBE_LAUNCH_TEMPLATE_VERSIONS, request.send())
                .await?
            {
                found.extend(
                    out.launch_template_versions()
                        .iter()
                        .map(launch_template_version),
                );
            }
        }
        if asked.is_empty() {
            return Ok(());
        }
        let n = found.len();
        self.part.put(
            "ec2-launch-template-versions.json".into(),
            EC2_DESCRIBE_LAUNCH_TEMPLATE_VERSIONS,
            n,
            &json!({ "LaunchTemplateVersions": found }),
        );
        Ok(())
    }

    /// The VPC of the cluster's subnets, for endpoints whose DescribeCluster
    /// omits `vpcId` (emulators).
    pub(super) async fn vpc_of_subnets(
        &mut self,
        subnets: &[String],
    ) -> Result<Option<String>, LiveError> {
        if subnets.is_empty() {
            return Ok(None);
        }
        let request = self
            .ec2
            .describe_subnets()
            .set_subnet_ids(Some(subnets.to_vec()))
            .send();
        let found = self.call(EC2_DESCRIBE_SUBNETS, request).await?;
        Ok(found.and_then(|o| {
            o.subnets()
                .iter()
                .find_map(|s| s.vpc_id().map(str::to_string))
        }))
    }

    /// The instance types in use (node groups and nodes), in requests of at
    /// most [`INSTANCE_TYPES_PER_CALL`] types, into one file. A type EC2 does
    /// not know (`InvalidInstanceType`: a made-up node label, a type of
    /// another region) fails only its own request: that batch is asked again
    /// one type at a time and the unknown types are left out.
    pub(super) async fn instance_types(
        &mut self,
        types: &BTreeSet<String>,
    ) -> Result<(), LiveError> {
        if types.is_empty() {
            return Ok(());
        }
        let names: Vec<&str> = types.iter().map(String::as_str).collect();
        let mut found = Vec::new();
        for batch in names.chunks(INSTANCE_TYPES_PER_CALL) {
            match self.describe_instance_types(batch).await? {
                Described::Types(types) => found.extend(types),
                Described::Gap => return Ok(()),
                Described::Unknown if batch.len() == 1 => {}
                Described::Unknown => {
                    for name in batch {
                        match self.describe_instance_types(&[name]).await? {
                            Described::Types(types) => found.extend(types),
                            Described::Gap => return Ok(()),
                            Described::Unknown => {}
                        }
                    }
                }
            }
        }
        let types: Vec<InstanceType> = found.iter().map(instance_type).collect();
        let n = types.len();
        let value = json!({ "InstanceTypes": types });
        self.part.put(
            "ec2-instance-types.json".into(),
            EC2_DESCRIBE_INSTANCE_TYPES,
            n,
            &value,
        );
        Ok(())
    }

    /// One DescribeInstanceTypes request (paginated) for `names`.
    async fn describe_instance_types(&mut self, names: &[&str]) -> Result<Described, LiveError> {
        let mut request = self.ec2.describe_instance_types();
        for name in names {
            request = request.instance_types((*name).into());
        }
        let pages = request.into_paginator().items().send();
        let result: Result<Vec<_>, _> = pages.try_collect().await;
        if let Err(SdkError::ServiceError(ctx)) = &result {
            if ctx.err().code() == Some(INVALID_INSTANCE_TYPE) {
                return Ok(Described::Unknown);
            }
        }
        Ok(
            match self
                .call(EC2_DESCRIBE_INSTANCE_TYPES, std::future::ready(result))
                .await?
            {
                Some(types) => Described::Types(types),
                None => Described::Gap,
            },
        )
    }
}

/// DescribeInstanceTypes accepts at most this many `InstanceTypes` per
/// request (EC2 API reference: "Maximum number of 100 items").
pub(super) const INSTANCE_TYPES_PER_CALL: usize = 100;

/// EC2's error code for an instance type name it does not know.
const INVALID_INSTANCE_TYPE: &str = "InvalidInstanceType";

/// What one DescribeInstanceTypes request gave.
enum Described {
    Types(Vec<aws_sdk_ec2::types::InstanceTypeInfo>),
    /// Denied or unsupported: recorded as a gap, stop asking.
    Gap,
    /// At least one name is not an instance type EC2 knows.
    Unknown,
}
