//! eks-cilium-doctor's core: embedded knowledge, the typed cluster model,
//! the rules and the findings they produce, and the engine that runs them. No network clients live here,
//! so this crate builds and tests in seconds.

pub mod capacity;
pub mod engine;
pub mod exit;
pub mod facts;
pub mod findings;
pub mod generate;
pub mod hygiene;
pub mod iac;
pub mod knowledge;
pub mod load;
pub mod logs;
pub mod model;
pub mod output;
pub mod overview;
pub mod plan;
pub mod report;
pub mod rules;
pub mod snapshot;
pub mod suppress;
pub mod userdata;
pub mod version;
