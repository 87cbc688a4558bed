//! The parse floor: the time to parse every JSON file of a snapshot with
//! serde_json into `IgnoredAny`, on one thread (read + parse, nothing kept).
//!
//! `parse-floor DIR` prints `files bytes seconds`.

use std::path::{Path, PathBuf};
use std::time::Instant;

use serde::de::IgnoredAny;

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let mut entries: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .collect();
    entries.sort();
    for path in entries {
        if path.is_dir() {
            walk(&path, out);
        } else {
            out.push(path);
        }
    }
}

fn main() {
    let dir = std::env::args_os().nth(1).expect("usage: parse-floor DIR");
    let mut files = Vec::new();
    walk(Path::new(&dir), &mut files);
    let start = Instant::now();
    let mut bytes = 0u64;
    let mut parsed = 0usize;
    for file in &files {
        let text = std::fs::read(file).unwrap();
        bytes += text.len() as u64;
        if file.extension().is_some_and(|e| e == "json") {
            let mut stream = serde_json::Deserializer::from_slice(&text).into_iter::<IgnoredAny>();
            for value in &mut stream {
                value.unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            }
            parsed += 1;
        }
    }
    let seconds = start.elapsed().as_secs_f64();
    println!("{parsed} {bytes} {seconds:.3}");
}
