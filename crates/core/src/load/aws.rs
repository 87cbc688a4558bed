//! EKS and EC2 outputs (`aws eks describe-*`, `aws ec2 describe-*`), from
//! the AWS CLI, boto3 or the Go SDK, recognised by their top-level keys.

use serde::Deserialize;

use super::loader::Loader;
use super::shapes::{aws_shape, Doc, Fail};
use crate::model::{self, extend};

fn required<T>(value: Option<T>, key: &str) -> Result<T, Fail> {
    value.ok_or_else(|| Fail::Invalid(format!("field {key} missing")))
}

/// Recognise an EKS or EC2 output; false when the document is none of them.
pub(super) fn recognise<D: Doc>(loader: &mut Loader, doc: &D) -> Result<bool, Fail> {
    let cluster = &mut loader.cluster;
    if aws_shape(doc, &["cluster"]) {
        cluster.eks = Some(required(doc.field("cluster")?, "cluster")?);
    } else if aws_shape(doc, &["nodegroup"]) {
        let nodegroup = required(doc.field("nodegroup")?, "nodegroup")?;
        extend(&mut cluster.nodegroups, [nodegroup]);
    } else if aws_shape(doc, &["addons"]) {
        let names: Option<Vec<String>> = doc.field("addons")?;
        extend(&mut cluster.addon_names, names.unwrap_or_default());
    } else if aws_shape(doc, &["addon"]) {
        let addon = required(doc.field("addon")?, "addon")?;
        extend(&mut cluster.addons, [addon]);
    } else if aws_shape(doc, &["association"]) {
        // describe-pod-identity-association (with the role).
        let association = required(doc.field("association")?, "association")?;
        extend(&mut cluster.pod_identity_associations, [association]);
    } else if aws_shape(doc, &["associations"]) {
        // list-pod-identity-associations: who has one, without the role.
        let associations: Option<Vec<model::PodIdentityAssociation>> = doc.field("associations")?;
        extend(
            &mut cluster.pod_identity_associations,
            associations.unwrap_or_default(),
        );
    } else if aws_shape(doc, &["clusterVersions"]) {
        let versions: Option<Vec<model::EksClusterVersion>> = doc.field("clusterVersions")?;
        extend(
            &mut cluster.eks_cluster_versions,
            versions.unwrap_or_default(),
        );
    } else if aws_shape(doc, &["insights"]) {
        let rows: Option<Vec<model::EksInsight>> = doc.field("insights")?;
        extend(&mut cluster.eks_insights, rows.unwrap_or_default());
    } else if aws_shape(doc, &["insight"]) {
        let mut insight: model::EksInsight = required(doc.field("insight")?, "insight")?;
        insight.described = true;
        extend(&mut cluster.eks_insights, [insight]);
    } else if let Some(key) = EC2_KEYS.iter().copied().find(|k| aws_shape(doc, &[k])) {
        ec2(cluster, doc, key)?;
    } else if aws_shape(doc, &["TransitGatewayAttachments"]) {
        loader
            .tally
            .note("EC2 TransitGatewayAttachments: no rule reads them");
        return Ok(true);
    } else {
        return Ok(false);
    }
    loader.tally.used += 1;
    Ok(true)
}

const EC2_KEYS: &[&str] = &[
    "Subnets",
    "Vpcs",
    "RouteTables",
    "SecurityGroups",
    "NetworkInterfaces",
    "VpcPeeringConnections",
    "Reservations",
    "InstanceTypes",
    "LaunchTemplateVersions",
];

/// `aws ec2 describe-*` outputs, by their top-level key.
fn ec2<D: Doc>(cluster: &mut model::Cluster, doc: &D, key: &str) -> Result<(), Fail> {
    match key {
        "Subnets" => list(&mut cluster.subnets, doc.field(key)?),
        "Vpcs" => list(&mut cluster.vpcs, doc.field(key)?),
        "RouteTables" => list(&mut cluster.route_tables, doc.field(key)?),
        "SecurityGroups" => list(&mut cluster.security_groups, doc.field(key)?),
        "NetworkInterfaces" => list(&mut cluster.network_interfaces, doc.field(key)?),
        "VpcPeeringConnections" => list(&mut cluster.peering_connections, doc.field(key)?),
        "Reservations" => {
            #[derive(Deserialize)]
            #[serde(rename_all = "PascalCase")]
            struct Reservation {
                #[serde(default, deserialize_with = "model::kube::null_default")]
                instances: Vec<model::Ec2Instance>,
            }
            let reservations: Option<Vec<Reservation>> = doc.field(key)?;
            extend(
                &mut cluster.instances,
                reservations.into_iter().flatten().flat_map(|r| r.instances),
            );
        }
        "LaunchTemplateVersions" => {
            let versions: Option<Vec<LaunchTemplateVersion>> = doc.field(key)?;
            extend(
                &mut cluster.launch_template_versions,
                versions
                    .into_iter()
                    .flatten()
                    .map(LaunchTemplateVersion::lean),
            );
        }
        _ => {
            let types: Option<Vec<InstanceType>> = doc.field(key)?;
            extend(
                &mut cluster.instance_types,
                types.into_iter().flatten().map(InstanceType::lean),
            );
        }
    }
    Ok(())
}

