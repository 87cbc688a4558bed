//! Untrusted names (file and archive-member names, object names from a
//! dump) in text that people read or paste into a shell: control
//! characters are escaped, so a newline in a name cannot forge a report
//! line, and names in generated commands are shell-quoted, so
//! `x$(id>&2)` stays a (bad) name instead of becoming a command.

use std::borrow::Cow;
use std::fmt::Write;

/// `s` with every control character written as an escape (`\n`, `\r`,
/// `\t`, `\u{1b}`); borrowed when there is none.
pub fn escape_control(s: &str) -> Cow<'_, str> {
    if !s.chars().any(char::is_control) {
        return Cow::Borrowed(s);
    }
    let mut out = String::with_capacity(s.len() + 8);
    for c in s.chars() {
        match c {
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{{{:x}}}", c as u32);
            }
            c => out.push(c),
        }
    }
    Cow::Owned(out)
}

/// Characters a POSIX shell word may hold unquoted with no effect.
fn shell_safe(c: char) -> bool {
    c.is_ascii_alphanumeric()
        || matches!(c, '_' | '-' | '.' | '/' | ':' | '@' | '%' | '+' | '=' | ',')
}

/// `s` as one shell word: unchanged when it is made only of safe
/// characters (every valid Kubernetes or AWS name), else single-quoted
/// (control characters escaped first, so the command stays on its line).
pub fn shell_quote(s: &str) -> Cow<'_, str> {
    if !s.is_empty() && s.chars().all(shell_safe) {
        return Cow::Borrowed(s);
    }
    let escaped = escape_control(s);
    Cow::Owned(format!("'{}'", escaped.replace('\'', r"'\''")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn control_characters_are_escaped() {
        assert_eq!(escape_control("plain name"), "plain name");
        assert_eq!(escape_control("a\nb\x1b[31m\t"), "a\\nb\\u{1b}[31m\\t");
    }

    #[test]
    fn unsafe_words_are_single_quoted() {
        assert_eq!(shell_quote("kube-system"), "kube-system");
        assert_eq!(shell_quote("x$(id>&2)"), "'x$(id>&2)'");
        assert_eq!(shell_quote("it's"), r"'it'\''s'");
        assert_eq!(shell_quote(""), "''");
        assert_eq!(shell_quote("a\nb"), "'a\\nb'");
    }
}
