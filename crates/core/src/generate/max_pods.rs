//! The kubelet max pods that matches Cilium's ENI-mode pod-IP capacity, as
//! the exact setting of each way EKS nodes are provisioned
//! (`data/eks.json` `max_pods_settings`): an AL2023 nodeadm `NodeConfig` in
//! MIME user data, a Karpenter EC2NodeClass `spec.kubelet.maxPods`,
//! Bottlerocket `settings.kubernetes.max-pods`, eksctl `maxPodsPerNode` and
//! the terraform-aws-eks module's `cloudinit_pre_nodeadm`.

use crate::capacity::{self, Capacity, CapacityOptions, Mode};
use crate::knowledge::{InstanceType, Knowledge};

use super::GenerateError;

/// Where the setting goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Target {
    Nodeadm,
    /// Amazon Linux 2: bootstrap.sh flags.
    Al2,
    Karpenter,
    Bottlerocket,
    Eksctl,
    Terraform,
}

/// The value for a set of instance types and how each got there.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MaxPods {
    /// The value to set: the tightest type's pod IPs + host-network pods,
    /// no higher than the Kubernetes guidance EKS applies (110/250).
    pub max_pods: u32,
    /// `# ...` lines: each type's arithmetic.
    pub explanation: Vec<String>,
}

/// The max pods every one of `types` can give IPs to, under `options`
/// (Cilium ENI mode).
pub fn compute(
    types: &[&InstanceType],
    options: &CapacityOptions,
) -> Result<MaxPods, GenerateError> {
    if options.mode != Mode::CiliumEni {
        return Err(GenerateError(
            "max pods is computed for Cilium ENI mode".into(),
        ));
    }
    if types.is_empty() {
        return Err(GenerateError("give at least one --instance-type".into()));
    }
    let results: Vec<Capacity> = types
        .iter()
        .map(|it| capacity::capacity(it, options))
        .collect();
    let mut explanation = Vec::new();
    let mut value = u32::MAX;
    for c in &results {
        let mut v = c.max_pods;
        let mut line = format!(
            "{}: {}",
            c.instance_type,
            c.formula.replace("; ", "; then ")
        );
        if let Some(cap) = c.max_pods_cap.filter(|cap| v > *cap) {
            line.push_str(&format!(
                "; capped at {cap} (Kubernetes guidance as EKS applies it for {} vCPUs)",
                c.vcpus.unwrap_or_default()
            ));
            v = cap;
        }
        explanation.push(line);
        value = value.min(v);
    }
    if value == 0 {
        return Err(GenerateError(
            "no pod IP fits on the tightest instance type with these settings: choose another type or first-interface-index"
                .into(),
        ));
    }
    if results.len() > 1 {
        explanation.push(format!(
            "one value for {} types: the tightest one's, {value}",
            results.len()
        ));
    }
    Ok(MaxPods {
        max_pods: value,
        explanation,
    })
}

fn nodeconfig(max_pods: u32, indent: &str) -> String {
    [
        "---",
        "apiVersion: node.eks.aws/v1alpha1",
        "kind: NodeConfig",
        "spec:",
        "  kubelet:",
        "    config:",
        &format!("      maxPods: {max_pods}"),
    ]
    .iter()
    .map(|l| format!("{indent}{l}\n"))
    .collect()
}

impl Target {
    /// Its entry in `data/eks.json` `max_pods_settings`.
    pub fn knowledge_key(self) -> &'static str {
        match self {
            Target::Nodeadm => "nodeadm",
            Target::Al2 => "al2_bootstrap",
            Target::Karpenter => "karpenter",
            Target::Bottlerocket => "bottlerocket",
            Target::Eksctl => "eksctl",
            Target::Terraform => "terraform_aws_eks",
        }
    }
}

