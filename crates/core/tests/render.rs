//! Every renderer on one hand-built report: snapshots of each format, SARIF
//! validated against the official 2.1.0 schema, JUnit parsed as XML, and
//! hostile cluster strings proven inert in HTML, Markdown and the terminal.

use doctor_core::findings::{
    ClusterInfo, Finding, InputNote, KnowledgeInfo, NotEvaluated, ObjectRef, Report, Severity,
    SkippedInput, Summary, Suppressed, ToolInfo, UnmatchedSuppression,
};
use doctor_core::overview::{
    Count, IpamView, NodeCapacity, NodeGroup, Overview, SourceStatus, Verdict, VersionCheck,
    Versions,
};
use doctor_core::report::html::page;
use doctor_core::report::{render, Format, RenderOptions};
use doctor_core::rules::{Area, RuleMeta};
use doctor_core::snapshot::{CollectionGap, GapKind};
use serde_json::Value;

static CNI001: RuleMeta = RuleMeta {
    code: "CNI001",
    name: "aws-node-active",
    severity: Severity::Critical,
    area: Area::Cni,
    summary: "aws-node can still schedule pods while Cilium is the primary CNI",
    what_it_checks: "DaemonSet kube-system/aws-node can still schedule pods.",
    why_it_matters: "Two CNIs fight over pod networking.",
    how_to_fix: "Patch aws-node with a nodeSelector that matches no node.",
    known_limits: "",
    docs_url: "https://docs.cilium.io/en/stable/installation/k8s-install-helm/",
};

static CAP001: RuleMeta = RuleMeta {
    code: "CAP001",
    name: "max-pods-exceeds-ip-capacity",
    severity: Severity::High,
    area: Area::Cap,
    summary: "kubelet max-pods exceeds the node's pod-IP capacity",
    what_it_checks: "Pod capacity minus hostNetwork pods versus ENI IP capacity.",
    why_it_matters: "Pods hang in ContainerCreating.",
    how_to_fix: "Lower max-pods or enable prefix delegation.",
    known_limits: "",
    docs_url: "",
};

/// A rule the tests name by code, name, severity and area only.
const fn brief(code: &'static str, name: &'static str, severity: Severity, area: Area) -> RuleMeta {
    RuleMeta {
        code,
        name,
        severity,
        area,
        summary: "",
        what_it_checks: "",
        why_it_matters: "",
        how_to_fix: "",
        known_limits: "",
        docs_url: "",
    }
}

static CNI002: RuleMeta = brief("CNI002", "vpc-cni-addon-managed", Severity::High, Area::Cni);
static CNI005: RuleMeta = brief("CNI005", "vpc-cni-leftovers", Severity::Info, Area::Cni);
static CAP004: RuleMeta = brief(
    "CAP004",
    "overlay-max-pods-left-at-eni-default",
    Severity::Medium,
    Area::Cap,
);
static IAM002: RuleMeta = brief(
    "IAM002",
    "operator-on-node-role",
    Severity::Medium,
    Area::Iam,
);
static IAM003: RuleMeta = brief("IAM003", "irsa-trust-too-broad", Severity::High, Area::Iam);
static OPS003: RuleMeta = brief(
    "OPS003",
    "cilium-pods-restarting",
    Severity::High,
    Area::Ops,
);
static VER003: RuleMeta = brief(
    "VER003",
    "eks-forced-upgrade-soon",
    Severity::High,
    Area::Ver,
);

fn opts(color: bool) -> RenderOptions {
    RenderOptions { color }
}

fn finding(
    rule: &'static RuleMeta,
    severity: Severity,
    object: ObjectRef,
    message: &str,
) -> Finding {
    Finding {
        rule,
        severity,
        object,
        message: message.to_string(),
        evidence: Vec::new(),
        remediation: String::new(),
        docs: format!("eks-cilium-doctor explain {}", rule.code),
        location: None,
        read_from: None,
    }
}

const XSS_NAME: &str = "<script>alert(1)</script>";
const XSS_MESSAGE: &str =
    "image \"onmouseover=alert(1) x=' & <b>bold</b> [link](javascript:alert(1))";

