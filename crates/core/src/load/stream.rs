//! Large JSON Lists (`kubectl get pods -A -o json` of a 5,000-node cluster is
//! over a gigabyte) are streamed from the file instead of read whole: one
//! thread reads the file in chunks and cuts `items` into batches of item
//! texts, worker threads (one per core) parse the batches straight into the
//! lean model types. Memory stays at a few batches plus the model; parsing
//! uses every core.
//!
//! Only the common, well-formed shape takes this path: one top-level object
//! with an `items` array, nothing after it. Anything else (a syntax error, a
//! duplicate key, JSON Lines, a top-level array, escapes in keys…) makes
//! [`load_file`] return `false` before the model was touched, and the file is
//! read whole by the ordinary loader, which gives the same result and the
//! same error messages (with line and column) as for a small file.

use std::collections::BTreeMap;
use std::io::Read;

use std::sync::mpsc;
use std::sync::{Arc, Mutex};

use super::error::LoadError;
use super::kube::{self, Converted};
use super::loader::Loader;
use super::shapes::{Fail, JsonText};

/// Bytes read from the file at a time: small next to a batch, since what
/// is read past a batch's last item is copied to the next buffer.
const CHUNK_BYTES: u64 = 256 << 10;
/// Item text handed to a worker at a time.
const BATCH_BYTES: usize = 2 << 20;
/// Largest top-level value other than `items` (`metadata`, `kind`) kept.
const MAX_HEADER_VALUE_BYTES: usize = 1 << 20;

/// Bytes that open or close a string, object or array.
const STRUCTURAL: [bool; 256] = {
    let mut table = [false; 256];
    table[b'"' as usize] = true;
    table[b'{' as usize] = true;
    table[b'}' as usize] = true;
    table[b'[' as usize] = true;
    table[b']' as usize] = true;
    table
};

/// Not the shape this path handles, or not well-formed: read the file whole.
#[derive(Debug)]
struct Bail;

impl From<std::io::Error> for Bail {
    fn from(_: std::io::Error) -> Self {
        Bail
    }
}

/// A buffered reader that can keep the bytes of a value being cut out.
struct Scan<R> {
    reader: R,
    buf: Vec<u8>,
    pos: usize,
    /// Start of the value being cut out: kept across refills.
    mark: Option<usize>,
    read: u64,
    cap: u64,
}

impl<R: Read> Scan<R> {
    /// Read more; false at the end of the input.
    fn fill(&mut self) -> Result<bool, Bail> {
        let keep = self.mark.unwrap_or(self.pos);
        if keep > 0 {
            self.buf.drain(..keep);
            self.pos -= keep;
            if let Some(mark) = &mut self.mark {
                *mark = 0;
            }
        }
        let n = (&mut self.reader)
            .take(CHUNK_BYTES)
            .read_to_end(&mut self.buf)? as u64;
        self.read += n;
        if self.read > self.cap {
            return Err(Bail);
        }
        Ok(n > 0)
    }

    fn peek(&mut self) -> Result<Option<u8>, Bail> {
        if self.pos == self.buf.len() && !self.fill()? {
            return Ok(None);
        }
        Ok(Some(self.buf[self.pos]))
    }

    /// The next byte after JSON whitespace (not consumed).
    fn peek_token(&mut self) -> Result<Option<u8>, Bail> {
        loop {
            match self.peek()? {
                Some(b' ' | b'\t' | b'\n' | b'\r') => self.pos += 1,
                other => return Ok(other),
            }
        }
    }

    fn expect(&mut self, byte: u8) -> Result<(), Bail> {
        if self.peek_token()? != Some(byte) {
            return Err(Bail);
        }
        self.pos += 1;
        Ok(())
    }

