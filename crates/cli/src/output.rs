//! Writing results: stdout that tolerates a closed pipe, the shared
//! `--format` flag and plain-text tables.

use std::io::{IsTerminal, Write};
use std::path::Path;

use doctor_core::findings::Report;
use doctor_core::output::{self, Written};
use doctor_core::report::{render, ColorChoice, Format as ReportFormat, RenderOptions};

use clap::ValueEnum;
use serde::Serialize;

use crate::error::CliError;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum Format {
    Text,
    Json,
}

/// Writes `text` to stdout. A reader that went away (`| head`) is not an
/// error worth a message.
pub fn emit(text: &str) -> Result<(), CliError> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Err(e) if e.kind() != std::io::ErrorKind::BrokenPipe => {
            Err(CliError(format!("writing output: {e}")))
        }
        _ => Ok(()),
    }
}

/// Renders a findings report and writes it to `path` (see [`write_output`]),
/// or to stdout (coloured per `color` only on a terminal, honouring `NO_COLOR`).
pub fn write_report(
    report: &Report,
    format: ReportFormat,
    color: ColorChoice,
    path: Option<&Path>,
) -> Result<(), CliError> {
    let to_stdout = path.is_none_or(|p| p == Path::new("-") || p == Path::new("/dev/stdout"));
    let to_terminal = to_stdout && std::io::stdout().is_terminal();
    let no_color = std::env::var_os("NO_COLOR");
    let options = RenderOptions {
        color: color.enabled(to_terminal, no_color.as_deref()),
    };
    write_output(&render(report, format, &options), path)
}

/// Writes `rendered` to `path`, or to stdout without one.
pub fn write_output(rendered: &str, path: Option<&Path>) -> Result<(), CliError> {
    match path {
        Some(path) => write_file(path, rendered.as_bytes(), output::REPORT_MODE).map(|_| ()),
        None => emit(rendered),
    }
}

/// The one writer of every `--output`: `-` and `/dev/stdout` are standard
/// output, devices and FIFOs are written through, a regular file (or a
/// symbolic link to one) is replaced atomically keeping its mode; a new
/// file gets `new_mode` (less the umask). See `doctor_core::output`.
pub fn write_file(path: &Path, bytes: &[u8], new_mode: u32) -> Result<Written, CliError> {
    output::write_output(path, bytes, new_mode).map_err(|e| CliError(format!("writing {e}")))
}

/// Pretty JSON with a final newline.
pub fn json(value: &impl Serialize) -> Result<String, CliError> {
    serde_json::to_string_pretty(value)
        .map(|s| s + "\n")
        .map_err(|e| CliError(format!("rendering JSON: {e}")))
}

/// Column alignment for a table.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Align {
    Left,
    Right,
}

/// A plain-text table: a header row, then rows, columns padded to fit. The
/// last column is not padded, so no line ends in spaces.
pub fn table(columns: &[(&str, Align)], rows: &[Vec<String>]) -> String {
    let widths: Vec<usize> = columns
        .iter()
        .enumerate()
        .map(|(i, (title, _))| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([title.chars().count()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let header: Vec<String> = columns.iter().map(|(t, _)| t.to_string()).collect();
    let mut out = String::new();
    for row in std::iter::once(&header).chain(rows) {
        let cells: Vec<String> = row
            .iter()
            .zip(columns)
            .zip(&widths)
            .enumerate()
            .map(|(i, ((cell, (_, align)), width))| match align {
                _ if i + 1 == columns.len() && *align == Align::Left => cell.clone(),
                Align::Left => format!("{cell:<width$}"),
                Align::Right => format!("{cell:>width$}"),
            })
            .collect();
        out.push_str(&cells.join("  "));
        out.push('\n');
    }
    out
}

/// Wraps `text` to `width` columns, indenting every line by `indent` and
/// the first one by `first` instead.
pub fn wrap(text: &str, width: usize, first: &str, indent: &str) -> String {
    let mut out = String::new();
    let mut line = first.to_string();
    let mut empty = true;
    for word in text.split_whitespace() {
        if !empty && line.chars().count() + 1 + word.chars().count() > width {
            out.push_str(&line);
            out.push('\n');
            line = indent.to_string();
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(&line);
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn table_pads_columns_but_not_line_ends() {
        let rows = vec![
            vec!["a".to_string(), "100".to_string(), "x".to_string()],
            vec!["long".to_string(), "2".to_string(), "yz".to_string()],
        ];
        let got = table(
            &[
                ("NAME", Align::Left),
                ("N", Align::Right),
                ("NOTE", Align::Left),
            ],
            &rows,
        );
        assert_eq!(got, "NAME    N  NOTE\na     100  x\nlong    2  yz\n");
    }

    #[test]
    fn wrap_breaks_between_words() {
        assert_eq!(
            wrap("one two three four", 10, "- ", "  "),
            "- one two\n  three\n  four\n"
        );
    }
}
