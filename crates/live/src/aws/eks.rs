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
use serde_json::{json, Map, Value};

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

/// The status block of an insight as the CLI prints it.
fn insight_status(s: Option<&aws_sdk_eks::types::InsightStatus>) -> Option<Value> {
    let s = s?;
    let mut m = Map::new();
    put(&mut m, "status", s.status().map(|v| v.as_str()));
    put(&mut m, "reason", s.reason());
    Some(Value::Object(m))
}

fn put(m: &mut Map<String, Value>, key: &str, value: Option<&str>) {
    if let Some(v) = value {
        m.insert(key.to_string(), Value::String(v.to_string()));
    }
}

fn put_time(m: &mut Map<String, Value>, key: &str, value: Option<&DateTime>) {
    if let Some(t) = value {
        m.insert(key.to_string(), Value::String(cli_timestamp(t)));
    }
}

/// The fields `InsightSummary` and `Insight` share (two SDK types with the
/// same accessors), under the CLI's names.
macro_rules! insight_fields {
    ($i:expr) => {{
        let i = $i;
        let mut m = Map::new();
        put(&mut m, "id", i.id());
        put(&mut m, "name", i.name());
        put(&mut m, "category", i.category().map(|c| c.as_str()));
        put(&mut m, "kubernetesVersion", i.kubernetes_version());
        put_time(&mut m, "lastRefreshTime", i.last_refresh_time());
        put_time(&mut m, "lastTransitionTime", i.last_transition_time());
        put(&mut m, "description", i.description());
        if let Some(s) = insight_status(i.insight_status()) {
            m.insert("insightStatus".into(), s);
        }
        m
    }};
}

/// One `insights[]` row in the shape of `aws eks list-insights --output
/// json`: the CLI's field names, absent fields left out, CLI timestamps
/// (keys in name order: the loader reads them by name).
fn insight_summary(i: &aws_sdk_eks::types::InsightSummary) -> Value {
    Value::Object(insight_fields!(i))
}

/// The `insight` of `aws eks describe-insight --output json`.
fn insight(i: &aws_sdk_eks::types::Insight) -> Value {
    let mut m = insight_fields!(i);
    put(&mut m, "recommendation", i.recommendation());
    if let Some(info) = i.additional_info() {
        let sorted: BTreeMap<&String, &String> = info.iter().collect();
        m.insert("additionalInfo".into(), json!(sorted));
    }
    let resources: Vec<Value> = i
        .resources()
        .iter()
        .map(|r| {
            let mut m = Map::new();
            if let Some(s) = insight_status(r.insight_status()) {
                m.insert("insightStatus".into(), s);
            }
            put(&mut m, "kubernetesResourceUri", r.kubernetes_resource_uri());
            put(&mut m, "arn", r.arn());
            Value::Object(m)
        })
        .collect();
    m.insert("resources".into(), Value::Array(resources));
    if let Some(summary) = i.category_specific_summary() {
        let deprecations: Vec<Value> = summary
            .deprecation_details()
            .iter()
            .map(|d| {
                let mut m = Map::new();
                put(&mut m, "usage", d.usage());
                put(&mut m, "replacedWith", d.replaced_with());
                put(&mut m, "stopServingVersion", d.stop_serving_version());
                put(
                    &mut m,
                    "startServingReplacementVersion",
                    d.start_serving_replacement_version(),
                );
                let clients: Vec<Value> = d
                    .client_stats()
                    .iter()
                    .map(|c| {
                        let mut m = Map::new();
                        put(&mut m, "userAgent", c.user_agent());
                        m.insert(
                            "numberOfRequestsLast30Days".into(),
                            json!(c.number_of_requests_last30_days()),
                        );
                        put_time(&mut m, "lastRequestTime", c.last_request_time());
                        Value::Object(m)
                    })
                    .collect();
                m.insert("clientStats".into(), Value::Array(clients));
                Value::Object(m)
            })
            .collect();
        let addons: Vec<Value> = summary
            .addon_compatibility_details()
            .iter()
            .map(|a| json!({"name": a.name(), "compatibleVersions": a.compatible_versions()}))
            .collect();
        m.insert(
            "categorySpecificSummary".into(),
            json!({"deprecationDetails": deprecations, "addonCompatibilityDetails": addons}),
        );
    }
    Value::Object(m)
}

