//! `preflight`: infrastructure code read into the same cluster model `check`
//! evaluates, before anything is applied.
//!
//! Readers, each recognised by content (never by file name):
//! - Terraform/OpenTofu plan JSON (`terraform show -json plan`), [`plan`];
//! - eksctl `ClusterConfig` YAML, several files of one cluster merged, [`eksctl`];
//! - CloudFormation templates, JSON or YAML, CDK synth output included, [`cfn`];
//! - Pulumi `preview --json` and `stack export` (experimental), [`pulumi`].
//!
//! Every reader turns what the code declares into [`Planned`] facts; this
//! module then writes those facts as the dumps the cluster would give once
//! applied (`describe-cluster`, `list-addons`, `describe-nodegroup`, the
//! DaemonSets the add-ons create) and reads them through the loaders `check`
//! uses, so the rules see one model whatever the input. Where each object is
//! declared (file, line, address) lands in [`Cluster::object_sources`], and
//! the facts only IaC has in [`IacFacts`] for the IAC rules.
//!
//! Values are known, unknown until apply, or absent ([`Fact`]). Only known
//! and absent values reach the model; an unknown one is left out of it (the
//! rules that need it are *not evaluated*) and named in an input note.

mod cfn;
mod eksctl;
mod hcl;
mod helm_values;
mod iam;
mod located;
mod plan;
mod pulumi;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Serialize;
use serde_json::{json, Value};

use crate::findings::{InputNote, SkippedInput, SourceLocation};
use crate::load::{LoadError, LoadOptions, Loaded};
use crate::model::ObjectKey;
use crate::version::Version;

/// A planned value: set in the code, computed only at apply, or not set.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case", tag = "state", content = "value")]
pub enum Fact<T> {
    Known(T),
    /// "known after apply" (`after_unknown`), or a placeholder (`${VAR}`).
    Unknown,
    #[default]
    Absent,
}

impl<T> Fact<T> {
    pub fn known(&self) -> Option<&T> {
        match self {
            Fact::Known(v) => Some(v),
            _ => None,
        }
    }

    pub fn is_unknown(&self) -> bool {
        matches!(self, Fact::Unknown)
    }
}

/// Something the code plans, where it is declared.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Planned {
    /// The Terraform address or eksctl path (`managedNodeGroups[0]`).
    pub address: String,
    pub at: SourceLocation,
    /// What the code does, in words, for evidence.
    pub detail: String,
}

/// A command in the code that deletes a DaemonSet of EKS's.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct AddonDeletion {
    /// `aws-node` or `kube-proxy`.
    pub daemonset: &'static str,
    #[serde(flatten)]
    pub planned: Planned,
}

/// The Cilium Helm release the code installs.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ChartRelease {
    pub address: String,
    pub at: SourceLocation,
    pub chart: String,
    /// The chart version as written (`1.16.5`, `1.12.x`, unset).
    pub version: Fact<String>,
}

/// An obsolete pulumi-eks input, where it is set: for IAC002.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ObsoleteOption {
    pub address: String,
    pub at: SourceLocation,
    /// The input (`defaultAddonsToRemove`).
    pub option: String,
    /// Its value as written, when known.
    pub value: Option<String>,
}

/// Facts only infrastructure code has, for the IAC rules.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IacFacts {
    /// The IaC files read (`preflight`'s inputs that were recognised).
    pub files: Vec<String>,
    /// Planned replacements (delete and create) of the EKS cluster.
    pub cluster_replacements: Vec<Planned>,
    /// Provisioners, Jobs or commands that delete aws-node or kube-proxy.
    pub addon_deletions: Vec<AddonDeletion>,
    /// The Cilium chart releases found.
    pub cilium_releases: Vec<ChartRelease>,
    /// Helm values of the Cilium release that cannot be evaluated before
    /// apply, each with why.
    pub unevaluable_values: Vec<Planned>,
    /// Inputs of a tool that its newer releases removed (IAC002).
    pub obsolete_options: Vec<ObsoleteOption>,
    /// Why the code leaves open whether aws-node will exist (it is left
    /// out of the model; rules on its absence are not evaluated).
    pub aws_node_unknown: Option<String>,
}

/// Who installs Cilium when the inputs hold no Cilium Helm release.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub enum CiliumInstall {
    /// Not said: a release in the inputs is read; without one, Cilium is
    /// assumed to be installed as the primary CNI with the chart's
    /// defaults (an input note says so).
    #[default]
    Unsaid,
    /// A tool whose code is not among the inputs (ArgoCD, Flux, the
    /// cilium CLI, another pipeline): evaluated as the primary CNI with the
    /// chart's defaults and `--helm-values`.
    Other,
    /// Nobody: this cluster runs no Cilium; the rules about Cilium
    /// running beside the VPC CNI have nothing to say.
    None,
}

impl std::str::FromStr for CiliumInstall {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "other" => Ok(CiliumInstall::Other),
            "none" => Ok(CiliumInstall::None),
            _ => Err(format!("{s:?}: expected `other` or `none`")),
        }
    }
}

