//! Recognise one non-List JSON/YAML document by its shape and hand it to
//! the parser of that shape: a Kubernetes object ([`kube`]), a `kubectl
//! version`, an EKS/EC2 output ([`aws`]), an IAM output ([`iam`]), a placebo
//! envelope, the snapshot manifest.

use serde::Deserialize;

use super::error::{malformed, LoadError};
use super::loader::Loader;
use super::shapes::{Doc, Fail};
use super::{aws, iam, kube};

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

fn shape<D: Doc>(loader: &mut Loader, source: &str, what: &str, doc: &D) -> Result<(), Fail> {
    // placebo (boto3 recordings): {"status_code": 200, "data": {…}}.
    if doc.has("status_code") && doc.has("data") {
        if let Some(data) = doc.sub("data") {
            return shape(loader, source, what, &data);
        }
    }
    if doc.has(crate::snapshot::MANIFEST_MARKER) {
        let manifest: crate::snapshot::Manifest = doc.parse()?;
        let gaps = &mut loader.cluster.collection_gaps;
        gaps.extend(manifest.gaps);
        gaps.sort();
        gaps.dedup();
        loader.tally.used += 1;
        return Ok(());
    }
    if doc.has("kind") {
        let converted = kube::convert(doc, None)?;
        kube::apply(loader, source, kube::Position::Named(what), converted);
        return Ok(());
    }
    if let Some(version) = server_version(doc)? {
        return loader.set_server_version(version).map_err(Fail::Invalid);
    }
    if aws::recognise(loader, doc)?
        || iam::recognise(&mut loader.iam, &mut loader.tally, source, doc)?
    {
        return Ok(());
    }
    if doc.has("Statement") && doc.has("Version") {
        loader.tally.note(
            "an IAM policy document alone: the role or policy it belongs to is unknown \
             (use get-role-policy, get-policy-version or get-account-authorization-details output)",
        );
        return Ok(());
    }
    let keys = doc.keys();
    // The format only (`JSON`, not `JSON value 7`): one reason for a whole stream.
    let format = what.split(' ').next().unwrap_or(what);
    loader.tally.note(format!(
        "{format} of no recognised shape ({})",
        shown_keys(&keys)
    ));
    Ok(())
}

/// Keys quoted in a skip reason: at most this many, each at most this long.
const SHOWN_KEYS: usize = 4;
const SHOWN_KEY_CHARS: usize = 40;

/// The top-level keys a skip reason names: a few short ones that look like
/// field names. Keys with whitespace, `:`, `$` or control characters are
/// content (a `shadow(5)` line read as YAML is one key), never quoted.
fn shown_keys(keys: &[&str]) -> String {
    let looks_like_a_field = |k: &&str| {
        !k.is_empty()
            && k.chars().count() <= SHOWN_KEY_CHARS
            && !k
                .chars()
                .any(|c| c.is_whitespace() || c.is_control() || matches!(c, ':' | '$'))
    };
    let shown: Vec<&str> = keys
        .iter()
        .copied()
        .filter(looks_like_a_field)
        .take(SHOWN_KEYS)
        .collect();
    let rest = keys.len() - shown.len();
    match (shown.is_empty(), rest) {
        (true, _) if keys.len() == 1 => "1 top-level key, not a field name".to_string(),
        (true, _) => format!("{} top-level keys, none a field name", keys.len()),
        (false, 0) => format!("top-level keys: {}", shown.join(", ")),
        (false, rest) => format!("top-level keys: {} and {rest} more", shown.join(", ")),
    }
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
