//! Bad input is normal input: every kind of broken, hostile or odd input
//! ends in a model, a skip with a reason, or a `LoadError` naming the file,
//! never a panic or unbounded memory. Archives are built here, in memory.

use std::io::{Cursor, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use doctor_core::load::{load_paths, LoadError, LoadOptions, Loaded};

fn write(dir: &Path, name: &str, bytes: impl AsRef<[u8]>) -> PathBuf {
    let path = dir.join(name);
    if let Some(parent) = path.parent() {
        std::fs::create_dir_all(parent).unwrap();
    }
    std::fs::write(&path, bytes).unwrap();
    path
}

fn load(path: &Path) -> Result<Loaded, LoadError> {
    load_paths(&[path.to_path_buf()], &LoadOptions::default())
}

/// The load, or, when nothing at all was recognised (which `check` refuses
/// with exit 2), the skip reasons the error carries.
fn load_ok(path: &Path) -> Loaded {
    match load(path) {
        Ok(loaded) => loaded,
        Err(LoadError::NothingRecognised(skipped)) => Loaded {
            cluster: Default::default(),
            skipped,
            notes: Vec::new(),
        },
        Err(e) => panic!("{}: {e}", path.display()),
    }
}

fn malformed(path: &Path) -> String {
    match load(path) {
        Err(e @ LoadError::Malformed { .. }) => {
            let text = e.to_string();
            assert!(
                text.starts_with(&*path.to_string_lossy()),
                "the error names the file: {text}"
            );
            text
        }
        Err(e) => panic!("{}: expected Malformed, got {e:?}", path.display()),
        Ok(l) => panic!(
            "{}: expected Malformed, loaded; skipped {:?}",
            path.display(),
            l.skipped
        ),
    }
}

fn skip_reason(loaded: &Loaded, path_suffix: &str) -> String {
    loaded
        .skipped
        .iter()
        .find(|s| s.path.ends_with(path_suffix))
        .unwrap_or_else(|| panic!("no skip for {path_suffix}: {:?}", loaded.skipped))
        .reason
        .clone()
}

const POD: &str = r#"{"apiVersion":"v1","kind":"Pod","metadata":{"name":"p","namespace":"default"},
  "spec":{"containers":[{"name":"c","image":"busybox"}]}}"#;

const NODE_YAML: &str = "apiVersion: v1\nkind: Node\nmetadata:\n  name: n1\n";

fn zip_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut zip = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let options = zip::write::SimpleFileOptions::default()
        .compression_method(zip::CompressionMethod::Deflated);
    for (name, data) in members {
        zip.start_file(*name, options).unwrap();
        zip.write_all(data).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

/// A tar.gz; names are written raw into the header, so `../x` and `/x`
/// can be built (the tar crate's safe API refuses them).
fn tar_gz_of(members: &[(&str, &[u8])]) -> Vec<u8> {
    let mut builder = tar::Builder::new(Vec::new());
    for (name, data) in members {
        let mut header = tar::Header::new_ustar();
        header.as_old_mut().name[..name.len()].copy_from_slice(name.as_bytes());
        header.set_size(data.len() as u64);
        header.set_mode(0o644);
        header.set_entry_type(tar::EntryType::Regular);
        header.set_cksum();
        builder.append(&header, *data).unwrap();
    }
    let tar = builder.into_inner().unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&tar).unwrap();
    gz.finish().unwrap()
}

#[test]
fn malformed_json_names_file_line_and_column() {
    let dir = tempfile::tempdir().unwrap();
    let text = malformed(&write(
        dir.path(),
        "a.json",
        "{\n  \"kind\": \"Pod\",\n  \"metadata\": {\n}\n",
    ));
    assert!(
        text.contains("line 5 column 0") || text.contains("line 4"),
        "{text}"
    );
    let text = malformed(&write(
        dir.path(),
        "b.json",
        "[{\"kind\": \"Pod\"},\n {\"kind\": }]",
    ));
    assert!(text.contains("line 2 column 11"), "{text}");
    // Truncated JSON Lines: the broken value is JSON, so it is malformed.
    let text = malformed(&write(
        dir.path(),
        "c.jsonl",
        format!("{POD}\n{{\"kind\": \"Pod\"\n"),
    ));
    assert!(text.contains("invalid JSON"), "{text}");
}

#[test]
fn malformed_yaml_names_file_and_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = malformed(&write(
        dir.path(),
        "a.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n  name: [unclosed\n  namespace: x\n",
    ));
    assert!(text.contains("line "), "{text}");
    let text = malformed(&write(
        dir.path(),
        "tabs.yaml",
        "apiVersion: v1\nkind: Pod\nmetadata:\n\tname: x\n",
    ));
    assert!(text.contains(": line 4"), "{text}");
}

#[test]
fn duplicate_yaml_keys_are_rejected_with_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = malformed(&write(
        dir.path(),
        "dup.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: a\n  name: b\n",
    ));
    assert!(
        text.contains("line 5") && text.contains("duplicate mapping key: name"),
        "{text}"
    );
}