fn sample() -> Report {
    let node = ObjectRef::global("Node", "ip-10-0-1-23.eu-west-1.compute.internal");
    let findings = vec![
        finding(
            &CNI001,
            Severity::Critical,
            ObjectRef::new("DaemonSet", Some("kube-system"), "aws-node"),
            "aws-node can still schedule pods while Cilium is the primary CNI.",
        )
        .with_evidence("desiredNumberScheduled: 3")
        .with_evidence("nodeSelector: none")
        .with_remediation(
            "kubectl -n kube-system patch daemonset aws-node --type strategic \\\n  \
             -p '{\"spec\":{\"template\":{\"spec\":{\"nodeSelector\":{\"io.cilium/aws-node-enabled\":\"true\"}}}}}'",
        ),
        Finding {
            docs: "eks-cilium-doctor explain CAP001 ; https://docs.cilium.io/en/stable/network/concepts/ipam/eni/".into(),
            ..finding(
                &CAP001,
                Severity::High,
                node.clone(),
                "kubelet allows 110 pods but the node has IPs for 29.",
            )
            .with_evidence("instance type m5.large: 3 ENIs x 10 IPs")
            .with_evidence("hostNetwork pods: 3")
            .with_remediation("Set maxPods to 29 in the node group's launch template.")
        },
        finding(
            &OPS003,
            Severity::High,
            ObjectRef::new("Pod", Some("kube-system"), XSS_NAME),
            XSS_MESSAGE,
        )
        .with_evidence("last state: \u{1b}[31mOOMKilled\u{1b}[0m | restarts: 7")
        .with_evidence("- not a list *not bold* `tick`")
        .with_remediation("kubectl -n kube-system logs '<script>' --previous\n```\n</code></pre><img src=x onerror=alert(1)>"),
        finding(
            &IAM002,
            Severity::Medium,
            ObjectRef::new("ServiceAccount", Some("kube-system"), "cilium-operator"),
            "The operator ServiceAccount has no IRSA role.",
        ),
        finding(
            &CNI005,
            Severity::Info,
            ObjectRef::global("ClusterRole", "aws-node"),
            "aws-node is gone but its ClusterRole remains (rollback path).",
        ),
    ];
    Report {
        schema_version: 1,
        tool: ToolInfo {
            name: "eks-cilium-doctor",
            version: "0.1.0",
        },
        cluster: ClusterInfo {
            name: Some("prod-eu-1".into()),
            kubernetes_version: Some("1.31".into()),
            cilium_version: Some("1.16.5".into()),
            ipam_mode: Some("eni".into()),
        },
        as_of: "2025-06-01".into(),
        knowledge: knowledge_info(),
        summary: Summary::of(&findings),
        findings,
        evaluated_rules: vec![
            &CNI001, &CNI002, &CNI005, &CAP001, &CAP004, &IAM002, &OPS003,
        ],
        not_evaluated: vec![
            NotEvaluated {
                rule: &IAM003,
                missing: "IAM role data".into(),
                how_to_provide: Some("aws iam get-account-authorization-details > iam.json".into()),
            },
            NotEvaluated {
                rule: &VER003,
                missing: "EKS describe-cluster output".into(),
                how_to_provide: None,
            },
        ],
        skipped_inputs: vec![SkippedInput {
            path: "dump/notes.txt".into(),
            reason: "not a recognised input (plain text)".into(),
        }],
        input_notes: vec![InputNote {
            path: "dump/ciliumendpoints.json".into(),
            note: "an empty List: its kind, CiliumEndpoint, taken from the file name".into(),
        }],
        collection_gaps: vec![CollectionGap {
            source: "aws".into(),
            call: "eks:ListAddons".into(),
            kind: GapKind::Denied,
            permission: "eks:ListAddons".into(),
            message: "User: arn:aws:sts::111122223333:assumed-role/ci/doctor is not authorized"
                .into(),
        }],
        suppressed: vec![Suppressed {
            rule: &CAP004,
            object: node,
            reason: "we raise max-pods in the launch template".into(),
            severity: Severity::Medium,
            message: "max-pods is left at the ENI default in overlay mode.".into(),
            location: None,
            read_from: None,
        }],
        unmatched_suppressions: vec![UnmatchedSuppression {
            rule: "CNI002".into(),
            object: None,
            reason: "add-on removed last quarter".into(),
        }],
    }
}