    /// Skip one value starting at the current byte; its syntax is checked
    /// later by serde_json, here only where it ends matters.
    fn skip_value(&mut self) -> Result<(), Bail> {
        let first = self.peek()?.ok_or(Bail)?;
        let (mut depth, mut in_string) = match first {
            b'{' | b'[' => (0usize, false),
            b'"' => {
                self.pos += 1;
                (0, true)
            }
            _ => {
                // A scalar: up to the next delimiter or the end.
                while let Some(b) = self.peek()? {
                    if matches!(b, b',' | b']' | b'}' | b' ' | b'\t' | b'\n' | b'\r') {
                        break;
                    }
                    self.pos += 1;
                }
                return Ok(());
            }
        };
        let object = first == b'{';
        let mut escaped = false;
        loop {
            if self.pos == self.buf.len() && !self.fill()? {
                return Err(Bail);
            }
            let bytes = &self.buf[self.pos..];
            let mut i = 0;
            while i < bytes.len() {
                if in_string {
                    if escaped {
                        escaped = false;
                        i += 1;
                        continue;
                    }
                    match memchr::memchr2(b'"', b'\\', &bytes[i..]) {
                        None => i = bytes.len(),
                        Some(at) => {
                            i += at + 1;
                            if bytes[i - 1] == b'\\' {
                                escaped = true;
                            } else {
                                in_string = false;
                                if depth == 0 {
                                    self.pos += i;
                                    return Ok(());
                                }
                            }
                        }
                    }
                    continue;
                }
                if object {
                    // Inside an object only braces and quotes decide where it
                    // ends (serde_json checks the brackets later): one
                    // vectorised search over kubectl's indentation.
                    i += memchr::memchr3(b'"', b'{', b'}', &bytes[i..]).unwrap_or(bytes.len() - i);
                } else {
                    while i < bytes.len() && !STRUCTURAL[usize::from(bytes[i])] {
                        i += 1;
                    }
                }
                let Some(&b) = bytes.get(i) else { break };
                i += 1;
                match b {
                    b'"' => in_string = true,
                    b'{' | b'[' => depth += 1,
                    _ => {
                        depth = depth.checked_sub(1).ok_or(Bail)?;
                        if depth == 0 {
                            self.pos += i;
                            return Ok(());
                        }
                    }
                }
            }
            self.pos += i;
        }
    }

    /// The indentation of the line the current byte opens: `Some(n)` when
    /// only `n` spaces precede it on its line (looked at 256 bytes back at
    /// most, so one-line JSON costs nothing).
    fn line_indent(&self) -> Option<usize> {
        let from = self.pos.saturating_sub(256);
        let line = &self.buf[from..self.pos];
        let start = line.iter().rposition(|&b| b == b'\n')? + 1;
        let indent = &line[start..];
        indent.iter().all(|&b| b == b' ').then_some(indent.len())
    }

    /// Skip one indented object that opens its line at column `indent`:
    /// kubectl's `-o json` (4 spaces a level) closes it on the next line of
    /// `indent` spaces and `}`. JSON strings hold no raw newline, so that
    /// line is structure; should it close something else, the text cut is
    /// not one JSON value, serde_json refuses it and the file is read the
    /// ordinary way. One substring search per item instead of a byte scan.
    fn skip_indented_object(&mut self, indent: usize) -> Result<(), Bail> {
        let mut close = Vec::with_capacity(indent + 2);
        close.push(b'\n');
        close.resize(indent + 1, b' ');
        close.push(b'}');
        let finder = memchr::memmem::Finder::new(&close);
        let mut from = self.pos + 1;
        loop {
            if let Some(at) = finder.find(&self.buf[from..]) {
                self.pos = from + at + close.len();
                return Ok(());
            }
            // Look again from where a match could still start.
            let searched = self.buf.len().saturating_sub(close.len() - 1).max(from);
            let offset = searched - self.pos;
            if !self.fill()? {
                return Err(Bail);
            }
            from = self.pos + offset;
        }
    }

