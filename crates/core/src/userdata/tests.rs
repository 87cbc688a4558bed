//! User data in the shapes EKS nodes really boot from (launch templates of
//! the EKS docs, Karpenter's generated user data, public Terraform
//! templates).

use super::*;
use crate::knowledge::Hypervisor;

fn m5_large() -> InstanceType {
    InstanceType {
        name: "m5.large".into(),
        enis: 3,
        enis_all_cards: 3,
        ipv4_per_eni: 10,
        hypervisor: Hypervisor::Nitro,
        bare_metal: false,
        vcpus: Some(2),
    }
}

/// nodeadm's documented launch-template form: a MIME multipart with a
/// NodeConfig part and a shell part (amazon-eks-ami nodeadm/doc/examples.md).
const AL2023_MIME: &str = "MIME-Version: 1.0\r
Content-Type: multipart/mixed; boundary=\"//\"\r
\r
--//\r
Content-Type: application/node.eks.aws\r
\r
---\r
apiVersion: node.eks.aws/v1alpha1\r
kind: NodeConfig\r
spec:\r
  cluster:\r
    name: my-cluster\r
    apiServerEndpoint: https://example.com\r
    certificateAuthority: Y2VydGlmaWNhdGVBdXRob3JpdHk=\r
    cidr: 10.100.0.0/16\r
  kubelet:\r
    config:\r
      maxPods: 42\r
      systemReserved:\r
        cpu: 100m\r
    flags:\r
      - --node-labels \"foo=bar\"\r
\r
--//\r
Content-Type: text/x-shellscript; charset=\"us-ascii\"\r
\r
#!/bin/bash\r
echo \"I'm a shell script!\"\r
--//--\r
";

#[test]
fn al2023_mime_multipart() {
    let u = parse(AL2023_MIME);
    assert_eq!(u.format, Format::Multipart);
    let s = u.max_pods.as_ref().unwrap();
    assert_eq!(s.value, 42);
    assert_eq!(
        s.setting,
        "MIME part 1: NodeConfig spec.kubelet.config.maxPods"
    );
    assert!(u.unreadable.is_empty(), "{:?}", u.unreadable);
    let e = effective(&u, &m5_large(), Launch::SelfManaged).unwrap();
    assert_eq!(e.max_pods, 42);
}

#[test]
fn base64_as_ec2_returns_it() {
    let encoded = base64::engine::general_purpose::STANDARD.encode(AL2023_MIME);
    // The CLI prints it on one line; wrapped copies must read the same.
    let wrapped: String = encoded
        .as_bytes()
        .chunks(76)
        .map(|c| format!("{}\n", std::str::from_utf8(c).unwrap()))
        .collect();
    assert_eq!(from_base64(&encoded).unwrap(), parse(AL2023_MIME));
    assert_eq!(from_base64(&wrapped).unwrap(), parse(AL2023_MIME));
    assert!(from_base64("not base64!").is_err());
    assert!(from_base64(&base64::engine::general_purpose::STANDARD.encode([0xff, 0xfe])).is_err());
}

#[test]
fn base64_mime_parts() {
    let part = base64::engine::general_purpose::STANDARD
        .encode("apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet:\n    config:\n      maxPods: 35\n");
    let text = format!(
        "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"B\"\n\n--B\nContent-Type: application/node.eks.aws\nContent-Transfer-Encoding: base64\n\n{part}\n--B--\n"
    );
    assert_eq!(parse(&text).max_pods.unwrap().value, 35);
}

#[test]
fn max_pods_expression_and_precedence() {
    // nodeadm/doc/examples.md: reserve an ENI (custom networking).
    let expr = "MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=\"BOUNDARY\"

--BOUNDARY
Content-Type: application/node.eks.aws

---
apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  kubelet:
    maxPodsExpression: \"((default_enis - 1) * (ips_per_eni - 1)) + 2\"

--BOUNDARY--
";
    let u = parse(expr);
    assert_eq!(
        u.expression.as_ref().unwrap().value,
        "((default_enis - 1) * (ips_per_eni - 1)) + 2"
    );
    let e = effective(&u, &m5_large(), Launch::SelfManaged).unwrap();
    assert_eq!(e.max_pods, 20);
    assert!(e.how[0].contains("= 20"), "{:?}", e.how);

    // A second part sets maxPods: it wins over the expression
    // (amazon-eks-ami#2540: Karpenter's generated part did exactly this).
    let both = expr.replace(
        "--BOUNDARY--",
        "--BOUNDARY
Content-Type: application/node.eks.aws

# Karpenter Generated NodeConfig
apiVersion: node.eks.aws/v1alpha1
kind: NodeConfig
spec:
  kubelet:
    config:
      maxPods: 58
--BOUNDARY--",
    );
    let u = parse(&both);
    let e = effective(&u, &m5_large(), Launch::SelfManaged).unwrap();
    assert_eq!(e.max_pods, 58);
    assert!(e.how[1].contains("takes precedence"), "{:?}", e.how);

    // An expression this reader cannot evaluate: not known, never guessed.
    let odd = expr.replace(
        "((default_enis - 1) * (ips_per_eni - 1)) + 2",
        "math.least(max_pods, 30)",
    );
    assert!(effective(&parse(&odd), &m5_large(), Launch::SelfManaged).is_err());
}