/// Fixed knowledge dates, so the snapshots do not move with data/.
fn knowledge_info() -> KnowledgeInfo {
    KnowledgeInfo {
        date: "2026-08-22".into(),
        families: [
            ("cilium_releases", "2026-08-22"),
            ("ec2_limits", "2026-08-21"),
            ("eks_calendar", "2026-08-22"),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect(),
    }
}

fn empty() -> Report {
    Report {
        schema_version: 1,
        tool: ToolInfo {
            name: "eks-cilium-doctor",
            version: "0.1.0",
        },
        cluster: ClusterInfo::default(),
        as_of: "2025-06-01".into(),
        knowledge: knowledge_info(),
        summary: Summary::default(),
        findings: Vec::new(),
        evaluated_rules: vec![&CNI001],
        not_evaluated: Vec::new(),
        skipped_inputs: Vec::new(),
        input_notes: Vec::new(),
        collection_gaps: Vec::new(),
        suppressed: Vec::new(),
        unmatched_suppressions: Vec::new(),
    }
}

// ------------------------------------------------------------ snapshots

#[test]
fn snapshot_text() {
    insta::assert_snapshot!("text", render(&sample(), Format::Text, &opts(false)));
    insta::assert_snapshot!("text_empty", render(&empty(), Format::Text, &opts(false)));
}

#[test]
fn snapshot_text_colour() {
    insta::assert_snapshot!("text_colour", render(&sample(), Format::Text, &opts(true)));
}

#[test]
fn snapshot_json() {
    insta::assert_snapshot!("json", render(&sample(), Format::Json, &opts(false)));
}

#[test]
fn snapshot_sarif() {
    insta::assert_snapshot!("sarif", render(&sample(), Format::Sarif, &opts(false)));
}

#[test]
fn snapshot_junit() {
    insta::assert_snapshot!("junit", render(&sample(), Format::Junit, &opts(false)));
}

#[test]
fn snapshot_markdown() {
    insta::assert_snapshot!(
        "markdown",
        render(&sample(), Format::Markdown, &opts(false))
    );
    insta::assert_snapshot!(
        "markdown_empty",
        render(&empty(), Format::Markdown, &opts(false))
    );
}

#[test]
fn snapshot_html() {
    insta::assert_snapshot!("html", render(&sample(), Format::Html, &opts(false)));
}

// ------------------------------------------------------------ JSON

#[test]
fn json_has_the_contract_fields() {
    let v: Value = serde_json::from_str(&render(&sample(), Format::Json, &opts(false))).unwrap();
    for key in [
        "schema_version",
        "tool",
        "cluster",
        "findings",
        "not_evaluated",
        "skipped_inputs",
        "summary",
    ] {
        assert!(v.get(key).is_some(), "missing {key}");
    }
    assert_eq!(v["findings"][0]["object"]["namespace"], "kube-system");
    assert!(v["findings"][4]["object"].get("namespace").is_none());
    assert_eq!(v["summary"]["high"], 2);
}

// ------------------------------------------------------------ SARIF

fn sarif_validator() -> jsonschema::Validator {
    let schema: Value = serde_json::from_str(include_str!("schemas/sarif-2.1.0.json")).unwrap();
    jsonschema::options()
        .should_validate_formats(true)
        .build(&schema)
        .expect("the vendored SARIF schema compiles")
}

fn schema_errors(validator: &jsonschema::Validator, log: &Value) -> Vec<String> {
    validator
        .iter_errors(log)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect()
}

#[test]
fn sarif_validates_against_the_official_schema() {
    let validator = sarif_validator();
    for report in [sample(), empty()] {
        let log: Value =
            serde_json::from_str(&render(&report, Format::Sarif, &opts(false))).unwrap();
        let errors = schema_errors(&validator, &log);
        assert!(errors.is_empty(), "{errors:#?}");
    }
    // The validator is live: a wrong level is caught.
    let mut log: Value =
        serde_json::from_str(&render(&sample(), Format::Sarif, &opts(false))).unwrap();
    log["runs"][0]["results"][0]["level"] = "critical".into();
    assert!(!schema_errors(&validator, &log).is_empty());
}

#[test]
fn sarif_results_reference_their_rules() {
    let log: Value = serde_json::from_str(&render(&sample(), Format::Sarif, &opts(false))).unwrap();
    let run = &log["runs"][0];
    let rules = run["tool"]["driver"]["rules"].as_array().unwrap();
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 6, "five findings and one suppressed");
    for r in results {
        let index = r["ruleIndex"].as_u64().unwrap() as usize;
        assert_eq!(rules[index]["id"], r["ruleId"]);
    }
    let levels: Vec<&str> = results
        .iter()
        .map(|r| r["level"].as_str().unwrap())
        .collect();
    assert_eq!(
        levels,
        ["error", "error", "error", "warning", "note", "warning"]
    );
    assert_eq!(rules[0]["helpUri"], CNI001.docs_url);
    assert_eq!(rules[0]["defaultConfiguration"]["level"], "error");
    assert_eq!(
        results[0]["locations"][0]["logicalLocations"][0]["fullyQualifiedName"],
        "DaemonSet/kube-system/aws-node"
    );
    assert_eq!(results[5]["suppressions"][0]["kind"], "external");
    let notes = run["invocations"][0]["toolExecutionNotifications"]
        .as_array()
        .unwrap();
    assert_eq!(
        notes.len(),
        4,
        "two rules not evaluated, one skipped input, one call not collected"
    );
    assert!(notes[3]["message"]["text"]
        .as_str()
        .unwrap()
        .starts_with("not collected: eks:ListAddons (denied; grant eks:ListAddons)"));
}