    /// Skip one item of the `items` array: by its indentation when it
    /// opens an indented line, else by [`Scan::skip_value`]. The batch being
    /// cut holds the mark, so the item's text stays in the buffer.
    fn skip_item(&mut self) -> Result<(), Bail> {
        // An object that opens an indented line and breaks the line after
        // its `{`, as `json.MarshalIndent` writes it.
        let indent = match self.peek()? {
            Some(b'{') if self.buf.get(self.pos + 1) == Some(&b'\n') => self.line_indent(),
            _ => None,
        };
        match indent {
            Some(indent) => self.skip_indented_object(indent),
            None => self.skip_value(),
        }
    }

    /// Hand over the buffer from `mark` up to the current byte as a batch,
    /// going on in a spare buffer with the bytes read past it.
    fn split_off(
        &mut self,
        mark: usize,
        spare: &mpsc::Receiver<Batch>,
        seq: usize,
        spans: Vec<(usize, usize)>,
    ) -> Batch {
        let mut next = spare.try_recv().map(|b| b.text).unwrap_or_else(|_| {
            Vec::with_capacity(BATCH_BYTES + CHUNK_BYTES as usize + (64 << 10))
        });
        next.extend_from_slice(&self.buf[self.pos..]);
        let mut text = std::mem::replace(&mut self.buf, next);
        text.truncate(self.pos);
        self.pos = 0;
        self.mark = None;
        let spans = spans
            .into_iter()
            .map(|(start, end)| (start + mark, end + mark))
            .collect();
        Batch { seq, text, spans }
    }

    /// Skip one value and return its text.
    fn cut_value(&mut self, max: usize) -> Result<&[u8], Bail> {
        self.mark = Some(self.pos);
        let result = self.skip_value();
        let start = self.mark.take().ok_or(Bail)?;
        result?;
        if self.pos - start > max {
            return Err(Bail);
        }
        Ok(&self.buf[start..self.pos])
    }
}

/// Items for one worker: the read buffer they were cut from (never copied),
/// and where each item lies in it.
struct Batch {
    seq: usize,
    text: Vec<u8>,
    /// `(start, end)` of each item in `text`.
    spans: Vec<(usize, usize)>,
}

enum Item {
    Converted(Converted),
    /// No `kind` of its own while the List's kind is not known yet.
    Deferred(String),
    NotObject,
}

type BatchResult = (usize, Result<Vec<Item>, Bail>);

fn convert_batch(batch: &Batch, list_kind: Option<&str>, defer: bool) -> Result<Vec<Item>, Bail> {
    let (first, last) = match (batch.spans.first(), batch.spans.last()) {
        (Some(first), Some(last)) => (first.0, last.1),
        _ => return Ok(Vec::new()),
    };
    // Checked once for the whole batch; the separators between items are
    // ASCII, so every span lies on character boundaries.
    let text = std::str::from_utf8(&batch.text[first..last]).map_err(|_| Bail)?;
    let mut items = Vec::with_capacity(batch.spans.len());
    for &(start, end) in &batch.spans {
        let item = text.get(start - first..end - first).ok_or(Bail)?;
        if !item.starts_with('{') {
            serde_json::from_str::<serde::de::IgnoredAny>(item).map_err(|_| Bail)?;
            items.push(Item::NotObject);
            continue;
        }
        match kube::convert_or_defer(&JsonText(item), list_kind, defer) {
            Ok(Some(converted)) => items.push(Item::Converted(converted)),
            Ok(None) => items.push(Item::Deferred(item.to_string())),
            Err(Fail::Malformed(_) | Fail::Invalid(_)) => return Err(Bail),
        }
    }
    Ok(items)
}

/// What the stream found, before anything is added to the model.
struct Parsed {
    list_kind: Option<String>,
    items: Vec<Item>,
}

