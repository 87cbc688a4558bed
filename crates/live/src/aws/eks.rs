//! EKS: the cluster, its add-ons and managed node groups, and the version
//! calendar, written as `aws eks describe-*` outputs (the core model types
//! serialise to the AWS CLI's field names).

use std::collections::BTreeMap;

use aws_smithy_types::DateTime;
use doctor_core::model::{Addon, EksCluster, EksIdentity, EksNetworkConfig, EksOidc, EksVpcConfig};
use doctor_core::model::{
    Nodegroup, NodegroupLaunchTemplate, NodegroupTaint, RemoteNetwork, RemoteNetworkConfig,
    ScalingConfig, UpgradePolicy,
};
use doctor_core::version::Date;
use serde::Serialize;
use serde_json::json;

use super::Aws;
use crate::calls::aws::*;
use crate::LiveError;

fn tags(map: Option<&std::collections::HashMap<String, String>>) -> BTreeMap<String, String> {
    map.into_iter()
        .flatten()
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

fn cluster(c: &aws_sdk_eks::types::Cluster) -> EksCluster {
    let vpc = c.resources_vpc_config();
    let net = c.kubernetes_network_config();
    EksCluster {
        name: c.name().unwrap_or_default().to_string(),
        arn: c.arn().map(str::to_string),
        version: c.version().map(str::to_string),
        platform_version: c.platform_version().map(str::to_string),
        endpoint: c.endpoint().map(str::to_string),
        status: c.status().map(|s| s.as_str().to_string()),
        resources_vpc_config: EksVpcConfig {
            vpc_id: vpc.and_then(|v| v.vpc_id()).map(str::to_string),
            subnet_ids: vpc.map(|v| v.subnet_ids().to_vec()).unwrap_or_default(),
            security_group_ids: vpc
                .map(|v| v.security_group_ids().to_vec())
                .unwrap_or_default(),
            cluster_security_group_id: vpc
                .and_then(|v| v.cluster_security_group_id())
                .map(str::to_string),
        },
        kubernetes_network_config: EksNetworkConfig {
            service_ipv4_cidr: net.and_then(|n| n.service_ipv4_cidr()).map(str::to_string),
            service_ipv6_cidr: net.and_then(|n| n.service_ipv6_cidr()).map(str::to_string),
            ip_family: net
                .and_then(|n| n.ip_family())
                .map(|f| f.as_str().to_string()),
        },
        identity: c.identity().map(|i| EksIdentity {
            oidc: i.oidc().map(|o| EksOidc {
                issuer: o.issuer().map(str::to_string),
            }),
        }),
        upgrade_policy: c.upgrade_policy().map(|u| UpgradePolicy {
            support_type: u.support_type().map(|s| s.as_str().to_string()),
        }),
        tags: tags(c.tags()),
        remote_network_config: c.remote_network_config().map(|r| RemoteNetworkConfig {
            remote_node_networks: r
                .remote_node_networks()
                .iter()
                .map(|n| RemoteNetwork {
                    cidrs: n.cidrs().to_vec(),
                })
                .collect(),
            remote_pod_networks: r
                .remote_pod_networks()
                .iter()
                .map(|n| RemoteNetwork {
                    cidrs: n.cidrs().to_vec(),
                })
                .collect(),
        }),
    }
}

fn nodegroup(n: &aws_sdk_eks::types::Nodegroup) -> Nodegroup {
    let scaling = n.scaling_config();
    let size = |v: Option<i32>| v.and_then(|v| u32::try_from(v).ok());
    Nodegroup {
        nodegroup_name: n.nodegroup_name().unwrap_or_default().to_string(),
        cluster_name: n.cluster_name().map(str::to_string),
        version: n.version().map(str::to_string),
        release_version: n.release_version().map(str::to_string),
        ami_type: n.ami_type().map(|a| a.as_str().to_string()),
        instance_types: n.instance_types().to_vec(),
        subnets: n.subnets().to_vec(),
        scaling_config: ScalingConfig {
            min_size: size(scaling.and_then(|s| s.min_size())),
            max_size: size(scaling.and_then(|s| s.max_size())),
            desired_size: size(scaling.and_then(|s| s.desired_size())),
        },
        taints: n
            .taints()
            .iter()
            .map(|t| NodegroupTaint {
                key: t.key().unwrap_or_default().to_string(),
                value: t.value().map(str::to_string),
                effect: t
                    .effect()
                    .map(|e| e.as_str().to_string())
                    .unwrap_or_default(),
            })
            .collect(),
        labels: tags(n.labels()),
        node_role: n.node_role().map(str::to_string),
        launch_template: n.launch_template().map(|l| NodegroupLaunchTemplate {
            name: l.name().map(str::to_string),
            version: l.version().map(str::to_string),
            id: l.id().map(str::to_string),
        }),
    }
}

fn addon(a: &aws_sdk_eks::types::Addon) -> Addon {
    Addon {
        addon_name: a.addon_name().unwrap_or_default().to_string(),
        addon_version: a.addon_version().map(str::to_string),
        status: a.status().map(|s| s.as_str().to_string()),
        service_account_role_arn: a.service_account_role_arn().map(str::to_string),
        configuration_values: a.configuration_values().map(str::to_string),
    }
}

/// One `clusterVersions[]` row as `aws eks describe-cluster-versions
/// --output json` prints it: the service's field order, absent fields left
/// out, timestamps in the CLI's ISO 8601.
#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct ClusterVersion {
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster_version: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster_type: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    default_platform_version: Option<String>,
    default_version: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    release_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_of_standard_support_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    end_of_extended_support_date: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    version_status: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    kubernetes_patch_version: Option<String>,
}

