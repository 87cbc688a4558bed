//! What a kubeconfig says about the EKS cluster behind a context, so that
//! `--cluster` and `--region` default to it, and whether there is a context
//! at all (then `check` without paths reads the cluster live).
//! `aws eks update-kubeconfig` names the context and the cluster entry by
//! the cluster ARN and runs `aws eks get-token --cluster-name NAME --region
//! R`; `eksctl` runs `aws-iam-authenticator token -i NAME` or `aws eks
//! get-token`; both shapes are read.

use kube::config::Kubeconfig;

use crate::kube::KubeOptions;

/// The EKS cluster a kubeconfig context points at.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EksCluster {
    pub name: String,
    pub region: Option<String>,
}

/// The kubeconfig `options` name (`--kubeconfig`, else `KUBECONFIG` or
/// `~/.kube/config`), if one can be read.
fn read(options: &KubeOptions) -> Option<Kubeconfig> {
    match &options.kubeconfig {
        Some(path) => Kubeconfig::read_from(path).ok(),
        None => Kubeconfig::read().ok(),
    }
}

/// The context `options` select (`--context`, else the current one), when a
/// kubeconfig defines it.
pub fn selected_context(options: &KubeOptions) -> Option<String> {
    let config = read(options)?;
    let name = options
        .context
        .clone()
        .or_else(|| config.current_context.clone())?;
    config
        .contexts
        .iter()
        .any(|c| c.name == name)
        .then_some(name)
}

/// The EKS cluster behind the selected context, if the kubeconfig tells.
pub fn eks_cluster(options: &KubeOptions) -> Option<EksCluster> {
    let config = read(options)?;
    eks_cluster_of(&config, options.context.as_deref())
}

fn eks_cluster_of(config: &Kubeconfig, context: Option<&str>) -> Option<EksCluster> {
    let name = context.or(config.current_context.as_deref())?;
    let entry = config.contexts.iter().find(|c| c.name == name)?;
    let context = entry.context.as_ref();
    let from_exec = context
        .and_then(|c| c.user.as_deref())
        .and_then(|user| config.auth_infos.iter().find(|a| a.name == user))
        .and_then(|a| a.auth_info.as_ref()?.exec.as_ref())
        .and_then(|exec| {
            let mut cluster = from_token_args(exec.args.as_deref()?)?;
            // eksctl puts the region in the command's environment.
            cluster.region = cluster.region.or_else(|| {
                exec.env.iter().flatten().find_map(|var| {
                    let name = var.get("name")?;
                    (name == "AWS_REGION" || name == "AWS_DEFAULT_REGION")
                        .then(|| var.get("value").cloned())
                        .flatten()
                })
            });
            Some(cluster)
        });
    let from_arn = || {
        let cluster = context.map(|c| c.cluster.as_str()).unwrap_or_default();
        from_arn(cluster).or_else(|| from_arn(name))
    };
    match (from_exec, from_arn()) {
        // The exec command names the cluster; an ARN may still give the region.
        (Some(exec), arn) => Some(EksCluster {
            region: exec.region.or(arn.and_then(|a| a.region)),
            name: exec.name,
        }),
        (None, arn) => arn,
    }
}

/// `arn:aws:eks:REGION:ACCOUNT:cluster/NAME` (any partition).
fn from_arn(arn: &str) -> Option<EksCluster> {
    let mut parts = arn.splitn(6, ':');
    let (Some("arn"), Some(_partition), Some("eks"), Some(region), Some(_account), Some(rest)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        return None;
    };
    let name = rest.strip_prefix("cluster/")?;
    (!name.is_empty() && !region.is_empty()).then(|| EksCluster {
        name: name.to_string(),
        region: Some(region.to_string()),
    })
}

/// `--cluster-name NAME` / `-i NAME` / `--cluster-id NAME` and `--region R`
/// of `aws eks get-token` or `aws-iam-authenticator token`.
fn from_token_args(args: &[String]) -> Option<EksCluster> {
    let value_of = |flags: &[&str]| {
        args.iter().enumerate().find_map(|(i, arg)| {
            flags.iter().find_map(|flag| {
                if arg == flag {
                    args.get(i + 1).cloned()
                } else {
                    arg.strip_prefix(&format!("{flag}=")).map(str::to_string)
                }
            })
        })
    };
    let name = value_of(&["--cluster-name", "--cluster-id", "-i"])?;
    Some(EksCluster {
        name,
        region: value_of(&["--region"]),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config(yaml: &str) -> Kubeconfig {
        Kubeconfig::from_yaml(yaml).expect("kubeconfig")
    }

    #[test]
    fn aws_eks_update_kubeconfig_names_the_cluster_by_arn_and_token_args() {
        // As `aws eks update-kubeconfig --name prod --region eu-west-1` writes it.
        let k = config(
            r#"
apiVersion: v1
kind: Config
clusters:
- cluster: {server: "https://ABC.gr7.eu-west-1.eks.amazonaws.com"}
  name: arn:aws:eks:eu-west-1:111122223333:cluster/prod
contexts:
- context:
    cluster: arn:aws:eks:eu-west-1:111122223333:cluster/prod
    user: arn:aws:eks:eu-west-1:111122223333:cluster/prod
  name: arn:aws:eks:eu-west-1:111122223333:cluster/prod
current-context: arn:aws:eks:eu-west-1:111122223333:cluster/prod
users:
- name: arn:aws:eks:eu-west-1:111122223333:cluster/prod
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws
      args: ["--region", "eu-west-1", "eks", "get-token", "--cluster-name", "prod", "--output", "json"]
"#,
        );
        assert_eq!(
            eks_cluster_of(&k, None),
            Some(EksCluster {
                name: "prod".into(),
                region: Some("eu-west-1".into())
            })
        );
    }

    #[test]
    fn eksctl_contexts_use_the_authenticator_args() {
        let k = config(
            r#"
apiVersion: v1
kind: Config
clusters:
- cluster: {server: "https://x.eks.amazonaws.com"}
  name: staging.us-east-2.eksctl.io
contexts:
- context: {cluster: staging.us-east-2.eksctl.io, user: me@staging.us-east-2.eksctl.io}
  name: me@staging.us-east-2.eksctl.io
current-context: me@staging.us-east-2.eksctl.io
users:
- name: me@staging.us-east-2.eksctl.io
  user:
    exec:
      apiVersion: client.authentication.k8s.io/v1beta1
      command: aws-iam-authenticator
      args: ["token", "-i", "staging"]
      env: [{name: AWS_STS_REGIONAL_ENDPOINTS, value: regional}, {name: AWS_DEFAULT_REGION, value: us-east-2}]
"#,
        );
        assert_eq!(
            eks_cluster_of(&k, None),
            Some(EksCluster {
                name: "staging".into(),
                region: Some("us-east-2".into())
            })
        );
    }

    #[test]
    fn other_clusters_and_unknown_contexts_tell_nothing() {
        let k = config(
            r#"
apiVersion: v1
kind: Config
clusters: [{cluster: {server: "https://127.0.0.1:6443"}, name: kind-dev}]
contexts: [{context: {cluster: kind-dev, user: kind-dev}, name: kind-dev}]
current-context: kind-dev
users: [{name: kind-dev, user: {token: redacted}}]
"#,
        );
        assert_eq!(eks_cluster_of(&k, None), None);
        assert_eq!(eks_cluster_of(&k, Some("missing")), None);
        assert_eq!(from_arn("arn:aws:eks:us-east-1:1:nodegroup/x/y"), None);
        assert_eq!(from_arn("arn:aws:eks::1:cluster/x"), None);
    }
}