#[test]
fn al2_bootstrap_scripts() {
    // The EKS launch-template example for AL2: --use-max-pods false plus
    // the kubelet flag.
    let al2 = "MIME-Version: 1.0
Content-Type: multipart/mixed; boundary=\"==MYBOUNDARY==\"

--==MYBOUNDARY==
Content-Type: text/x-shellscript; charset=\"us-ascii\"

#!/bin/bash
set -ex
/etc/eks/bootstrap.sh my-cluster \\
  --b64-cluster-ca $B64_CLUSTER_CA \\
  --apiserver-endpoint $API_SERVER_URL \\
  --use-max-pods false \\
  --kubelet-extra-args '--node-labels=team=a --max-pods=17'

--==MYBOUNDARY==--
";
    let u = parse(al2);
    assert!(u.use_max_pods_false);
    let s = u.max_pods.as_ref().unwrap();
    assert_eq!(s.value, 17);
    assert!(
        s.setting
            .contains("bootstrap.sh --kubelet-extra-args --max-pods (line 3)"),
        "{}",
        s.setting
    );

    // A bare script without MIME (self-managed node groups), and the
    // profile.d pattern some Terraform modules use.
    let bare = "#!/bin/bash\n/etc/eks/bootstrap.sh prod --kubelet-extra-args \"--max-pods 110\"\n";
    assert_eq!(parse(bare).format, Format::Shell);
    assert_eq!(parse(bare).max_pods.unwrap().value, 110);
    let profile = "#!/bin/bash
cat <<-EOF > /etc/profile.d/bootstrap.sh
export USE_MAX_PODS=false
export KUBELET_EXTRA_ARGS=\"--max-pods=110\"
EOF
";
    let u = parse(profile);
    assert!(u.use_max_pods_false);
    assert_eq!(u.max_pods.unwrap().value, 110);

    // Karpenter's AL2 user data without a --max-pods: not known.
    let karpenter = "#!/bin/bash
/etc/eks/bootstrap.sh 'test' --apiserver-endpoint 'https://x' --b64-cluster-ca 'ca' \\
--use-max-pods false \\
--kubelet-extra-args '--node-labels=karpenter.sh/nodepool=default'
";
    let u = parse(karpenter);
    assert!(u.use_max_pods_false && u.max_pods.is_none());
    assert!(effective(&u, &m5_large(), Launch::SelfManaged).is_err());

    // A template placeholder is recorded, not read as a number.
    let templated = "#!/bin/bash\n/etc/eks/bootstrap.sh ${cluster_name} --kubelet-extra-args '--max-pods=${max_pods}'\n";
    let u = parse(templated);
    assert!(u.max_pods.is_none());
    assert_eq!(u.unreadable.len(), 1, "{:?}", u.unreadable);
    assert!(effective(&u, &m5_large(), Launch::SelfManaged).is_err());

    // Comments and --use-max-pods are not --max-pods.
    let u = parse("#!/bin/bash\n# --max-pods=3\n/etc/eks/bootstrap.sh c --use-max-pods true\n");
    assert!(u.max_pods.is_none() && !u.use_max_pods_false && u.unreadable.is_empty());
}