#[test]
fn wrong_field_types_skip_that_object_with_the_field_path() {
    let dir = tempfile::tempdir().unwrap();
    let json = r#"{"apiVersion":"v1","kind":"List","items":[
      {"kind":"Deployment","metadata":{"name":"web","namespace":"shop"},"spec":{"replicas":"three"}},
      {"kind":"Deployment","metadata":{"name":"api","namespace":"shop"},"spec":{"replicas":2}}]}"#;
    let loaded = load_ok(&write(dir.path(), "list.json", json));
    assert_eq!(
        loaded.cluster.deployments.as_ref().unwrap().len(),
        1,
        "the good object loads"
    );
    let reason = skip_reason(&loaded, "list.json");
    assert!(
        reason.contains("Deployment shop/web")
            && reason.contains("field spec.replicas")
            && reason.contains("three"),
        "{reason}"
    );

    let yaml =
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: web\nspec:\n  replicas: three\n";
    let loaded = load_ok(&write(dir.path(), "one.yaml", yaml));
    assert!(loaded.cluster.deployments.is_none());
    let reason = skip_reason(&loaded, "one.yaml");
    assert!(reason.contains("field spec.replicas"), "{reason}");

    // A recognised AWS shape with a wrong type: the input is skipped, the path named.
    let loaded = load_ok(&write(
        dir.path(),
        "subnets.json",
        r#"{"Subnets":[{"SubnetId":"s","AvailableIpAddressCount":"many"}]}"#,
    ));
    assert!(loaded.cluster.subnets.is_none());
    let reason = skip_reason(&loaded, "subnets.json");
    assert!(
        reason.contains("field Subnets[0].AvailableIpAddressCount"),
        "{reason}"
    );
}

