//! Top-level shapes of one JSON or YAML document: a Kubernetes object, a
//! `kubectl version`, and the AWS CLI / boto3 / placebo outputs. Both
//! formats answer the same questions through [`Doc`], so one recognition
//! serves both.

use std::borrow::Cow;
use std::collections::BTreeMap;

use serde::de::DeserializeOwned;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::{iam, kube, malformed, LoadError, Loader};
use crate::model::{self, extend};

/// Why a part of a document could not be used.
#[derive(Debug)]
pub(super) enum Fail {
    /// Wrong field types: that object (or input) is skipped with this reason.
    Invalid(String),
    /// Not even a value (e.g. nesting beyond serde_json's recursion limit):
    /// the load fails.
    Malformed(String),
}

/// `field a.b[2]: invalid type …`, without serde_json's item-relative position.
fn describe(path: &serde_path_to_error::Path, e: &serde_json::Error) -> String {
    let message = e.to_string();
    let message = match message.rfind(" at line ") {
        Some(at) if e.line() > 0 => &message[..at],
        _ => &message,
    };
    let path = path.to_string();
    if path == "." || path.is_empty() {
        message.to_string()
    } else {
        format!("field {path}: {message}")
    }
}

/// Something a typed value can be parsed from.
pub(super) trait Source {
    fn parse<T: DeserializeOwned>(&self) -> Result<T, Fail>;
}

fn parse_raw<T: DeserializeOwned>(raw: &RawValue) -> Result<T, Fail> {
    let mut de = serde_json::Deserializer::from_str(raw.get());
    serde_path_to_error::deserialize(&mut de).map_err(|e| {
        let why = describe(e.path(), e.inner());
        match e.inner().classify() {
            serde_json::error::Category::Data => Fail::Invalid(why),
            _ => Fail::Malformed(why),
        }
    })
}

fn parse_value<T: DeserializeOwned>(value: &serde_json::Value) -> Result<T, Fail> {
    serde_path_to_error::deserialize(value)
        .map_err(|e| Fail::Invalid(describe(e.path(), e.inner())))
}

/// An explicit `null` means "absent", as when Kubernetes decodes it: Go
/// dumpers marshal nil structs as `null`, trimmed test data writes
/// `spec: null`. Only tried after a parse failed on a null, so the common
/// case pays nothing.
fn failed_on_null(fail: &Fail) -> bool {
    matches!(fail, Fail::Invalid(why) if why.contains("invalid type: null"))
}

fn strip_nulls(value: &mut serde_json::Value) {
    match value {
        serde_json::Value::Object(map) => {
            map.retain(|_, v| !v.is_null());
            map.values_mut().for_each(strip_nulls);
        }
        serde_json::Value::Array(items) => items.iter_mut().for_each(strip_nulls),
        _ => {}
    }
}

impl Source for RawValue {
    fn parse<T: DeserializeOwned>(&self) -> Result<T, Fail> {
        match parse_raw(self) {
            Err(fail) if failed_on_null(&fail) => {
                let mut value: serde_json::Value =
                    serde_json::from_str(self.get()).map_err(|e| Fail::Malformed(e.to_string()))?;
                strip_nulls(&mut value);
                parse_value(&value)
            }
            result => result,
        }
    }
}

impl Source for serde_json::Value {
    fn parse<T: DeserializeOwned>(&self) -> Result<T, Fail> {
        match parse_value(self) {
            Err(fail) if failed_on_null(&fail) => {
                let mut value = self.clone();
                strip_nulls(&mut value);
                parse_value(&value)
            }
            result => result,
        }
    }
}

/// One top-level JSON/YAML mapping.
pub(super) trait Doc: Source + Sized {
    fn keys(&self) -> Vec<&str>;
    fn has(&self, key: &str) -> bool;
    /// The nested mapping under `key` as a document of its own.
    fn sub(&self, key: &str) -> Option<Self>;
    /// Parse the value under `key` (None when absent); errors name `key`.
    fn field<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Fail>;
}

fn under(key: &str, fail: Fail) -> Fail {
    match fail {
        Fail::Invalid(why) => Fail::Invalid(match why.strip_prefix("field ") {
            Some(rest) if rest.starts_with('[') => format!("field {key}{rest}"),
            Some(rest) => format!("field {key}.{rest}"),
            None => format!("field {key}: {why}"),
        }),
        other => other,
    }
}