/// At most this many insights are described (the non-PASSING ones; EKS
/// runs a handful of checks per cluster).
pub(crate) const MAX_DESCRIBED_INSIGHTS: usize = 50;

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

    /// list-insights (every category and status, every page), then
    /// describe-insight for each insight that is not PASSING (at most
    /// [`MAX_DESCRIBED_INSIGHTS`]): PASSING insights have nothing to report.
    pub(super) async fn insights(&mut self, cluster: &str) -> Result<(), LiveError> {
        let pages = self
            .eks
            .list_insights()
            .cluster_name(cluster)
            .into_paginator()
            .items()
            .send();
        let Some(found) = self.call(EKS_LIST_INSIGHTS, pages.try_collect()).await? else {
            return Ok(());
        };
        let rows: Vec<Value> = found.iter().map(insight_summary).collect();
        self.part.put(
            "eks-insights.json".into(),
            EKS_LIST_INSIGHTS,
            rows.len(),
            &json!({ "insights": rows }),
        );
        let failing = found
            .iter()
            .filter(|i| {
                i.insight_status()
                    .and_then(|s| s.status())
                    .is_some_and(|s| s.as_str() != "PASSING")
            })
            .filter_map(|i| i.id())
            .take(MAX_DESCRIBED_INSIGHTS);
        for id in failing {
            let request = self
                .eks
                .describe_insight()
                .cluster_name(cluster)
                .id(id)
                .send();
            if let Some(output) = self.call(EKS_DESCRIBE_INSIGHT, request).await? {
                if let Some(found) = output.insight() {
                    self.part.put(
                        format!("eks-insight-{id}.json"),
                        EKS_DESCRIBE_INSIGHT,
                        1,
                        &json!({ "insight": insight(found) }),
                    );
                }
            }
        }
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
    fn an_insight_is_written_as_the_cli_prints_it_and_read_back_by_the_loader() {
        use aws_sdk_eks::types::{
            Category, ClientStat, DeprecationDetail, Insight, InsightCategorySpecificSummary,
            InsightStatus, InsightStatusValue, InsightSummary,
        };
        let status = InsightStatus::builder()
            .status(InsightStatusValue::Error)
            .reason("Deprecated API usage detected within last 30 days.")
            .build();
        let row = InsightSummary::builder()
            .id("f6a11fe4-77f7-48c6-8326-9a13f022ecb3")
            .name("Deprecated APIs removed in Kubernetes v1.29")
            .category(Category::UpgradeReadiness)
            .kubernetes_version("1.29")
            .last_refresh_time(DateTime::from_secs(1_700_157_422))
            .insight_status(status.clone())
            .build();
        assert_eq!(
            serde_json::to_string(&insight_summary(&row)).unwrap(),
            r#"{"category":"UPGRADE_READINESS","id":"f6a11fe4-77f7-48c6-8326-9a13f022ecb3","insightStatus":{"reason":"Deprecated API usage detected within last 30 days.","status":"ERROR"},"kubernetesVersion":"1.29","lastRefreshTime":"2023-11-16T17:57:02+00:00","name":"Deprecated APIs removed in Kubernetes v1.29"}"#
        );
        let full = Insight::builder()
            .id("f6a11fe4-77f7-48c6-8326-9a13f022ecb3")
            .name("Deprecated APIs removed in Kubernetes v1.29")
            .category(Category::UpgradeReadiness)
            .kubernetes_version("1.29")
            .insight_status(status)
            .recommendation("Update manifests and API clients to use newer Kubernetes APIs if applicable before upgrading to Kubernetes v1.29.")
            .category_specific_summary(
                InsightCategorySpecificSummary::builder()
                    .deprecation_details(
                        DeprecationDetail::builder()
                            .usage("/apis/flowcontrol.apiserver.k8s.io/v1beta2/flowschemas")
                            .replaced_with("/apis/flowcontrol.apiserver.k8s.io/v1beta3/flowschemas")
                            .stop_serving_version("1.29")
                            .client_stats(
                                ClientStat::builder()
                                    .user_agent("kube-controller-manager/v1.28.3")
                                    .number_of_requests_last30_days(42)
                                    .last_request_time(DateTime::from_secs(1_700_157_422))
                                    .build(),
                            )
                            .build(),
                    )
                    .build(),
            )
            .build();
        let text = serde_json::to_vec(&json!({"insights": [insight_summary(&row)]})).unwrap();
        let described = serde_json::to_vec(&json!({"insight": insight(&full)})).unwrap();
        let options = doctor_core::load::LoadOptions::default();
        let mut loaded =
            doctor_core::load::load_bytes("eks-insights.json", &text, &options).unwrap();
        assert!(loaded.skipped.is_empty(), "{:?}", loaded.skipped);
        let again =
            doctor_core::load::load_bytes("eks-insight.json", &described, &options).unwrap();
        loaded
            .cluster
            .eks_insights
            .as_mut()
            .unwrap()
            .extend(again.cluster.eks_insights.unwrap());
        let merged = loaded.cluster.eks_insights().unwrap();
        assert_eq!(merged.len(), 1);
        let i = merged[0];
        assert!(i.described);
        assert_eq!(i.status().as_deref(), Some("ERROR"));
        let d = &i
            .category_specific_summary
            .as_ref()
            .unwrap()
            .deprecation_details[0];
        assert_eq!(d.client_stats[0].number_of_requests_last30_days, Some(42));
        assert_eq!(
            d.client_stats[0].last_request_time.unwrap().to_string(),
            "2023-11-16"
        );
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