/// `describe-cluster-versions` with bad dates or wrong types: the file is
/// skipped with a reason naming it and the field, never a panic or a
/// half-read calendar; broken JSON fails naming the file.
#[test]
fn hostile_describe_cluster_versions_files() {
    let dir = tempfile::tempdir().unwrap();
    let row = |field: &str, value: &str| {
        format!(
            r#"{{"clusterVersions":[{{"clusterVersion":"1.33","releaseDate":"2025-05-29T00:00:00+00:00",
              "endOfStandardSupportDate":"2026-07-29T00:00:00+00:00","{field}":{value}}}]}}"#
        )
    };
    let cases = [
        (
            "bad-date.json",
            row("endOfExtendedSupportDate", r#""next year""#),
            "field clusterVersions[0].endOfExtendedSupportDate: not a timestamp",
        ),
        (
            "no-such-day.json",
            row("endOfExtendedSupportDate", r#""2027-02-30T00:00:00+00:00""#),
            "field clusterVersions[0].endOfExtendedSupportDate",
        ),
        (
            "bad-zone.json",
            row("endOfExtendedSupportDate", r#""2027-07-29T00:00:00+99:00""#),
            "not a timestamp",
        ),
        (
            "huge-epoch.json",
            row("endOfExtendedSupportDate", "1e300"),
            "epoch seconds out of range",
        ),
        (
            "bool-date.json",
            row("endOfExtendedSupportDate", "true"),
            "invalid type: boolean",
        ),
        (
            "object-date.json",
            row("endOfExtendedSupportDate", r#"{"year":2027}"#),
            "placebo",
        ),
        (
            "array-date.json",
            row("endOfExtendedSupportDate", "[2027,7,29]"),
            "invalid type: sequence",
        ),
        (
            "number-version.json",
            r#"{"clusterVersions":[{"clusterVersion":1.33}]}"#.to_string(),
            "field clusterVersions[0].clusterVersion: invalid type",
        ),
        (
            "word-version.json",
            r#"{"clusterVersions":[{"clusterVersion":"latest"}]}"#.to_string(),
            "not a version",
        ),
        (
            "twice.json",
            row("clusterVersion", r#""1.34""#),
            "duplicate field `clusterVersion`",
        ),
        (
            "bool-default.json",
            row("defaultVersion", r#""yes""#),
            "field clusterVersions[0].defaultVersion",
        ),
        (
            "not-a-list.json",
            r#"{"clusterVersions":"1.33"}"#.to_string(),
            "field clusterVersions: invalid type",
        ),
        (
            "no-version.json",
            r#"{"clusterVersions":[{"releaseDate":"2025-05-29T00:00:00+00:00"}]}"#.to_string(),
            "missing field `clusterVersion`",
        ),
    ];
    for (name, text, why) in cases {
        let path = write(dir.path(), name, &text);
        let loaded = load_ok(&path);
        assert!(
            loaded.cluster.eks_cluster_versions.is_none(),
            "{name}: nothing of a bad file is used"
        );
        let reason = skip_reason(&loaded, name);
        assert!(reason.contains(why), "{name}: {reason}");
    }
    let text = malformed(&write(
        dir.path(),
        "truncated.json",
        r#"{"clusterVersions":[{"clusterVersion":"1.33","releaseDate":"2025-05-"#,
    ));
    assert!(text.contains("truncated.json"), "{text}");
    // Explicit nulls are absent dates; extra keys beside the payload make it
    // no AWS output at all (skipped as unrecognised).
    let loaded = load_ok(&write(
        dir.path(),
        "nulls.json",
        row("endOfExtendedSupportDate", "null"),
    ));
    let v = &loaded.cluster.eks_cluster_versions.unwrap()[0];
    assert_eq!(v.end_of_extended_support_date, None);
    let loaded = load_ok(&write(
        dir.path(),
        "mixed.json",
        r#"{"clusterVersions":[],"kindOf":"mine"}"#,
    ));
    assert!(loaded.cluster.eks_cluster_versions.is_none());
    assert!(skip_reason(&loaded, "mixed.json").contains("no recognised shape"));
}

#[test]
fn explicit_nulls_mean_absent() {
    let dir = tempfile::tempdir().unwrap();
    let json = r#"{"kind":"Pod","metadata":{"name":"p","labels":null},"spec":null,"status":{"podIP":null}}"#;
    let loaded = load_ok(&write(dir.path(), "pod.json", json));
    assert_eq!(loaded.cluster.pods.as_ref().unwrap()[0].metadata.name, "p");
    let yaml = "kind: Node\nmetadata:\n  name: n1\nspec: null\nstatus:\n  nodeInfo: null\n";
    let loaded = load_ok(&write(dir.path(), "node.yaml", yaml));
    assert_eq!(loaded.cluster.nodes.as_ref().unwrap().len(), 1);
}

#[test]
fn binary_empty_and_unrecognised_files_are_skipped_with_reasons() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "a.bin", [0u8, 159, 146, 150, 0, 1, 2]);
    write(dir.path(), "b.txt", [0xff, 0x00, b'k', 0]);
    write(dir.path(), "c.yaml", "");
    write(dir.path(), "d.yaml", "   \n\n");
    write(
        dir.path(),
        "e.json",
        r#"{"Account": "1", "Arn": "arn:aws:sts::1:x"}"#,
    );
    write(
        dir.path(),
        "f.txt",
        "NAME   READY   STATUS\nweb    1/1     Running\n",
    );
    let loaded = load_ok(dir.path());
    assert!(skip_reason(&loaded, "a.bin").starts_with("binary"));
    assert!(skip_reason(&loaded, "b.txt").starts_with("binary"));
    assert_eq!(skip_reason(&loaded, "c.yaml"), "empty");
    assert_eq!(skip_reason(&loaded, "d.yaml"), "empty");
    assert!(skip_reason(&loaded, "e.json")
        .contains("no recognised shape (top-level keys: Account, Arn)"));
    assert!(skip_reason(&loaded, "f.txt").starts_with("plain text"));
}

#[test]
fn missing_paths_and_empty_directories() {
    let dir = tempfile::tempdir().unwrap();
    match load(&dir.path().join("nope.json")) {
        Err(LoadError::Io { path, .. }) => assert!(path.ends_with("nope.json")),
        other => panic!("{other:?}"),
    }
    std::fs::create_dir(dir.path().join("empty")).unwrap();
    match load(&dir.path().join("empty")) {
        Err(LoadError::NoInput(why)) => assert!(
            why.contains("empty") && why.contains("no input files"),
            "{why}"
        ),
        other => panic!("{other:?}"),
    }
    assert!(matches!(
        load_paths(&[], &LoadOptions::default()),
        Err(LoadError::NoInput(_))
    ));
}

#[test]
fn directories_are_walked_in_sorted_order() {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "b/2.yaml",
        "kind: ConfigMap\nmetadata:\n  name: second\n",
    );
    write(
        dir.path(),
        "a/1.yaml",
        "kind: ConfigMap\nmetadata:\n  name: first\n",
    );
    write(
        dir.path(),
        "c.yaml",
        "kind: ConfigMap\nmetadata:\n  name: third\n",
    );
    let names: Vec<String> = load_ok(dir.path())
        .cluster
        .config_maps
        .unwrap()
        .into_iter()
        .map(|c| c.metadata.name)
        .collect();
    assert_eq!(names, ["first", "second", "third"]);
}

#[cfg(unix)]
#[test]
fn symlinked_directories_inside_a_walk_are_not_followed() {
    let dir = tempfile::tempdir().unwrap();
    write(dir.path(), "pod.json", POD);
    std::os::unix::fs::symlink(dir.path(), dir.path().join("loop")).unwrap();
    let loaded = load_ok(dir.path());
    assert_eq!(loaded.cluster.pods.as_ref().unwrap().len(), 1);
    assert!(skip_reason(&loaded, "loop").contains("not followed"));
}

#[test]
fn alias_bombs_fail_fast_with_a_clear_message() {
    let dir = tempfile::tempdir().unwrap();
    let mut bomb = String::from("apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: lol\ndata:\n  a: &a [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n");
    let mut prev = 'a';
    for level in ['b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'] {
        let refs = vec![format!("*{prev}"); 9].join(",");
        bomb.push_str(&format!("  {level}: &{level} [{refs}]\n"));
        prev = level;
    }
    let path = write(dir.path(), "bomb.yaml", &bomb);
    let started = Instant::now();
    let text = malformed(&path);
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "took {:?}",
        started.elapsed()
    );
    assert!(text.contains("over the loader's limits"), "{text}");
    // A bomb that does not look like Kubernetes YAML is still an error, not a skip.
    let path = write(
        dir.path(),
        "bomb2.yaml",
        bomb.replace("apiVersion: v1\nkind: ConfigMap\n", ""),
    );
    assert!(malformed(&path).contains("over the loader's limits"));
}

#[test]
fn deep_nesting_is_reported_not_a_crash() {
    let dir = tempfile::tempdir().unwrap();
    // JSON: serde_json's recursion limit, inside an item and at the top.
    let deep = format!(
        r#"{{"kind":"Pod","metadata":{{"name":"p"}},"spec":{{"containers":[{{"resources":{{"limits":{{"x":{}{}}}}}}}]}}}}"#,
        "[".repeat(5000),
        "]".repeat(5000)
    );
    let text = malformed(&write(dir.path(), "deep.json", deep));
    assert!(text.contains("recursion limit"), "{text}");
    assert!(text.contains("nested deeper than 128 levels"), "{text}");
    let text = malformed(&write(dir.path(), "deep2.json", "[".repeat(100_000)));
    assert!(
        text.contains("recursion limit") || text.contains("EOF"),
        "{text}"
    );
    // YAML: the depth budget.
    let mut yaml = String::from("apiVersion: v1\nkind: ConfigMap\ndata:\n");
    for level in 0..150 {
        yaml.push_str(&"  ".repeat(level + 1));
        yaml.push_str("k:\n");
    }
    let text = malformed(&write(dir.path(), "deep.yaml", &yaml));
    assert!(text.contains("over the loader's limits"), "{text}");
    let flow = format!(
        "kind: ConfigMap\ndata: {}{}\n",
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    malformed(&write(dir.path(), "deep-flow.yaml", flow));
}

#[test]
fn files_over_the_size_limit_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let path = write(dir.path(), "big.json", POD);
    let options = LoadOptions {
        max_file_bytes: 10,
        ..LoadOptions::default()
    };
    let Err(LoadError::NothingRecognised(skipped)) = load_paths(&[path], &options) else {
        panic!("the only input was skipped: nothing recognised");
    };
    let loaded = Loaded {
        cluster: Default::default(),
        skipped,
        notes: Vec::new(),
    };
    assert!(loaded.cluster.pods.is_none());
    assert!(skip_reason(&loaded, "big.json").contains("over the 10 byte limit"));
}

#[test]
fn big_lists_load_in_json_and_yaml() {
    let dir = tempfile::tempdir().unwrap();
    let pod = |i: usize| {
        format!(
            r#"{{"apiVersion":"v1","kind":"Pod","metadata":{{"name":"pod-{i}","namespace":"ns-{}","labels":{{"app":"a{}","k8s-app":"x"}}}},"spec":{{"nodeName":"node-{}","containers":[{{"name":"c","image":"quay.io/cilium/cilium:v1.16.5","resources":{{"requests":{{"cpu":"100m"}}}}}}]}},"status":{{"phase":"Running","podIP":"10.0.{}.{}"}}}}"#,
            i % 40,
            i % 7,
            i % 50,
            i / 250,
            i % 250
        )
    };
    let items: Vec<String> = (0..3500).map(pod).collect();
    let json = format!(
        r#"{{"apiVersion":"v1","kind":"List","items":[{}]}}"#,
        items.join(",")
    );
    let loaded = load_ok(&write(dir.path(), "pods.json", &json));
    assert_eq!(loaded.cluster.pods.as_ref().unwrap().len(), 3500);

    // The same List as YAML (flow style inside block items, as kubectl would
    // not, but the size is what matters for the budget).
    let mut yaml = String::from("apiVersion: v1\nitems:\n");
    for i in 0..3500 {
        yaml.push_str(&format!(
            "- apiVersion: v1\n  kind: Pod\n  metadata:\n    name: pod-{i}\n    namespace: ns-{}\n    labels:\n      app: a{}\n  spec:\n    nodeName: node-{}\n    containers:\n    - name: c\n      image: quay.io/cilium/cilium:v1.16.5\n      resources:\n        requests:\n          cpu: 100m\n  status:\n    phase: Running\n    podIP: 10.0.{}.{}\n",
            i % 40,
            i % 7,
            i % 50,
            i / 250,
            i % 250
        ));
    }
    yaml.push_str("kind: List\nmetadata:\n  resourceVersion: \"\"\n");
    let loaded = load_ok(&write(dir.path(), "pods.yaml", &yaml));
    assert_eq!(loaded.cluster.pods.as_ref().unwrap().len(), 3500);
}

#[test]
fn yaml_list_items_without_kind_take_the_list_kind() {
    let dir = tempfile::tempdir().unwrap();
    // kubectl sorts keys: `items` comes before `kind`.
    let yaml = "apiVersion: v1\nitems:\n- metadata:\n    name: n1\n- metadata:\n    name: n2\nkind: NodeList\n";
    let loaded = load_ok(&write(dir.path(), "nodes.yaml", yaml));
    assert_eq!(loaded.cluster.nodes.as_ref().unwrap().len(), 2);
    // Multi-document: leading separator, comments, empty documents, a List inside.
    let stream = format!(
        "---\n# a comment\n---\n{NODE_YAML}---\n---\napiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  kind: Service\n  metadata:\n    name: s\n"
    );
    let loaded = load_ok(&write(dir.path(), "stream.yaml", stream));
    assert_eq!(loaded.cluster.nodes.as_ref().unwrap().len(), 1);
    assert_eq!(loaded.cluster.services.as_ref().unwrap().len(), 1);
}

#[test]
fn truncated_archives_are_malformed() {
    let dir = tempfile::tempdir().unwrap();
    let zip = zip_of(&[
        ("a/pod.json", POD.as_bytes()),
        ("a/node.yaml", NODE_YAML.as_bytes()),
    ]);
    let text = malformed(&write(dir.path(), "cut.zip", &zip[..zip.len() / 2]));
    assert!(text.contains("zip"), "{text}");
    let gz = tar_gz_of(&[
        ("a/pod.json", POD.as_bytes()),
        ("a/node.yaml", NODE_YAML.as_bytes()),
    ]);
    let text = malformed(&write(dir.path(), "cut.tar.gz", &gz[..gz.len() - 20]));
    assert!(
        text.contains("corrupt") || text.contains("truncated"),
        "{text}"
    );
}

#[test]
fn archive_members_with_unsafe_paths_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let members: &[(&str, &[u8])] = &[
        ("../evil.json", POD.as_bytes()),
        ("/etc/evil.json", POD.as_bytes()),
        ("ok/../../evil.json", POD.as_bytes()),
        ("ok/node.yaml", NODE_YAML.as_bytes()),
    ];
    for (name, bytes) in [("z.zip", zip_of(members)), ("t.tar.gz", tar_gz_of(members))] {
        let path = write(dir.path(), name, bytes);
        let loaded = load_ok(&path);
        assert_eq!(loaded.cluster.nodes.as_ref().unwrap().len(), 1, "{name}");
        assert!(
            loaded.cluster.pods.is_none(),
            "{name}: no unsafe member is read"
        );
        assert!(
            skip_reason(&loaded, "!../evil.json").contains("path with `..`"),
            "{name}"
        );
        assert!(
            skip_reason(&loaded, "!/etc/evil.json").contains("absolute path"),
            "{name}"
        );
        assert!(
            skip_reason(&loaded, "!ok/../../evil.json").contains("refused"),
            "{name}"
        );
        assert!(!dir.path().parent().unwrap().join("evil.json").exists());
    }
}

