//! Loaders: turn files, directories, archives and standard input into the
//! one cluster model, recognising every input by its content, never by its
//! name.
//!
//! API CONTRACT used by the CLI and tests: [`load_paths`], [`LoadOptions`],
//! [`Loaded`], [`LoadError`].
//!
//! Policies, the same for every format:
//! - An input (file, stdin, archive member) of no recognised shape, or whose
//!   content the rules do not use, is listed in [`Loaded::skipped`] with the
//!   reason, never dropped silently.
//! - A syntax error in JSON/YAML (or Prometheus text) is [`LoadError::Malformed`]
//!   naming the file and line: the command cannot run as asked.
//! - A recognised object with a wrong field type (`"replicas": "three"`) is
//!   skipped with a reason naming the object and the field path; the rest of
//!   the input still loads (one odd object must not hide a whole cluster).
//! - An explicit `null` means "absent" (Go dumpers marshal nil structs as
//!   `null`), as Kubernetes itself decodes it.
//! - Duplicate YAML keys are malformed (kubectl rejects them too).
//! - Limits ([`LoadOptions`]) turn hostile input into a skip or an error with
//!   a clear message, never into unbounded memory or a panic.
//! - The one name-based exception: inside an archive, cilium-cli's
//!   `cilium-helm-values-<ts>.yaml` is read as Helm values, which have no
//!   content marker of their own; elsewhere Helm values come from
//!   [`LoadOptions::helm_values`].

// Modules from the leaves up; each uses only those above it:
// error, limits, shapes, tally, detect, cilium_text, prometheus, dedup,
// one_pass (leaf layers) → iam, loader (the model builder) → kube, aws,
// logs (parsers adding parts to it) → dispatch (one document to its parser) →
// json, yaml, stream, helm (text formats) → archive → walk (the inputs).
mod archive;
mod aws;
mod cilium_text;
mod dedup;
mod detect;
mod dispatch;
mod error;
mod helm;
mod iam;
mod iproute;
mod json;
mod junit;
mod kube;
mod limits;
mod loader;
mod logs;
mod one_pass;
mod prometheus;
mod shapes;
mod stream;
mod tally;
mod walk;
mod yaml;

use std::path::PathBuf;

pub use error::{LoadError, LoadOptions, Loaded};
pub(crate) use iam::policy_document;
use loader::Loader;

/// One Cilium Helm values file (YAML or JSON, umbrella `cilium:` unwrapped),
/// as `--helm-values` reads it: for `preflight`'s release values.
pub(crate) fn parse_helm_values(
    source: &str,
    bytes: &[u8],
    options: &LoadOptions,
) -> Result<serde_json::Value, LoadError> {
    helm::parse_values(source, bytes, options)
}

/// One YAML (or JSON) document of `source` into `T`, under the loader's
/// YAML limits; a syntax error or a second document is
/// [`LoadError::Malformed`] naming the file and line.
pub(crate) fn parse_yaml_one<T>(
    source: &str,
    text: &str,
    options: &LoadOptions,
) -> Result<T, LoadError>
where
    T: for<'de> serde::Deserialize<'de> + Send,
{
    let docs: Vec<T> =
        yaml::parse_stream(source, text, options)?.map_err(|e| LoadError::Malformed {
            path: source.to_string(),
            location: e.location,
            message: e.message,
        })?;
    let count = docs.len();
    let mut docs = docs.into_iter();
    match (docs.next(), count) {
        (Some(doc), 1) => Ok(doc),
        (None, _) => Err(LoadError::Malformed {
            path: source.to_string(),
            location: None,
            message: "empty document".into(),
        }),
        (Some(_), n) => Err(LoadError::Malformed {
            path: source.to_string(),
            location: None,
            message: format!("{n} YAML documents where one was expected"),
        }),
    }
}

/// `helm -f base -f over`: `over` wins, maps merge, `null` deletes.
pub(crate) fn merge_helm_values(
    base: serde_json::Value,
    over: serde_json::Value,
) -> serde_json::Value {
    helm::merge(base, over)
}

/// Load one in-memory input (a file's bytes, a whole snapshot archive,
/// standard input) named `name` in messages, recognised by its content like
/// any file, through exactly the path `check snapshot.tar.gz` takes. The
/// limits of `options` apply.
pub fn load_bytes(name: &str, bytes: &[u8], options: &LoadOptions) -> Result<Loaded, LoadError> {
    let mut loader = Loader::new(options);
    loader.inputs_seen += 1;
    walk::load_in_memory(&mut loader, name, bytes)?;
    finish(loader, options)
}

