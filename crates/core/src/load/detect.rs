//! Content recognition: which parser a text goes to, decided from its first
//! significant bytes and lines, never from its name.

use super::{cilium_text, prometheus};

/// The text of an input, or why it is not text.
pub(super) fn text(bytes: &[u8]) -> Result<&str, &'static str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) if !text.contains('\0') => Ok(text),
        _ => Err("binary (not UTF-8 text, not a zip or gzip archive)"),
    }
}

#[derive(Debug, PartialEq, Eq)]
pub(super) enum Content {
    Empty,
    Json,
    /// `version.Info{Major:"1", …}`: a sysdump's `k8s-version-<ts>.txt`.
    GoVersionInfo,
    CiliumStatus,
    CiliumHealth,
    /// A bugtool capture whose command failed (`> Error while running '…'`).
    FailedCommand(String),
    Prometheus,
    /// Anything else: YAML is tried. `kube_like` texts (they have
    /// `apiVersion:`/`kind:` lines or start with `---`) must parse; other
    /// texts that are not YAML are skipped rather than failing the load.
    Text {
        kube_like: bool,
    },
}

pub(super) fn content(text: &str) -> Content {
    let trimmed = text.trim_start();
    if trimmed.is_empty() {
        return Content::Empty;
    }
    if looks_like_json(trimmed) {
        return Content::Json;
    }
    if trimmed.starts_with("version.Info{") {
        return Content::GoVersionInfo;
    }
    // Text formats announce themselves in their first lines: looking only
    // there keeps recognition of a 500 MB file to one short scan.
    let head = head(text, 100);
    if let Some(line) = head
        .lines()
        .find(|l| l.starts_with("> Error while running '"))
    {
        return Content::FailedCommand(line.trim_start_matches("> ").trim().to_string());
    }
    if cilium_text::is_status(head) {
        return Content::CiliumStatus;
    }
    if cilium_text::is_health(head) {
        return Content::CiliumHealth;
    }
    if prometheus::looks_like(text) {
        return Content::Prometheus;
    }
    Content::Text {
        kube_like: kube_like(text),
    }
}

/// The first `lines` lines of `text`.
fn head(text: &str, lines: usize) -> &str {
    match text.match_indices('\n').nth(lines) {
        Some((end, _)) => &text[..end],
        None => text,
    }
}

/// `{…` is JSON; `[` only when followed by something a JSON value starts
/// with, so log lines like `[INFO] …` are not mistaken for JSON.
fn looks_like_json(trimmed: &str) -> bool {
    let mut chars = trimmed.chars();
    match chars.next() {
        Some('{') => true,
        Some('[') => chars.find(|c| !c.is_whitespace()).is_some_and(|c| {
            matches!(c, '{' | '[' | ']' | '"' | '-' | '0'..='9' | 't' | 'f' | 'n')
        }),
        _ => false,
    }
}

/// YAML that claims to be Kubernetes objects (or a YAML stream).
fn kube_like(text: &str) -> bool {
    text.trim_start().starts_with("---")
        || text.lines().any(|l| {
            let l = l.trim_start_matches("- ");
            l.starts_with("apiVersion:") || l.starts_with("kind:")
        })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recognises_by_content() {
        assert_eq!(content("  \n"), Content::Empty);
        assert_eq!(content("{\"kind\":\"Pod\"}"), Content::Json);
        assert_eq!(content("[\n  {\"a\":1}]"), Content::Json);
        assert_eq!(content("[    0.000000] Booting Linux"), Content::Json);
        assert_eq!(
            content("[INFO] starting\n"),
            Content::Text { kube_like: false }
        );
        assert_eq!(
            content("version.Info{Major:\"1\", GitVersion:\"v1.25.3\"}"),
            Content::GoVersionInfo
        );
        assert_eq!(
            content("# TYPE cilium_up gauge\ncilium_up 1\n"),
            Content::Prometheus
        );
        assert_eq!(
            content("apiVersion: v1\nkind: Pod\n"),
            Content::Text { kube_like: true }
        );
        assert_eq!(
            content("debug:\n  enabled: true\n"),
            Content::Text { kube_like: false }
        );
        assert!(matches!(
            content(
                "Is the agent running?\n> Error while running 'cilium status':  exit status 1\n"
            ),
            Content::FailedCommand(_)
        ));
        assert_eq!(
            text(b"\xEF\xBB\xBFkind: Pod"),
            Ok("kind: Pod"),
            "a UTF-8 byte order mark is dropped"
        );
        assert!(text(b"\x00\x01\x02").is_err());
        assert!(text(b"\xff\xfe").is_err());
    }
}
