//! The exit-code policy of `check`: `--fail-on SEVERITY|none`.

use std::fmt;
use std::str::FromStr;

use crate::findings::{Report, Severity};

/// No finding at or above `--fail-on`.
pub const EXIT_OK: i32 = 0;
/// At least one finding at or above `--fail-on`.
pub const EXIT_FINDINGS: i32 = 1;

/// The lowest severity that fails the run, or `none`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailOn {
    /// Never fail on findings.
    None,
    /// Fail on a finding of this severity or worse.
    AtLeast(Severity),
}

impl Default for FailOn {
    fn default() -> Self {
        FailOn::AtLeast(Severity::High)
    }
}

impl FromStr for FailOn {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        if s.eq_ignore_ascii_case("none") {
            return Ok(FailOn::None);
        }
        s.to_ascii_lowercase()
            .parse()
            .map(FailOn::AtLeast)
            .map_err(|_| {
                format!("unknown --fail-on {s:?} (critical, high, medium, low, info, none)")
            })
    }
}

impl fmt::Display for FailOn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            FailOn::None => f.write_str("none"),
            FailOn::AtLeast(sev) => sev.fmt(f),
        }
    }
}

/// 1 when a finding (suppressed ones are gone by now) is at or above
/// `fail_on`, else 0.
pub fn exit_code(report: &Report, fail_on: FailOn) -> i32 {
    match (fail_on, report.worst()) {
        (FailOn::AtLeast(threshold), Some(worst)) if worst >= threshold => EXIT_FINDINGS,
        _ => EXIT_OK,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::findings::{Finding, ObjectRef, Summary};

    fn report(severities: &[Severity]) -> Report {
        let findings: Vec<Finding> = severities
            .iter()
            .map(|&severity| Finding {
                rule: crate::rules::find_meta("CNI001").expect("a registered code"),
                severity,
                object: ObjectRef::global("Node", "n1"),
                message: String::new(),
                evidence: Vec::new(),
                remediation: String::new(),
                docs: String::new(),
                location: None,
                read_from: None,
            })
            .collect();
        Report {
            schema_version: 1,
            tool: Default::default(),
            cluster: Default::default(),
            as_of: "2025-06-01".into(),
            knowledge: Default::default(),
            summary: Summary::of(&findings),
            findings,
            evaluated_rules: Vec::new(),
            not_evaluated: Vec::new(),
            skipped_inputs: Vec::new(),
            input_notes: Vec::new(),
            collection_gaps: Vec::new(),
            suppressed: Vec::new(),
            unmatched_suppressions: Vec::new(),
        }
    }

    #[test]
    fn default_fails_on_high_and_above() {
        let fail_on = FailOn::default();
        assert_eq!(exit_code(&report(&[]), fail_on), 0);
        assert_eq!(
            exit_code(&report(&[Severity::Medium, Severity::Low]), fail_on),
            0
        );
        assert_eq!(
            exit_code(&report(&[Severity::Low, Severity::High]), fail_on),
            1
        );
        assert_eq!(exit_code(&report(&[Severity::Critical]), fail_on), 1);
    }

    #[test]
    fn thresholds_and_none() {
        let all = report(&[Severity::Critical]);
        assert_eq!(exit_code(&all, FailOn::None), 0);
        let info = report(&[Severity::Info]);
        assert_eq!(exit_code(&info, FailOn::AtLeast(Severity::Info)), 1);
        assert_eq!(exit_code(&info, FailOn::AtLeast(Severity::Low)), 0);
    }

    #[test]
    fn parses_and_prints() {
        assert_eq!("none".parse(), Ok(FailOn::None));
        assert_eq!("NONE".parse(), Ok(FailOn::None));
        assert_eq!("Medium".parse(), Ok(FailOn::AtLeast(Severity::Medium)));
        assert!("severe".parse::<FailOn>().unwrap_err().contains("none"));
        assert_eq!(FailOn::default().to_string(), "high");
        assert_eq!(FailOn::None.to_string(), "none");
    }
}
