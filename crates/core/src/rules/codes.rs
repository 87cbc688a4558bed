//! Every rule code, once, with where it stands in this build: the one
//! table of codes (as ruff's `codes.rs` is). A code never changes meaning:
//! a retired rule keeps its code, and a planned one may be named in a
//! suppression file before a build has it. The rules themselves are listed
//! by their areas (`cni::RULES`, …, `mesh::MESH_RULES`); a test holds the
//! two to each other.

use serde::Serialize;

/// Where a code stands in this build.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    /// Evaluated on one cluster (`check`, `serve`, the plans).
    Implemented,
    /// Evaluated over several clusters at once (`mesh`).
    Mesh,
    /// In the catalogue, not yet in this build.
    Planned,
    /// No longer evaluated; the code is never given to another rule.
    Retired,
}

impl Status {
    pub fn as_str(self) -> &'static str {
        match self {
            Status::Implemented => "implemented",
            Status::Mesh => "mesh",
            Status::Planned => "planned",
            Status::Retired => "retired",
        }
    }
}

use Status::{Implemented, Mesh};

/// Every code, in code order within its area.
pub static CODES: &[(&str, Status)] = &[
    ("CNI001", Implemented),
    ("CNI002", Implemented),
    ("CNI003", Implemented),
    ("CNI004", Implemented),
    ("CNI005", Implemented),
    ("CNI006", Implemented),
    ("CNI007", Implemented),
    ("CNI008", Implemented),
    ("CNI009", Implemented),
    ("CNI010", Implemented),
    ("CNI011", Implemented),
    ("CAP001", Implemented),
    ("CAP002", Implemented),
    ("CAP003", Implemented),
    ("CAP004", Implemented),
    ("CAP005", Implemented),
    ("CAP006", Implemented),
    ("CAP007", Implemented),
    ("CAP008", Implemented),
    ("CAP009", Implemented),
    ("CAP010", Implemented),
    ("CAP011", Implemented),
    ("CAP012", Implemented),
    ("CAP013", Implemented),
    ("CAP014", Implemented),
    ("CAP015", Implemented),
    ("IAM001", Implemented),
    ("IAM002", Implemented),
    ("IAM003", Implemented),
    ("IAM004", Implemented),
    ("IAM005", Implemented),
    ("IAM006", Implemented),
    ("IAM007", Implemented),
    ("VER001", Implemented),
    ("VER002", Implemented),
    ("VER003", Implemented),
    ("VER004", Implemented),
    ("VER005", Implemented),
    ("VER006", Implemented),
    ("VER007", Implemented),
    ("VER008", Implemented),
    ("VER009", Implemented),
    ("VER010", Implemented),
    ("VER011", Implemented),
    ("VER012", Implemented),
    ("VER013", Implemented),
    ("SGP001", Implemented),
    ("SGP002", Implemented),
    ("MESH001", Implemented),
    ("MESH002", Implemented),
    ("MESH003", Mesh),
    ("MESH004", Mesh),
    ("MESH005", Mesh),
    ("MESH006", Mesh),
    ("OPS001", Implemented),
    ("OPS002", Implemented),
    ("OPS003", Implemented),
    ("OPS004", Implemented),
    ("OPS005", Implemented),
    ("OPS006", Implemented),
    ("OPS007", Implemented),
    ("OPS008", Implemented),
    ("OPS009", Implemented),
    ("CFG001", Implemented),
    ("CFG002", Implemented),
    ("CFG003", Implemented),
    ("CFG004", Implemented),
    ("CFG005", Implemented),
    ("CFG006", Implemented),
    ("CFG007", Implemented),
    ("CFG008", Implemented),
    ("CFG009", Implemented),
    ("CFG010", Implemented),
    ("CFG011", Implemented),
    ("CFG012", Implemented),
    ("CFG013", Implemented),
    ("CFG014", Implemented),
    ("LOG001", Implemented),
    ("LOG002", Implemented),
    ("LOG003", Implemented),
    ("LOG004", Implemented),
    ("LOG005", Implemented),
    ("LOG006", Implemented),
    ("LOG007", Implemented),
    ("LOG008", Implemented),
    ("LOG010", Implemented),
    ("IAC001", Implemented),
    ("IAC002", Implemented),
    ("IAC003", Implemented),
    ("IAC004", Implemented),
    ("IAC005", Implemented),
    ("CONN001", Implemented),
];

/// A code's status; None for a code the tool has never had.
pub fn status(code: &str) -> Option<Status> {
    CODES
        .iter()
        .find(|(known, _)| *known == code)
        .map(|(_, status)| *status)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rules::{mesh_registry, registry};

    /// The table and the areas' rule lists say the same: each rule has its
    /// code once, with its kind, and each implemented code has its rule.
    #[test]
    fn the_code_table_matches_the_registered_rules() {
        let mut seen = std::collections::BTreeSet::new();
        for (code, _) in CODES {
            assert!(seen.insert(*code), "{code} is in the table twice");
        }
        let single: Vec<&str> = registry().iter().map(|r| r.meta().code).collect();
        let multi: Vec<&str> = mesh_registry().iter().map(|r| r.meta().code).collect();
        for code in &single {
            assert_eq!(status(code), Some(Implemented), "{code}");
        }
        for code in &multi {
            assert_eq!(status(code), Some(Mesh), "{code}");
        }
        for (code, status) in CODES {
            match status {
                Implemented => assert!(single.contains(code), "{code} has no rule"),
                Mesh => assert!(multi.contains(code), "{code} has no mesh rule"),
                Status::Planned | Status::Retired => assert!(
                    !single.contains(code) && !multi.contains(code),
                    "{code} is {} but registered",
                    status.as_str()
                ),
            }
        }
    }
}
