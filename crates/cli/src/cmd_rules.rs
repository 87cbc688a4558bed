//! `rules` (the registry as a table or JSON) and `explain CODE` (one rule's
//! documentation).

use clap::Args;
use doctor_core::knowledge::closest_names;
use doctor_core::rules::codes::{self, Status};
use doctor_core::rules::{self, RuleMeta};

use crate::error::{did_you_mean, CliError};
use crate::output::{self, Align};

/// `rules --format`: the shared text/json plus the README's Markdown table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum RulesFormat {
    Text,
    Json,
    Markdown,
}

#[derive(Debug, Args)]
pub struct RulesArgs {
    #[arg(long, value_enum, default_value_t = RulesFormat::Text)]
    format: RulesFormat,
}

#[derive(Debug, Args)]
pub struct ExplainArgs {
    /// Rule code, e.g. CNI001 (case-insensitive).
    code: String,
}

fn metas() -> Vec<&'static RuleMeta> {
    rules::all_metas()
}

/// A rule as `rules --format json` lists it: its documentation and status.
#[derive(serde::Serialize)]
struct Listed {
    #[serde(flatten)]
    meta: &'static RuleMeta,
    status: Status,
}

fn status_of(meta: &RuleMeta) -> Status {
    codes::status(meta.code).unwrap_or(Status::Implemented)
}

pub fn list(args: &RulesArgs) -> Result<(), CliError> {
    let metas = metas();
    let text = match args.format {
        RulesFormat::Json => output::json(
            &metas
                .iter()
                .map(|&meta| Listed {
                    meta,
                    status: status_of(meta),
                })
                .collect::<Vec<_>>(),
        )?,
        RulesFormat::Text => render_list(&metas),
        RulesFormat::Markdown => rules::markdown_table(),
    };
    output::emit(&text)
}

fn render_list(metas: &[&RuleMeta]) -> String {
    if metas.is_empty() {
        return "No rules are registered.\n".into();
    }
    let rows: Vec<Vec<String>> = metas
        .iter()
        .map(|m| {
            vec![
                m.code.to_string(),
                m.severity.to_string(),
                status_of(m).as_str().to_string(),
                m.name.to_string(),
                m.summary.to_string(),
            ]
        })
        .collect();
    output::table(
        &[
            ("CODE", Align::Left),
            ("SEVERITY", Align::Left),
            ("STATUS", Align::Left),
            ("NAME", Align::Left),
            ("SUMMARY", Align::Left),
        ],
        &rows,
    )
}

pub fn explain(args: &ExplainArgs) -> Result<(), CliError> {
    let Some(meta) = rules::find_meta(&args.code) else {
        let codes = metas().into_iter().map(|m| m.code);
        let suggestions = closest_names(codes, &args.code, 3);
        return Err(CliError(format!(
            "unknown rule code {:?}{} (`{} rules` lists the codes)",
            args.code,
            did_you_mean(&suggestions),
            crate::invocation::name()
        )));
    };
    output::emit(&render_explain(meta))
}

fn render_explain(m: &RuleMeta) -> String {
    let mut out = format!(
        "{} {} ({}, {})\n{}\n",
        m.code,
        m.name,
        m.severity,
        m.area.title(),
        m.summary
    );
    for (title, body) in [
        ("What it checks", m.what_it_checks),
        ("Why it matters", m.why_it_matters),
        ("How to fix", m.how_to_fix),
        ("Known limits", m.known_limits),
    ] {
        out += &format!("\n{title}\n");
        let paragraphs: Vec<String> = body
            .split("\n\n")
            .map(|p| output::wrap(p, 80, "  ", "  "))
            .collect();
        out += &paragraphs.join("\n");
    }
    out + &format!("\nDocs: {}\n", m.docs_url)
}

#[cfg(test)]
mod tests {
    use doctor_core::findings::Severity;
    use doctor_core::rules::Area;

    use super::*;

    static SAMPLE: RuleMeta = RuleMeta {
        code: "CAP001",
        name: "max-pods-exceeds-ip-capacity",
        severity: Severity::High,
        area: Area::Cap,
        summary: "kubelet admits more pods than the node has pod IPs",
        what_it_checks: "In ENI mode, compares each node's kubelet pod capacity minus its \
            hostNetwork pods with the pod IPs Cilium can assign on its instance type.",
        why_it_matters: "The scheduler places pods that then hang in ContainerCreating.",
        how_to_fix: "Set kubelet max-pods to the value `capacity --mode cilium-eni` prints.\n\n\
            Or lower eni.firstInterfaceIndex.",
        known_limits: "Needs the node's instance type label.",
        docs_url: "https://docs.cilium.io/en/stable/network/concepts/ipam/eni/",
    };

    #[test]
    fn explain_prints_the_four_sections() {
        insta::assert_snapshot!(render_explain(&SAMPLE));
    }

    #[test]
    fn the_list_is_a_table() {
        insta::assert_snapshot!(render_list(&[&SAMPLE]));
        assert_eq!(render_list(&[]), "No rules are registered.\n");
    }
}
