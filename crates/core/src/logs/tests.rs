use super::*;

fn scan_text(source: &str, text: &[u8]) -> LogFile {
    scan(text, source, Catalogue::embedded(), ScanLimits::default()).unwrap()
}

#[test]
fn every_format_cilium_wrote_parses() {
    // Examples from the shared `log_formats` (with their reports).
    let cases = [
        (
            "level=warning msg=\"Could not determined instance limits\" subsys=ipam",
            LineFormat::LogrusText,
            None,
            "warning",
        ),
        (
            "time=\"2024-07-22T17:26:29Z\" level=warning msg=\"Instance not found!\" subsys=ipam",
            LineFormat::LogrusTextTs,
            Some("2024-07-22T17:26:29Z"),
            "warning",
        ),
        (
            "time=2025-03-31T13:58:30Z level=info msg=\"Discovered new CiliumNode custom resource\" subsys=ipam-allocator-aws",
            LineFormat::SlogText,
            Some("2025-03-31T13:58:30Z"),
            "info",
        ),
        (
            "{\"error\":\"api error PrivateIpAddressLimitExceeded\",\"level\":\"warning\",\"msg\":\"Unable to assign additional IPs to interface, will create new interface\",\"subsys\":\"eni\"}",
            LineFormat::Json,
            None,
            "warning",
        ),
        (
            "{\"time\":\"2025-03-31T13:58:30.1Z\",\"level\":\"error\",\"msg\":\"x\"}",
            LineFormat::Json,
            Some("2025-03-31T13:58:30.1Z"),
            "error",
        ),
    ];
    for (line, format, time, level) in cases {
        let p = parse_line(line).unwrap_or_else(|| panic!("{line}"));
        assert_eq!((p.format, p.time, p.level), (format, time, level), "{line}");
        assert_eq!(p.kubelet_time, None);
        let prefixed = format!("2025-03-31T13:58:30.074755498Z {line}");
        let p = parse_line(&prefixed).unwrap();
        assert_eq!(p.kubelet_time, Some("2025-03-31T13:58:30.074755498Z"));
        assert_eq!(p.format, format);
        assert_eq!(p.timestamp(), time.or(p.kubelet_time));
    }
    for not_a_log in [
        "goroutine 1 [running]:",
        "\t/go/src/github.com/cilium/cilium/pkg/ipam/crd.go:123",
        "{\"kind\":\"PodList\",\"items\":[]}",
        "level=loud msg=x",
        "time=yesterday level=info msg=x",
        "apiVersion: v1",
        "",
    ] {
        assert!(parse_line(not_a_log).is_none(), "{not_a_log:?}");
    }
}

#[test]
fn logs_are_recognised_by_their_first_lines() {
    assert!(looks_like_log(
        b"level=info msg=\"Started gops server\" subsys=daemon\nlevel=info msg=x\n"
    ));
    // A stack trace after the first line is fine; a cut last line is not judged.
    assert!(looks_like_log(
        b"2023-04-05T15:05:46.388Z level=fatal msg=\"boom\"\ngoroutine 1 [running]:\nlevel=info msg=x\nlevel=inf"
    ));
    assert!(!looks_like_log(b"{\n  \"kind\": \"PodList\"\n}\n"));
    assert!(!looks_like_log(b"KVStore: Ok Disabled\nKubernetes: Ok\n"));
    assert!(!looks_like_log(b"level=info msg=x\0\0\0"));
    assert!(!looks_like_log(b""));
    assert!(!looks_like_log(
        b"I1110 18:56:30.487433 1 main.go:12] klog line\nlevel=info msg=x\n"
    ));
}

#[test]
fn signatures_are_counted_with_first_and_last_time() {
    let log = b"2023-04-05T15:05:46.3Z level=info msg=\"Starting ENI allocator...\" subsys=ipam-allocator-aws\n\
2023-04-05T15:05:46.4Z level=warning msg=\"Unable to synchronize EC2 interface list\" error=\"UnauthorizedOperation: You are not authorized to perform this operation.\" subsys=eni\n\
2023-04-05T15:05:46.5Z level=fatal msg=\"Unable to start eni allocator\" error=\"Initial synchronization with instances API failed\" subsys=cilium-operator-aws\n\
2023-04-05T15:06:46.5Z level=fatal msg=\"Unable to start eni allocator\" error=\"Initial synchronization with instances API failed\" subsys=cilium-operator-aws\n";
    let f = scan_text("operator.log", log);
    assert_eq!(
        f.container,
        Container::Operator,
        "from subsys=cilium-operator-aws"
    );
    assert_eq!(f.lines, 4);
    assert_eq!(f.error_lines, 2);
    assert!(f.kubelet_timestamps);
    assert_eq!(f.formats, vec![(LineFormat::LogrusText, 4)]);
    let hit = |id: &str| f.hits.iter().find(|h| h.signature == id).cloned();
    let start = hit("LS005").expect("LS005");
    assert_eq!(start.count, 2);
    assert_eq!(start.first_line, 3);
    assert_eq!(start.first_time.as_deref(), Some("2023-04-05T15:05:46.5Z"));
    assert_eq!(start.last_time.as_deref(), Some("2023-04-05T15:06:46.5Z"));
    assert!(start.sample.contains("Unable to start eni allocator"));
    let unauthorized = hit("LS007").expect("LS007");
    assert_eq!(unauthorized.count, 1);
    assert_eq!(f.last_time.as_deref(), Some("2023-04-05T15:06:46.5Z"));
}