#[test]
fn zip_bombs_and_archive_limits() {
    let dir = tempfile::tempdir().unwrap();
    let zeros = vec![b' '; 8 * 1024 * 1024];
    let path = write(
        dir.path(),
        "bomb.zip",
        zip_of(&[("bomb.yaml", &zeros), ("node.yaml", NODE_YAML.as_bytes())]),
    );
    let loaded = load_ok(&path);
    assert!(skip_reason(&loaded, "!bomb.yaml").contains("compression ratio"));
    assert_eq!(loaded.cluster.nodes.as_ref().unwrap().len(), 1);

    let gz_bomb = tar_gz_of(&[("bomb.yaml", &zeros)]);
    let loaded = load_ok(&write(dir.path(), "bomb.tar.gz", gz_bomb));
    assert!(skip_reason(&loaded, "bomb.tar.gz").contains("compression ratio"));

    // Twenty different nodes (one node read twice would count once).
    let many: Vec<(String, String)> = (0..20)
        .map(|i| {
            (
                format!("m/{i:02}.yaml"),
                NODE_YAML.replace("n1", &format!("n{i}")),
            )
        })
        .collect();
    let many: Vec<(&str, &[u8])> = many
        .iter()
        .map(|(n, b)| (n.as_str(), b.as_bytes()))
        .collect();
    let path = write(dir.path(), "many.zip", zip_of(&many));
    let options = LoadOptions {
        archive_max_members: 5,
        ..LoadOptions::default()
    };
    let loaded = load_paths(std::slice::from_ref(&path), &options).unwrap();
    assert_eq!(loaded.cluster.nodes.as_ref().unwrap().len(), 5);
    assert!(skip_reason(&loaded, "many.zip").contains("more than 5 members"));

    let options = LoadOptions {
        archive_max_member_bytes: 20,
        ..LoadOptions::default()
    };
    // Every member over the limit: nothing recognised, each skip named.
    let Err(LoadError::NothingRecognised(skipped)) =
        load_paths(std::slice::from_ref(&path), &options)
    else {
        panic!("every member is over the limit");
    };
    let loaded = Loaded {
        cluster: Default::default(),
        skipped,
        notes: Vec::new(),
    };
    assert!(skip_reason(&loaded, "!m/00.yaml").contains("per-member size limit"));

    let options = LoadOptions {
        archive_max_total_bytes: 100,
        ..LoadOptions::default()
    };
    let loaded = load_paths(&[path], &options).unwrap();
    assert!(loaded.cluster.nodes.as_ref().unwrap().len() < 20);
    assert!(loaded
        .skipped
        .iter()
        .any(|s| s.reason.contains("total size limit")));
}