/// Stream `path` if it is a large JSON List; false (model untouched) when
/// the file must be read whole instead.
pub(super) fn load_file(
    loader: &mut Loader,
    file: impl std::io::Read,
    source: &str,
) -> Result<bool, LoadError> {
    let workers = std::thread::available_parallelism()
        .map(|n| n.get())
        .unwrap_or(1)
        .clamp(1, 8);
    let Ok(parsed) = parse(file, loader.options.max_file_bytes, workers) else {
        return Ok(false);
    };
    let item_kind = kube::item_kind(parsed.list_kind.as_deref());
    // Items deferred for want of a kind are converted now; a failure
    // there means the ordinary loader must report it.
    let mut items = parsed.items;
    for item in &mut items {
        if let Item::Deferred(text) = item {
            match kube::convert(&JsonText(text), item_kind) {
                Ok(converted) => *item = Item::Converted(converted),
                Err(_) => return Ok(false),
            }
        }
    }
    // Items of one List are nearly always of one kind: its collection grows
    // once, to its final size.
    let mut counts: Vec<(&str, usize)> = Vec::new();
    for item in &items {
        if let Item::Converted(Converted::Used { kind, .. }) = item {
            match counts.iter_mut().find(|(k, _)| k == kind) {
                Some((_, n)) => *n += 1,
                None => counts.push((kind, 1)),
            }
        }
    }
    for (kind, n) in counts {
        kube::reserve(&mut loader.cluster, kind, n);
    }

    loader.inputs_seen += 1;
    loader.begin_input(source);
    let outer = std::mem::take(&mut loader.tally);
    kube::begin_list(loader, source, parsed.list_kind.as_deref(), items.len());
    for (index, item) in items.into_iter().enumerate() {
        match item {
            Item::Converted(converted) => {
                kube::apply(loader, source, kube::Position::Item(index), converted)
            }
            Item::NotObject => loader.tally.not_objects += 1,
            Item::Deferred(_) => unreachable!("converted above"),
        }
    }
    let tally = std::mem::replace(&mut loader.tally, outer);
    loader.account(source, &tally);
    Ok(true)
}

fn parse(reader: impl Read, cap: u64, workers: usize) -> Result<Parsed, Bail> {
    let mut scan = Scan {
        reader,
        buf: Vec::with_capacity(BATCH_BYTES + CHUNK_BYTES as usize + (64 << 10)),
        pos: 0,
        mark: None,
        read: 0,
        cap,
    };
    // A UTF-8 byte order mark is dropped, as for every text input.
    scan.fill()?;
    if scan.buf.starts_with(b"\xEF\xBB\xBF") {
        scan.pos = 3;
    }
    scan.expect(b'{')?;
    let mut keys: Vec<String> = Vec::new();
    let mut list_kind: Option<Option<String>> = None;
    let mut items = None;
    loop {
        match scan.peek_token()? {
            Some(b'}') if keys.is_empty() => {
                scan.pos += 1;
                break;
            }
            Some(b'"') => {}
            _ => return Err(Bail),
        }
        let raw = scan.cut_value(MAX_HEADER_VALUE_BYTES)?;
        // Keys with escapes are rare enough to leave to the ordinary loader.
        if raw.contains(&b'\\') {
            return Err(Bail);
        }
        let key = std::str::from_utf8(&raw[1..raw.len() - 1])
            .map_err(|_| Bail)?
            .to_string();
        if keys.contains(&key) {
            return Err(Bail);
        }
        scan.expect(b':')?;
        scan.peek_token()?.ok_or(Bail)?;
        match key.as_str() {
            "items" => {
                let kind = list_kind.as_ref().map(|k| k.as_deref());
                items = Some(stream_items(&mut scan, kind, workers)?);
            }
            _ => {
                let value = scan.cut_value(MAX_HEADER_VALUE_BYTES)?;
                let value = std::str::from_utf8(value).map_err(|_| Bail)?;
                if key == "kind" {
                    list_kind = Some(serde_json::from_str(value).map_err(|_| Bail)?);
                } else {
                    serde_json::from_str::<serde::de::IgnoredAny>(value).map_err(|_| Bail)?;
                }
            }
        }
        keys.push(key);
        match scan.peek_token()? {
            Some(b',') => scan.pos += 1,
            Some(b'}') => {
                scan.pos += 1;
                break;
            }
            _ => return Err(Bail),
        }
    }
    if scan.peek_token()?.is_some() {
        return Err(Bail);
    }
    Ok(Parsed {
        list_kind: list_kind.flatten(),
        items: items.ok_or(Bail)?,
    })
}

