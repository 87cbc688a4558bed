//! JSON inputs: one document, JSON Lines or concatenated documents, bare
//! arrays of objects. Each value is first split into raw slices, so a large
//! List is parsed once, item by item, straight into the lean model types.

use serde_json::value::RawValue;

use super::error::{malformed, LoadError};
use super::loader::Loader;
use super::shapes::{self, Doc, Fail, JsonDoc};
use super::{dispatch, kube};

fn json_error(source: &str, e: &serde_json::Error) -> LoadError {
    let message = e.to_string();
    let message = message
        .rfind(" at line ")
        .map_or(message.as_str(), |at| &message[..at]);
    malformed(
        source,
        Some(format!("line {} column {}", e.line(), e.column())),
        format!("invalid JSON: {}", shapes::explain_depth(message)),
    )
}

fn fail(source: &str, f: Fail) -> LoadError {
    match f {
        Fail::Malformed(why) | Fail::Invalid(why) => malformed(source, None, why),
    }
}

/// Load a text whose first value is JSON.
pub(super) fn load(loader: &mut Loader, source: &str, text: &str) -> Result<(), LoadError> {
    let mut stream = serde_json::Deserializer::from_str(text).into_iter::<&RawValue>();
    let mut count = 0usize;
    loop {
        let offset = stream.byte_offset();
        match stream.next() {
            None => return Ok(()),
            Some(Ok(raw)) => {
                count += 1;
                let what = if count == 1 {
                    "JSON".to_string()
                } else {
                    format!("JSON value {count}")
                };
                load_value(loader, source, &what, raw)?;
            }
            Some(Err(e)) => {
                // `cilium policy get` ends with `Revision: 11`; dmesg lines
                // start with `[    0.000000]`: JSON followed by plain text is
                // a text that merely starts like JSON, not broken JSON.
                let rest = text[offset..].trim_start();
                if count > 0 && !rest.starts_with(['{', '[']) {
                    loader.tally.note(format!(
                        "JSON followed by text that is not JSON (line {})",
                        e.line()
                    ));
                    return Ok(());
                }
                return Err(json_error(source, &e));
            }
        }
    }
}

fn load_value(
    loader: &mut Loader,
    source: &str,
    what: &str,
    raw: &RawValue,
) -> Result<(), LoadError> {
    let text = raw.get();
    if text.starts_with('[') {
        // A bare array of Kubernetes objects (sonobuoy and other dumpers).
        let items: Vec<&RawValue> =
            serde_json::from_str(text).map_err(|e| json_error(source, &e))?;
        if items.is_empty() {
            loader.tally.note("empty JSON array");
        }
        return load_items(loader, source, None, &items);
    }
    let Some(doc) = JsonDoc::new(raw).map_err(|f| fail(source, f))? else {
        loader.tally.note(format!(
            "{what}: a JSON value that is not an object or array"
        ));
        return Ok(());
    };
    match doc.raw("items") {
        Some(items) if matches!(items.get().as_bytes().first(), Some(b'[' | b'n')) => {
            let list_kind: Option<String> = doc.field("kind").map_err(|f| fail(source, f))?;
            let items: Option<Vec<&RawValue>> =
                serde_json::from_str(items.get()).map_err(|e| json_error(source, &e))?;
            let items = items.unwrap_or_default();
            kube::begin_list(loader, source, list_kind.as_deref(), items.len());
            load_items(
                loader,
                source,
                kube::item_kind(list_kind.as_deref()),
                &items,
            )
        }
        _ => dispatch::recognise(loader, source, what, &doc),
    }
}

fn load_items(
    loader: &mut Loader,
    source: &str,
    list_kind: Option<&str>,
    items: &[&RawValue],
) -> Result<(), LoadError> {
    for (index, raw) in items.iter().enumerate() {
        if !raw.get().starts_with('{') {
            loader.tally.not_objects += 1;
            continue;
        }
        let converted = kube::convert(*raw, list_kind).map_err(|f| fail(source, f))?;
        kube::apply(loader, source, kube::Position::Item(index), converted);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::LoadOptions;

    fn run(text: &str) -> Result<crate::load::Loaded, LoadError> {
        let options = LoadOptions::default();
        crate::load::load_bytes("t.json", text.as_bytes(), &options)
    }

    #[test]
    fn json_lines_and_concatenated_documents() {
        let loaded = run("{\"kind\":\"Node\",\"metadata\":{\"name\":\"a\"}}\n{\"kind\":\"Node\",\"metadata\":{\"name\":\"b\"}}{\"kind\":\"Service\"}\n").unwrap();
        assert_eq!(loaded.cluster.nodes.unwrap().len(), 2);
        assert_eq!(loaded.cluster.services.unwrap().len(), 1);
    }

    #[test]
    fn json_then_plain_text_is_read_up_to_the_text() {
        let loaded =
            run("[{\"kind\":\"Node\",\"metadata\":{\"name\":\"a\"}}]\nRevision: 11\n").unwrap();
        assert_eq!(loaded.cluster.nodes.unwrap().len(), 1);
        let loaded = run("[    0.000000] Booting Linux\n").unwrap();
        assert!(
            loaded.skipped[0].reason.contains("not JSON (line 1)"),
            "{:?}",
            loaded.skipped
        );
        assert!(loaded.skipped[0].reason.contains("not objects"));
    }

    #[test]
    fn lists_without_kind_or_with_null_items() {
        let loaded = run(r#"{"items":[{"kind":"Pod","metadata":{"name":"p"}}]}"#).unwrap();
        assert_eq!(loaded.cluster.pods.unwrap().len(), 1);
        let loaded = run(r#"{"kind":"PodList","items":null}"#).unwrap();
        assert_eq!(
            loaded.cluster.pods.unwrap().len(),
            0,
            "an empty PodList says: no pods"
        );
        assert!(loaded.skipped.is_empty());
    }
}
