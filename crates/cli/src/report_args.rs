//! The report options `check` and `mesh` share: formats, destinations,
//! colour, the failing severity and the evaluation date.

use std::path::{Path, PathBuf};

use clap::Args;
use doctor_core::exit::{exit_code, FailOn};
use doctor_core::findings::Report;
use doctor_core::overview::Overview;
use doctor_core::report::{html, ColorChoice, Format};
use doctor_core::version::Date;

use crate::error::CliError;
use crate::output;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// text, json, sarif, junit, markdown, html or policyreport (a List of
    /// wgpolicyk8s.io/v1alpha2 PolicyReports for `kubectl apply`). Repeatable with one
    /// --output each, in order (`-f sarif -o r.sarif -f html -o r.html`):
    /// several reports of one evaluation.
    #[arg(long, short = 'f', default_value = "text", value_parser = str::parse::<Format>)]
    pub format: Vec<Format>,
    /// Write the report to FILE instead of standard output: a regular file
    /// (or a link to one) is replaced atomically and keeps its mode;
    /// devices, FIFOs and `-` (standard output) are written through. With
    /// several --format, the FILE of each, in the same order.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Vec<PathBuf>,
    /// Exit 1 when a finding is at or above this severity
    /// (critical, high, medium, low, info, or none to never fail).
    #[arg(long, default_value = "high", value_parser = str::parse::<FailOn>)]
    fail_on: FailOn,
    /// Evaluate date-dependent rules (support windows) as of this day, YYYY-MM-DD.
    /// Default: today (UTC).
    #[arg(long, value_name = "DATE", value_parser = str::parse::<Date>)]
    as_of: Option<Date>,
    /// Colour the text report: auto, always or never.
    #[arg(long, default_value = "auto", value_parser = str::parse::<ColorChoice>)]
    color: ColorChoice,
}

/// One report to write: its format, and its file (`None`: standard output).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Destination<'a> {
    pub format: Format,
    pub path: Option<&'a Path>,
}

impl ReportArgs {
    /// The day rules evaluate against.
    pub fn as_of(&self) -> Date {
        self.as_of.unwrap_or_else(Date::today)
    }

    /// The reports asked for, paired as given: one --format (with or
    /// without one --output), or as many --output as --format, the n-th
    /// file for the n-th format. Anything else is a usage error, found
    /// before any input is read.
    pub fn destinations(&self) -> Result<Vec<Destination<'_>>, CliError> {
        let (formats, outputs) = (self.format.len(), self.output.len());
        if formats == 1 && outputs <= 1 {
            return Ok(vec![Destination {
                format: self.format[0],
                path: self.output.first().map(PathBuf::as_path),
            }]);
        }
        if formats != outputs {
            return Err(CliError(format!(
                "--format and --output go in pairs: {formats} --format and {outputs} --output; \
                 give one --output after each --format (-f sarif -o r.sarif -f html -o r.html), \
                 or a single --format without --output for standard output"
            )));
        }
        if let Some((i, path)) = self
            .output
            .iter()
            .enumerate()
            .find(|(i, path)| self.output[..*i].contains(path))
        {
            let first = self.output.iter().position(|p| p == path).unwrap_or(0);
            return Err(CliError(format!(
                "--output {} is given for both --format {} and --format {}: each report needs its own file",
                path.display(),
                self.format[first],
                self.format[i]
            )));
        }
        Ok(self
            .format
            .iter()
            .zip(&self.output)
            .map(|(&format, path)| Destination {
                format,
                path: Some(path),
            })
            .collect())
    }

    /// Whether one of the reports is `format` (the HTML page needs the
    /// overview built).
    pub fn wants(&self, format: Format) -> bool {
        self.format.contains(&format)
    }

    /// Write `report` in every format asked for, each to its destination
    /// (the HTML page with `overview` when there is one); the process exit
    /// code for it (0, or 1 at or above `--fail-on`).
    pub fn write(&self, report: &Report, overview: Option<&Overview>) -> Result<u8, CliError> {
        for d in self.destinations()? {
            match (d.format, overview) {
                // The full page: findings plus the capacity and versions views.
                (Format::Html, Some(overview)) => {
                    output::write_output(&html::page(report, overview), d.path)?;
                }
                _ => output::write_report(report, d.format, self.color, d.path)?,
            }
        }
        Ok(self.exit_code(report))
    }

    /// 0, or 1 when a finding is at or above `--fail-on`.
    pub fn exit_code(&self, report: &Report) -> u8 {
        // exit_code is 0 or 1 by contract.
        u8::try_from(exit_code(report, self.fail_on)).unwrap_or(1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Debug, Parser)]
    struct Cli {
        #[command(flatten)]
        report: ReportArgs,
    }

    fn pairs(args: &[&str]) -> Result<Vec<(Format, Option<String>)>, String> {
        let cli = Cli::try_parse_from(std::iter::once("x").chain(args.iter().copied()))
            .map_err(|e| e.to_string())?;
        let destinations = cli.report.destinations().map_err(|e| e.0)?;
        Ok(destinations
            .into_iter()
            .map(|d| (d.format, d.path.map(|p| p.display().to_string())))
            .collect())
    }

    #[test]
    fn formats_and_outputs_pair_in_order() {
        assert_eq!(pairs(&[]), Ok(vec![(Format::Text, None)]));
        assert_eq!(pairs(&["-f", "json"]), Ok(vec![(Format::Json, None)]));
        assert_eq!(
            pairs(&["-o", "r.txt"]),
            Ok(vec![(Format::Text, Some("r.txt".into()))])
        );
        assert_eq!(
            pairs(&["--output", "r.json", "--format", "json"]),
            Ok(vec![(Format::Json, Some("r.json".into()))])
        );
        assert_eq!(
            pairs(&[
                "--format", "sarif", "--output", "r.sarif", "--format", "html", "--output",
                "r.html", "-f", "json", "-o", "r.json"
            ]),
            Ok(vec![
                (Format::Sarif, Some("r.sarif".into())),
                (Format::Html, Some("r.html".into())),
                (Format::Json, Some("r.json".into())),
            ])
        );
    }

    #[test]
    fn unpaired_or_shared_outputs_are_usage_errors() {
        for args in [
            &["-f", "sarif", "-f", "html"][..],
            &["-f", "sarif", "-o", "r.sarif", "-f", "html"],
            &["-o", "a", "-o", "b"],
            &["-f", "json", "-o", "a", "-o", "b"],
        ] {
            let err = pairs(args).unwrap_err();
            assert!(
                err.starts_with("--format and --output go in pairs: "),
                "{args:?}: {err}"
            );
        }
        let err = pairs(&["-f", "json", "-o", "r", "-f", "sarif", "-o", "r"]).unwrap_err();
        assert_eq!(
            err,
            "--output r is given for both --format json and --format sarif: each report needs its own file"
        );
    }
}