/// What `preflight` needs besides the paths.
#[derive(Debug, Clone, Default)]
pub struct IacOptions {
    /// The eksctl release that will apply ClusterConfig files (its defaults
    /// decide the add-ons); `None`: the newest behaviour documented.
    pub eksctl_version: Option<Version>,
    /// Cilium Helm values files, laid over the release's values in order.
    pub helm_values: Vec<PathBuf>,
    /// Who installs Cilium when no release is in the inputs.
    pub cilium_installed_by: CiliumInstall,
    /// CloudFormation parameters (`--cfn-parameter KEY=VALUE`), over the
    /// templates' `Default`s.
    pub cfn_parameters: BTreeMap<String, String>,
    /// Limits of the loaders.
    pub load: LoadOptions,
}

/// An EKS cluster as the code plans it.
#[derive(Debug, Clone, Default)]
pub(crate) struct PlannedCluster {
    pub name: Fact<String>,
    pub version: Fact<String>,
    /// `bootstrapSelfManagedAddons` (EKS installs self-managed aws-node,
    /// kube-proxy and CoreDNS when true).
    pub bootstrap_self_managed_addons: Fact<bool>,
    pub support_type: Fact<String>,
    pub ip_family: Fact<String>,
    /// `identity.oidc.issuer`: known for a cluster that exists already.
    pub oidc_issuer: Fact<String>,
    pub planned: Option<Planned>,
    /// The reader already named each unknown field in a note (with its
    /// line and why): `assemble` adds none.
    pub unknown_noted: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct PlannedAddon {
    pub name: String,
    pub version: Fact<String>,
    pub configuration_values: Option<String>,
    pub planned: Planned,
}

#[derive(Debug, Clone, Default)]
pub(crate) struct PlannedNodegroup {
    pub name: String,
    pub instance_types: Vec<String>,
    pub ami_type: Option<String>,
    pub min_size: Option<u32>,
    pub max_size: Option<u32>,
    pub desired_size: Option<u32>,
    /// (key, value, effect), effect as EKS spells it (`NO_EXECUTE`).
    pub taints: Vec<(String, Option<String>, String)>,
    pub labels: BTreeMap<String, String>,
    pub planned: Option<Planned>,
    /// The node group's `launch_template` block, as describe-nodegroup
    /// writes it (`{name, id, version}`; unknown parts left out).
    pub launch_template: Option<Value>,
}

/// The Cilium release with its values as Helm would merge them.
#[derive(Debug, Clone)]
pub(crate) struct PlannedCilium {
    pub release: ChartRelease,
    /// `None` when the values cannot be evaluated (IAC005 says why).
    pub values: Option<Value>,
}

/// What one or more readers found.
#[derive(Debug, Default)]
pub(crate) struct Plan {
    pub clusters: Vec<PlannedCluster>,
    pub addons: Vec<PlannedAddon>,
    pub nodegroups: Vec<PlannedNodegroup>,
    pub cilium: Vec<PlannedCilium>,
    /// aws-node patched off the nodes (`io.cilium/aws-node-enabled`).
    pub aws_node_patched: Option<Planned>,
    /// Cilium installed by something other than a Helm release the
    /// readers understand (the `cilium` Terraform provider, a module).
    pub cilium_other: Option<Planned>,
    /// aws-node patched by a command whose patch is not literal.
    pub aws_node_patch_unknown: Option<Planned>,
    /// DaemonSets the tool removes when it creates the cluster (pulumi-eks
    /// `defaultAddonsToRemove`): `aws-node`, `kube-proxy`.
    pub removed_at_creation: Vec<&'static str>,
    /// Roles, policies, OIDC providers and who the roles are for.
    pub iam: iam::IamPlan,
    /// Launch template versions planned, as describe-launch-template-versions
    /// entries (`aws_launch_template` with its base64 `user_data`).
    pub launch_templates: Vec<Value>,
    /// Karpenter NodePools and EC2NodeClasses planned (manifest resources,
    /// plain manifests).
    pub kube_objects: Vec<Value>,
    pub facts: IacFacts,
    pub notes: Vec<InputNote>,
    pub skipped: Vec<SkippedInput>,
}

impl Plan {
    pub(crate) fn note(&mut self, path: &str, note: impl Into<String>) {
        self.notes.push(InputNote {
            path: crate::hygiene::escape_control(path).into_owned(),
            note: crate::hygiene::escape_control(&note.into()).into_owned(),
        });
    }

