//! What one input contributed to the model, so an input that gave nothing
//! is reported once, with every reason.

use std::collections::BTreeMap;

/// What one input (file, stdin or archive member) contributed, so an input
/// that gave the model nothing is reported once, with every reason.
#[derive(Debug, Default)]
pub(super) struct Tally {
    pub(super) used: usize,
    pub(super) invalid: usize,
    /// Objects without a `kind` (and none from their List or selfLink).
    pub(super) no_kind: usize,
    /// List/array items that are not objects at all.
    pub(super) not_objects: usize,
    unused_kinds: BTreeMap<String, usize>,
    notes: Vec<String>,
    more_notes: usize,
}

const MAX_NOTES: usize = 5;

impl Tally {
    pub(super) fn unused_kind(&mut self, kind: &str) {
        *self.unused_kinds.entry(kind.to_string()).or_default() += 1;
    }

    /// Distinct reasons only, and a few of them: a JSON Lines file of 10,000
    /// unrecognised records must give one short reason, not 10,000.
    pub(super) fn note(&mut self, reason: impl Into<String>) {
        let reason = reason.into();
        if self.notes.contains(&reason) {
            return;
        }
        if self.notes.len() < MAX_NOTES {
            self.notes.push(reason);
        } else {
            self.more_notes += 1;
        }
    }

    /// The skip reason when nothing was used.
    pub(super) fn reason(&self) -> Option<String> {
        if self.used > 0 || self.invalid > 0 {
            return None;
        }
        let mut parts = self.notes.clone();
        if self.no_kind > 0 {
            parts.push(format!(
                "{} object(s) without a `kind` (not Kubernetes objects)",
                self.no_kind
            ));
        }
        if self.not_objects > 0 {
            parts.push(format!(
                "{} array item(s) that are not objects",
                self.not_objects
            ));
        }
        if !self.unused_kinds.is_empty() {
            let kinds: Vec<String> = self
                .unused_kinds
                .iter()
                .map(|(k, n)| match k.as_str() {
                    "Secret" => format!("Secret ×{n} (never read)"),
                    _ => format!("{k} ×{n}"),
                })
                .collect();
            parts.push(format!("no object the rules use ({})", kinds.join(", ")));
        }
        if self.more_notes > 0 {
            parts.push(format!("{} other reasons", self.more_notes));
        }
        if parts.is_empty() {
            parts.push("nothing recognised".into());
        }
        Some(parts.join("; "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reasons_are_deduplicated_and_bounded() {
        let mut tally = Tally::default();
        for i in 0..20 {
            tally.note("JSON of no recognised shape (top-level keys: flow)");
            tally.note(format!("reason {i}"));
        }
        let reason = tally.reason().unwrap();
        assert_eq!(reason.matches("no recognised shape").count(), 1);
        assert!(reason.ends_with("16 other reasons"), "{reason}");
        tally.used = 1;
        assert_eq!(tally.reason(), None);
    }
}