/// The snippet for `target`; `name` names the node group / EC2NodeClass.
pub fn render(
    knowledge: &Knowledge,
    target: Target,
    m: &MaxPods,
    types: &[&str],
    name: &str,
) -> String {
    let v = m.max_pods;
    let setting = knowledge
        .max_pods_settings
        .get(target.knowledge_key())
        .map(|s| format!("# Setting: {} (source: {})\n", s.setting, s.source))
        .unwrap_or_default();
    let comments = |prefix: &str| -> String {
        let mut out: String = m
            .explanation
            .iter()
            .map(|l| format!("{prefix} {l}\n"))
            .collect();
        out.push_str(&setting);
        out
    };
    match target {
        Target::Nodeadm => {
            let mut out = String::from(
                "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=\"BOUNDARY\"\n\n--BOUNDARY\nContent-Type: application/node.eks.aws\n\n",
            );
            out.push_str(
                "# AL2023 launch template user data (nodeadm); maxPods overrides maxPodsExpression.\n",
            );
            out.push_str(&comments("#"));
            out.push_str(&nodeconfig(v, ""));
            out.push_str("\n--BOUNDARY--\n");
            out
        }
        Target::Al2 => {
            let mut out = String::from(
                "#!/bin/bash\n# Amazon Linux 2 launch template user data: bootstrap.sh with the kubelet's max pods.\n",
            );
            out.push_str(&comments("#"));
            out.push_str(&format!(
                "/etc/eks/bootstrap.sh CLUSTER_NAME --use-max-pods false --kubelet-extra-args '--max-pods={v}'\n"
            ));
            out
        }
        Target::Karpenter => {
            let mut out = String::from(
                "# Karpenter v1: the EC2NodeClass's kubelet settings (merge into the existing object).\n",
            );
            out.push_str(&comments("#"));
            out.push_str(&format!(
                "# kubectl patch ec2nodeclass {name} --type merge -p '{{\"spec\":{{\"kubelet\":{{\"maxPods\":{v}}}}}}}'\n"
            ));
            out.push_str(&format!(
                "apiVersion: karpenter.k8s.aws/v1\nkind: EC2NodeClass\nmetadata:\n  name: {name}\nspec:\n  kubelet:\n    maxPods: {v}\n"
            ));
            out
        }
        Target::Bottlerocket => {
            let mut out = String::from("# Bottlerocket user data (TOML).\n");
            out.push_str(&comments("#"));
            out.push_str(&format!("[settings.kubernetes]\nmax-pods = {v}\n"));
            out
        }
        Target::Eksctl => {
            let mut out = String::from("# eksctl ClusterConfig (eksctl.io/v1alpha5).\n");
            out.push_str(&comments("#"));
            out.push_str(&format!("managedNodeGroups:\n  - name: {name}\n"));
            if let [one] = types {
                out.push_str(&format!("    instanceType: {one}\n"));
            } else {
                out.push_str("    instanceTypes:\n");
                for t in types {
                    out.push_str(&format!("      - {t}\n"));
                }
            }
            out.push_str(&format!("    maxPodsPerNode: {v}\n"));
            out
        }
        Target::Terraform => {
            let mut out = String::from(
                "# terraform-aws-modules/eks/aws: an EKS managed node group (AL2023), the NodeConfig prepended to EKS's user data.\n",
            );
            out.push_str(&comments("#"));
            let list: Vec<String> = types.iter().map(|t| format!("\"{t}\"")).collect();
            out.push_str(&format!(
                "eks_managed_node_groups = {{\n  {name} = {{\n    ami_type       = \"AL2023_x86_64_STANDARD\"\n    instance_types = [{}]\n    cloudinit_pre_nodeadm = [\n      {{\n        content_type = \"application/node.eks.aws\"\n        content      = <<-EOT\n",
                list.join(", ")
            ));
            out.push_str(&nodeconfig(v, "          "));
            out.push_str("        EOT\n      }\n    ]\n  }\n}\n");
            out
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::userdata;

    fn options(k: &'static Knowledge, fii: u32) -> CapacityOptions {
        let mut o = CapacityOptions::new(Mode::CiliumEni);
        o.first_interface_index = Some(fii);
        o.reserved = capacity::reserved_ips(k.newest_cilium(), |_| None);
        o
    }

    #[test]
    fn every_target_reads_back_as_the_value() {
        let k = Knowledge::embedded();
        let m5 = k.instance("m5.large").unwrap();
        let m = compute(&[m5], &options(k, 1)).unwrap();
        // (3 - 1) × 9 = 18 pool IPs - router - health = 16, + 2 host-network pods.
        assert_eq!(m.max_pods, 18);
        // The user-data targets parse back to the value with the project's own reader.
        let nodeadm = render(k, Target::Nodeadm, &m, &["m5.large"], "ng");
        assert_eq!(userdata::parse(&nodeadm).max_pods.unwrap().value, 18);
        let br = render(k, Target::Bottlerocket, &m, &["m5.large"], "ng");
        assert_eq!(userdata::parse(&br).max_pods.unwrap().value, 18);
        let karpenter = render(k, Target::Karpenter, &m, &["m5.large"], "default");
        assert!(
            karpenter.contains("  kubelet:\n    maxPods: 18\n"),
            "{karpenter}"
        );
        let eksctl = render(k, Target::Eksctl, &m, &["m5.large"], "ng");
        assert!(eksctl.contains("    instanceType: m5.large\n    maxPodsPerNode: 18\n"));
        let tf = render(k, Target::Terraform, &m, &["m5.large"], "ng");
        assert!(tf.contains("                maxPods: 18\n"), "{tf}");
    }

    #[test]
    fn tightest_type_and_guidance_cap() {
        let k = Knowledge::embedded();
        let small = k.instance("m5.large").unwrap();
        let big = k.instance("m5.24xlarge").unwrap();
        let m = compute(&[big, small], &options(k, 0)).unwrap();
        // m5.large: 3 × 9 - 2 + 2 = 27.
        assert_eq!(m.max_pods, 27);
        assert!(m.explanation.last().unwrap().contains("tightest"));
        let mut pd = options(k, 0);
        pd.prefix_delegation = true;
        let m = compute(&[big], &pd).unwrap();
        assert_eq!(m.max_pods, 250, "{:?}", m.explanation);
        assert!(compute(&[], &pd).is_err());
    }
}