// ------------------------------------------------------------ JUnit

#[test]
fn junit_parses_and_counts_add_up() {
    let report = sample();
    let xml = render(&report, Format::Junit, &opts(false));
    let doc = roxmltree::Document::parse(&xml).expect("well-formed XML");
    let root = doc.root_element();
    assert_eq!(root.tag_name().name(), "testsuites");
    let cases: Vec<_> = root
        .descendants()
        .filter(|n| n.has_tag_name("testcase"))
        .collect();
    let failing = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("failure")));
    let skipped = cases
        .iter()
        .filter(|c| c.children().any(|n| n.has_tag_name("skipped")));
    // 5 findings + 1 suppressed + 1 clean rule (CNI002) + 2 not evaluated
    // + 1 call not collected.
    assert_eq!(cases.len(), 10);
    assert_eq!(failing.count(), 5);
    assert_eq!(skipped.count(), 4);
    assert_eq!(root.attribute("tests"), Some("10"));
    assert_eq!(root.attribute("failures"), Some("5"));
    assert_eq!(root.attribute("skipped"), Some("4"));

    let suites: Vec<&str> = root
        .children()
        .filter(|n| n.has_tag_name("testsuite"))
        .map(|s| s.attribute("name").unwrap())
        .collect();
    assert_eq!(suites.len(), 6, "{suites:?}");
    assert!(suites[0].starts_with("CNI"), "{suites:?}");
    assert_eq!(suites[5], "Other", "calls not collected come last");

    // Hostile text comes back exactly as it went in.
    let hostile = cases
        .iter()
        .find(|c| c.attribute("name") == Some(&*format!("Pod/kube-system/{XSS_NAME}")))
        .expect("the hostile pod's case");
    let failure = hostile
        .children()
        .find(|n| n.has_tag_name("failure"))
        .unwrap();
    assert_eq!(failure.attribute("message"), Some(XSS_MESSAGE));
    assert_eq!(failure.attribute("type"), Some("high"));
    let body = failure.text().unwrap();
    assert!(
        body.contains("Fix:\nkubectl -n kube-system logs '<script>'"),
        "{body}"
    );
    assert!(
        body.contains("Evidence:\n- last state: \u{FFFD}[31mOOMKilled"),
        "{body}"
    );
}

// ------------------------------------------------------------ HTML

#[test]
fn html_escapes_every_hostile_string() {
    let html = render(&sample(), Format::Html, &opts(false));
    assert!(!html.contains(XSS_NAME));
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(!html.contains("\"onmouseover"));
    assert!(html.contains("&quot;onmouseover=alert(1) x=&#39; &amp; &lt;b&gt;bold&lt;/b&gt;"));
    assert!(!html.contains("<img"));
    assert!(!html.contains("</code></pre><img"));
    assert!(!html.contains('\u{1b}'));
    // Exactly one script element: ours.
    assert_eq!(html.matches("<script").count(), 1);
    assert_eq!(html.matches("</script>").count(), 1);
}