/// A timestamp as the AWS CLI v2 prints it in UTC (Python's `isoformat`):
/// `2025-05-29T00:00:00+00:00`, microseconds only when there are some.
pub(crate) fn cli_timestamp(t: &DateTime) -> String {
    const DAY: i64 = 86_400;
    let secs = t.secs();
    let date = Date::from_days_since_epoch(secs.div_euclid(DAY));
    let of_day = secs.rem_euclid(DAY);
    let micros = t.subsec_nanos() / 1_000;
    let fraction = if micros == 0 {
        String::new()
    } else {
        format!(".{micros:06}")
    };
    format!(
        "{date}T{:02}:{:02}:{:02}{fraction}+00:00",
        of_day / 3600,
        of_day % 3600 / 60,
        of_day % 60
    )
}

fn cluster_version(v: &aws_sdk_eks::types::ClusterVersionInformation) -> ClusterVersion {
    ClusterVersion {
        cluster_version: v.cluster_version().map(str::to_string),
        cluster_type: v.cluster_type().map(str::to_string),
        default_platform_version: v.default_platform_version().map(str::to_string),
        default_version: v.default_version(),
        release_date: v.release_date().map(cli_timestamp),
        end_of_standard_support_date: v.end_of_standard_support_date().map(cli_timestamp),
        end_of_extended_support_date: v.end_of_extended_support_date().map(cli_timestamp),
        status: v.status().map(|s| s.as_str().to_string()),
        version_status: v.version_status().map(|s| s.as_str().to_string()),
        kubernetes_patch_version: v.kubernetes_patch_version().map(str::to_string),
    }
}

impl Aws {
    /// describe-cluster-versions with `includeAll`: EKS's support calendar
    /// for every version it knows, the cluster's own even past its support
    /// and every later one a plan may need (an account-wide read, about
    /// twenty rows). `check` prefers these dates over the embedded calendar.
    pub(super) async fn cluster_versions(&mut self) -> Result<(), LiveError> {
        let pages = self
            .eks
            .describe_cluster_versions()
            .include_all(true)
            .into_paginator()
            .items()
            .send();
        let Some(found) = self
            .call(EKS_DESCRIBE_CLUSTER_VERSIONS, pages.try_collect())
            .await?
        else {
            return Ok(());
        };
        let rows: Vec<ClusterVersion> = found.iter().map(cluster_version).collect();
        self.part.put(
            "eks-cluster-versions.json".into(),
            EKS_DESCRIBE_CLUSTER_VERSIONS,
            rows.len(),
            &json!({ "clusterVersions": rows }),
        );
        Ok(())
    }