fn list<T>(slot: &mut Option<Vec<T>>, items: Option<Vec<T>>) {
    extend(slot, items.unwrap_or_default());
}

/// EC2 DescribeLaunchTemplateVersions entry.
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct LaunchTemplateVersion {
    #[serde(default)]
    launch_template_id: Option<String>,
    #[serde(default)]
    launch_template_name: Option<String>,
    #[serde(default)]
    version_number: Option<u64>,
    #[serde(default)]
    default_version: Option<bool>,
    #[serde(default, deserialize_with = "model::kube::null_default")]
    launch_template_data: LaunchTemplateData,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct LaunchTemplateData {
    #[serde(default)]
    image_id: Option<String>,
    #[serde(default)]
    instance_type: Option<String>,
    #[serde(default)]
    user_data: Option<String>,
}

impl LaunchTemplateVersion {
    fn lean(self) -> model::LaunchTemplateVersion {
        let d = self.launch_template_data;
        let (user_data, user_data_error) = match d.user_data.as_deref() {
            None | Some("") => (Default::default(), None),
            Some(text) => match crate::userdata::from_base64(text) {
                Ok(u) => (u, None),
                Err(e) => (Default::default(), Some(e)),
            },
        };
        model::LaunchTemplateVersion {
            launch_template_id: self.launch_template_id.unwrap_or_default(),
            launch_template_name: self.launch_template_name.unwrap_or_default(),
            version_number: self.version_number.unwrap_or_default(),
            default_version: self.default_version.unwrap_or_default(),
            image_id: d.image_id.filter(|i| !i.is_empty()),
            instance_type: d.instance_type.filter(|i| !i.is_empty()),
            user_data,
            user_data_error,
        }
    }
}

/// EC2 DescribeInstanceTypes entry (Go SDK dumps write absent structs as null).
#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct InstanceType {
    #[serde(default)]
    instance_type: String,
    #[serde(default)]
    network_info: Option<NetworkInfo>,
    #[serde(default)]
    hypervisor: Option<String>,
    #[serde(default)]
    bare_metal: Option<bool>,
    #[serde(default)]
    v_cpu_info: Option<VCpuInfo>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct NetworkInfo {
    #[serde(default)]
    maximum_network_interfaces: Option<u32>,
    #[serde(default)]
    ipv4_addresses_per_interface: Option<u32>,
    #[serde(default)]
    default_network_card_index: Option<u32>,
    #[serde(default, deserialize_with = "model::kube::null_default")]
    network_cards: Vec<NetworkCard>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct NetworkCard {
    #[serde(default)]
    network_card_index: Option<u32>,
    #[serde(default)]
    maximum_network_interfaces: Option<u32>,
}

#[derive(Deserialize, Default)]
#[serde(rename_all = "PascalCase")]
struct VCpuInfo {
    #[serde(default)]
    default_v_cpus: Option<u32>,
}

impl InstanceType {
    /// ENIs usable by pods are those of the default network card: on
    /// multi-card types `MaximumNetworkInterfaces` counts every card.
    fn lean(self) -> model::Ec2InstanceType {
        let net = self.network_info.unwrap_or_default();
        let default_card = net.default_network_card_index.unwrap_or(0);
        let card_enis = net
            .network_cards
            .iter()
            .find(|c| c.network_card_index.unwrap_or(0) == default_card)
            .and_then(|c| c.maximum_network_interfaces);
        model::Ec2InstanceType {
            instance_type: self.instance_type,
            enis: card_enis.or(net.maximum_network_interfaces).unwrap_or(0),
            enis_all_cards: net.maximum_network_interfaces.or(card_enis).unwrap_or(0),
            ipv4_per_eni: net.ipv4_addresses_per_interface.unwrap_or(0),
            hypervisor: self.hypervisor,
            bare_metal: self.bare_metal.unwrap_or(false),
            vcpus: self.v_cpu_info.and_then(|v| v.default_v_cpus),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::load::{load_bytes, LoadOptions};
    use crate::version::{Date, Minor};

    /// `aws eks describe-cluster-versions --include-all --output json` (AWS
    /// CLI v2), as printed in UTC, with one row as printed in a zone west of
    /// UTC (the EKS user guide's example) and one without the newer fields.
    const DESCRIBE_CLUSTER_VERSIONS: &str = r#"{
    "clusterVersions": [
        {
            "clusterVersion": "1.33",
            "clusterType": "eks",
            "defaultPlatformVersion": "eks.6",
            "defaultVersion": true,
            "releaseDate": "2025-05-29T00:00:00+00:00",
            "endOfStandardSupportDate": "2026-07-29T00:00:00+00:00",
            "endOfExtendedSupportDate": "2027-07-29T00:00:00+00:00",
            "status": "STANDARD_SUPPORT",
            "versionStatus": "STANDARD_SUPPORT",
            "kubernetesPatchVersion": "1.33.1"
        },
        {
            "clusterVersion": "1.31",
            "clusterType": "eks",
            "defaultPlatformVersion": "eks.21",
            "defaultVersion": false,
            "releaseDate": "2024-09-25T17:00:00-07:00",
            "endOfStandardSupportDate": "2025-11-25T16:00:00-08:00",
            "endOfExtendedSupportDate": "2026-11-25T16:00:00-08:00",
            "status": "STANDARD_SUPPORT",
            "kubernetesPatchVersion": "1.31.3"
        },
        {
            "clusterVersion": "1.24",
            "clusterType": "eks",
            "defaultVersion": false,
            "releaseDate": "2022-11-15T00:00:00+00:00",
            "endOfStandardSupportDate": "2024-01-31T00:00:00+00:00",
            "endOfExtendedSupportDate": "2025-01-31T00:00:00+00:00",
            "status": "UNSUPPORTED",
            "versionStatus": "UNSUPPORTED",
            "kubernetesPatchVersion": "1.24.17"
        }
    ]
}
"#;

    fn day(text: &str) -> Option<Date> {
        Some(text.parse().unwrap())
    }

    #[test]
    fn describe_cluster_versions_as_the_cli_writes_it() {
        let loaded = load_bytes(
            "cluster-versions.json",
            DESCRIBE_CLUSTER_VERSIONS.as_bytes(),
            &LoadOptions::default(),
        )
        .unwrap();
        assert!(loaded.skipped.is_empty(), "{:?}", loaded.skipped);
        let versions = loaded.cluster.eks_cluster_versions.unwrap();
        assert_eq!(versions.len(), 3);
        let v = &versions[0];
        assert_eq!(v.cluster_version, Minor::new(1, 33));
        assert_eq!(v.cluster_type.as_deref(), Some("eks"));
        assert_eq!(v.release_date, day("2025-05-29"));
        assert_eq!(v.end_of_standard_support_date, day("2026-07-29"));
        assert_eq!(v.end_of_extended_support_date, day("2027-07-29"));
        assert_eq!(v.version_status.as_deref(), Some("STANDARD_SUPPORT"));
        assert_eq!(v.default_version, Some(true));
        assert_eq!(v.kubernetes_patch_version.as_deref(), Some("1.33.1"));
        // Printed at -07:00/-08:00: the UTC days EKS means.
        let v = &versions[1];
        assert_eq!(v.release_date, day("2024-09-26"));
        assert_eq!(v.end_of_standard_support_date, day("2025-11-26"));
        assert_eq!(v.end_of_extended_support_date, day("2026-11-26"));
        assert_eq!(v.version_status, None);
        assert_eq!(v.status.as_deref(), Some("STANDARD_SUPPORT"));
    }

    #[test]
    fn describe_cluster_versions_from_sdk_dumps_and_recordings() {
        // Epoch seconds (the wire format; the CLI with cli_timestamp_format
        // = none), boto3's str() with a nextToken, a placebo recording.
        for text in [
            r#"{"clusterVersions":[{"clusterVersion":"1.33","releaseDate":1748476800.0,
                "endOfStandardSupportDate":1785283200,"endOfExtendedSupportDate":null}]}"#,
            r#"{"clusterVersions":[{"clusterVersion":"1.33","releaseDate":"2025-05-29 00:00:00+00:00",
                "endOfStandardSupportDate":"2026-07-29 00:00:00+00:00"}],"nextToken":"abc",
                "ResponseMetadata":{"HTTPStatusCode":200}}"#,
            r#"{"status_code":200,"data":{"clusterVersions":[{"clusterVersion":"1.33",
                "releaseDate":{"__class__":"datetime","year":2025,"month":5,"day":29,"hour":0,
                  "minute":0,"second":0,"microsecond":0},
                "endOfStandardSupportDate":{"__class__":"datetime","year":2026,"month":7,"day":29,
                  "hour":0,"minute":0,"second":0,"microsecond":0}}]}}"#,
        ] {
            let loaded = load_bytes("v.json", text.as_bytes(), &LoadOptions::default()).unwrap();
            assert!(loaded.skipped.is_empty(), "{text}: {:?}", loaded.skipped);
            let v = &loaded.cluster.eks_cluster_versions.unwrap()[0];
            assert_eq!(v.release_date, day("2025-05-29"), "{text}");
            assert_eq!(v.end_of_standard_support_date, day("2026-07-29"), "{text}");
            assert_eq!(v.end_of_extended_support_date, None, "{text}");
        }
    }

    #[test]
    fn list_insights_and_describe_insight_as_the_cli_writes_them() {
        let options = LoadOptions::default();
        // A real list-insights (AWS CLI v2, a zone east of UTC).
        let list = include_str!("../../tests/fixtures/VER013/fires/eks-insights.json");
        let loaded = load_bytes("eks-insights.json", list.as_bytes(), &options).unwrap();
        assert!(loaded.skipped.is_empty(), "{:?}", loaded.skipped);
        let insights = loaded.cluster.eks_insights().unwrap();
        assert_eq!(insights.len(), 5);
        let al2 = insights[1];
        assert_eq!(al2.name.as_deref(), Some("Amazon Linux 2 compatibility"));
        assert_eq!(al2.status().as_deref(), Some("ERROR"));
        assert_eq!(al2.kubernetes_minor(), Some(Minor::new(1, 33)));
        assert_eq!(al2.last_refresh_time, day("2025-09-18"));
        assert!(!al2.described);
        // The EKS user guide's describe-insight (AWS CLI v1, epoch seconds).
        let one =
            include_str!("../../tests/fixtures/VER013/quiet/eks-insight-deprecated-apis.json");
        let loaded = load_bytes("eks-insight.json", one.as_bytes(), &options).unwrap();
        let insights = loaded.cluster.eks_insights().unwrap();
        let i = insights[0];
        assert!(i.described);
        assert_eq!(i.last_transition_time, day("2023-10-31"));
        assert_eq!(i.additional_info.len(), 2);
        let details = &i
            .category_specific_summary
            .as_ref()
            .unwrap()
            .deprecation_details;
        assert_eq!(details.len(), 2);
        assert_eq!(details[0].stop_serving_version.as_deref(), Some("1.29"));
        assert!(details[0].client_stats.is_empty());
        // A field of the wrong type names its path.
        let bad = r#"{"insights":[{"id":"x","insightStatus":{"status":7}}]}"#;
        let loaded = load_bytes("bad.json", bad.as_bytes(), &options);
        let text = match loaded {
            Ok(l) => format!("{:?}", l.skipped),
            Err(e) => e.to_string(),
        };
        assert!(text.contains("insights[0].insightStatus.status"), "{text}");
    }

    #[test]
    fn instance_type_prefers_default_network_card() {
        let raw = r#"{"InstanceType":"p4d.24xlarge","Hypervisor":"nitro","BareMetal":false,
            "VCpuInfo":{"DefaultVCpus":96},
            "NetworkInfo":{"MaximumNetworkInterfaces":60,"Ipv4AddressesPerInterface":50,
              "DefaultNetworkCardIndex":0,
              "NetworkCards":[{"NetworkCardIndex":0,"MaximumNetworkInterfaces":15},
                              {"NetworkCardIndex":1,"MaximumNetworkInterfaces":15}]}}"#;
        let t: InstanceType = serde_json::from_str(raw).unwrap();
        let lean = t.lean();
        assert_eq!(
            (lean.enis, lean.ipv4_per_eni, lean.vcpus),
            (15, 50, Some(96))
        );
        let bare: InstanceType = serde_json::from_str(
            r#"{"InstanceType":"m1.small","NetworkInfo":null,"VCpuInfo":null}"#,
        )
        .unwrap();
        assert_eq!(bare.lean().enis, 0);
    }
}
