//! The check pipeline, owned in one place: a loaded snapshot → rules →
//! suppressions → the complete report (and the page's overview when asked).
//! `check`, `mesh`, `serve` and the plans call it; no front end assembles
//! a report itself.

use crate::facts::ClusterIdentity;
use crate::findings::{InputNote, Report, SkippedInput};
use crate::knowledge::Knowledge;
use crate::load::Loaded;
use crate::model::Cluster;
use crate::overview::Overview;
use crate::rules::{self, CheckOptions, Context, MeshContext, NamedCluster};
use crate::suppress::{self, AnnotationIndex, SuppressionConfig};

/// What the rules evaluate against, and what is suppressed.
#[derive(Debug, Clone, Copy)]
pub struct Engine<'a> {
    pub knowledge: &'a Knowledge,
    pub options: &'a CheckOptions,
    pub suppressions: &'a SuppressionConfig,
}

/// One evaluated snapshot.
#[derive(Debug)]
pub struct Evaluation {
    pub report: Report,
    /// The capacity and versions views of the HTML page, when asked for.
    pub overview: Option<Overview>,
}

/// One snapshot of a mesh, with where it came from.
#[derive(Debug)]
pub struct MeshMember {
    /// What the user gave (a directory, archive or snapshot path).
    pub path: String,
    pub loaded: Loaded,
}

impl Engine<'_> {
    /// Every rule over one cluster, then the suppressions; the report
    /// carries the inputs that were skipped or noted while loading.
    pub fn check(&self, loaded: &Loaded, with_overview: bool) -> Evaluation {
        // One context: the overview reads the facts the rules derived.
        let cx = Context::new(&loaded.cluster, self.knowledge, self.options);
        let mut report = self.report(&cx);
        report.skipped_inputs = loaded.skipped.clone();
        report.input_notes = loaded.notes.clone();
        Evaluation {
            report,
            overview: with_overview.then(|| Overview::of(&cx)),
        }
    }

    /// Every rule over one cluster model, then the suppressions (its own
    /// annotations included): the report without the load's notes, for the
    /// plans, which work on a model.
    pub fn check_cluster(&self, cluster: &Cluster) -> Report {
        self.report(&Context::new(cluster, self.knowledge, self.options))
    }

    /// The rules, the finding locations and the suppressions, in that order.
    fn report(&self, cx: &Context) -> Report {
        let mut report = rules::evaluate(cx);
        locate(&mut report.findings, cx.cluster);
        suppress::apply(
            &mut report,
            self.suppressions,
            &AnnotationIndex::from_cluster(cx.cluster),
        );
        report
    }

    /// The multi-cluster rules over several snapshots. Each cluster is named
    /// by its identity ([`cluster_identities`]); its skipped inputs and notes
    /// are reported under that name, and suppressions apply as in `check`.
    pub fn mesh(&self, members: Vec<MeshMember>) -> Result<Report, String> {
        let names = cluster_identities(&members)?;
        let mut skipped = Vec::new();
        let mut notes = Vec::new();
        let mut annotated = AnnotationIndex::default();
        let mut clusters = Vec::with_capacity(members.len());
        for (member, name) in members.into_iter().zip(names) {
            let Loaded {
                cluster,
                skipped: own_skipped,
                notes: own_notes,
            } = member.loaded;
            skipped.extend(own_skipped.into_iter().map(|s| SkippedInput {
                path: format!("{name}: {}", s.path),
                reason: s.reason,
            }));
            notes.extend(own_notes.into_iter().map(|n| InputNote {
                path: format!("{name}: {}", n.path),
                note: n.note,
            }));
            annotated.extend(AnnotationIndex::from_cluster(&cluster));
            clusters.push(NamedCluster { name, cluster });
        }
        let mut report = rules::evaluate_mesh(&MeshContext {
            clusters: &clusters,
            knowledge: self.knowledge,
            options: self.options,
        });
        report.skipped_inputs = skipped;
        report.input_notes = notes;
        suppress::apply(&mut report, self.suppressions, &annotated);
        Ok(report)
    }
}