    /// describe-cluster; a cluster that does not exist ends the run (every
    /// other call would be about nothing).
    pub(super) async fn describe_cluster(
        &mut self,
        name: &str,
    ) -> Result<Option<EksCluster>, LiveError> {
        let request = self.eks.describe_cluster().name(name).send();
        let Some(output) = self.call(EKS_DESCRIBE_CLUSTER, request).await? else {
            return Ok(None);
        };
        let found = output
            .cluster()
            .map(cluster)
            .ok_or_else(|| LiveError::Aws {
                action: EKS_DESCRIBE_CLUSTER.into(),
                message: format!("no cluster in the answer for {name:?}"),
            })?;
        self.part.put(
            "eks-cluster.json".into(),
            EKS_DESCRIBE_CLUSTER,
            1,
            &json!({ "cluster": found }),
        );
        Ok(Some(found))
    }

    pub(super) async fn addons(&mut self, cluster: &str) -> Result<(), LiveError> {
        let pages = self
            .eks
            .list_addons()
            .cluster_name(cluster)
            .into_paginator()
            .items()
            .send();
        let Some(names) = self.call(EKS_LIST_ADDONS, pages.try_collect()).await? else {
            return Ok(());
        };
        self.part.put(
            "eks-addons.json".into(),
            EKS_LIST_ADDONS,
            names.len(),
            &json!({ "addons": names }),
        );
        for name in names {
            let request = self
                .eks
                .describe_addon()
                .cluster_name(cluster)
                .addon_name(&name)
                .send();
            if let Some(output) = self.call(EKS_DESCRIBE_ADDON, request).await? {
                if let Some(found) = output.addon() {
                    let file = format!("eks-addon-{name}.json");
                    self.part.put(
                        file,
                        EKS_DESCRIBE_ADDON,
                        1,
                        &json!({ "addon": addon(found) }),
                    );
                }
            }
        }
        Ok(())
    }

    pub(super) async fn nodegroups(&mut self, cluster: &str) -> Result<Vec<Nodegroup>, LiveError> {
        let pages = self
            .eks
            .list_nodegroups()
            .cluster_name(cluster)
            .into_paginator()
            .items()
            .send();
        let Some(names) = self.call(EKS_LIST_NODEGROUPS, pages.try_collect()).await? else {
            return Ok(Vec::new());
        };
        let mut found = Vec::new();
        for name in names {
            let request = self
                .eks
                .describe_nodegroup()
                .cluster_name(cluster)
                .nodegroup_name(&name)
                .send();
            if let Some(output) = self.call(EKS_DESCRIBE_NODEGROUP, request).await? {
                if let Some(group) = output.nodegroup().map(nodegroup) {
                    let file = format!("eks-nodegroup-{name}.json");
                    self.part.put(
                        file,
                        EKS_DESCRIBE_NODEGROUP,
                        1,
                        &json!({ "nodegroup": group }),
                    );
                    found.push(group);
                }
            }
        }
        Ok(found)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_written_as_the_cli_prints_them() {
        let t = |secs: i64, nanos: u32| cli_timestamp(&DateTime::from_secs_and_nanos(secs, nanos));
        assert_eq!(t(1_748_476_800, 0), "2025-05-29T00:00:00+00:00");
        assert_eq!(
            t(1_665_678_691, 516_000_000),
            "2022-10-13T16:31:31.516000+00:00"
        );
        assert_eq!(t(-1, 0), "1969-12-31T23:59:59+00:00");
        // The core loader reads them back as the same UTC day.
        let day = Date::from_timestamp(&t(1_748_476_800, 0)).unwrap();
        assert_eq!(day.to_string(), "2025-05-29");
    }

    #[test]
    fn a_cluster_version_row_has_the_cli_field_order_and_leaves_absent_fields_out() {
        let row = aws_sdk_eks::types::ClusterVersionInformation::builder()
            .cluster_version("1.33")
            .cluster_type("eks")
            .default_version(true)
            .release_date(DateTime::from_secs(1_748_476_800))
            .end_of_standard_support_date(DateTime::from_secs(1_785_283_200))
            .version_status(aws_sdk_eks::types::VersionStatus::StandardSupport)
            .build();
        assert_eq!(
            serde_json::to_string(&cluster_version(&row)).unwrap(),
            r#"{"clusterVersion":"1.33","clusterType":"eks","defaultVersion":true,"releaseDate":"2025-05-29T00:00:00+00:00","endOfStandardSupportDate":"2026-07-29T00:00:00+00:00","versionStatus":"STANDARD_SUPPORT"}"#
        );
    }
}