#[test]
fn the_operator_creating_a_new_eni_is_not_an_exhausted_pool() {
    // Routine operator line: an ENI is full, a new one is created.
    let log =
        b"level=info msg=\"No more IPs available, creating new ENI\" instanceID=i-1 subsys=ipam\n";
    let f = scan_text("op.log", log);
    assert!(f.hits.is_empty(), "{:?}", f.hits);
    let agent = b"level=warning msg=\"Unable to allocate IP\" error=\"No more IPs available\" subsys=ipam\n";
    assert_eq!(scan_text("a.log", agent).hits[0].signature, "LS001");
}

#[test]
fn long_lines_are_cut_and_bad_bytes_never_panic() {
    let mut log = b"level=info msg=x subsys=daemon\n".to_vec();
    log.extend(std::iter::repeat_n(b'a', 10 * 1024 * 1024));
    log.extend(b" Unable to start eni allocator\n");
    log.extend(b"level=warning msg=\"\xff\xfe bad\" error=\"BPF program is too large. Processed 1000001 insn\"\n");
    log.extend(b"level=info msg=\"truncated");
    let f = scan_text("agent.log", &log);
    assert_eq!(f.lines, 4);
    assert_eq!(f.cut_lines, 1);
    assert_eq!(f.invalid_utf8_lines, 1);
    assert_eq!(f.container, Container::Agent);
    let ids: Vec<&str> = f.hits.iter().map(|h| h.signature.as_str()).collect();
    assert_eq!(ids, ["LX004"], "the cut part of the long line is not read");
    assert!(
        f.note().contains("1 line(s) over the line limit cut"),
        "{}",
        f.note()
    );

    let mut binary = b"level=info msg=x\n".to_vec();
    for _ in 0..500 {
        binary.extend(b"\0\0\x01\x02\n");
    }
    let f = scan_text("b.log", &binary);
    assert!(f.stopped.as_deref().unwrap().contains("binary"), "{f:?}");
    assert!(f.lines < 200);
}

#[test]
fn sysdump_names_give_pod_container_and_previous_instance() {
    assert_eq!(
        sysdump_log_name("d!cilium-sysdump-20221110-185842/logs-cilium-cbzlp-cilium-agent-20221110-185842-prev.log"),
        Some((Some("cilium-cbzlp".into()), Container::Agent, true))
    );
    assert_eq!(
        sysdump_log_name(
            "logs-cilium-operator-76c6d95785-jzz9l-cilium-operator-20221110-185842.log"
        ),
        Some((
            Some("cilium-operator-76c6d95785-jzz9l".into()),
            Container::Operator,
            false
        ))
    );
    assert_eq!(
        sysdump_log_name("logs-cilium-cbzlp-apply-sysctl-overwrites-20221110-185842.log"),
        Some((
            Some("cilium-cbzlp".into()),
            Container::Other("apply-sysctl-overwrites".into()),
            false
        ))
    );
    assert_eq!(sysdump_log_name("operator.log"), None);
    assert_eq!(sysdump_log_name("logs-x-1.log"), None);
}

#[test]
fn the_catalogue_is_whole_and_each_entry_has_a_report() {
    let c = Catalogue::embedded();
    assert!(c.signatures.len() >= 20);
    for s in &c.signatures {
        assert!(s.report.starts_with("https://"), "{}", s.id);
        for text in [&s.meaning, &s.cause, &s.fix, &s.cilium_versions] {
            assert!(!text.trim().is_empty(), "{}", s.id);
        }
        // Each signature's own example holds its pattern (the data is not
        // a list of unrelated strings).
        assert!(
            s.patterns.iter().any(|p| s.example.contains(p.as_str())),
            "{}: example {:?} lacks its pattern",
            s.id,
            s.example
        );
    }
    let events = c.event_matches(
        "Failed to create pod sandbox: plugin type=\"cilium-cni\" failed (add): Unable to create endpoint: Cilium API client timeout exceeded",
    );
    assert_eq!(events.len(), 1);
    assert_eq!(events[0].id, "LS014");
}
