//! The one error type of the command line: a message for `error: ...` and
//! exit code 2 ("the command could not run as asked").

use std::fmt;

use doctor_core::generate::GenerateError;
use doctor_core::knowledge::KnowledgeError;

#[derive(Debug)]
pub struct CliError(pub String);

impl fmt::Display for CliError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<KnowledgeError> for CliError {
    fn from(e: KnowledgeError) -> Self {
        CliError(e.to_string())
    }
}

impl From<GenerateError> for CliError {
    fn from(e: GenerateError) -> Self {
        CliError(e.0)
    }
}

/// `did you mean: a, b, c` when there are suggestions.
pub fn did_you_mean(suggestions: &[&str]) -> String {
    if suggestions.is_empty() {
        String::new()
    } else {
        format!("; did you mean: {}", suggestions.join(", "))
    }
}