/// Cut the `items` array into batches, parse them on `workers` threads,
/// and return the items in order. `list_kind`: `None` when the List's
/// `kind` comes after `items` (as in kubectl's output), so items without a
/// `kind` of their own are deferred.
fn stream_items<R: Read>(
    scan: &mut Scan<R>,
    list_kind: Option<Option<&str>>,
    workers: usize,
) -> Result<Vec<Item>, Bail> {
    scan.expect(b'[')?;
    let defer = list_kind.is_none();
    let list_kind = kube::item_kind(list_kind.flatten());
    let (job_tx, job_rx) = mpsc::sync_channel::<Batch>(workers * 2);
    let job_rx = Arc::new(Mutex::new(job_rx));
    let (done_tx, done_rx) = mpsc::channel::<BatchResult>();
    // Parsed batches' buffers go back to the cutter: a fresh 2 MiB buffer per
    // batch would be faulted in (and zeroed by the kernel) page by page.
    let (spare_tx, spare_rx) = mpsc::channel::<Batch>();
    std::thread::scope(|scope| {
        for _ in 0..workers {
            let job_rx = Arc::clone(&job_rx);
            let done_tx = done_tx.clone();
            let spare_tx = spare_tx.clone();
            scope.spawn(move || loop {
                let job = match job_rx.lock() {
                    Ok(rx) => rx.recv(),
                    Err(_) => return,
                };
                let Ok(mut batch) = job else { return };
                let result = convert_batch(&batch, list_kind, defer);
                if done_tx.send((batch.seq, result)).is_err() {
                    return;
                }
                batch.text.clear();
                batch.spans.clear();
                // The cutter may be done already; then the buffer is freed.
                let _ = spare_tx.send(batch);
            });
        }
        drop(done_tx);
        drop(spare_tx);
        let cut = cut_batches(scan, &job_tx, &spare_rx);
        drop(spare_rx);
        drop(job_tx);
        let mut results: BTreeMap<usize, Vec<Item>> = BTreeMap::new();
        let mut failed = cut.is_err();
        for (seq, result) in done_rx {
            match result {
                Ok(items) => {
                    results.insert(seq, items);
                }
                Err(Bail) => failed = true,
            }
        }
        if failed {
            return Err(Bail);
        }
        let batches = cut?;
        if results.len() != batches {
            return Err(Bail);
        }
        Ok(results.into_values().flatten().collect())
    })
}