#[test]
fn nested_archives_are_opened_one_level_deep() {
    let dir = tempfile::tempdir().unwrap();
    let innermost = zip_of(&[("deep/node.yaml", NODE_YAML.as_bytes())]);
    let status = "KVStore:                 Disabled\nKubernetes:              Ok   1.30\nCilium:                  Ok   1.16.5\nCilium health daemon:    Ok\nCluster health:          2/3 reachable   (2026-01-01T00:00:00Z)\n  node-b   10.0.0.2   0/1   0/1\n";
    let bugtool = tar_gz_of(&[
        (
            "cilium-bugtool-cilium-x-1/cmd/cilium-dbg-status---verbose.md",
            status.as_bytes(),
        ),
        ("cilium-bugtool-cilium-x-1/inner.zip", &innermost),
    ]);
    let sysdump = zip_of(&[
        (
            "cilium-sysdump-1/cilium-bugtool-cilium-x-1.tar.gz",
            &bugtool,
        ),
        ("cilium-sysdump-1/k8s-pods-1.json", POD.as_bytes()),
    ]);
    let loaded = load_ok(&write(dir.path(), "sysdump.zip", sysdump));
    let reports = loaded.cluster.cilium_status.as_ref().unwrap();
    assert!(reports[0]
        .source
        .ends_with("sysdump.zip!cilium-sysdump-1/cilium-bugtool-cilium-x-1.tar.gz!cilium-bugtool-cilium-x-1/cmd/cilium-dbg-status---verbose.md"));
    assert_eq!(reports[0].cluster_health, Some((2, 3)));
    assert_eq!(reports[0].unreachable_nodes, ["node-b"]);
    assert_eq!(loaded.cluster.pods.as_ref().unwrap().len(), 1);
    assert!(loaded.cluster.nodes.is_none());
    assert!(skip_reason(&loaded, "!cilium-bugtool-cilium-x-1/inner.zip")
        .contains("nested deeper than 1"));
}

