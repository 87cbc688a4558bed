//! Shared by the loader targets: small limits so one run stays fast and
//! memory-bounded, then the invariant every input must keep: a result or a
//! `LoadError`, never a panic; and the model must be usable by the rules.

use doctor_core::load::{load_bytes, LoadOptions};

pub fn options() -> LoadOptions {
    LoadOptions {
        max_file_bytes: 1 << 20,
        yaml_max_document_bytes: 1 << 20,
        yaml_max_alias_expansion: 10_000,
        archive_max_members: 200,
        archive_max_member_bytes: 1 << 20,
        archive_max_total_bytes: 4 << 20,
        ..LoadOptions::default()
    }
}

pub fn load(name: &str, data: &[u8]) {
    if let Ok(loaded) = load_bytes(name, data, &options()) {
        // Derived facts and rule-facing helpers must not panic either.
        let _ = loaded.cluster.kubernetes_version();
        let _ = loaded.cluster.cilium_is_primary();
        let _ = format!("{:?}", loaded.skipped);
    }
}
