//! The machine contract: the [`Report`] as serde writes it (fields may be
//! added, never renamed or removed).

use super::RenderOptions;
use crate::findings::Report;

pub(super) fn render(report: &Report, _opts: &RenderOptions) -> String {
    // Serialising plain structs of strings and numbers cannot fail.
    let mut out = serde_json::to_string_pretty(report).expect("a Report always serialises");
    out.push('\n');
    out
}