#[test]
fn sysdump_helm_values_merge_under_the_helm_values_option() {
    let dir = tempfile::tempdir().unwrap();
    let sysdump = zip_of(&[
        (
            "cilium-sysdump-20260101-000000/cilium-helm-values-20260101-000000.yaml",
            b"eni:\n  enabled: true\nipam:\n  mode: eni\ntunnelProtocol: geneve\n",
        ),
        (
            "cilium-sysdump-20260101-000000/tetragon-helm-values-20260101-000000.yaml",
            b"tetragon:\n  enabled: true\n",
        ),
    ]);
    let zip = write(dir.path(), "sysdump.zip", sysdump);
    let over = write(
        dir.path(),
        "values.json",
        r#"{"ipam": {"mode": "cluster-pool"}}"#,
    );
    let options = LoadOptions {
        helm_values: vec![over],
        ..LoadOptions::default()
    };
    let loaded = load_paths(&[zip], &options).unwrap();
    let values = loaded.cluster.helm_values.as_ref().unwrap();
    assert_eq!(values["eni"]["enabled"], serde_json::json!(true));
    assert_eq!(
        values["ipam"]["mode"],
        serde_json::json!("cluster-pool"),
        "--helm-values wins"
    );
    assert!(values.get("tetragon").is_none());
    assert!(
        skip_reason(&loaded, "tetragon-helm-values-20260101-000000.yaml")
            .contains("no recognised shape")
    );
}