#[test]
fn html_is_self_contained_with_a_strict_csp() {
    let html = render(&sample(), Format::Html, &opts(false));
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains(
        "<meta http-equiv=\"Content-Security-Policy\" content=\"default-src 'none'; \
         style-src 'unsafe-inline'; script-src 'sha256-"
    ));
    for external in ["<link", "src=\"http", "@import", "url("] {
        assert!(!html.contains(external), "{external}");
    }
    assert!(html.contains("prefers-color-scheme: dark"));
    assert!(html.contains("data-severity=\"critical\" data-area=\"CNI\""));
    assert!(html.contains("<input type=\"radio\" name=\"area\" value=\"OPS\">"));
    // Areas without findings stay listed, disabled.
    assert!(html.contains("<input type=\"radio\" name=\"area\" value=\"SGP\" disabled>"));
    assert!(html.contains("<h2>Not evaluated (2)</h2>"));
    assert!(html.contains("<h2>Skipped inputs (1)</h2>"));
}

const XSS_STYLE: &str = "</style><style>body{display:none}</style>";
const XSS_ATTR: &str = "\"><svg onload=alert(1)>'";
const XSS_UNICODE: &str = "n\u{202E}ode-\u{1F600}-\u{0}";

/// An overview where every string from the cluster is hostile.
fn hostile_overview() -> Overview {
    let node = NodeCapacity {
        name: format!("{XSS_NAME}{XSS_UNICODE}"),
        instance_type: Some(XSS_ATTR.into()),
        pod_ips_used: 12,
        host_network_pods: 2,
        ip_capacity: Some(10),
        ip_capacity_formula: Some(XSS_STYLE.into()),
        limits_source: Some("embedded instance limits (VPC CNI table)"),
        kubelet_max_pods: Some(17),
        allocatable_pods: Some(17),
        max_pods_exceeds_ip_capacity: Some(true),
    };
    Overview {
        ipam: IpamView {
            kind: "eni",
            mode: Some(XSS_ATTR.into()),
            prefix_delegation: false,
            explanation: XSS_STYLE.into(),
        },
        node_groups: vec![NodeGroup {
            kind: "Nodegroup",
            name: XSS_STYLE.into(),
            instance_types: vec![XSS_ATTR.into()],
            node_count: 1,
            pod_ips_used: 12,
            ip_capacity: Some(10),
            nodes_without_ip_capacity: 0,
            nodes_over_ip_capacity: 1,
            nodes: vec![node],
            nodes_not_shown: 0,
        }],
        nodes_total: 1,
        versions: Versions {
            kubernetes: Some(XSS_NAME.into()),
            cilium: Some(XSS_ATTR.into()),
            cilium_images: vec![XSS_STYLE.into()],
            kubelets: vec![Count {
                value: XSS_UNICODE.into(),
                nodes: 1,
            }],
            kernels: vec![],
            os_images: vec![],
            node_group_amis: vec![],
            eks_support: None,
            checks: vec![VersionCheck {
                subject: "Cilium patch",
                running: XSS_NAME.into(),
                knowledge: XSS_ATTR.into(),
                verdict: Verdict::Warning,
                detail: XSS_STYLE.into(),
            }],
        },
        sources: vec![SourceStatus {
            name: XSS_ATTR.into(),
            stale: true,
            last_success: Some(XSS_NAME.into()),
            error: Some(format!("{XSS_STYLE}</script>")),
        }],
    }
}

