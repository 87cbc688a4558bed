"""Create an EKS cluster with Cilium-relevant AWS state in a moto server:
VPC, subnets, security group, node IAM role (with the AWS-managed
AmazonEKS_CNI_Policy still attached, and an inline policy), the
cilium-operator's IRSA role, the cluster's OIDC provider, the cluster and a
managed node group. Usage: moto_setup.py ENDPOINT_URL. Prints the ids."""

import json
import sys

import boto3

endpoint = sys.argv[1]
region = "eu-west-1"
kw = dict(endpoint_url=endpoint, region_name=region,
          aws_access_key_id="testing", aws_secret_access_key="testing")
ec2 = boto3.client("ec2", **kw)
iam = boto3.client("iam", **kw)
eks = boto3.client("eks", **kw)

vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
subnets = [
    ec2.create_subnet(VpcId=vpc, CidrBlock=cidr, AvailabilityZone=az)["Subnet"]["SubnetId"]
    for cidr, az in [("10.0.0.0/19", "eu-west-1a"), ("10.0.32.0/19", "eu-west-1b")]
]
sg = ec2.create_security_group(GroupName="shop-prod-cluster", Description="cluster", VpcId=vpc)["GroupId"]
ec2.authorize_security_group_ingress(
    GroupId=sg, IpPermissions=[{"IpProtocol": "tcp", "FromPort": 443, "ToPort": 443,
                                "IpRanges": [{"CidrIp": "10.0.0.0/16"}]}])

# One node instance and an ENI Cilium's operator left detached (leaked).
image = ec2.describe_images(Owners=["amazon"])["Images"][0]["ImageId"]
instance = ec2.run_instances(ImageId=image, MinCount=1, MaxCount=1, InstanceType="m5.large",
                             SubnetId=subnets[0], SecurityGroupIds=[sg])["Instances"][0]["InstanceId"]
ec2.create_network_interface(
    SubnetId=subnets[0], Description="Cilium-CNI (i-0deadbeef00000001)", Groups=[sg],
    TagSpecifications=[{"ResourceType": "network-interface", "Tags": [
        {"Key": "io.cilium/cilium-managed", "Value": "true"},
        {"Key": "io.cilium/cluster-name", "Value": "shop-prod"}]}])

ec2_trust = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
node_role = iam.create_role(RoleName="shop-prod-node",
                            AssumeRolePolicyDocument=json.dumps(ec2_trust))["Role"]["Arn"]
for policy in ["AmazonEKSWorkerNodePolicy", "AmazonEKS_CNI_Policy", "AmazonEC2ContainerRegistryReadOnly"]:
    iam.attach_role_policy(RoleName="shop-prod-node", PolicyArn=f"arn:aws:iam::aws:policy/{policy}")
iam.put_role_policy(RoleName="shop-prod-node", PolicyName="ssm-read", PolicyDocument=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ssm:GetParameter", "Resource": "*"}]}))

cluster_role = iam.create_role(RoleName="shop-prod-cluster", AssumeRolePolicyDocument=json.dumps({
    "Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}))["Role"]["Arn"]

cluster = eks.create_cluster(
    name="shop-prod", version="1.31", roleArn=cluster_role,
    resourcesVpcConfig={"subnetIds": subnets, "securityGroupIds": [sg]},
    tags={"team": "platform"})["cluster"]
issuer = cluster["identity"]["oidc"]["issuer"]
host = issuer.split("://", 1)[1]
oidc = iam.create_open_id_connect_provider(
    Url=issuer, ClientIDList=["sts.amazonaws.com"], ThumbprintList=["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"])
account = node_role.split(":")[4]

# The operator's IRSA role: trust is scoped to the provider but not to the
# service account (no `:sub` condition), a classic over-broad trust.
operator_trust = {"Version": "2012-10-17", "Statement": [{
    "Effect": "Allow",
    "Principal": {"Federated": oidc["OpenIDConnectProviderArn"]},
    "Action": "sts:AssumeRoleWithWebIdentity",
    "Condition": {"StringEquals": {f"{host}:aud": "sts.amazonaws.com"}}}]}
operator_role = iam.create_role(RoleName="shop-prod-cilium-operator",
                                AssumeRolePolicyDocument=json.dumps(operator_trust))["Role"]["Arn"]
iam.put_role_policy(RoleName="shop-prod-cilium-operator", PolicyName="cilium-operator", PolicyDocument=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Resource": "*", "Action": [
        "ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets", "ec2:DescribeVpcs",
        "ec2:DescribeSecurityGroups", "ec2:DescribeInstanceTypes", "ec2:CreateNetworkInterface",
        "ec2:AttachNetworkInterface", "ec2:ModifyNetworkInterfaceAttribute",
        "ec2:AssignPrivateIpAddresses", "ec2:CreateTags"]}]}))

eks.create_nodegroup(
    clusterName="shop-prod", nodegroupName="general", nodeRole=node_role, subnets=subnets,
    instanceTypes=["m5.large"], amiType="AL2023_x86_64_STANDARD", version="1.31",
    releaseVersion="1.31.3-20250103",
    scalingConfig={"minSize": 2, "maxSize": 6, "desiredSize": 3},
    labels={"role": "general"})

print(json.dumps({"vpc": vpc, "subnets": subnets, "security_group": sg, "node_role": node_role,
                  "operator_role": operator_role, "oidc": oidc["OpenIDConnectProviderArn"],
                  "account": account}))