    /// The one launch template version the code creates (version 1, the
    /// default), as a describe-launch-template-versions entry; `id` when
    /// node groups name the template by something other than its name.
    pub(crate) fn launch_template(
        &mut self,
        id: Option<&str>,
        name: &str,
        data: serde_json::Map<String, Value>,
    ) {
        let mut entry = json!({
            "LaunchTemplateName": name,
            "VersionNumber": 1,
            "DefaultVersion": true,
            "LaunchTemplateData": data,
        });
        if let Some(id) = id {
            entry["LaunchTemplateId"] = json!(id);
        }
        self.launch_templates.push(entry);
    }
}

/// The Cilium chart, from its repository (`cilium`, `cilium/cilium`,
/// `oci://…/cilium`).
fn is_cilium_chart(chart: &str) -> bool {
    chart == "cilium" || chart.ends_with("/cilium")
}

/// Largest IaC file read whole (eksctl YAML; plan JSON is streamed).
const MAX_TEXT_BYTES: u64 = 64 * 1024 * 1024;

/// What an input is, from its first bytes.
#[derive(Debug, PartialEq, Eq)]
enum Kind {
    TerraformPlan,
    BinaryPlan,
    Eksctl,
    CloudFormation,
    Pulumi,
    Hcl,
    /// Karpenter NodePool / EC2NodeClass manifests (YAML or JSON).
    Karpenter,
    Other(&'static str),
}

/// Whether a line of the head starts a top-level CloudFormation section
/// (YAML templates need not say `AWSTemplateFormatVersion`).
fn cfn_yaml_section(text: &str) -> bool {
    let mut section = false;
    for line in text.lines() {
        if line.starts_with("apiVersion:") || line.starts_with("kind:") {
            return false;
        }
        let key = line.split(':').next().unwrap_or("");
        if line.len() > key.len()
            && matches!(
                key,
                "AWSTemplateFormatVersion" | "Resources" | "Parameters" | "Conditions" | "Mappings"
            )
        {
            section = true;
        }
    }
    section
}

/// Whether a line of the head opens a top-level Terraform block
/// (`resource "…" "…" {`, `module "…" {`, `terraform {`, …).
fn hcl_blocks(text: &str) -> bool {
    text.lines().any(|line| {
        let word = line.split([' ', '{']).next().unwrap_or("");
        matches!(
            word,
            "resource"
                | "module"
                | "provider"
                | "data"
                | "variable"
                | "output"
                | "locals"
                | "terraform"
        ) && line.trim_end().ends_with('{')
    })
}

fn sniff(head: &[u8]) -> Kind {
    if head.starts_with(b"PK\x03\x04") {
        return Kind::BinaryPlan;
    }
    let text = match plan::decode_head(head) {
        Some(text) => text,
        None => return Kind::Other("not text (binary data)"),
    };
    let trimmed = text.trim_start_matches('\u{feff}').trim_start();
    let json = trimmed.starts_with('{');
    if json && text.contains("\"format_version\"") {
        return Kind::TerraformPlan;
    }
    if text.contains("eksctl.io/v1alpha5") && text.contains("ClusterConfig") {
        return Kind::Eksctl;
    }
    // Pulumi before CloudFormation: a stack export can embed a template.
    if json && text.contains("urn:pulumi:") {
        return Kind::Pulumi;
    }
    if json && (text.contains("\"AWSTemplateFormatVersion\"") || text.contains("\"Resources\""))
        || !json && cfn_yaml_section(&text) && text.contains("AWS::")
    {
        return Kind::CloudFormation;
    }
    if json && text.contains("\"artifacts\"") && text.contains("aws:cloudformation:stack") {
        return Kind::Other(
            "a CDK cloud assembly manifest: the templates it lists (*.template.json) are read on their own",
        );
    }
    if json && text.contains("\"steps\"") {
        return Kind::Other(
            "JSON with `steps` but no Pulumi URN (urn:pulumi:): not a Pulumi preview",
        );
    }
    if !json && hcl_blocks(&text) {
        return Kind::Hcl;
    }
    if text.contains("karpenter.sh/") || text.contains("karpenter.k8s.aws/") {
        let kinds = [
            "kind: NodePool",
            "kind: EC2NodeClass",
            "\"NodePool\"",
            "\"EC2NodeClass\"",
        ];
        if kinds.iter().any(|k| text.contains(k)) {
            return Kind::Karpenter;
        }
    }
    Kind::Other(
        "not a Terraform plan JSON, an eksctl ClusterConfig, a CloudFormation template or a Pulumi preview/state",
    )
}

/// Karpenter NodePools and EC2NodeClasses of a manifest file, for the
/// loaders (CAP001's future nodes); false when the file is a template whose
/// placeholders only its renderer fills (skipped with that reason).
fn karpenter_manifests(shown: &str, bytes: &[u8], plan: &mut Plan) -> Result<bool, LoadError> {
    let text = String::from_utf8_lossy(bytes);
    if let Some(at) = text.find("${") {
        let end = text[at..].find('}').map_or(text.len(), |e| at + e + 1);
        plan.skipped.push(SkippedInput {
            path: crate::hygiene::escape_control(shown).into_owned(),
            reason: format!(
                "a Karpenter manifest template ({} …): its values are filled when it is rendered (Terraform templatefile()); give the rendered manifests or the plan",
                crate::hygiene::escape_control(&text[at..end.min(at + 60)])
            ),
        });
        return Ok(false);
    }
    let docs: Vec<Value> =
        serde_saphyr::from_multiple_with_options(&text, crate::userdata::yaml_options(text.len()))
            .map_err(|e| LoadError::Malformed {
                path: shown.to_string(),
                location: None,
                message: format!(
                    "not valid YAML: {}",
                    e.to_string().lines().next().unwrap_or_default()
                ),
            })?;
    let mut items = Vec::new();
    for doc in docs {
        match doc.get("kind").and_then(Value::as_str) {
            Some("List") => items.extend(
                doc.get("items")
                    .and_then(Value::as_array)
                    .cloned()
                    .unwrap_or_default(),
            ),
            _ => items.push(doc),
        }
    }
    plan.kube_objects.extend(items.into_iter().filter(|o| {
        matches!(
            o.get("kind").and_then(Value::as_str),
            Some("NodePool" | "EC2NodeClass")
        )
    }));
    Ok(true)
}

/// Every file under the paths (directories walked in sorted order).
fn files_of(paths: &[PathBuf]) -> Result<Vec<PathBuf>, LoadError> {
    let mut out = Vec::new();
    for path in paths {
        walk(path, &mut out, 0)?;
    }
    Ok(out)
}

fn walk(path: &Path, out: &mut Vec<PathBuf>, depth: u32) -> Result<(), LoadError> {
    let io = |e: std::io::Error| LoadError::Io {
        path: path.display().to_string(),
        message: e.to_string(),
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_dir() {
        if depth > 32 {
            return Ok(());
        }
        let mut entries: Vec<PathBuf> = std::fs::read_dir(path)
            .map_err(io)?
            .map(|e| e.map(|e| e.path()))
            .collect::<Result<_, _>>()
            .map_err(io)?;
        entries.sort();
        for entry in entries {
            // Hidden directories (.terraform, .git) hold no inputs of ours.
            let hidden = entry
                .file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with('.'));
            let is_link = std::fs::symlink_metadata(&entry).is_ok_and(|m| m.is_symlink());
            if !hidden && !is_link {
                walk(&entry, out, depth + 1)?;
            }
        }
    } else {
        out.push(path.to_path_buf());
    }
    Ok(())
}

fn read_head(path: &Path, shown: &str) -> Result<Vec<u8>, LoadError> {
    use std::io::Read;
    let mut head = Vec::with_capacity(8192);
    std::fs::File::open(path)
        .and_then(|f| f.take(8192).read_to_end(&mut head))
        .map_err(|e| LoadError::Io {
            path: shown.to_string(),
            message: e.to_string(),
        })?;
    Ok(head)
}

/// A whole IaC text file, or `None` (a skip noted) over the size limit.
fn read_text_file(path: &Path, shown: &str, plan: &mut Plan) -> Result<Option<Vec<u8>>, LoadError> {
    let len = std::fs::metadata(path).map(|m| m.len()).unwrap_or(0);
    if len > MAX_TEXT_BYTES {
        plan.skipped.push(SkippedInput {
            path: shown.to_string(),
            reason: format!("{len} bytes, over the {MAX_TEXT_BYTES} byte limit"),
        });
        return Ok(None);
    }
    std::fs::read(path).map(Some).map_err(|e| LoadError::Io {
        path: shown.to_string(),
        message: e.to_string(),
    })
}

/// Read the IaC under `paths` into the model (see the module docs).
pub fn load(paths: &[PathBuf], options: &IacOptions) -> Result<Loaded, LoadError> {
    if paths.is_empty() {
        return Err(LoadError::NoInput("no input paths given".into()));
    }
    let mut plan = Plan::default();
    let mut eksctl_docs = Vec::new();
    let mut hcl_files = Vec::new();
    let mut plan_dirs = Vec::new();
    let mut cfn_files = Vec::new();
    for path in files_of(paths)? {
        let shown = path.display().to_string();
        let head = read_head(&path, &shown)?;
        let kind = sniff(&head);
        match kind {
            Kind::BinaryPlan => {
                return Err(LoadError::Malformed {
                    path: shown,
                    location: None,
                    message: "a binary Terraform plan (zip), whose values only Terraform and its \
                              providers can read: run `terraform show -json plan.tfplan > \
                              plan.json` with the Terraform version that wrote it, and give \
                              plan.json"
                        .into(),
                });
            }
            Kind::TerraformPlan => {
                plan::read(&path, &shown, &mut plan)?;
                plan_dirs.push(path.parent().map(Path::to_path_buf).unwrap_or_default());
                plan.facts.files.push(shown);
            }
            Kind::Eksctl => {
                let len = std::fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
                if len > MAX_TEXT_BYTES {
                    plan.skipped.push(SkippedInput {
                        path: shown,
                        reason: format!("{len} bytes, over the {MAX_TEXT_BYTES} byte limit"),
                    });
                    continue;
                }
                let bytes = std::fs::read(&path).map_err(|e| LoadError::Io {
                    path: shown.clone(),
                    message: e.to_string(),
                })?;
                eksctl_docs.push(eksctl::parse(&shown, &bytes, &options.load)?);
                plan.facts.files.push(shown);
            }
            Kind::CloudFormation | Kind::Pulumi => {
                let Some(bytes) = read_text_file(&path, &shown, &mut plan)? else {
                    continue;
                };
                if matches!(kind, Kind::CloudFormation) {
                    // Read once all are known: nested stacks through their parent.
                    cfn_files.push((shown.clone(), bytes));
                } else {
                    pulumi::read(&shown, &bytes, &options.load, &mut plan)?;
                }
                plan.facts.files.push(shown);
            }
            Kind::Hcl => hcl_files.push((path, shown)),
            Kind::Karpenter => {
                let Some(bytes) = read_text_file(&path, &shown, &mut plan)? else {
                    continue;
                };
                if karpenter_manifests(&shown, &bytes, &mut plan)? {
                    plan.facts.files.push(shown);
                }
            }
            Kind::Other(why) => plan.skipped.push(SkippedInput {
                path: crate::hygiene::escape_control(&shown).into_owned(),
                reason: why.to_string(),
            }),
        }
    }
    // HCL is read where no plan exists: beside a plan, the plan's values
    // are used (and the sources give its lines).
    for (path, shown) in hcl_files {
        let dir = path.parent().map(Path::to_path_buf).unwrap_or_default();
        if plan_dirs.contains(&dir) {
            plan.skipped.push(SkippedInput {
                path: crate::hygiene::escape_control(&shown).into_owned(),
                reason: "Terraform HCL beside a plan JSON: the plan's values are read (the sources give its lines)".into(),
            });
            continue;
        }
        let Some(bytes) = read_text_file(&path, &shown, &mut plan)? else {
            continue;
        };
        hcl::read(&shown, &path, &bytes, &mut plan)?;
        plan.facts.files.push(shown);
    }
    if !cfn_files.is_empty() {
        cfn::read_all(cfn_files, &options.cfn_parameters, &options.load, &mut plan)?;
    }
    if !eksctl_docs.is_empty() {
        eksctl::apply(eksctl_docs, options.eksctl_version, &mut plan)?;
    }
    if plan.facts.files.is_empty() {
        return Err(LoadError::NothingRecognised(plan.skipped));
    }
    let mut extra_values = Vec::new();
    for file in &options.helm_values {
        let shown = file.display().to_string();
        let bytes = std::fs::read(file).map_err(|e| LoadError::Io {
            path: shown.clone(),
            message: e.to_string(),
        })?;
        extra_values.push(crate::load::parse_helm_values(
            &shown,
            &bytes,
            &options.load,
        )?);
    }
    assemble(plan, extra_values, options)
}

/// The Cilium image the chart of this version runs, when the version is
/// one exact release (`1.16.5`, `v1.16.5`).
fn exact_version(version: &Fact<String>) -> Option<String> {
    let v = version.known()?.trim().trim_start_matches('v');
    let parts: Vec<&str> = v.split('.').collect();
    (parts.len() == 3
        && parts
            .iter()
            .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit())))
    .then(|| v.to_string())
}

