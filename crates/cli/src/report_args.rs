//! The report options `check` and `mesh` share: format, destination,
//! colour, the failing severity and the evaluation date.

use std::path::PathBuf;

use clap::Args;
use doctor_core::exit::{exit_code, FailOn};
use doctor_core::findings::Report;
use doctor_core::report::{ColorChoice, Format};
use doctor_core::version::Date;

use crate::error::CliError;
use crate::output;

#[derive(Debug, Args)]
pub struct ReportArgs {
    /// text, json, sarif, junit, markdown or html.
    #[arg(long, short = 'f', default_value = "text", value_parser = str::parse::<Format>)]
    pub format: Format,
    /// Write the report to FILE instead of standard output: a regular file
    /// (or a link to one) is replaced atomically and keeps its mode;
    /// devices, FIFOs and `-` (standard output) are written through.
    #[arg(long, short = 'o', value_name = "FILE")]
    pub output: Option<PathBuf>,
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

impl ReportArgs {
    /// The day rules evaluate against.
    pub fn as_of(&self) -> Date {
        self.as_of.unwrap_or_else(Date::today)
    }

    /// Write `report` in the chosen format; the process exit code for it
    /// (0, or 1 at or above `--fail-on`).
    pub fn write(&self, report: &Report) -> Result<u8, CliError> {
        output::write_report(report, self.format, self.color, self.output.as_deref())?;
        Ok(self.exit_code(report))
    }

    /// 0, or 1 when a finding is at or above `--fail-on`.
    pub fn exit_code(&self, report: &Report) -> u8 {
        // exit_code is 0 or 1 by contract.
        u8::try_from(exit_code(report, self.fail_on)).unwrap_or(1)
    }
}
