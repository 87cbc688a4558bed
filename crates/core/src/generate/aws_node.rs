//! Keeping the VPC CNI's aws-node DaemonSet off every node, as Cilium's EKS
//! guide does it: a nodeSelector no node matches (`cilium-eks.json`). Then
//! the managed `vpc-cni` add-on, whose updates can undo the patch
//! (`aws/addons.json`: OVERWRITE "overwrites changed values back to the EKS
//! default", PRESERVE keeps them).

use super::yaml::{self, Yaml};
use super::{trust_policy, GenerateError, DEFAULT_NAMESPACE};
use crate::knowledge::Knowledge;

/// The steps as text: the patch command, the same patch as YAML, and the
/// add-on choices for `cluster_name` (a shell variable when absent).
pub fn disable_aws_node(
    knowledge: &Knowledge,
    cluster_name: Option<&str>,
) -> Result<String, GenerateError> {
    if let Some(name) = cluster_name {
        trust_policy::check_cluster_name(name)?;
    }
    let patch = &knowledge.cilium_eks.aws_node_patch;
    let cluster = cluster_name.unwrap_or("\"$CLUSTER_NAME\"");
    let selector = Yaml::map([(
        patch.node_selector_key.clone(),
        Yaml::str(&patch.node_selector_value),
    )]);
    let patch_yaml = yaml::document(
        &[],
        &Yaml::map([(
            "spec",
            Yaml::map([(
                "template",
                Yaml::map([("spec", Yaml::map([("nodeSelector", selector)]))]),
            )]),
        )]),
    );
    let config = format!(
        "{{\"nodeSelector\":{{\"{}\":\"{}\"}}}}",
        patch.node_selector_key, patch.node_selector_value
    );
    let key = &patch.node_selector_key;
    let value = &patch.node_selector_value;
    Ok(format!(
        "# Keep aws-node (the VPC CNI) off every node, as Cilium's EKS install guide does (CNI001).\n\
         # aws-node stays installed but runs only on nodes labelled {key}={value}:\n\
         # no node is, and the DaemonSet stays as the rollback path (CNI005).\n\
         {command}\n\
         \n\
         # The same patch as a file, for GitOps or review:\n\
         cat > aws-node-patch.yaml <<'EOF'\n\
         {patch_yaml}\
         EOF\n\
         # kubectl -n {DEFAULT_NAMESPACE} patch daemonset aws-node --type=strategic --patch-file aws-node-patch.yaml\n\
         \n\
         # If the EKS managed add-on vpc-cni is installed\n\
         # (aws eks describe-addon --cluster-name {cluster} --addon-name vpc-cni), its updates can undo\n\
         # the patch (CNI002): with --resolve-conflicts OVERWRITE EKS puts changed values back to its\n\
         # defaults, with PRESERVE it keeps them. Choose one:\n\
         #\n\
         # a) Keep the add-on and update it only with PRESERVE:\n\
         #    aws eks update-addon --cluster-name {cluster} --addon-name vpc-cni --resolve-conflicts PRESERVE\n\
         #    If the add-on version's configuration schema has a nodeSelector (see\n\
         #    aws eks describe-addon-configuration --addon-name vpc-cni --addon-version VERSION),\n\
         #    make the selector part of the add-on's own configuration instead:\n\
         #    aws eks update-addon --cluster-name {cluster} --addon-name vpc-cni --resolve-conflicts PRESERVE --configuration-values '{config}'\n\
         #\n\
         # b) Stop EKS managing it, keeping aws-node on the cluster: no add-on update can re-patch it,\n\
         #    and from then on you update or remove the VPC CNI yourself:\n\
         #    aws eks delete-addon --cluster-name {cluster} --addon-name vpc-cni --preserve\n",
        command = patch.command,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_patch_is_the_guide_command_and_its_yaml() {
        let k = Knowledge::embedded();
        let text = disable_aws_node(k, Some("prod")).unwrap();
        assert!(text.contains(&k.cilium_eks.aws_node_patch.command));
        assert!(text.contains(
            "spec:\n  template:\n    spec:\n      nodeSelector:\n        io.cilium/aws-node-enabled: 'true'\n"
        ));
        assert!(text.contains("aws eks update-addon --cluster-name prod --addon-name vpc-cni --resolve-conflicts PRESERVE\n"));
        assert!(text.contains(
            "aws eks delete-addon --cluster-name prod --addon-name vpc-cni --preserve\n"
        ));
        assert!(text.contains(
            "--configuration-values '{\"nodeSelector\":{\"io.cilium/aws-node-enabled\":\"true\"}}'"
        ));
        let unnamed = disable_aws_node(k, None).unwrap();
        assert!(unnamed.contains("--cluster-name \"$CLUSTER_NAME\""));
        assert!(disable_aws_node(k, Some("a; rm -rf /")).is_err());
    }
}