/// Load files already in memory, such as a live collection, each named
/// `NAME!FILE` and recognised by its content as a file on disk is, under
/// the per-file and total-input limits: the loaders a `.tar.gz` of them
/// would go through, without compressing and unpacking a whole cluster at
/// every evaluation.
pub fn load_files<'a>(
    name: &str,
    files: impl IntoIterator<Item = (&'a str, &'a [u8])>,
    options: &LoadOptions,
) -> Result<Loaded, LoadError> {
    let mut loader = Loader::new(options);
    loader.inputs_seen += 1;
    for (file, bytes) in files {
        walk::load_in_memory(&mut loader, &format!("{name}!{file}"), bytes)?;
    }
    finish(loader, options)
}

/// Load every path (files, directories walked recursively in sorted order,
/// `-` for standard input) into one model.
pub fn load_paths(paths: &[PathBuf], options: &LoadOptions) -> Result<Loaded, LoadError> {
    if paths.is_empty() {
        return Err(LoadError::NoInput("no input paths given".into()));
    }
    let mut loader = Loader::new(options);
    for path in paths {
        if path.as_os_str() == "-" {
            walk::load_stdin(&mut loader)?;
        } else {
            walk::load_path(&mut loader, path, true)?;
        }
    }
    if loader.inputs_seen == 0 {
        let shown: Vec<String> = paths.iter().map(|p| p.display().to_string()).collect();
        return Err(LoadError::NoInput(format!(
            "no input files: {} holds no files",
            shown.join(", ")
        )));
    }
    if loader.inputs_used == 0 && loader.helm_layers.is_empty() {
        return Err(LoadError::NothingRecognised(loader.skipped));
    }
    finish(loader, options)
}

/// `--helm-values` files go last: they win over values found in inputs.
fn finish(mut loader: Loader, options: &LoadOptions) -> Result<Loaded, LoadError> {
    for file in &options.helm_values {
        let shown = file.display().to_string();
        let bytes = walk::read_file(&loader, file, &shown)?;
        let layer = helm::parse_values(&shown, &bytes, options)?;
        loader.helm_layers.push(layer);
    }
    let helm_values = helm::merge_layers(std::mem::take(&mut loader.helm_layers));
    Ok(loader.finish(helm_values))
}

#[cfg(test)]
mod tests {
    use std::collections::{BTreeMap, BTreeSet};

    /// The modules of `load/` form a one-way graph: leaf layers, the
    /// builder, parsers, the dispatcher, text formats, the walk. A module
    /// that reaches back up (a parser calling the walk) makes a circle.
    #[test]
    fn load_modules_import_one_way() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src/load");
        let modules: BTreeSet<String> = std::fs::read_dir(&dir)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.extension().is_some_and(|x| x == "rs"))
            .map(|p| p.file_stem().unwrap().to_string_lossy().into_owned())
            .filter(|m| m != "mod")
            .collect();
        let mut uses: BTreeMap<String, BTreeSet<String>> = BTreeMap::new();
        for module in &modules {
            let text = std::fs::read_to_string(dir.join(format!("{module}.rs"))).unwrap();
            // The module's own code, not its tests.
            let code = text.split("#[cfg(test)]").next().unwrap();
            let mut used = BTreeSet::new();
            for (at, _) in code.match_indices("super::") {
                let rest = &code[at + "super::".len()..];
                let names: Vec<&str> = match rest.strip_prefix('{') {
                    Some(group) => group[..group.find('}').unwrap()].split(',').collect(),
                    None => vec![rest],
                };
                for name in names {
                    let first: String = name
                        .trim()
                        .chars()
                        .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                        .collect();
                    if modules.contains(&first) && &first != module {
                        used.insert(first);
                    }
                }
            }
            uses.insert(module.clone(), used);
        }
        // Depth-first search for a circle, naming it.
        fn visit(
            module: &str,
            uses: &BTreeMap<String, BTreeSet<String>>,
            path: &mut Vec<String>,
            done: &mut BTreeSet<String>,
        ) {
            if done.contains(module) {
                return;
            }
            if let Some(at) = path.iter().position(|m| m == module) {
                panic!("import circle: {} -> {module}", path[at..].join(" -> "));
            }
            path.push(module.to_string());
            for next in &uses[module] {
                visit(next, uses, path, done);
            }
            path.pop();
            done.insert(module.to_string());
        }
        let mut done = BTreeSet::new();
        for module in &modules {
            visit(module, &uses, &mut Vec::new(), &mut done);
        }
        assert!(uses["walk"].contains("archive") && uses["dispatch"].contains("kube"));
    }
}
