//! Plans as Markdown runbooks (commands in `sh` blocks, ready to paste) or
//! as JSON (the typed plan, `schema_version` 1).

use serde::Serialize;

use super::rollback::RollbackPlan;
use super::upgrade::{PlanStep, StepKind, UpgradePlan};
use super::Action;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PlanFormat {
    Markdown,
    Json,
}

impl std::str::FromStr for PlanFormat {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.to_ascii_lowercase().as_str() {
            "markdown" | "md" => Ok(PlanFormat::Markdown),
            "json" => Ok(PlanFormat::Json),
            _ => Err(format!("unknown plan format {s:?} (markdown, json)")),
        }
    }
}

/// Any plan as pretty JSON with a trailing newline.
pub fn json<T: Serialize>(plan: &T) -> String {
    let mut text = serde_json::to_string_pretty(plan).expect("plans serialise");
    text.push('\n');
    text
}

/// A list of actions: numbered text, each command in an `sh` block.
pub(crate) fn actions(out: &mut String, list: &[Action]) {
    for (i, a) in list.iter().enumerate() {
        out.push_str(&format!("{}. {}\n", i + 1, a.text));
        if let Some(cmd) = &a.command {
            out.push_str(&format!("\n   ```sh\n{}\n   ```\n\n", indent(cmd)));
        }
    }
    if !out.ends_with("\n\n") {
        out.push('\n');
    }
}

fn indent(text: &str) -> String {
    text.lines()
        .map(|l| format!("   {l}"))
        .collect::<Vec<_>>()
        .join("\n")
}

fn escape_cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

pub fn upgrade_markdown(plan: &UpgradePlan) -> String {
    let mut out = format!(
        "# Upgrade plan: {} to Kubernetes {}\n\n",
        plan.cluster, plan.to.kubernetes
    );
    out.push_str(&format!(
        "From Kubernetes {} with Cilium {} to Kubernetes {} with Cilium {}, in {} steps, one minor at a time. \
Support windows as of {}; upgrade policy (supportType): {}.\n\n",
        plan.from.kubernetes,
        plan.from.cilium,
        plan.to.kubernetes,
        plan.to.cilium,
        plan.steps.len(),
        plan.as_of,
        plan.support_type
    ));
    out.push_str("| step | change | runs after the step | e2e-tested |\n|---|---|---|---|\n");
    for s in &plan.steps {
        out.push_str(&format!(
            "| {} | {} | Kubernetes {} · Cilium {} | {} |\n",
            s.number,
            escape_cell(&s.title),
            s.after.kubernetes,
            s.after.cilium,
            if s.tested { "yes" } else { "**no**" }
        ));
    }
    out.push('\n');

    if !plan.warnings.is_empty() {
        out.push_str("## Warnings\n\n");
        for w in &plan.warnings {
            out.push_str(&format!("- {w}\n"));
        }
        out.push('\n');
    }

    out.push_str("## Findings to address first\n\n");
    if plan.findings.is_empty() {
        out.push_str(
            "The version, support-window and IAM checks for the target report nothing.\n\n",
        );
    } else {
        out.push_str(&format!(
            "`eks-cilium-doctor check --target-k8s {}` reports (details and fixes there):\n\n| code | severity | object | finding |\n|---|---|---|---|\n",
            plan.to.kubernetes
        ));
        for f in &plan.findings {
            out.push_str(&format!(
                "| {} | {} | {} | {} |\n",
                f.rule,
                f.severity,
                escape_cell(&f.object.to_string()),
                escape_cell(&f.message)
            ));
        }
        out.push('\n');
    }

    out.push_str("## Before you start\n\n");
    actions(&mut out, &plan.before_you_start);

    for s in &plan.steps {
        step(&mut out, s);
    }
    out.push_str(&format!(
        "## Done\n\nThe cluster runs Kubernetes {} with Cilium {}. Run `eks-cilium-doctor check` on a fresh snapshot.\n",
        plan.to.kubernetes, plan.to.cilium
    ));
    out
}

fn step(out: &mut String, s: &PlanStep) {
    let kind = match s.kind {
        StepKind::Cilium => "Cilium",
        StepKind::Kubernetes => "EKS",
    };
    out.push_str(&format!("## Step {} ({kind}): {}\n\n", s.number, s.title));
    out.push_str(&format!(
        "{}{}.\n\n",
        if s.tested { "" } else { "**Untested pair.** " },
        s.tested_note
    ));
    if !s.helm_migrations.is_empty() {
        out.push_str("Helm values to migrate:\n\n| key | you set | removed in | replacement | chart |\n|---|---|---|---|---|\n");
        for m in &s.helm_migrations {
            out.push_str(&format!(
                "| `{}` | {} | {} | {} | {} |\n",
                m.key,
                escape_cell(&m.set.join(", ")),
                m.removed_in,
                escape_cell(m.replacement.as_deref().unwrap_or("none")),
                if m.chart_fails {
                    "refuses to render"
                } else {
                    "ignores it"
                }
            ));
        }
        out.push('\n');
    }
    for (title, list) in [
        ("Before", &s.before),
        ("Run", &s.run),
        ("Verify", &s.verify),
    ] {
        if !list.is_empty() {
            out.push_str(&format!("### {title}\n\n"));
            actions(out, list);
        }
    }
    if !s.watch.is_empty() {
        out.push_str("### Watch\n\n");
        for w in &s.watch {
            out.push_str(&format!("- {w}\n"));
        }
        out.push('\n');
    }
    out.push_str("### Roll back\n\n");
    actions(out, &s.rollback);
}

pub fn rollback_markdown(plan: &RollbackPlan) -> String {
    let mut out = format!(
        "# Rollback plan: {} from Cilium back to the Amazon VPC CNI\n\n",
        plan.cluster
    );
    out.push_str(&format!(
        "Cilium {} · IPAM {}\n\n## What the snapshot shows\n\n",
        plan.cilium.as_deref().unwrap_or("(version unknown)"),
        plan.ipam_mode.as_deref().unwrap_or("unknown")
    ));
    for line in &plan.in_place {
        out.push_str(&format!("- {line}\n"));
    }
    out.push('\n');
    for s in &plan.steps {
        out.push_str(&format!("## Step {}: {}\n\n", s.number, s.title));
        actions(&mut out, &s.actions);
    }
    out
}