#[test]
fn page_escapes_hostile_overview_sources_and_gaps() {
    let mut report = sample();
    report.collection_gaps = vec![CollectionGap {
        source: "kubernetes".into(),
        call: XSS_NAME.into(),
        kind: GapKind::Denied,
        permission: XSS_ATTR.into(),
        message: XSS_STYLE.into(),
    }];
    let html = page(&report, &hostile_overview());
    for raw in [XSS_NAME, XSS_STYLE, XSS_ATTR, "<svg onload", "</script>\""] {
        assert!(!html.contains(raw), "{raw} got through");
    }
    assert_eq!(html.matches("<script").count(), 1);
    assert_eq!(html.matches("</script>").count(), 1);
    assert_eq!(html.matches("<style").count(), 1);
    assert_eq!(html.matches("</style>").count(), 1);
    assert!(html.contains("&lt;/style&gt;&lt;style&gt;body{display:none}&lt;/style&gt;"));
    assert!(html.contains("&quot;&gt;&lt;svg onload=alert(1)&gt;&#39;"));
    // Bidi overrides and NULs are shown, not obeyed; other unicode stays.
    assert!(!html.contains('\u{202E}') && !html.contains('\u{0}'));
    assert!(html.contains("n\\u{202e}ode-\u{1F600}-\\u{0}"));
    // The stale banner, the not-collected table, the chart and the versions.
    assert!(html.contains("<div class=\"banner\" role=\"alert\"><strong>Stale data.</strong>"));
    assert!(html.contains("<h2>Not collected (1)</h2>"));
    assert!(html.contains("<svg class=\"chart\""));
    assert!(html.contains("<span class=\"verdict v-warning\">warning</span>"));
    assert!(html.contains("<span class=\"badge\"><b>1</b> not collected</span>"));
}

#[test]
fn page_without_stale_sources_has_no_banner() {
    let mut o = hostile_overview();
    o.sources[0].stale = false;
    let html = page(&sample(), &o);
    assert!(!html.contains("role=\"alert\""));
    assert!(html.contains("<span class=\"verdict v-ok\">fresh</span>"));
    o.sources.clear();
    assert!(!page(&sample(), &o).contains("<h2>Sources"));
}

// ------------------------------------------------------------ Markdown

#[test]
fn markdown_keeps_cluster_text_inert() {
    let md = render(&sample(), Format::Markdown, &opts(false));
    // The hostile fix contains a ``` line, so its fence is longer.
    assert!(md.contains("````sh\nkubectl -n kube-system logs '<script>' --previous\n```\n"));
    assert!(md.contains("\\<b\\>bold\\</b\\>"));
    assert!(md.contains("\\[link\\](javascript:alert(1))"));
    assert!(md.contains("- \\- not a list \\*not bold\\* \\`tick\\`"));
    assert!(md.contains("\\\\u{1b}\\[31mOOMKilled"));
    assert!(md.contains("`Pod kube-system/<script>alert(1)</script>`"));
}

#[test]
fn markdown_parses_without_html_links_or_broken_fences() {
    use pulldown_cmark::{CodeBlockKind, Event, Options, Parser, Tag};
    let report = sample();
    let md = render(&report, Format::Markdown, &opts(false));
    let mut code_blocks = Vec::new();
    let mut in_block = false;
    for event in Parser::new_ext(&md, Options::ENABLE_TABLES) {
        match event {
            Event::Html(h) | Event::InlineHtml(h) => panic!("raw HTML got through: {h}"),
            Event::Start(Tag::Link { dest_url, .. }) => panic!("a link got through: {dest_url}"),
            Event::Start(Tag::CodeBlock(CodeBlockKind::Fenced(_))) => {
                in_block = true;
                code_blocks.push(String::new());
            }
            Event::End(_) => in_block = false,
            Event::Text(t) if in_block => code_blocks.last_mut().unwrap().push_str(&t),
            _ => {}
        }
    }
    // Each fix is one whole code block, hostile fence included.
    let fixes: Vec<String> = report
        .findings
        .iter()
        .filter(|f| !f.remediation.is_empty())
        .map(|f| format!("{}\n", f.remediation))
        .collect();
    assert_eq!(code_blocks, fixes);
}

// ------------------------------------------------------------ text

#[test]
fn text_colours_only_when_asked_and_neutralises_escapes() {
    let plain = render(&sample(), Format::Text, &opts(false));
    let colour = render(&sample(), Format::Text, &opts(true));
    assert!(!plain.contains('\u{1b}'));
    assert!(colour.contains("\u{1b}[1;97;41mCRITICAL (1)\u{1b}[0m"));
    // Cluster-supplied escapes are shown, never sent to the terminal.
    assert!(plain.contains("last state: \\u{1b}[31mOOMKilled"));
    assert!(!colour.contains("\u{1b}[31mOOMKilled"));
    assert!(plain.ends_with(
        "Summary: 1 critical, 2 high, 1 medium, 0 low, 1 info · 2 not evaluated · 1 skipped input · 1 suppressed\n"
    ));
}
