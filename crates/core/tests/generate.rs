//! Snapshots of representative generated artifacts. After an intended
//! change: `INSTA_UPDATE=always cargo test -p doctor-core --test generate`,
//! review the .snap files, commit them.

use doctor_core::generate::alerts::{alert_rules, AlertOptions, Format};
use doctor_core::generate::aws_node::disable_aws_node;
use doctor_core::generate::helm_values::{helm_values, ApiServer, HelmOptions, Mode};
use doctor_core::generate::iam_policy::{operator_policy, FeatureChoice};
use doctor_core::generate::trust_policy::{self, Binding, ServiceAccount};
use doctor_core::knowledge::Knowledge;
use doctor_core::version::Minor;

const ISSUER: &str = "https://oidc.eks.us-west-2.amazonaws.com/id/EXAMPLED539D4633E53DE1B71EXAMPLE";

fn k() -> &'static Knowledge {
    Knowledge::embedded()
}

fn m(text: &str) -> Minor {
    text.parse().unwrap()
}

fn json(value: &impl serde::Serialize) -> String {
    serde_json::to_string_pretty(value).unwrap()
}

fn operator_sa() -> ServiceAccount {
    ServiceAccount::new("kube-system", "cilium-operator").unwrap()
}

#[test]
fn iam_policies() {
    let default = operator_policy(k(), m("1.20"), &FeatureChoice::default()).unwrap();
    insta::assert_snapshot!("iam_policy_1.20_default", json(&default));
    let mut all = FeatureChoice::default();
    for f in ["release-excess-ips", "instance-tags-filter"] {
        all.enable.insert(f.to_string());
    }
    all.disable.insert("eni-gc".to_string());
    let custom = operator_policy(k(), m("1.14"), &all).unwrap();
    insta::assert_snapshot!("iam_policy_1.14_excess_ips_tags_no_gc", json(&custom));
}

#[test]
fn trust_policies_and_commands() {
    let irsa = trust_policy::irsa(k(), ISSUER, "111122223333", "aws", &operator_sa()).unwrap();
    insta::assert_snapshot!("trust_policy_irsa", json(&irsa));
    insta::assert_snapshot!(
        "trust_policy_pod_identity",
        json(&trust_policy::pod_identity(k()))
    );
    let irsa_binding = Binding::Irsa {
        account: "111122223333".into(),
        partition: "aws".into(),
    };
    let commands =
        trust_policy::setup_commands(k(), "cilium-operator", &operator_sa(), &irsa_binding);
    insta::assert_snapshot!("trust_commands_irsa", commands.unwrap());
    let pod = Binding::PodIdentity {
        cluster_name: "prod".into(),
    };
    let commands = trust_policy::setup_commands(k(), "cilium-operator", &operator_sa(), &pod);
    insta::assert_snapshot!("trust_commands_pod_identity", commands.unwrap());
}

#[test]
fn helm_values_per_mode_and_minor() {
    let mut eni = HelmOptions::new(Mode::Eni);
    eni.prefix_delegation = true;
    eni.kube_proxy_replacement = Some(ApiServer {
        host: "ABCDEF0123456789.gr7.us-west-2.eks.amazonaws.com".into(),
        port: 443,
    });
    eni.cluster_name = Some("prod".into());
    eni.operator_role_arn = Some("arn:aws:iam::111122223333:role/cilium-operator".into());
    let text = helm_values(k(), m("1.13"), &eni).unwrap().to_yaml();
    insta::assert_snapshot!("helm_values_1.13_eni_kpr_pd", text);
    let text = helm_values(k(), m("1.16"), &eni).unwrap().to_yaml();
    insta::assert_snapshot!("helm_values_1.16_eni_kpr_pd", text);
    let text = helm_values(k(), m("1.20"), &HelmOptions::new(Mode::Eni))
        .unwrap()
        .to_yaml();
    insta::assert_snapshot!("helm_values_1.20_eni", text);
    let mut overlay = HelmOptions::new(Mode::Overlay);
    overlay.vpc_cidrs = vec!["10.0.0.0/16".parse().unwrap()];
    overlay.service_cidr = Some("172.20.0.0/16".parse().unwrap());
    let text = helm_values(k(), m("1.16"), &overlay).unwrap().to_yaml();
    insta::assert_snapshot!("helm_values_1.16_overlay", text);
}

#[test]
fn alerting_rules() {
    let mut options = AlertOptions {
        format: Format::Rules,
        namespace: "monitoring".into(),
    };
    let old = alert_rules(k(), m("1.12"), "kube-system").unwrap();
    insta::assert_snapshot!("alerts_1.12_rules", old.to_yaml(&options).unwrap());
    options.format = Format::PrometheusRule;
    let new = alert_rules(k(), m("1.20"), "kube-system").unwrap();
    insta::assert_snapshot!(
        "alerts_1.20_prometheus_rule",
        new.to_yaml(&options).unwrap()
    );
}

#[test]
fn aws_node_patch() {
    insta::assert_snapshot!(
        "disable_aws_node",
        disable_aws_node(k(), Some("prod")).unwrap()
    );
}