/// Give every finding the file its object came from: the declared source
/// (`preflight`'s IaC file and line) as its `location`, else as `read_from`
/// the input a Kubernetes object was read from, else the first input read
/// (AWS objects do not remember their file), at line 1. An archive member points at the archive. Live inputs
/// have no file, so their findings stay without one.
pub(crate) fn locate(findings: &mut [crate::findings::Finding], cluster: &Cluster) {
    use crate::findings::SourceLocation;
    use crate::model::ObjectKey;
    let file_of = |index: usize| -> Option<SourceLocation> {
        let name = cluster.input_files.get(index)?;
        let file = name.split('!').next().unwrap_or(name);
        (!file.is_empty() && file != "-").then(|| SourceLocation::new(file, 1))
    };
    let mut inputs = ObjectInputs::default();
    for finding in findings.iter_mut() {
        let o = &finding.object;
        if finding.location.is_none() && !cluster.object_sources.is_empty() {
            let key = ObjectKey::new(&o.kind, o.namespace.as_deref().unwrap_or(""), &o.name);
            finding.location = cluster.object_sources.get(&key).cloned();
        }
        if finding.location.is_none() {
            let namespace = o.namespace.as_deref().unwrap_or("");
            finding.read_from = inputs
                .of(cluster, &o.kind, namespace, &o.name)
                .and_then(|i| file_of(usize::try_from(i).ok()?))
                .or_else(|| (0..cluster.input_files.len()).find_map(file_of));
        }
    }
}

/// The loader's input index of typed Kubernetes objects, by (namespace,
/// name), built once per kind a finding names (`Cluster::metas_of_kind`):
/// findings on many pods cost one pass over the pods, not one per finding.
#[derive(Default)]
struct ObjectInputs<'c> {
    by_kind: std::collections::HashMap<String, std::collections::HashMap<(&'c str, &'c str), u32>>,
}

impl<'c> ObjectInputs<'c> {
    fn of(&mut self, c: &'c Cluster, kind: &str, namespace: &str, name: &str) -> Option<u32> {
        if !self.by_kind.contains_key(kind) {
            // Only the index's keys borrow from the cluster; `kind` is the
            // finding's, so the map owns its copy.
            let index = c
                .metas_of_kind(kind)?
                .map(|m| ((m.namespace(), m.name.as_str()), m.input))
                .collect();
            self.by_kind.insert(kind.to_string(), index);
        }
        self.by_kind[kind].get(&(namespace, name)).copied()
    }
}

/// What identifies a cluster: the EKS ARN, else account, region and name,
/// else Cilium's `cluster-name`, else the snapshot's path.
fn identity(cluster: &Cluster, path: &str) -> (String, Option<String>) {
    let id = ClusterIdentity::of(cluster);
    let eks_name = cluster
        .eks
        .as_ref()
        .map(|e| e.name.clone())
        .filter(|n| !n.is_empty());
    if let (Some(arn), Some(_)) = (&id.arn, &eks_name) {
        return (arn.clone(), eks_name);
    }
    if let Some(name) = eks_name {
        let at = |part: &Option<String>| part.clone().unwrap_or_else(|| "?".to_string());
        return (
            format!("{}/{}/{name}", at(&id.account), at(&id.region)),
            Some(name),
        );
    }
    if let Some(name) = id.cilium_name {
        return (format!("cilium:{name}"), Some(name));
    }
    (path.to_string(), None)
}

/// The name each member goes by in findings: its EKS (or Cilium) name when
/// that is unique, else the name with the region and account that tell the
/// clusters apart (`prod (eu-west-1, 111122223333)`), else the path. Two
/// snapshots of one identity are refused: a mesh needs distinct clusters.
pub fn cluster_identities(members: &[MeshMember]) -> Result<Vec<String>, String> {
    let ids: Vec<(String, Option<String>)> = members
        .iter()
        .map(|m| identity(&m.loaded.cluster, &m.path))
        .collect();
    for (i, (id, _)) in ids.iter().enumerate() {
        if let Some(j) = ids[..i].iter().position(|(other, _)| other == id) {
            return Err(format!(
                "{} and {} are the same cluster ({id}): give each cluster of the mesh its own snapshot",
                members[j].path, members[i].path
            ));
        }
    }
    let names = ids
        .iter()
        .zip(members)
        .map(|((_, name), member)| {
            let Some(name) = name else {
                return member.path.clone();
            };
            let shared = ids
                .iter()
                .filter(|(_, other)| other.as_deref() == Some(name.as_str()))
                .count()
                > 1;
            if !shared {
                return name.clone();
            }
            let (region, account) = member.loaded.cluster.region_and_account();
            match (region, account) {
                (Some(r), Some(a)) => format!("{name} ({r}, {a})"),
                (Some(r), None) => format!("{name} ({r})"),
                _ => format!("{name} ({})", member.path),
            }
        })
        .collect::<Vec<_>>();
    // Same name and region in two accounts without an ARN would still
    // collide in the shortened form: fall back to the paths then.
    let unique = names
        .iter()
        .enumerate()
        .all(|(i, n)| !names[..i].contains(n));
    Ok(if unique {
        names
    } else {
        members.iter().map(|m| m.path.clone()).collect()
    })
}