/// One of the node agents (cilium, aws-node, kube-proxy): each runs on the
/// host network, as the real DaemonSets do (realworld/kubernetes
/// aws-samples__hardeneks__aws-node_daemonset.json, the sysdumps'
/// cilium DaemonSet), so none takes a pod IP.
fn daemonset(name: &str, labels: Value, container: &str, image: &str, selector: Value) -> Value {
    json!({
        "apiVersion": "apps/v1", "kind": "DaemonSet",
        "metadata": {"name": name, "namespace": "kube-system", "labels": labels},
        "spec": {"template": {"spec": {
            "hostNetwork": true,
            "nodeSelector": selector,
            "containers": [{"name": container, "image": image}]}}}
    })
}

/// The cilium-operator ServiceAccount the chart creates
/// (`serviceAccounts.operator.create`, default true) with the annotations
/// it writes: `serviceAccounts.operator.annotations`, and
/// `eks.amazonaws.com/role-arn` from `eni.iamRole` when `eni.enabled`
/// (the chart's templates/cilium-operator/serviceaccount.yaml, with
/// `operator.enabled`). Not written
/// when the code gives that ServiceAccount a role itself, nor when the role
/// is known only after apply (then noted: the IAM rules are not evaluated).
fn operator_service_account(
    plan: &mut Plan,
    cilium: &PlannedCilium,
    values: &Value,
    files: &mut Vec<(String, Vec<u8>)>,
    sources: &mut BTreeMap<ObjectKey, SourceLocation>,
) {
    let get = |path: &str| crate::model::cilium::helm_get(values, path);
    if get("serviceAccounts.operator.create").and_then(Value::as_bool) == Some(false)
        || get("operator.enabled").and_then(Value::as_bool) == Some(false)
    {
        return;
    }
    let name = get("serviceAccounts.operator.name")
        .and_then(Value::as_str)
        .filter(|n| !n.is_empty())
        .unwrap_or("cilium-operator")
        .to_string();
    let namespace = "kube-system";
    if plan.iam.identities.iter().any(|id| {
        id.binding == iam::Binding::Irsa && id.namespace == namespace && id.service_account == name
    }) {
        return;
    }
    let mut annotations = match get("serviceAccounts.operator.annotations") {
        Some(Value::Object(m)) => m.clone(),
        _ => Default::default(),
    };
    if get("eni.enabled").and_then(Value::as_bool) == Some(true) {
        if let Some(role) = get("eni.iamRole").filter(|r| r.as_str().is_some_and(|r| !r.is_empty()))
        {
            annotations.insert(crate::facts::IRSA_ANNOTATION.into(), role.clone());
        }
    }
    let annotation = annotations
        .get(crate::facts::IRSA_ANNOTATION)
        .and_then(Value::as_str);
    if annotation == Some(helm_values::UNKNOWN) {
        let file = cilium.release.at.file.clone();
        plan.note(
            &file,
            format!(
                "{}: the operator's IRSA role (Helm value eni.iamRole or serviceAccounts.operator.annotations) is known only after apply and refers to no planned role: the IAM rules on it are not evaluated",
                cilium.release.address
            ),
        );
        return;
    }
    let sa = json!({"apiVersion": "v1", "kind": "ServiceAccount",
        "metadata": {"name": name, "namespace": namespace, "annotations": annotations}});
    files.push((
        "serviceaccount-cilium-operator.json".into(),
        sa.to_string().into_bytes(),
    ));
    sources.insert(
        ObjectKey::new("ServiceAccount", namespace, &name),
        cilium.release.at.clone(),
    );
}