#[test]
fn snapshot_tar_gz_and_gzipped_files_load() {
    let dir = tempfile::tempdir().unwrap();
    let metrics =
        "# TYPE cilium_endpoint_state gauge\ncilium_endpoint_state{endpoint_state=\"ready\"} 12\n";
    let gz = tar_gz_of(&[
        ("snapshot/kubernetes/pods.json", POD.as_bytes()),
        ("snapshot/kubernetes/nodes.yaml", NODE_YAML.as_bytes()),
        ("snapshot/cilium/metrics-cilium-x.txt", metrics.as_bytes()),
    ]);
    let loaded = load_ok(&write(dir.path(), "snapshot.tar.gz", gz));
    assert_eq!(loaded.cluster.pods.as_ref().unwrap().len(), 1);
    assert_eq!(loaded.cluster.nodes.as_ref().unwrap().len(), 1);
    let metrics = loaded.cluster.metrics.as_ref().unwrap();
    assert!(metrics[0]
        .source
        .ends_with("snapshot.tar.gz!snapshot/cilium/metrics-cilium-x.txt"));
    assert!(loaded.skipped.is_empty(), "{:?}", loaded.skipped);

    let mut single = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    single.write_all(NODE_YAML.as_bytes()).unwrap();
    let loaded = load_ok(&write(
        dir.path(),
        "nodes.yaml.gz",
        single.finish().unwrap(),
    ));
    assert_eq!(loaded.cluster.nodes.as_ref().unwrap().len(), 1);
}

#[test]
fn tar_links_and_special_members_are_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let mut builder = tar::Builder::new(Vec::new());
    let mut header = tar::Header::new_ustar();
    header.set_entry_type(tar::EntryType::Symlink);
    header.set_size(0);
    builder
        .append_link(&mut header, "snap/link.json", "/etc/passwd")
        .unwrap();
    let mut header = tar::Header::new_ustar();
    header.set_size(NODE_YAML.len() as u64);
    header.set_mode(0o644);
    builder
        .append_data(&mut header, "snap/node.yaml", NODE_YAML.as_bytes())
        .unwrap();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(&builder.into_inner().unwrap()).unwrap();
    let loaded = load_ok(&write(dir.path(), "links.tar.gz", gz.finish().unwrap()));
    assert_eq!(loaded.cluster.nodes.as_ref().unwrap().len(), 1);
    assert!(skip_reason(&loaded, "!snap/link.json").contains("link"));
}

#[test]
fn malformed_prometheus_names_the_line() {
    let dir = tempfile::tempdir().unwrap();
    let text = malformed(&write(
        dir.path(),
        "m.txt",
        "# TYPE cilium_x gauge\ncilium_x{a=\"1\"} 1\ncilium_x{a=\"2\" 2\n",
    ));
    assert!(text.contains(": line 3:"), "{text}");
}

#[test]
fn empty_archives_are_reported() {
    let dir = tempfile::tempdir().unwrap();
    let loaded = load_ok(&write(dir.path(), "empty.zip", zip_of(&[])));
    assert_eq!(skip_reason(&loaded, "empty.zip"), "archive holds no files");
    let loaded = load_ok(&write(dir.path(), "empty.tar.gz", tar_gz_of(&[])));
    assert_eq!(
        skip_reason(&loaded, "empty.tar.gz"),
        "archive holds no files"
    );
}

/// Issue 18: one gzipped file is one member, under the per-member limit
/// (it was inflated whole, up to the 4 GiB archive total).
#[test]
fn a_plain_gzip_file_is_held_to_the_per_member_limit() {
    use std::io::Write;
    let dir = tempfile::tempdir().unwrap();
    // 3 MiB of text that hardly compresses (so no ratio limit applies).
    let mut state: u64 = 0x2545_f491_4f6c_dd1d;
    let text: String = (0..3 * 1024 * 1024)
        .map(|_| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            char::from(b'a' + (state % 26) as u8)
        })
        .collect();
    let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::default());
    gz.write_all(text.as_bytes()).unwrap();
    let path = write(dir.path(), "big.gz", gz.finish().unwrap());
    let options = LoadOptions {
        archive_max_member_bytes: 1024 * 1024,
        ..LoadOptions::default()
    };
    // Its only input skipped: nothing recognised, the reason carried.
    let Err(LoadError::NothingRecognised(skipped)) = load_paths(&[path], &options) else {
        panic!("the only input is over the limit");
    };
    let loaded = Loaded {
        cluster: Default::default(),
        skipped,
        notes: Vec::new(),
    };
    let reason = skip_reason(&loaded, "big.gz");
    assert!(reason.contains("per-member size limit"), "{reason}");
}