/// A JSON object split into raw top-level values: big Lists are never held
/// as a JSON tree, each item is parsed on its own.
pub(super) struct JsonDoc<'a> {
    raw: &'a RawValue,
    top: BTreeMap<Cow<'a, str>, &'a RawValue>,
}

impl<'a> JsonDoc<'a> {
    /// None when the value is not an object.
    pub(super) fn new(raw: &'a RawValue) -> Result<Option<Self>, Fail> {
        if !raw.get().trim_start().starts_with('{') {
            return Ok(None);
        }
        let top = serde_json::from_str(raw.get()).map_err(|e| Fail::Malformed(e.to_string()))?;
        Ok(Some(JsonDoc { raw, top }))
    }

    pub(super) fn raw(&self, key: &str) -> Option<&'a RawValue> {
        self.top.get(key).copied()
    }
}

impl Source for JsonDoc<'_> {
    fn parse<T: DeserializeOwned>(&self) -> Result<T, Fail> {
        self.raw.parse()
    }
}

impl Doc for JsonDoc<'_> {
    fn keys(&self) -> Vec<&str> {
        self.top.keys().map(|k| k.as_ref()).collect()
    }
    fn has(&self, key: &str) -> bool {
        self.top.contains_key(key)
    }
    fn sub(&self, key: &str) -> Option<Self> {
        JsonDoc::new(self.raw(key)?).ok().flatten()
    }
    fn field<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Fail> {
        match self.raw(key) {
            None => Ok(None),
            Some(raw) => raw.parse().map(Some).map_err(|f| under(key, f)),
        }
    }
}

/// A YAML mapping (or a part of one), already a small JSON value.
pub(super) struct ValueDoc<'a> {
    value: &'a serde_json::Value,
}

impl<'a> ValueDoc<'a> {
    pub(super) fn new(value: &'a serde_json::Value) -> Option<Self> {
        value.is_object().then_some(ValueDoc { value })
    }

    fn map(&self) -> &'a serde_json::Map<String, serde_json::Value> {
        self.value.as_object().expect("ValueDoc holds an object")
    }
}

impl Source for ValueDoc<'_> {
    fn parse<T: DeserializeOwned>(&self) -> Result<T, Fail> {
        self.value.parse()
    }
}

impl Doc for ValueDoc<'_> {
    fn keys(&self) -> Vec<&str> {
        self.map().keys().map(String::as_str).collect()
    }
    fn has(&self, key: &str) -> bool {
        self.map().contains_key(key)
    }
    fn sub(&self, key: &str) -> Option<Self> {
        ValueDoc::new(self.map().get(key)?)
    }
    fn field<T: DeserializeOwned>(&self, key: &str) -> Result<Option<T>, Fail> {
        match self.map().get(key) {
            None => Ok(None),
            Some(v) => v.parse().map(Some).map_err(|f| under(key, f)),
        }
    }
}

/// Recognise one non-List document and add what it holds to the model.
pub(super) fn recognise<D: Doc>(
    loader: &mut Loader,
    source: &str,
    what: &str,
    doc: &D,
) -> Result<(), LoadError> {
    match shape(loader, source, what, doc) {
        Ok(()) => Ok(()),
        Err(Fail::Invalid(why)) => {
            loader.tally.invalid += 1;
            loader.skip(source, format!("{what}: {why}; input skipped"));
            Ok(())
        }
        Err(Fail::Malformed(why)) => Err(malformed(source, None, why)),
    }
}

/// Keys any AWS response may carry besides its payload.
const AWS_ENVELOPE: &[&str] = &[
    "ResponseMetadata",
    "NextToken",
    "nextToken",
    "IsTruncated",
    "Marker",
];

/// The document is exactly this AWS output: one of `payload` is present and
/// every key is a payload or envelope key. Helm values have a `cluster:` key
/// too, but never only that.
pub(super) fn aws_shape<D: Doc>(doc: &D, payload: &[&str]) -> bool {
    payload.iter().any(|k| doc.has(k))
        && doc
            .keys()
            .iter()
            .all(|k| payload.contains(k) || AWS_ENVELOPE.contains(k))
}

fn required<T>(value: Option<T>, key: &str) -> Result<T, Fail> {
    value.ok_or_else(|| Fail::Invalid(format!("field {key} missing")))
}