/// Send the items as batches; the number of batches sent. A batch is the
/// read buffer itself: once it holds enough items, the bytes read past the
/// last one move to a fresh (recycled) buffer and the full one goes to a
/// worker as it is.
fn cut_batches<R: Read>(
    scan: &mut Scan<R>,
    jobs: &mpsc::SyncSender<Batch>,
    spare: &mpsc::Receiver<Batch>,
) -> Result<usize, Bail> {
    if scan.peek_token()? == Some(b']') {
        scan.pos += 1;
        return Ok(0);
    }
    let mut seq = 0;
    let mut spans = Vec::new();
    loop {
        scan.peek_token()?.ok_or(Bail)?;
        // Relative to the mark: refills move the kept bytes to the front.
        let start = match scan.mark {
            Some(mark) => scan.pos - mark,
            None => {
                scan.mark = Some(scan.pos);
                0
            }
        };
        scan.skip_item()?;
        let mark = scan.mark.ok_or(Bail)?;
        spans.push((start, scan.pos - mark));
        let last = match scan.peek_token()? {
            Some(b',') => false,
            Some(b']') => true,
            _ => return Err(Bail),
        };
        scan.pos += 1;
        if scan.pos - mark >= BATCH_BYTES || last {
            seq += 1;
            let batch = scan.split_off(mark, spare, seq, std::mem::take(&mut spans));
            jobs.send(batch).map_err(|_| Bail)?;
        }
        if last {
            return Ok(seq);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::load::LoadOptions;

    /// The streamed load and the ordinary one give the same model, skips
    /// and errors.
    fn both(text: &str) -> (String, String) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("list.json");
        std::fs::write(&path, text).unwrap();
        let options = LoadOptions::default();
        let run = |stream_min_bytes: u64| {
            let mut loader = Loader::new(&options);
            loader.stream_min_bytes = stream_min_bytes;
            match crate::load::walk::load_path(&mut loader, &path, true) {
                Ok(()) => {
                    let loaded = loader.finish(None);
                    format!("{:?}\n{:?}", loaded.cluster, loaded.skipped)
                }
                Err(e) => format!("error: {e}"),
            }
        };
        (run(0), run(u64::MAX))
    }

    fn streams(text: &str) -> bool {
        parse(text.as_bytes(), 1 << 30, 2).is_ok()
    }

    #[test]
    fn streamed_lists_load_like_whole_files() {
        let pod = |i: usize| {
            format!(
                r#"{{"kind":"Pod","metadata":{{"name":"p{i}","namespace":"ns"}},"spec":{{"nodeName":"n{}"}},"status":{{"podIP":"10.0.0.{}"}}}}"#,
                i % 7,
                i % 250
            )
        };
        let many: Vec<String> = (0..3000).map(pod).collect();
        let cases = [
            format!("{{\"apiVersion\":\"v1\",\"items\":[{}],\"kind\":\"List\",\"metadata\":{{}}}}", many.join(",")),
            format!("\u{FEFF}{{ \"kind\" : \"PodList\", \"items\" : [ {} ] }}\n", many.join(" ,\n ")),
            // Items without a kind before and after the List's kind.
            r#"{"items":[{"metadata":{"name":"a"}},{"metadata":{"selfLink":"/api/v1/nodes/x"}}],"kind":"PodList"}"#.to_string(),
            r#"{"kind":"NodeList","items":[{"metadata":{"name":"a"}},3,"x",null]}"#.to_string(),
            r#"{"kind":"PodList","items":[]}"#.to_string(),
            r#"{"items":[{"kind":"Pod","metadata":{"name":"a"},"spec":{"containers":"no"}}, {"kind":"Secret"}]}"#.to_string(),
            r#"{"items":[{"kind":"Pod","metadata":{"name":"a\"]}"},"spec":null}]}"#.to_string(),
        ];
        for case in &cases {
            assert!(
                streams(case),
                "should stream: {}",
                &case[..80.min(case.len())]
            );
            let (streamed, whole) = both(case);
            assert_eq!(streamed, whole, "{}", &case[..80.min(case.len())]);
        }
    }

    #[test]
    fn anything_unusual_falls_back_with_the_same_result() {
        let cases = [
            r#"{"items":[{"kind":"Pod"}],"items":[]}"#,
            r#"{"items":[{"kind":"Pod"}]}{"kind":"Node"}"#,
            r#"{"items":[{"kind":"Pod"},]}"#,
            r#"{"items":[{"kind":"Pod"}"#,
            r#"{"items":[{"kind":"Pod","x":tru}]}"#,
            r#"{"items":[{"kind":"Pod"}]} trailing"#,
            r#"{"kind":7,"items":[]}"#,
            r#"{"it\u0065ms":[]}"#,
            r#"{"items":null,"kind":"PodList"}"#,
            r#"{"items":[}]}"#,
            r#"{"items":[{"kind":"Pod"}]]}"#,
            "{\"items\":[{\"kind\":\"Pod\",\"metadata\":{\"name\":\"\u{0}\"}}]}",
            r#"[{"kind":"Pod"}]"#,
            r#"{"items":[{"kind":"Pod"} {"kind":"Pod"}]}"#,
            r#"{"items":[[[[[[[[[[]]]]]]]]]]}"#,
        ];
        for case in cases {
            let (streamed, whole) = both(case);
            assert_eq!(streamed, whole, "{case}");
        }
        assert!(!streams(r#"{"items":[{"kind":"Pod"}],"items":[]}"#));
        assert!(!streams(r#"{"items":[{"kind":"Pod"}]} x"#));
    }

    /// kubectl's `-o json`: 4 spaces a level, items cut by their indentation.
    fn kubectl_pretty(value: &serde_json::Value) -> String {
        use serde::Serialize;
        let mut out = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b"    ");
        let mut ser = serde_json::Serializer::with_formatter(&mut out, formatter);
        value.serialize(&mut ser).unwrap();
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn indented_lists_are_cut_by_their_indentation() {
        let items: Vec<serde_json::Value> = (0..2000)
            .map(|i| {
                serde_json::json!({"kind": "Pod",
                    "metadata": {"name": format!("p{i}"), "namespace": "ns",
                        "labels": {"app": "web", "brace": "}\n    }"}},
                    "spec": {"nodeName": format!("n{}", i % 7), "containers": [{"name": "c"}], "x": {}},
                    "status": {"podIP": format!("10.0.{}.{}", i / 250, i % 250)}})
            })
            .collect();
        let list = kubectl_pretty(
            &serde_json::json!({"apiVersion": "v1", "items": items, "kind": "List"}),
        );
        assert!(list.contains("\n        {\n            \"kind\": \"Pod\""));
        assert!(streams(&list));
        let (streamed, whole) = both(&list);
        assert_eq!(streamed, whole);
        // Indentation that lies (an inner object closed at the item's
        // column) is not one value when cut: the file is read whole, same result.
        let lying = "{\"items\": [\n    {\n        \"kind\": \"Pod\",\n        \"metadata\": {\"name\": \"a\", \"labels\": {\n    }},\n        \"spec\": {}\n    }\n], \"kind\": \"List\"}";
        assert!(!streams(lying));
        let (streamed, whole) = both(lying);
        assert_eq!(streamed, whole);
        assert!(whole.contains("name: \"a\""), "{whole}");
    }

    /// Lists of several batches, and an item larger than a batch: every
    /// item lands once, in order, whichever buffer it was read into.
    #[test]
    fn items_across_batches_and_refills_are_each_read_once() {
        let pod = |i: usize, pad: usize| {
            serde_json::json!({"kind": "Pod",
                "metadata": {"name": format!("p{i}"), "namespace": "ns",
                    "annotations": {"pad": "é".repeat(pad)}},
                "spec": {"nodeName": format!("n{}", i % 7)},
                "status": {"podIP": format!("10.0.{}.{}", i / 250 % 250, i % 250)}})
        };
        let mut items: Vec<serde_json::Value> = (0..9000).map(|i| pod(i, 200)).collect();
        items.insert(4500, pod(99_999, BATCH_BYTES));
        let list = kubectl_pretty(
            &serde_json::json!({"apiVersion": "v1", "items": items, "kind": "List"}),
        );
        assert!(list.len() > 3 * BATCH_BYTES, "{} bytes", list.len());
        let parsed = parse(list.as_bytes(), 1 << 30, 2).expect("streams");
        assert_eq!(parsed.items.len(), 9001);
        let (streamed, whole) = both(&list);
        assert_eq!(streamed, whole);
        assert!(streamed.contains("\"p99999\""));
    }

    #[test]
    fn invalid_utf8_and_size_cap_fall_back() {
        let mut bytes = br#"{"items":[{"kind":"Pod","metadata":{"name":""#.to_vec();
        bytes.extend_from_slice(b"\xff\xfe");
        bytes.extend_from_slice(br#""}}]}"#);
        assert!(parse(&bytes[..], 1 << 20, 2).is_err());
        let ok = br#"{"items":[{"kind":"Pod"}]}"#;
        assert!(parse(&ok[..], 1 << 20, 1).is_ok());
        assert!(parse(&ok[..], 8, 1).is_err(), "over the size cap");
    }
}
