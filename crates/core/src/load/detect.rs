//! Content recognition: which parser a text goes to, decided from its first
//! significant bytes and lines, never from its name.

use super::{cilium_text, iproute, junit, prometheus};

pub(super) fn is_zip(bytes: &[u8]) -> bool {
    bytes.starts_with(b"PK\x03\x04") || bytes.starts_with(b"PK\x05\x06")
}

pub(super) fn is_gzip(bytes: &[u8]) -> bool {
    bytes.starts_with(&[0x1f, 0x8b])
}

pub(super) fn is_archive(bytes: &[u8]) -> bool {
    is_zip(bytes) || is_gzip(bytes)
}

/// The text of an input, or why it is not text.
pub(super) fn text(bytes: &[u8]) -> Result<&str, &'static str> {
    let bytes = bytes.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(bytes);
    match std::str::from_utf8(bytes) {
        Ok(text) if !text.contains('\0') => Ok(text),
        _ => Err("binary (not UTF-8 text, not a zip or gzip archive)"),
    }
}

/// The first bytes of a longer text: like [`text`], but a UTF-8 sequence
/// cut at the end is not binary.
pub(super) fn text_prefix(bytes: &[u8]) -> Result<(), &'static str> {
    let valid = match std::str::from_utf8(bytes) {
        Ok(_) => true,
        Err(e) => e.error_len().is_none(),
    };
    if valid && !bytes.contains(&0) {
        Ok(())
    } else {
        Err("binary (not UTF-8 text, not a zip or gzip archive)")
    }
}

/// UTF-16 or UTF-32 text with a byte order mark, decoded (`None`: no
/// such mark). Windows PowerShell 5's `>` writes UTF-16LE with a mark.
pub(super) fn decode_bom(bytes: &[u8]) -> Option<Result<String, String>> {
    let (name, width, little, body) = if let Some(b) = bytes.strip_prefix(b"\xFF\xFE\0\0") {
        ("UTF-32LE", 4, true, b)
    } else if let Some(b) = bytes.strip_prefix(b"\0\0\xFE\xFF") {
        ("UTF-32BE", 4, false, b)
    } else if let Some(b) = bytes.strip_prefix(b"\xFF\xFE") {
        ("UTF-16LE", 2, true, b)
    } else if let Some(b) = bytes.strip_prefix(b"\xFE\xFF") {
        ("UTF-16BE", 2, false, b)
    } else {
        return None;
    };
    let refused = || {
        format!(
            "{name} text that does not decode; re-encode it as UTF-8: \
             iconv -f {name} -t UTF-8 FILE > FILE.utf8.json \
             (PowerShell: Get-Content FILE | Set-Content -Encoding utf8 FILE.utf8.json)"
        )
    };
    if body.len() % width != 0 {
        return Some(Err(refused()));
    }
    let decoded: Option<String> = if width == 2 {
        let units = body.chunks_exact(2).map(|c| {
            let pair = [c[0], c[1]];
            if little {
                u16::from_le_bytes(pair)
            } else {
                u16::from_be_bytes(pair)
            }
        });
        char::decode_utf16(units)
            .collect::<Result<String, _>>()
            .ok()
    } else {
        body.chunks_exact(4)
            .map(|c| {
                let quad = [c[0], c[1], c[2], c[3]];
                char::from_u32(if little {
                    u32::from_le_bytes(quad)
                } else {
                    u32::from_be_bytes(quad)
                })
            })
            .collect()
    };
    Some(decoded.ok_or_else(refused))
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
    /// JUnit XML (`cilium connectivity test --junit-file`, or another tool's).
    Junit,
    Prometheus,
    /// `ip rule` output (iproute2).
    IpRules,
    /// `ip route` output (iproute2).
    IpRoutes,
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
    if junit::looks_like(trimmed) {
        return Content::Junit;
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
    if iproute::is_rules(head) {
        return Content::IpRules;
    }
    if iproute::is_routes(head) {
        return Content::IpRoutes;
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