fn shape<D: Doc>(loader: &mut Loader, source: &str, what: &str, doc: &D) -> Result<(), Fail> {
    // placebo (boto3 recordings): {"status_code": 200, "data": {…}}.
    if doc.has("status_code") && doc.has("data") {
        if let Some(data) = doc.sub("data") {
            return shape(loader, source, what, &data);
        }
    }
    if doc.has("kind") {
        let converted = kube::convert(doc, None)?;
        kube::apply(loader, source, what, converted);
        return Ok(());
    }
    if let Some(version) = server_version(doc)? {
        return loader.set_server_version(version).map_err(Fail::Invalid);
    }
    let cluster = &mut loader.cluster;
    let used = if aws_shape(doc, &["cluster"]) {
        cluster.eks = Some(required(doc.field("cluster")?, "cluster")?);
        true
    } else if aws_shape(doc, &["nodegroup"]) {
        let nodegroup = required(doc.field("nodegroup")?, "nodegroup")?;
        extend(&mut cluster.nodegroups, [nodegroup]);
        true
    } else if aws_shape(doc, &["addons"]) {
        let names: Option<Vec<String>> = doc.field("addons")?;
        extend(&mut cluster.addon_names, names.unwrap_or_default());
        true
    } else if aws_shape(doc, &["addon"]) {
        extend(
            &mut cluster.addons,
            [required(doc.field("addon")?, "addon")?],
        );
        true
    } else if let Some(key) = EC2_KEYS.iter().copied().find(|k| aws_shape(doc, &[k])) {
        ec2(cluster, doc, key)?;
        true
    } else if aws_shape(doc, &["TransitGatewayAttachments"]) {
        loader
            .tally
            .note("EC2 TransitGatewayAttachments: no rule reads them");
        false
    } else if iam::recognise(loader, source, doc)? {
        false // iam counts what it used
    } else if doc.has("Statement") && doc.has("Version") {
        loader.tally.note(
            "an IAM policy document alone: the role or policy it belongs to is unknown \
             (use get-role-policy, get-policy-version or get-account-authorization-details output)",
        );
        false
    } else {
        let keys = doc.keys();
        let shown: Vec<&str> = keys.iter().take(8).copied().collect();
        // The format only (`JSON`, not `JSON value 7`): one reason for a whole stream.
        let format = what.split(' ').next().unwrap_or(what);
        loader.tally.note(format!(
            "{format} of no recognised shape (top-level keys: {}{})",
            shown.join(", "),
            if keys.len() > shown.len() {
                ", …"
            } else {
                ""
            }
        ));
        false
    };
    if used {
        loader.tally.used += 1;
    }
    Ok(())
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

/// `gitVersion` of every version.Info spelling: `kubectl version -o json`
/// (`serverVersion`), a support bundle's `{"info": {…}}`, or a bare version.Info.
fn server_version<D: Doc>(doc: &D) -> Result<Option<String>, Fail> {
    #[derive(Deserialize)]
    #[serde(rename_all = "camelCase")]
    struct Info {
        git_version: String,
    }
    let info: Option<Info> = if doc.has("serverVersion") {
        doc.field("serverVersion")?
    } else if let Some(wrapped) = doc.sub("info").filter(|i| i.has("gitVersion")) {
        Some(wrapped.parse()?)
    } else if doc.has("gitVersion") && doc.has("major") {
        Some(doc.parse()?)
    } else {
        return Ok(None);
    };
    Ok(info.map(|i| i.git_version))
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

    #[test]
    fn field_errors_name_the_path() {
        let v = serde_json::json!({"cluster": {"name": 3}});
        let doc = ValueDoc::new(&v).unwrap();
        let err = doc.field::<model::EksCluster>("cluster").unwrap_err();
        match err {
            Fail::Invalid(why) => {
                assert!(why.starts_with("field cluster.name: invalid type"), "{why}")
            }
            Fail::Malformed(m) => panic!("{m}"),
        }
        let raw: Box<RawValue> = serde_json::from_str(r#"{"Subnets":[{"SubnetId":7}]}"#).unwrap();
        let doc = JsonDoc::new(&raw).unwrap().unwrap();
        let Err(Fail::Invalid(why)) = doc.field::<Vec<model::Subnet>>("Subnets") else {
            panic!()
        };
        assert!(
            why.starts_with("field Subnets[0].SubnetId: invalid type"),
            "{why}"
        );
    }
}
