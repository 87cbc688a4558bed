//! Scaffolding shared by the rule unit tests: a cluster built through the
//! real loaders, and a rule run against the embedded or a given knowledge.

use std::sync::atomic::{AtomicUsize, Ordering};

use crate::findings::Finding;
use crate::knowledge::Knowledge;
use crate::load::{load_paths, LoadOptions};
use crate::model::Cluster;
use crate::rules::{CheckOptions, Context, Outcome, Rule};

/// The day embedded-knowledge runs evaluate as of, so date-dependent rules do not drift.
const AS_OF: &str = "2026-11-26";

/// Load these JSON documents (Kubernetes objects/Lists, AWS CLI outputs)
/// as if they were files of a snapshot.
pub(crate) fn load_cluster(documents: &[serde_json::Value]) -> Cluster {
    if documents.is_empty() {
        // The loader refuses an empty snapshot; an empty model is what the tests mean.
        let mut empty = Cluster::default();
        empty.finish();
        return empty;
    }
    static COUNTER: AtomicUsize = AtomicUsize::new(0);
    let dir = std::env::temp_dir().join(format!(
        "doctor-rules-a-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    for (i, doc) in documents.iter().enumerate() {
        std::fs::write(dir.join(format!("{i:03}.json")), doc.to_string()).unwrap();
    }
    let loaded = load_paths(std::slice::from_ref(&dir), &LoadOptions::default());
    std::fs::remove_dir_all(&dir).unwrap();
    loaded.unwrap().cluster
}

/// The same, plus Helm values (set directly: the YAML loader is separate).
pub(crate) fn load_cluster_with_helm(
    documents: &[serde_json::Value],
    helm: serde_json::Value,
) -> Cluster {
    let mut c = load_cluster(documents);
    c.helm_values = Some(helm);
    c.finish();
    c
}

/// The default options, evaluated as of `as_of`.
pub(crate) fn options(as_of: &str) -> CheckOptions {
    CheckOptions {
        as_of: as_of.parse().unwrap(),
        ..CheckOptions::default()
    }
}

/// What a rule sees, for helpers that take a `Context` rather than a rule.
pub(crate) fn context<'a>(
    cluster: &'a Cluster,
    knowledge: &'a Knowledge,
    options: &'a CheckOptions,
) -> Context<'a> {
    Context::new(cluster, knowledge, options)
}

/// `rule` on `cluster` with this knowledge and these options.
pub(crate) fn run(rule: &dyn Rule, cluster: &Cluster, k: &Knowledge, o: &CheckOptions) -> Outcome {
    rule.check(&context(cluster, k, o))
}

/// `rule` on `cluster` with the embedded knowledge and the default options as of [`AS_OF`].
pub(crate) fn outcome(rule: &dyn Rule, cluster: &Cluster) -> Outcome {
    run(rule, cluster, Knowledge::embedded(), &options(AS_OF))
}

/// [`outcome`]: the findings, or why it was not evaluated.
pub(crate) fn check(rule: &dyn Rule, cluster: &Cluster) -> Outcome {
    outcome(rule, cluster)
}

/// The findings of an evaluated outcome (panics on "not evaluated").
pub(crate) fn fired(outcome: Outcome) -> Vec<Finding> {
    match outcome {
        Ok(f) => f,
        Err(n) => panic!("not evaluated: {} ({:?})", n.missing, n.how_to_provide),
    }
}

/// The "missing" text of a not-evaluated outcome (panics when evaluated).
pub(crate) fn missing(outcome: Outcome) -> String {
    match outcome {
        Err(n) => n.missing,
        Ok(f) => panic!("evaluated: {f:#?}"),
    }
}
