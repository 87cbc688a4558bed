#!/usr/bin/env bash
# Dump what eks-cilium-doctor reads from a cluster and its AWS account into a
# directory, using only read-only kubectl / aws / helm calls. Secrets are
# never read. Then run:  eks-cilium-doctor check DIR
#
# Usage: scripts/dump.sh CLUSTER_NAME [OUT_DIR]
#   Environment: AWS_PROFILE / AWS_REGION as usual; KUBECONFIG / current context.
# Every call that fails (missing CRD, missing permission) is reported and skipped:
# the doctor lists the rules it could not evaluate and what was missing.
set -uo pipefail

cluster="${1:?usage: $0 CLUSTER_NAME [OUT_DIR]}"
out="${2:-eks-cilium-dump-$(date +%Y%m%d-%H%M%S)}"
mkdir -p "$out"
failed=0

run() { # run FILE CMD... : write CMD's stdout to OUT/FILE, atomically
  local file="$out/$1"; shift
  if "$@" >"$file.tmp" 2>"$file.err"; then
    mv "$file.tmp" "$file"; rm -f "$file.err"
  else
    echo "skipped $1: $(head -c 300 "$file.err")" >&2
    rm -f "$file.tmp" "$file.err"; failed=$((failed + 1))
  fi
}

# Kubernetes (read-only: get/list).
run version.json kubectl version -o json
for kind in nodes pods daemonsets deployments statefulsets replicasets serviceaccounts services events; do
  run "k8s-$kind.json" kubectl get "$kind" -A -o json
done
run k8s-cilium-config.json kubectl -n kube-system get configmap cilium-config -o json
run k8s-webhooks.json kubectl get validatingwebhookconfigurations,mutatingwebhookconfigurations -o json
run k8s-rbac-aws-node.json kubectl get clusterroles,clusterrolebindings -o json
run k8s-crds.json kubectl get customresourcedefinitions -o json
run k8s-networkpolicies.json kubectl get networkpolicies -A -o json
for kind in ciliumnodes ciliumendpoints ciliumnetworkpolicies ciliumclusterwidenetworkpolicies \
            securitygrouppolicies nodepools.karpenter.sh ec2nodeclasses.karpenter.k8s.aws; do
  run "k8s-$kind.json" kubectl get "$kind" -A -o json
done

# Cilium Helm values (user-supplied values only).
run helm-values.yaml helm get values cilium -n kube-system -o yaml

# AWS (read-only: Describe/List/Get).
run eks-cluster.json aws eks describe-cluster --name "$cluster" --output json
run eks-addons.json aws eks list-addons --cluster-name "$cluster" --output json
for addon in vpc-cni kube-proxy; do
  run "eks-addon-$addon.json" aws eks describe-addon --cluster-name "$cluster" --addon-name "$addon" --output json
done
for ng in $(aws eks list-nodegroups --cluster-name "$cluster" --query 'nodegroups[]' --output text 2>/dev/null); do
  run "eks-nodegroup-$ng.json" aws eks describe-nodegroup --cluster-name "$cluster" --nodegroup-name "$ng" --output json
  # The node group's own launch template version: the max pods its new nodes get.
  lt=$(aws eks describe-nodegroup --cluster-name "$cluster" --nodegroup-name "$ng" \
    --query 'nodegroup.launchTemplate.[id,version]' --output text 2>/dev/null)
  if [ -n "$lt" ] && [ "$lt" != "None" ] && [ "${lt%%	*}" != "None" ]; then
    run "ec2-launch-template-$ng.json" aws ec2 describe-launch-template-versions \
      --launch-template-id "${lt%%	*}" --versions "${lt##*	}" --output json
  fi
done
# EKS cluster insights (VER013): every insight, then the details of each one that is not PASSING.
run eks-insights.json aws eks list-insights --cluster-name "$cluster" --output json
for id in $(aws eks list-insights --cluster-name "$cluster" --query "insights[?insightStatus.status!='PASSING'].id" --output text 2>/dev/null); do
  run "eks-insight-$id.json" aws eks describe-insight --cluster-name "$cluster" --id "$id" --output json
done
vpc=$(aws eks describe-cluster --name "$cluster" --query 'cluster.resourcesVpcConfig.vpcId' --output text 2>/dev/null)
if [ -n "$vpc" ] && [ "$vpc" != "None" ]; then
  filter="Name=vpc-id,Values=$vpc"
  run ec2-subnets.json aws ec2 describe-subnets --filters "$filter" --output json
  run ec2-vpcs.json aws ec2 describe-vpcs --vpc-ids "$vpc" --output json
  run ec2-route-tables.json aws ec2 describe-route-tables --filters "$filter" --output json
  run ec2-security-groups.json aws ec2 describe-security-groups --filters "$filter" --output json
  run ec2-instances.json aws ec2 describe-instances --filters "$filter" --output json
  run ec2-vpc-peering.json aws ec2 describe-vpc-peering-connections --output json
fi
types=$(kubectl get nodes -o jsonpath='{.items[*].metadata.labels.node\.kubernetes\.io/instance-type}' 2>/dev/null | tr ' ' '\n' | sort -u | tr '\n' ' ')
if [ -n "$types" ]; then
  # shellcheck disable=SC2086
  run ec2-instance-types.json aws ec2 describe-instance-types --instance-types $types --output json
fi
run iam-authorization-details.json aws iam get-account-authorization-details --filter Role LocalManagedPolicy AWSManagedPolicy --output json
run iam-oidc-providers.json aws iam list-open-id-connect-providers --output json

echo "wrote $out ($failed call(s) skipped)" >&2
echo "next: eks-cilium-doctor check $out" >&2