#[test]
fn bottlerocket_toml() {
    // Bottlerocket settings as the EKS docs and eksctl write them.
    let br = "[settings.kubernetes]
cluster-name = \"prod\"
api-server = \"https://example.com\"
max-pods = 58 # Cilium ENI

[settings.kubernetes.node-labels]
\"team\" = \"a\"
";
    let u = parse(br);
    assert_eq!(u.format, Format::Bottlerocket);
    assert_eq!(u.max_pods.as_ref().unwrap().value, 58);
    assert_eq!(
        u.max_pods.unwrap().setting,
        "user data: settings.kubernetes.max-pods (line 4)"
    );
    // Dotted keys, and a max-pods of another table.
    let dotted = "settings.kubernetes.max-pods = 29\n[settings.other]\nmax-pods = 3\n";
    assert_eq!(parse(dotted).max_pods.unwrap().value, 29);
    let none = "[settings.kubernetes]\ncluster-name = \"prod\"\n[settings.host-containers.admin]\nuser-data = '''\nmax-pods = 1\n'''\n";
    let u = parse(none);
    assert!(u.max_pods.is_none() && u.unreadable.is_empty(), "{u:?}");
    let e = effective(
        &u,
        &m5_large(),
        Launch::ManagedNodeGroup { custom_ami: false },
    )
    .unwrap();
    assert_eq!(e.max_pods, 29);
}

#[test]
fn defaults_and_the_managed_node_group_cap() {
    let mut big = m5_large();
    big.name = "m5.4xlarge".into();
    big.enis = 8;
    big.ipv4_per_eni = 30;
    big.vcpus = Some(16);
    // 8 × 29 + 2 = 234, capped at 110 (16 vCPUs) by the MNG, not with a custom AMI.
    let empty = parse("");
    assert_eq!(empty.format, Format::Empty);
    let mng = effective(&empty, &big, Launch::ManagedNodeGroup { custom_ami: false }).unwrap();
    assert_eq!(mng.max_pods, 110);
    let custom = effective(&empty, &big, Launch::ManagedNodeGroup { custom_ami: true }).unwrap();
    assert_eq!(custom.max_pods, 234);
    assert!(custom.setting.is_none());
}

#[test]
fn hostile_and_broken_input() {
    let broken = "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec: [\n";
    let u = parse(broken);
    assert_eq!(u.format, Format::Nodeadm);
    assert!(!u.unreadable.is_empty());
    let no_parts =
        "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"X\"\n\nnothing here\n";
    assert_eq!(parse(no_parts).unreadable.len(), 1);
    let long = "#".repeat(MAX_USER_DATA + 1);
    assert!(!parse(&long).unreadable.is_empty());
    let nested = format!(
        "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec: {}{}\n",
        "[".repeat(200),
        "]".repeat(200)
    );
    assert!(!parse(&nested).unreadable.is_empty());
    // A NodeConfig with a string maxPods (a template placeholder).
    let placeholder = "apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet:\n    config:\n      maxPods: ${max_pods}\n";
    let u = parse(placeholder);
    assert!(
        u.max_pods.is_none() && u.unreadable[0].contains("${max_pods}"),
        "{u:?}"
    );
}

#[test]
fn reduced_user_data_reads_back_the_same() {
    let it = m5_large();
    let launch = Launch::ManagedNodeGroup { custom_ami: false };
    let same = |text: &str| {
        let u = parse(text);
        let r = parse(&u.reduced().unwrap());
        assert_eq!(
            effective(&u, &it, launch).map(|e| e.max_pods).ok(),
            effective(&r, &it, launch).map(|e| e.max_pods).ok(),
            "{text}"
        );
        assert_eq!(r.max_pods.map(|s| s.value), u.max_pods.map(|s| s.value));
        assert_eq!(r.use_max_pods_false, u.use_max_pods_false);
        assert_eq!(r.unreadable.is_empty(), u.unreadable.is_empty());
    };
    same(AL2023_MIME);
    same("#!/bin/bash\n/etc/eks/bootstrap.sh c --use-max-pods false --kubelet-extra-args '--max-pods=17'\n");
    same("#!/bin/bash\n/etc/eks/bootstrap.sh c --use-max-pods false\n");
    same("[settings.kubernetes]\nmax-pods = 58\n");
    same("apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet:\n    maxPodsExpression: \"max_pods < 30 ? max_pods : 30\"\n");
    same("apiVersion: node.eks.aws/v1alpha1\nkind: NodeConfig\nspec:\n  kubelet:\n    config:\n      maxPods: ${max_pods}\n");
    // Nothing of the rest survives (the CA, the endpoint, the script).
    let r = parse(AL2023_MIME).reduced().unwrap();
    assert!(
        !r.contains("certificateAuthority") && !r.contains("shell script"),
        "{r}"
    );
    assert_eq!(parse("#!/bin/bash\necho hi\n").reduced(), None);
}