/// The planned facts as the dumps the applied cluster would give, read
/// through `check`'s loaders.
fn assemble(
    mut plan: Plan,
    extra_values: Vec<Value>,
    iac_options: &IacOptions,
) -> Result<Loaded, LoadError> {
    let options = &iac_options.load;
    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut sources: BTreeMap<ObjectKey, SourceLocation> = BTreeMap::new();
    let mut name = None;

    // The cluster: the first one planned (several EKS clusters in one
    // plan are each their own check; the others are noted).
    let cluster = plan.clusters.first().cloned();
    if plan.clusters.len() > 1 {
        let others: Vec<String> = plan.clusters[1..]
            .iter()
            .filter_map(|c| c.planned.as_ref().map(|p| p.address.clone()))
            .collect();
        let first = plan.facts.files.first().cloned().unwrap_or_default();
        plan.note(
            &first,
            format!(
                "{} EKS clusters planned: evaluated the first; give the others one at a time ({})",
                plan.clusters.len(),
                others.join(", ")
            ),
        );
    }
    let mut self_managed = Fact::Absent;
    if let Some(c) = &cluster {
        let mut eks = json!({"name": c.name.known().cloned().unwrap_or_default()});
        if let Some(v) = c.version.known() {
            eks["version"] = json!(v);
        }
        if let Some(s) = c.support_type.known() {
            eks["upgradePolicy"] = json!({"supportType": s});
        }
        if let Some(f) = c.ip_family.known() {
            eks["kubernetesNetworkConfig"] = json!({"ipFamily": f});
        }
        if let Some(issuer) = c.oidc_issuer.known() {
            eks["identity"] = json!({"oidc": {"issuer": issuer}});
        }
        files.push((
            "describe-cluster.json".into(),
            json!({"cluster": eks}).to_string().into_bytes(),
        ));
        name = c.name.known().cloned();
        if let Some(p) = &c.planned {
            let shown = name.clone().unwrap_or_else(|| p.address.clone());
            sources.insert(ObjectKey::new("EksCluster", "", &shown), p.at.clone());
            for (field, unknown) in [
                ("version", c.version.is_unknown()),
                ("name", c.name.is_unknown()),
                (
                    "bootstrap_self_managed_addons",
                    c.bootstrap_self_managed_addons.is_unknown(),
                ),
                ("upgrade_policy.support_type", c.support_type.is_unknown()),
            ] {
                if unknown && !c.unknown_noted {
                    let file = p.at.file.clone();
                    plan.note(
                        &file,
                        format!(
                            "{}: {field} is known only after apply: the rules that need it are not evaluated",
                            p.address
                        ),
                    );
                }
            }
        }
        // Absent: the provider's and the EKS API's default, true
        // (/work/shared/data/aws/node_provisioning.json
        // terraform_aws_eks_module: "aws_eks_cluster.bootstrap_self_managed_addons:
        // Optional, ForceNew, Default true").
        self_managed = match &c.bootstrap_self_managed_addons {
            Fact::Known(b) => Fact::Known(*b),
            Fact::Absent => Fact::Known(true),
            Fact::Unknown => Fact::Unknown,
        };
    }

    // Add-ons.
    if cluster.is_some() || !plan.addons.is_empty() {
        let names: Vec<&str> = plan.addons.iter().map(|a| a.name.as_str()).collect();
        files.push((
            "list-addons.json".into(),
            json!({"addons": names}).to_string().into_bytes(),
        ));
        for a in &plan.addons {
            let mut addon = json!({"addonName": a.name});
            if let Some(v) = a.version.known() {
                addon["addonVersion"] = json!(v);
            }
            if let Some(c) = &a.configuration_values {
                addon["configurationValues"] = json!(c);
            }
            files.push((
                format!("describe-addon-{}.json", a.name),
                json!({"addon": addon}).to_string().into_bytes(),
            ));
            sources.insert(
                ObjectKey::new("EksAddon", "", &a.name),
                a.planned.at.clone(),
            );
        }
    }

    // Node groups.
    for ng in &plan.nodegroups {
        let mut group = json!({
            "nodegroupName": ng.name,
            "instanceTypes": ng.instance_types,
            "scalingConfig": {},
            "labels": ng.labels,
            "taints": ng.taints.iter().map(|(k, v, e)| json!({"key": k, "value": v, "effect": e})).collect::<Vec<_>>(),
        });
        if let Some(a) = &ng.ami_type {
            group["amiType"] = json!(a);
        }
        if let Some(lt) = &ng.launch_template {
            group["launchTemplate"] = lt.clone();
        }
        for (key, value) in [
            ("minSize", ng.min_size),
            ("maxSize", ng.max_size),
            ("desiredSize", ng.desired_size),
        ] {
            if let Some(v) = value {
                group["scalingConfig"][key] = json!(v);
            }
        }
        if let Some(n) = &name {
            group["clusterName"] = json!(n);
        }
        files.push((
            format!("describe-nodegroup-{}.json", ng.name),
            json!({"nodegroup": group}).to_string().into_bytes(),
        ));
        if let Some(p) = &ng.planned {
            sources.insert(ObjectKey::new("Nodegroup", "", &ng.name), p.at.clone());
        }
    }

    // Launch templates and Karpenter objects, in the shapes their CLIs print.
    if !plan.launch_templates.is_empty() {
        files.push((
            "describe-launch-template-versions.json".into(),
            json!({"LaunchTemplateVersions": plan.launch_templates})
                .to_string()
                .into_bytes(),
        ));
    }
    if !plan.kube_objects.is_empty() {
        files.push((
            "karpenter-manifests.json".into(),
            json!({"apiVersion": "v1", "kind": "List", "items": plan.kube_objects})
                .to_string()
                .into_bytes(),
        ));
    }

    // The DaemonSets the cluster will run: Cilium's, and aws-node and
    // kube-proxy when EKS bootstraps them or an add-on installs them.
    let mut daemonsets = Vec::new();
    let cilium = plan.cilium.first().cloned();
    let cilium_at = cilium.as_ref().map(|c| c.release.at.clone());
    let image = match cilium
        .as_ref()
        .and_then(|c| exact_version(&c.release.version))
    {
        Some(v) => format!("quay.io/cilium/cilium:v{v}"),
        None => "quay.io/cilium/cilium".to_string(),
    };
    let no_cilium = cilium.is_none() && iac_options.cilium_installed_by == CiliumInstall::None;
    if !no_cilium {
        daemonsets.push(daemonset(
            "cilium",
            json!({"k8s-app": "cilium"}),
            "cilium-agent",
            &image,
            json!({}),
        ));
    }
    if let Some(at) = &cilium_at {
        sources.insert(
            ObjectKey::new("DaemonSet", "kube-system", "cilium"),
            at.clone(),
        );
    }
    if cilium.is_none() {
        let first = plan.facts.files.first().cloned().unwrap_or_default();
        let note = match (iac_options.cilium_installed_by, &plan.cilium_other) {
            (CiliumInstall::None, _) => "--cilium-installed-by none: this cluster runs no Cilium; the rules about Cilium have nothing to evaluate".to_string(),
            (CiliumInstall::Other, _) => "--cilium-installed-by other: Cilium is evaluated as the primary CNI with the chart's defaults (give its values with --helm-values)".to_string(),
            (CiliumInstall::Unsaid, Some(p)) => format!(
                "{}:{}: {} installs Cilium, whose values are not read: evaluated as the primary CNI with the chart's defaults (give its values with --helm-values)",
                p.at.file, p.at.line, p.detail
            ),
            (CiliumInstall::Unsaid, None) => "no Cilium Helm release in the inputs: evaluated as if Cilium will be installed as the \
             primary CNI with the chart's defaults (give its values with --helm-values, or say \
             --cilium-installed-by none when this cluster runs no Cilium)"
                .to_string(),
        };
        plan.note(&first, note);
    } else if iac_options.cilium_installed_by == CiliumInstall::None {
        let first = plan.facts.files.first().cloned().unwrap_or_default();
        plan.note(&first, "--cilium-installed-by none, but the inputs install Cilium: the release found is evaluated");
    }
    let vpc_cni_addon = plan.addons.iter().find(|a| a.name == "vpc-cni").cloned();
    let kube_proxy_addon = plan.addons.iter().find(|a| a.name == "kube-proxy").cloned();
    let deletions: Vec<&'static str> = plan
        .facts
        .addon_deletions
        .iter()
        .map(|d| d.daemonset)
        .collect();
    let removed = plan.removed_at_creation.clone();
    let deleted = |what: &str| deletions.contains(&what) || removed.contains(&what);
    let aws_node_will_exist = self_managed == Fact::Known(true) || vpc_cni_addon.is_some();
    let first = plan.facts.files.first().cloned().unwrap_or_default();
    if self_managed.is_unknown() && vpc_cni_addon.is_none() {
        let why = "whether EKS installs the self-managed aws-node is known only after apply: aws-node is left out";
        plan.note(&first, why);
        plan.facts.aws_node_unknown = Some(why.into());
    }
    if cluster.is_none() && vpc_cni_addon.is_none() {
        let why = "no EKS cluster in the inputs: whether aws-node will exist is not known, it is left out";
        plan.note(&first, why);
        plan.facts.aws_node_unknown = Some(why.into());
    }
    let patch_unknown = plan
        .aws_node_patch_unknown
        .clone()
        .filter(|_| plan.aws_node_patched.is_none() && aws_node_will_exist && !deleted("aws-node"));
    if let Some(p) = &patch_unknown {
        let why = format!(
            "{}: {} with a patch that is not literal: where aws-node will run is not known, it is left out",
            p.address, p.detail
        );
        plan.note(&p.at.file.clone(), why.clone());
        plan.facts.aws_node_unknown = Some(why);
    }
    if aws_node_will_exist && !deleted("aws-node") && patch_unknown.is_none() {
        let selector = if plan.aws_node_patched.is_some() {
            json!({"io.cilium/aws-node-enabled": "true"})
        } else {
            json!({})
        };
        daemonsets.push(daemonset(
            "aws-node",
            json!({"k8s-app": "aws-node"}),
            "aws-node",
            "602401143452.dkr.ecr.us-west-2.amazonaws.com/amazon-k8s-cni",
            selector,
        ));
        let at = vpc_cni_addon
            .as_ref()
            .map(|a| a.planned.at.clone())
            .or_else(|| {
                cluster
                    .as_ref()
                    .and_then(|c| c.planned.as_ref())
                    .map(|p| p.at.clone())
            });
        if let Some(at) = at {
            sources.insert(ObjectKey::new("DaemonSet", "kube-system", "aws-node"), at);
        }
    }
    if (self_managed == Fact::Known(true) || kube_proxy_addon.is_some()) && !deleted("kube-proxy") {
        daemonsets.push(daemonset(
            "kube-proxy",
            json!({"k8s-app": "kube-proxy"}),
            "kube-proxy",
            "602401143452.dkr.ecr.us-west-2.amazonaws.com/eks/kube-proxy",
            json!({}),
        ));
        let at = kube_proxy_addon
            .as_ref()
            .map(|a| a.planned.at.clone())
            .or_else(|| {
                cluster
                    .as_ref()
                    .and_then(|c| c.planned.as_ref())
                    .map(|p| p.at.clone())
            });
        if let Some(at) = at {
            sources.insert(ObjectKey::new("DaemonSet", "kube-system", "kube-proxy"), at);
        }
    }
    // Helm values: the release's (values in order, then set), then
    // --helm-values files in order.
    let mut values = match &cilium {
        Some(c) => c.values.clone(),
        None if no_cilium => None,
        None => Some(Value::Object(Default::default())),
    };
    if let Some(v) = values.as_mut() {
        for extra in extra_values {
            *v = crate::load::merge_helm_values(std::mem::take(v), extra);
        }
    }
    // The operator's ServiceAccount as the chart creates it, unless the
    // code binds a role to it itself (eksctl, a ServiceAccount resource).
    if let (Some(c), Some(v)) = (&cilium, &values) {
        operator_service_account(&mut plan, c, v, &mut files, &mut sources);
    }
    iam::write_dumps(&mut plan, &mut files, &mut sources);
    files.push((
        "daemonsets.json".into(),
        json!({"apiVersion": "v1", "kind": "List", "items": daemonsets})
            .to_string()
            .into_bytes(),
    ));

    let refs: Vec<(&str, &[u8])> = files
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_slice()))
        .collect();
    let mut loaded = crate::load::load_files("preflight", refs, options)?;

    if let (Some(at), Some(_)) = (&cilium_at, &values) {
        // Findings on the Cilium configuration point at the release.
        sources.insert(
            ObjectKey::new("ConfigMap", "kube-system", "cilium-config"),
            at.clone(),
        );
        sources.insert(
            ObjectKey::new("HelmRelease", "kube-system", "cilium"),
            at.clone(),
        );
    }
    loaded.cluster.helm_values = values;
    if loaded.cluster.name.is_none() {
        loaded.cluster.name = name;
    }
    loaded.cluster.object_sources = sources;
    loaded.cluster.input_files = plan.facts.files.clone();
    plan.facts.cilium_releases = plan.cilium.iter().map(|c| c.release.clone()).collect();
    loaded.cluster.iac = Some(plan.facts);
    loaded.cluster.finish();
    // The synthesised dumps are no input of the user's: only the real
    // files' skips and notes are reported.
    loaded.skipped = plan.skipped;
    loaded.notes = plan.notes;
    Ok(loaded)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sniffs_by_content() {
        assert_eq!(sniff(b"PK\x03\x04rest"), Kind::BinaryPlan);
        assert_eq!(
            sniff(br#"{"format_version":"1.2","planned_values":{}}"#),
            Kind::TerraformPlan
        );
        assert_eq!(
            sniff(b"apiVersion: eksctl.io/v1alpha5\nkind: ClusterConfig\n"),
            Kind::Eksctl
        );
        assert_eq!(
            sniff(b"resource \"aws_eks_cluster\" \"x\" {\n}\n"),
            Kind::Hcl
        );
        assert!(matches!(sniff(b"\x00\x01\x02\xff"), Kind::Other(_)));
        assert_eq!(
            sniff(b"Parameters:\n  V:\n    Type: String\nResources:\n  C:\n    Type: AWS::EKS::Cluster\n"),
            Kind::CloudFormation
        );
        assert_eq!(
            sniff(b"{\n \"Resources\": {\"C\": {\"Type\": \"AWS::EKS::Cluster\"}}}"),
            Kind::CloudFormation
        );
        // Kubernetes YAML that mentions AWS:: is not a template.
        assert!(matches!(
            sniff(b"apiVersion: v1\nkind: ConfigMap\ndata:\n  Resources: AWS::X\n"),
            Kind::Other(_)
        ));
        assert_eq!(
            sniff(b"{\"version\": 3, \"deployment\": {\"resources\": [{\"urn\": \"urn:pulumi:s::p::pulumi:pulumi:Stack::p-s\", \"templateBody\": \"{\\\"Resources\\\": 1}\"}]}}"),
            Kind::Pulumi
        );
    }

    #[test]
    fn exact_chart_versions_only() {
        assert_eq!(
            exact_version(&Fact::Known("1.16.5".into())).as_deref(),
            Some("1.16.5")
        );
        assert_eq!(
            exact_version(&Fact::Known("v1.18.1".into())).as_deref(),
            Some("1.18.1")
        );
        assert_eq!(exact_version(&Fact::Known("1.12.x".into())), None);
        assert_eq!(exact_version(&Fact::Known(">= 1.15".into())), None);
        assert_eq!(exact_version(&Fact::Unknown), None);
    }
}