/// Cilium logs in a sysdump zip are streamed from the member and read by
/// content; hostile logs (a 10 MB line, invalid UTF-8, NUL bytes, a cut
/// last line, a format no Cilium wrote) end in counts or a skip naming the
/// file, never a panic.
#[test]
fn hostile_cilium_logs_are_read_with_counts_or_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let agent = b"2025-03-31T13:58:30.1Z time=2025-03-31T13:58:30Z level=info msg=\"Started gops server\" subsys=daemon\n\
2025-03-31T13:58:31.1Z time=2025-03-31T13:58:31Z level=warn msg=\"x\" error=\"BPF program is too large. Processed 1000001 insn\" subsys=datapath-loader\n";
    let mut long = b"level=info msg=x subsys=daemon\n".to_vec();
    // Letters that do not compress 200:1 (a zip bomb is refused before).
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    long.extend((0..10 * 1024 * 1024).map(|_| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        b'a' + (seed % 26) as u8
    }));
    long.extend(b"\nlevel=info msg=\"\xff\xfe\" subsys=daemon\nlevel=info msg=\"cut");
    let zip = zip_of(&[
        (
            "cilium-sysdump-20250331-140000/logs-cilium-abcde-cilium-agent-20250331-140000.log",
            agent,
        ),
        (
            "cilium-sysdump-20250331-140000/logs-cilium-abcde-cilium-agent-20250331-140000-prev.log",
            &long,
        ),
        (
            "cilium-sysdump-20250331-140000/logs-cilium-abcde-config-20250331-140000.log",
            b"I0331 13:58:30.000000       1 main.go:12] klog, not a Cilium format\n",
        ),
    ]);
    let path = write(dir.path(), "sysdump.zip", zip);
    let loaded = load_ok(&path);
    let logs = loaded.cluster.logs.as_deref().unwrap();
    assert_eq!(logs.len(), 2, "{:?}", loaded.skipped);
    let current = logs.iter().find(|l| !l.previous).unwrap();
    assert_eq!(current.pod.as_deref(), Some("cilium-abcde"));
    assert!(current.kubelet_timestamps);
    assert_eq!(current.hits.len(), 1);
    assert_eq!(
        current.hits[0].first_time.as_deref(),
        Some("2025-03-31T13:58:31Z")
    );
    let prev = logs.iter().find(|l| l.previous).unwrap();
    assert_eq!(
        (prev.lines, prev.cut_lines, prev.invalid_utf8_lines),
        (4, 1, 1)
    );
    let reason = skip_reason(&loaded, "logs-cilium-abcde-config-20250331-140000.log");
    assert!(reason.contains("plain text"), "{reason}");
    assert!(
        loaded.notes.iter().any(|n| n.path.ends_with("-prev.log")
            && n.note
                .contains("cilium-agent of pod cilium-abcde (previous instance) log: 4 line(s)")
            && n.note.contains("1 line(s) over the line limit cut")),
        "{:?}",
        loaded.notes
    );

    // The same log on disk, NUL bytes after its first 64 KiB (by which it
    // was recognised): read up to them. NUL bytes in the first 64 KiB make
    // it no log at all.
    let mut binary = agent.repeat(400);
    binary.extend(std::iter::repeat_n(&b"\0\x01\x02\n"[..], 1000).flatten());
    let path = write(dir.path(), "agent.log", binary);
    let loaded = load_ok(&path);
    let log = &loaded.cluster.logs.as_deref().unwrap()[0];
    assert!(
        log.stopped.as_deref().unwrap().contains("binary"),
        "{log:?}"
    );
    assert!(loaded.notes[0].note.contains("not read further"));
}

#[test]
fn pod_identity_associations_load_with_and_without_their_role() {
    // `aws eks describe-pod-identity-association` (the shape of the EKS API
    // reference's example) and `list-pod-identity-associations` (no role).
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "describe.json",
        r#"{"association": {"clusterName": "demo", "namespace": "kube-system", "serviceAccount": "cilium-operator",
            "roleArn": "arn:aws:iam::111122223333:role/cilium-operator", "associationArn": "arn:aws:eks:us-west-2:111122223333:podidentityassociation/demo/a-1",
            "associationId": "a-1", "tags": {}, "createdAt": "2024-01-01T00:00:00Z", "modifiedAt": "2024-01-01T00:00:00Z"}}"#,
    );
    write(
        dir.path(),
        "list.json",
        r#"{"associations": [{"clusterName": "demo", "namespace": "default", "serviceAccount": "app", "associationArn": "x", "associationId": "a-2"}]}"#,
    );
    let loaded = load_ok(dir.path());
    let all = loaded.cluster.pod_identity_associations.unwrap();
    assert_eq!(all.len(), 2);
    let operator = all
        .iter()
        .find(|a| a.service_account == "cilium-operator")
        .unwrap();
    assert_eq!(
        operator.role_arn.as_deref(),
        Some("arn:aws:iam::111122223333:role/cilium-operator")
    );
    assert!(all
        .iter()
        .find(|a| a.service_account == "app")
        .unwrap()
        .role_arn
        .is_none());
    // A wrong type names the field.
    write(
        dir.path(),
        "describe.json",
        r#"{"association": {"namespace": 3}}"#,
    );
    let loaded = load_ok(dir.path());
    assert!(
        loaded
            .skipped
            .iter()
            .any(|s| s.reason.contains("association.namespace")),
        "{:?}",
        loaded.skipped
    );
}
