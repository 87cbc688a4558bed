//! Runbooks: `plan upgrade` (Cilium and EKS one minor at a time) and
//! `plan rollback` (back to the VPC CNI). Each plan is a typed, serialisable
//! value built purely from the cluster model and the knowledge; [`render`]
//! turns it into Markdown or JSON.

pub mod render;
pub mod rollback;
pub mod upgrade;

use serde::Serialize;

/// One thing to do: what and why, and the command when there is one.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Action {
    pub text: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub command: Option<String>,
}

impl Action {
    pub fn note(text: impl Into<String>) -> Action {
        Action {
            text: text.into(),
            command: None,
        }
    }

    pub fn run(text: impl Into<String>, command: impl Into<String>) -> Action {
        Action {
            text: text.into(),
            command: Some(command.into()),
        }
    }
}

/// Why a plan cannot be made: the command exits with 2.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanError(pub String);

impl std::fmt::Display for PlanError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PlanError {}
