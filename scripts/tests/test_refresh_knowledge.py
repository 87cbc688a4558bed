"""Tests of scripts/refresh-knowledge.py on small git fixture trees.

Run: python3 -m unittest discover -s scripts/tests

The fixtures are real git repositories (git init, dated commits, annotated
tags, release branches) holding a few lines of each upstream file in its
upstream format: Cilium's compatibility.rst grid table and requirements.rst
bullet list, the EKS CI matrix YAML, a Helm repository index.yaml with .tgz
archives, the VPC CNI's generated Go limits map and eni-max-pods.txt, the
amazon-eks-ami CHANGELOG.md HTML package tables, and the EKS user guide's
AsciiDoc release calendar.
"""

import csv
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile
import tempfile
import textwrap
import unittest
from pathlib import Path

SCRIPT = Path(__file__).resolve().parent.parent / "refresh-knowledge.py"


# --------------------------------------------------------------------------
# git fixtures

class Repo:
    def __init__(self, path):
        self.path = Path(path)
        self.path.mkdir(parents=True)
        self.git("init", "-q", "-b", "main")

    def git(self, *args, date="2026-01-01T12:00:00+00:00"):
        env = dict(os.environ, GIT_AUTHOR_DATE=date, GIT_COMMITTER_DATE=date,
                   GIT_AUTHOR_NAME="Fixture", GIT_AUTHOR_EMAIL="fixture@example.invalid",
                   GIT_COMMITTER_NAME="Fixture", GIT_COMMITTER_EMAIL="fixture@example.invalid",
                   GIT_CONFIG_NOSYSTEM="1", HOME=str(self.path))
        out = subprocess.run(["git", "-c", "commit.gpgsign=false", "-c", "tag.gpgsign=false",
                              "-C", str(self.path), *args], env=env, capture_output=True, text=True)
        if out.returncode:
            raise RuntimeError(f"git {args}: {out.stderr}")
        return out.stdout.strip()

    def write(self, rel, content):
        path = self.path / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content)

    def commit(self, message, date):
        self.git("add", "-A")
        self.git("commit", "-q", "--allow-empty", "-m", message, date=date)
        return self.git("rev-parse", "HEAD")

    def tag(self, name, date):
        self.git("tag", "-a", name, "-m", name, date=date)
        return self.git("rev-parse", name + "^{commit}")


# --------------------------------------------------------------------------
# upstream file formats

def compatibility_rst(versions):
    cell = ", ".join(versions)
    w = max(len(cell), len("k8s Version")) + 2
    sep = "+" + "-" * w + "+---------------------------+----------------------------------+"
    return textwrap.dedent("""\
        .. only:: not (epub or latex or html)

            WARNING: You are looking at unreleased Cilium documentation.
            Please use the official rendered version released here:
            https://docs.cilium.io

        .. _k8scompatibility:

        Kubernetes Compatibility
        ========================

        Cilium is compatible with multiple Kubernetes API Groups. Some are deprecated
        or beta, and may only be available in specific versions of Kubernetes.

        All Kubernetes versions listed are e2e tested and guaranteed to be compatible
        with Cilium. Older Kubernetes versions not listed in this table do not have
        Cilium support. Newer Kubernetes versions, while not listed, will depend on the
        backward compatibility offered by Kubernetes.

        """) + "\n".join([
        sep,
        "| " + "k8s Version".ljust(w - 1) + "| k8s NetworkPolicy API     | CiliumNetworkPolicy              |",
        sep,
        "| " + "".ljust(w - 1) + "|                           | ``cilium.io/v2`` has a           |",
        "| " + cell.ljust(w - 1) + "| * `networking.k8s.io/v1`_ | :term:`CustomResourceDefinition` |",
        sep,
        "",
        "Cilium CRD schema validation",
        "============================",
        "",
        ".. include:: compatibility-table.rst",
        "",
    ])


def requirements_rst(versions):
    bullets = "\n".join(f"* {v}" for v in versions)
    return textwrap.dedent("""\
        .. only:: not (epub or latex or html)

            WARNING: You are looking at unreleased Cilium documentation.

        .. _k8s_requirements:

        ************
        Requirements
        ************

        Kubernetes Version
        ==================

        All Kubernetes versions listed are e2e tested and guaranteed to be compatible
        with this Cilium version. Older Kubernetes versions not listed here do not have
        Cilium support. Newer Kubernetes versions, while not listed, will depend on the
        backward compatibility offered by Kubernetes.

        """) + bullets + textwrap.dedent("""

        Additionally, Cilium runs e2e tests against various cloud providers' managed
        Kubernetes offerings using multiple Kubernetes versions. See the following links
        for the current test matrix for each cloud provider:

        - :git-tree:`EKS <.github/actions/eks/k8s-versions.yaml>`

        System Requirements
        ===================
        """)


def eks_matrix_yaml(versions):
    lines = ["# List of k8s version for EKS tests", "---", "include:"]
    regions = ["us-west-1", "us-east-2", "ca-central-1", "us-east-1", "us-west-2"]
    for i, v in enumerate(versions):
        lines += [f'  - version: "{v}"', f"    region: {regions[i % len(regions)]}"]
        if i == len(versions) - 1:
            lines.append("    default: true")
    return "\n".join(lines) + "\n"


def set_cilium_docs(repo, compat, req=None, old_path=False):
    base = "Documentation/concepts/kubernetes" if old_path else "Documentation/network/kubernetes"
    repo.write(f"{base}/compatibility.rst", compatibility_rst(compat))
    repo.write(f"{base}/requirements.rst", requirements_rst(req or compat))
    repo.write(".github/actions/eks/k8s-versions.yaml", eks_matrix_yaml(compat[-2:]))


K8S_112 = ["1.16", "1.17", "1.18", "1.19", "1.20", "1.21", "1.22", "1.23", "1.24"]
K8S_119 = ["1.31", "1.32", "1.33", "1.34"]
K8S_119_BRANCH = ["1.32", "1.33", "1.34", "1.35"]
K8S_120 = ["1.33", "1.34", "1.35", "1.36"]


def make_cilium(root, diverge_119=False, req_120=None):
    """Tags v1.12.0, v1.12.19, v1.19.0, v1.19.1, v1.20.0, v1.20.1 on release
    branches v1.12/v1.19/v1.20, and v1.21.0-pre.0 on main. With diverge_119
    the v1.19 branch gets the upstream 'docs: Bump k8s compat version' change
    after v1.19.1 (compatibility.rst only, as upstream did)."""
    r = Repo(root)
    t = {}
    r.write("VERSION", "1.12.0\n")
    set_cilium_docs(r, K8S_112, old_path=True)
    r.commit("Prepare for release v1.12.0", "2022-07-18T10:00:00+02:00")
    r.git("checkout", "-q", "-b", "v1.12")
    t["v1.12.0"] = r.tag("v1.12.0", "2022-07-18T10:00:00+02:00")
    r.write("VERSION", "1.12.19\n")
    r.commit("Prepare for release v1.12.19", "2024-02-12T18:00:00+01:00")
    t["v1.12.19"] = r.tag("v1.12.19", "2024-02-12T18:00:00+01:00")

    r.git("checkout", "-q", "main")
    r.git("rm", "-q", "-r", "Documentation/concepts")
    set_cilium_docs(r, K8S_119)
    r.write("VERSION", "1.19.0\n")
    r.commit("Prepare for release v1.19.0", "2026-02-03T09:00:00+00:00")
    r.git("checkout", "-q", "-b", "v1.19")
    t["v1.19.0"] = r.tag("v1.19.0", "2026-02-03T09:00:00+00:00")
    r.write("VERSION", "1.19.1\n")
    r.commit("Prepare for release v1.19.1", "2026-02-17T15:00:00+00:00")
    t["v1.19.1"] = r.tag("v1.19.1", "2026-02-17T15:00:00+00:00")
    if diverge_119:
        r.write("Documentation/network/kubernetes/compatibility.rst", compatibility_rst(K8S_119_BRANCH))
        t["v1.19-head"] = r.commit("docs: Bump k8s compat version", "2026-03-03T11:00:00+00:00")

    r.git("checkout", "-q", "main")
    set_cilium_docs(r, K8S_120, req=req_120)
    r.write("VERSION", "1.20.0\n")
    r.commit("Prepare for release v1.20.0", "2026-07-28T09:00:00+00:00")
    r.git("checkout", "-q", "-b", "v1.20")
    t["v1.20.0"] = r.tag("v1.20.0", "2026-07-28T09:00:00+00:00")
    r.write("VERSION", "1.20.1\n")
    r.commit("Prepare for release v1.20.1", "2026-08-18T09:00:00+00:00")
    t["v1.20.1"] = r.tag("v1.20.1", "2026-08-18T09:00:00+00:00")
    r.git("checkout", "-q", "main")
    r.write("VERSION", "1.21.0-dev\n")
    r.commit("Prepare for v1.21.0-pre.0", "2026-08-20T09:00:00+00:00")
    r.tag("v1.21.0-pre.0", "2026-08-20T09:00:00+00:00")
    return r, t


def chart_tgz(version):
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, text in (("cilium/Chart.yaml", f"apiVersion: v2\nname: cilium\nversion: {version}\n"
                                                 f"appVersion: {version}\nkubeVersion: '>= 1.21.0-0'\n"),
                           ("cilium/values.yaml", "debug:\n  enabled: false\n")):
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size, info.mtime = len(data), 1700000000
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


def index_entry(version, created, digest):
    return textwrap.indent(textwrap.dedent(f"""\
        - annotations:
            artifacthub.io/crds: |
              - kind: CiliumNetworkPolicy
                version: v2
                name: ciliumnetworkpolicies.cilium.io
            artifacthub.io/license: Apache-2.0
          apiVersion: v2
          appVersion: {version}
          created: "{created}"
          description: eBPF-based Networking, Security, and Observability
          digest: {digest}
          home: https://cilium.io/
          keywords:
          - BPF
          - eBPF
          kubeVersion: '>= 1.21.0-0'
          name: cilium
          sources:
          - https://github.com/cilium/cilium
          urls:
          - cilium-{version}.tgz
          version: {version}
        """), "  ")


CHART_CREATED = {
    "1.12.0": "2022-07-19T15:09:33+02:00", "1.12.19": "2024-02-14T22:54:25Z",
    "1.19.0": "2026-02-04T00:51:37.679714859Z", "1.19.1": "2026-02-18T10:20:00.123456789Z",
    "1.20.0": "2026-07-29T14:32:21.001081277Z", "1.20.1": "2026-08-18T16:00:00.5Z",
    "1.21.0-pre.0": "2026-08-21T10:00:00Z",
}


def make_charts(root, tags, versions=None):
    """One commit per chart, 'Add cilium vX.Y.Z@<release commit>' as upstream."""
    r = Repo(root)
    entries = []
    for version in versions or list(CHART_CREATED):
        blob = chart_tgz(version)
        r.write(f"cilium-{version}.tgz", blob)
        entries.insert(0, index_entry(version, CHART_CREATED[version], hashlib.sha256(blob).hexdigest()))
        r.write("index.yaml", "apiVersion: v1\nentries:\n  cilium:\n" + "".join(entries)
                + f'generated: "{CHART_CREATED[version]}"\n')
        release = tags.get("v" + version, "0" * 40)
        r.commit(f"Add cilium v{version}@{release}", CHART_CREATED[version])
    return r


LIMITS = [  # type, ENILimit, IPv4Limit, cards, hypervisor, metal
    ("a1.medium", 2, 4, [2], "nitro", "false"),
    ("c5.metal", 15, 50, [15], "unknown", "true"),
    ("m5.large", 3, 10, [3], "nitro", "false"),
    ("p4d.24xlarge", 15, 50, [15, 15, 15, 15], "nitro", "false"),
]


def limits_go(rows):
    out = [textwrap.dedent("""\
        // Copyright Amazon.com Inc. or its affiliates. All Rights Reserved.

        // Code generated by go generate; DO NOT EDIT.
        //
        // The regions queried were:
        // - us-east-1
        // - us-west-2
        package vpc

        // InstanceNetworkingLimits contains a mapping from instance type to networking limits for the type. Documentation found at
        // https://docs.aws.amazon.com/AWSEC2/latest/UserGuide/using-eni.html#AvailableIpPerENI
        var instanceNetworkingLimits = map[string]InstanceTypeLimits{""")]
    for name, eni, ipv4, cards, hyp, metal in rows:
        out.append(f'\t"{name}": {{\n\t\tENILimit:                {eni},\n\t\tIPv4Limit:               {ipv4},\n'
                   f"\t\tDefaultNetworkCardIndex: 0,\n\t\tNetworkCards: []NetworkCard{{")
        for i, m in enumerate(cards):
            out.append(f"\t\t\t{{\n\t\t\t\tMaximumNetworkInterfaces: {m},\n\t\t\t\tNetworkCardIndex:         {i},\n\t\t\t}},")
        out.append(f'\t\t}},\n\t\tHypervisorType: "{hyp}",\n\t\tIsBareMetal:    {metal},\n\t}},')
    out.append("}\n")
    return "\n".join(out)


def eni_max_pods(rows, override=None):
    lines = ["# Copyright Amazon.com Inc. or its affiliates. All Rights Reserved.", "#",
             "# Mapping is calculated from AWS EC2 API using the following formula:",
             "# * First IP on each ENI is not used for pods",
             "# * +2 for the pods that use host-networking (AWS CNI and kube-proxy)", "#",
             "#   # of ENI * (# of IPv4 per ENI - 1) + 2", "#"]
    for name, eni, ipv4, *_ in rows:
        lines.append(f"{name} {(override or {}).get(name, eni * (ipv4 - 1) + 2)}")
    return "\n".join(lines) + "\n"


def make_vpc_cni(root, override=None):
    r = Repo(root)
    r.write("pkg/vpc/vpc_ip_resource_limit.go", limits_go(LIMITS))
    r.write("misc/eni-max-pods.txt", eni_max_pods(LIMITS, override))
    r.commit("chore: update VPC IP resource limits (#3801)", "2026-08-11T11:51:17-07:00")
    r.write("README.md", "vpc cni\n")
    r.commit("docs: readme", "2026-08-20T15:22:15-07:00")
    return r


def package_table(columns, rows):
    head = "".join(f"\n      <th>{c}</th>" for c in ["Package"] + columns)
    body = ""
    for name, cells in rows:
        tds = "".join(f'\n      <td colspan="{span}">{value}</td>' for value, span in cells)
        body += f"\n    <tr>\n      <td>{name}</td>{tds}\n    </tr>"
    return f"  <table>\n    <tr>{head}\n    </tr>{body}\n  </table>\n"


AL2023 = ["AL2023_x86_64_NVIDIA", "AL2023_x86_64_NEURON", "AL2023_x86_64_STANDARD",
          "AL2023_ARM_64_NVIDIA", "AL2023_ARM_64_STANDARD"]
AL2 = ["AL2_x86_64", "AL2_ARM_64", "AL2_x86_64_GPU"]


def k8s_section(version, release, tables):
    return (f"<details>\n<summary><b>Kubernetes {version}</b></summary>\n  <table>\n    <tr>\n"
            "      <th>AMI Names</th>\n      <th>Release version</th>\n      <th>Included artifacts</th>\n"
            f"    <tr>\n      <td>amazon-eks-node-al2023-x86_64-standard-{version}-{release}</td>\n"
            f'      <td rowspan="1">{version}.0-{release[1:]}</td>\n'
            f'      <td rowspan="1">s3://amazon-eks/{version}.0/2026-06-01/</td>\n    </tr>\n  </table>\n'
            + "".join(tables) + "</details>\n\n")


def changelog():
    ssm = ("amazon-ssm-agent", [("3.3.1957.0-1.amzn2023", 5)])
    v0714 = (
        "# AMI Release v20260714\n<!-- Release notes generated using configuration in .github/release.yaml -->\n\n"
        "## What's Changed\n* chore: bump kernel by @bot in https://github.com/awslabs/amazon-eks-ami/pull/1\n\n"
        "---\n\n<h2>AMI Details</h2>\n\n"
        + k8s_section("1.36", "v20260714", [package_table(AL2023, [ssm, ("kernel6.18", [("6.18.36-69.138.amzn2023", 5)])])])
        + k8s_section("1.32", "v20260714", [
            package_table(AL2, [("kernel", [("5.10.245-245.983.amzn2", 3)])]),
            package_table(AL2023, [ssm, ("kernel", [("6.1.176-221.360.amzn2023", 3), ("—", 1),
                                                     ("6.1.176-221.360.amzn2023", 1)]),
                                   ("kernel6.12", [("—", 3), ("6.12.94-123.180.amzn2023", 1), ("—", 1)])])]))
    v0610 = ("# AMI Release v20260610\n\n## What's Changed\n* feat: 1.36 by @bot in https://github.com/awslabs/amazon-eks-ami/pull/2\n\n"
             + k8s_section("1.36", "v20260610", [package_table(AL2023, [ssm])])
             + k8s_section("1.32", "v20260610", [
                 package_table(AL2023, [("kernel", [("6.1.170-210.320.amzn2023", 3), ("—", 1),
                                                    ("6.1.170-210.320.amzn2023", 1)])])]))
    # The pre-2024 sections have no per-Kubernetes tables; the parser skips them.
    old = ("### AMI Release v20220526\n* amazon-eks-node-1.22-v20220526\n\nAMI details:\n"
           "* kernel: 5.4.190-107.353.amzn2\n")
    return "# Changelog\n\n<!--new-changelog-entry-placeholder-->\n\n" + v0714 + v0610 + old


def make_eks_ami(root):
    r = Repo(root)
    r.write("CHANGELOG.md", changelog())
    r.commit("docs: changelog for v20260714", "2026-07-21T14:31:55-07:00")
    return r


CALENDAR = [  # version, upstream, EKS release, end of standard, end of extended
    ("1.36", "April 22, 2026", "June 2, 2026", "August 2, 2027", "August 2, 2028"),
    ("1.35", "December 17, 2025", "January 27, 2026", "March 27, 2027", "March 27, 2028"),
    ("1.34", "August 27, 2025", "October 2, 2025", "December 2, 2026", "December 2, 2027"),
    ("1.33", "April 23, 2025", "May 29, 2025", "July 29, 2026", "July 29, 2027"),
    ("1.32", "December 11, 2024", "January 23, 2025", "March 23, 2026", "March 23, 2027"),
    ("1.31", "August 13, 2024", "September 26, 2024", "November 26, 2025", "November 26, 2026"),
]


def versions_adoc(rows):
    table = "".join(f"\n|`{v}`\n|{u}\n|{e}\n|{s} \n|{x}\n" for v, u, e, s, x in rows)
    return textwrap.dedent("""\
        include::../attributes.txt[]

        [.topic]
        [#kubernetes-versions]
        = Understand the Kubernetes version lifecycle on EKS
        :info_titleabbrev: Kubernetes versions

        The community releases new Kubernetes minor versions (such as `{k8s-n}`) on average once every four months.

        [#kubernetes-release-calendar]
        == Amazon EKS Kubernetes release calendar

        The following table shows important release and support dates to consider for each Kubernetes version.

        [%header,cols="5"]
        |===
        |Kubernetes version
        |Upstream release
        |Amazon EKS release
        |End of standard support
        |End of extended support
        """) + table + "\n|===\n\n[#version-cli]\n== Get version information with {aws} CLI\n"


def make_eks_docs(root, rows=CALENDAR):
    r = Repo(root)
    r.write("latest/ug/attributes.txt", ":k8s-n: 1.36\n:aws: AWS\n")
    r.write("latest/ug/versioning/kubernetes-versions.adoc", versions_adoc(rows))
    r.commit("Update release calendar", "2026-08-22T18:58:02+00:00")
    return r


def make_previous(root, unchecked=False):
    """A small ground-truth tree in the shared data's formats."""
    def put(rel, value):
        path = Path(root) / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(value, indent=2, sort_keys=True) + "\n")
    put("cilium/compatibility.json", {"_meta": {"description": "fixture"}, "cilium": {
        "1.19": {"k8s_tested": K8S_119, "maintenance_eol": None, "maintenance_eol_source": "endoflife.date",
                 "k8s_tested_changed_after_v1.19.0": {"k8s_tested": K8S_119_BRANCH},
                 "latest_patch_release": {"version": "1.19.0", "chart_published": "2026-02-04T00:51:37Z",
                                          "source": "cilium/charts@old:index.yaml"}},
        "1.20": {"k8s_tested": K8S_120, "note": "Read from main; the released v1.20.0 list was not verified.",
                 "latest_patch_release": {"version": "1.20.0", "chart_published": "2026-07-29T14:32:21Z",
                                          "source": "cilium/charts@old:index.yaml"}}}})
    put("aws/eks_versions.json", {
        "calendar": [{"kubernetes_version": v, "upstream_release": "2025-01-01", "eks_release": "2025-01-02",
                      "end_of_standard_support": "2026-01-01", "end_of_extended_support": "2027-01-01",
                      "sources": ["A"]} for v in ("1.35", "1.34", "1.33", "1.32", "1.31", "1.30")],
        "calendar_sources": {"A": {"repo": "awsdocs/amazon-eks-user-guide", "commit": "0" * 40,
                                   "path": "latest/ug/versioning/kubernetes-versions.adoc"}},
        "update_cluster_config": {"parameters": ["name", "upgradePolicy"]}})
    put("knowledge-dates.json", {"_meta": {"description": "fixture"}, "compiled": "2026-01-01", "families": {
        "metrics": {"covers": "metrics", "date": "2026-06-25",
                    "sources": [{"date": "2026-06-25", "ref": "cilium/cilium@main(x)", "what": "metrics"}]}}})
    bare = {"1.16": {"value": False, "source": "cilium/cilium@v1.16.19(x):pkg/aws/eni/node.go:747"}}
    if unchecked:
        bare["1.17"] = {"value": False, "checked": False}
        bare["1.18"] = {"value": True, "note": "assumed from 1.19; not checked at a 1.18 tag"}
    put("cilium/eni_iam.json", {"prefix_delegation": {"bare_metal_by_minor": bare}})


# --------------------------------------------------------------------------
# tests

def run(*args):
    proc = subprocess.run([sys.executable, str(SCRIPT), *map(str, args)], capture_output=True, text=True)
    return proc.returncode, proc.stdout, proc.stderr


class Fixture:
    def __init__(self, tmp, diverge_119=False, req_120=None, chart_versions=None, calendar=CALENDAR,
                 unchecked=False, max_pods_override=None):
        self.tmp = Path(tmp)
        self.cilium, self.tags = make_cilium(self.tmp / "cilium", diverge_119, req_120)
        self.charts = make_charts(self.tmp / "charts", self.tags, chart_versions)
        self.vpc = make_vpc_cni(self.tmp / "vpc-cni", max_pods_override)
        self.ami = make_eks_ami(self.tmp / "eks-ami")
        self.docs = make_eks_docs(self.tmp / "eks-docs", calendar)
        self.previous = self.tmp / "previous"
        make_previous(self.previous, unchecked)
        self.out = self.tmp / "out"

    def args(self, *extra):
        return ["--cilium", self.cilium.path, "--charts", self.charts.path, "--vpc-cni", self.vpc.path,
                "--eks-ami", self.ami.path, "--eks-docs", self.docs.path, "--previous", self.previous,
                "--out", self.out, *extra]

    def json(self, rel):
        return json.loads((self.out / rel).read_text())


def fail_lines(stdout):
    return [l for l in stdout.splitlines() if l.startswith("FAIL ")]


class CleanTree(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls._tmp = tempfile.TemporaryDirectory()
        cls.f = Fixture(cls._tmp.name)
        cls.code, cls.stdout, cls.stderr = run(*cls.f.args())

    @classmethod
    def tearDownClass(cls):
        cls._tmp.cleanup()

    def test_passes(self):
        self.assertEqual(self.code, 0, self.stdout + self.stderr)
        self.assertEqual(fail_lines(self.stdout), [])
        self.assertIn("result: all cross-checks pass", self.stdout)

    def test_cilium_facts(self):
        c = self.f.json("cilium/compatibility.json")["cilium"]
        self.assertEqual(sorted(c), ["1.12", "1.19", "1.20"])  # 1.21 has only a pre-release tag
        sha = self.f.tags["v1.19.1"]
        e = c["1.19"]
        self.assertEqual(e["k8s_tested"], K8S_119)
        self.assertEqual(e["requirements_rst_k8s_list"], K8S_119)
        self.assertEqual(e["source"], f"cilium/cilium@v1.19.1({sha}):Documentation/network/kubernetes/compatibility.rst")
        self.assertEqual(e["doc_ref"], {"ref": "v1.19.1", "commit": sha, "commit_date": "2026-02-17"})
        self.assertEqual(e["k8s_tested_identical_at_tags"], ["v1.19.0", "v1.19.1"])
        self.assertEqual(e["eks_ci_matrix_k8s_versions"], ["1.33", "1.34"])
        self.assertEqual(e["latest_patch_release"]["version"], "1.19.1")
        self.assertEqual(e["latest_patch_release"]["chart_published"], CHART_CREATED["1.19.1"])
        self.assertEqual(e["latest_patch_release"]["release_commit"], sha)
        self.assertEqual(e["latest_patch_release"]["tag_commit_date"], "2026-02-17")
        self.assertEqual(e["first_release_chart_published"], CHART_CREATED["1.19.0"])
        self.assertEqual(e["maintenance_eol_source"], "endoflife.date")  # carried over
        self.assertNotIn("k8s_tested_changed_after_v1.19.0", e)        # described the old read
        self.assertEqual(e["at_branch_head"]["compared_with_tag"], "same commit as v1.19.1")
        old = c["1.12"]
        self.assertEqual(old["k8s_tested"], K8S_112)
        self.assertTrue(old["source"].endswith(":Documentation/concepts/kubernetes/compatibility.rst"))
        self.assertEqual(c["1.20"]["k8s_tested"], K8S_120)
        self.assertNotIn("note", c["1.20"])

    def test_vpc_cni_files(self):
        sha = self.f.vpc.git("rev-parse", "HEAD")
        rows = list(csv.reader(io.StringIO((self.f.out / "aws/instance_limits.csv").read_text())))
        self.assertEqual(rows[0], ["instance_type", "ENILimit", "IPv4Limit", "DefaultNetworkCardIndex",
                                   "NetworkCardCount", "NetworkCards", "HypervisorType", "IsBareMetal"])
        self.assertIn(["c5.metal", "15", "50", "0", "1", "0:15", "unknown", "true"], rows)
        self.assertIn(["p4d.24xlarge", "15", "50", "0", "4", "0:15;1:15;2:15;3:15", "nitro", "false"], rows)
        self.assertEqual([r[0] for r in rows[1:]], sorted(r[0] for r in LIMITS))
        cards = (self.f.out / "aws/instance_enis_all_cards.csv").read_text()
        self.assertIn("p4d.24xlarge,15,4,60,true\n", cards)
        self.assertEqual((self.f.out / "aws/eni-max-pods.txt").read_bytes(),
                         (self.f.vpc.path / "misc/eni-max-pods.txt").read_bytes())
        src = self.f.json("aws/limits_source.json")["instance_limits_csv"]
        self.assertEqual(src["commit_read"], sha)
        self.assertEqual(src["row_count"], 4)
        self.assertEqual(src["regions_queried_per_file_header"], ["us-east-1", "us-west-2"])
        self.assertEqual(src["file_last_changed_subject"], "chore: update VPC IP resource limits (#3801)")

    def test_eks_calendar(self):
        eks = self.f.json("aws/eks_versions.json")
        row = eks["calendar"][0]
        sha = self.f.docs.git("rev-parse", "HEAD")
        self.assertEqual(row["kubernetes_version"], "1.36")
        self.assertEqual((row["upstream_release"], row["eks_release"], row["end_of_standard_support"],
                          row["end_of_extended_support"]), ("2026-04-22", "2026-06-02", "2027-08-02", "2028-08-02"))
        self.assertEqual(row["source"], f"awsdocs/amazon-eks-user-guide@{sha}:latest/ug/versioning/kubernetes-versions.adoc")
        key = row["sources"][0]
        self.assertEqual(eks["calendar_sources"][key]["commit"], sha)
        self.assertEqual([r["kubernetes_version"] for r in eks["calendar"]],
                         ["1.36", "1.35", "1.34", "1.33", "1.32", "1.31", "1.30"])  # 1.30 carried over
        self.assertEqual(eks["calendar"][-1]["sources"], ["A"])

    def test_ami_kernels(self):
        amis = self.f.json("aws/amis.json")
        al2023 = amis["amazon_linux_2023"]
        self.assertEqual(al2023["kernel_series_by_k8s_version"], {"1.32": ["6.1", "6.12"], "1.36": ["6.18"]})
        std = al2023["detail"]["1.32"]["AL2023_x86_64_STANDARD"]["6.1"]
        self.assertEqual(std, {"first_release_seen": "v20260610", "last_release_seen": "v20260714",
                               "kernel_version_in_last_release": "6.1.176-221.360.amzn2023", "package_row": "kernel"})
        self.assertEqual(al2023["detail"]["1.32"]["AL2023_ARM_64_NVIDIA"]["6.12"]["package_row"], "kernel6.12")
        self.assertEqual(amis["amazon_linux_2"]["kernel_series_by_k8s_version"], {"1.32": ["5.10"]})
        self.assertEqual(al2023["source"]["commit"], self.f.ami.git("rev-parse", "HEAD"))

    def test_knowledge_dates(self):
        fam = self.f.json("knowledge-dates.json")["families"]
        self.assertEqual(fam["cilium_docs"]["date"], "2026-08-18")
        self.assertEqual(fam["cilium_docs"]["per_minor"]["1.19"]["commit"], self.f.tags["v1.19.1"])
        self.assertEqual(fam["cilium_releases"]["date"], "2026-08-21")   # charts HEAD (1.21.0-pre.0 chart)
        self.assertEqual(fam["ec2_limits"]["date"], "2026-08-20")
        self.assertEqual(fam["ec2_limits"]["limits_table_date"], "2026-08-11")
        self.assertEqual(fam["ami_kernels"]["date"], "2026-07-21")
        self.assertEqual(fam["ami_kernels"]["facts_to"], "2026-07-14")
        self.assertEqual(fam["eks_calendar"]["date"], "2026-08-22")
        self.assertEqual(fam["metrics"]["date"], "2026-06-25")             # untouched family kept
        for f in fam.values():
            self.assertEqual(f["date"], max(s["date"] for s in f["sources"] if s.get("date")))

    def test_summary_against_previous(self):
        self.assertIn("  cilium/compatibility.json: changed:", self.stdout)
        self.assertIn("~ #/cilium/1.19/latest_patch_release/version: 1.19.0 -> 1.19.1", self.stdout)
        self.assertIn("+ #/calendar/1.36/eks_release: 2026-06-02", self.stdout)
        self.assertIn("  aws/instance_limits.csv: new file: 4 added", self.stdout)
        self.assertTrue((self.f.out / "refresh-report.txt").exists())


class CrossChecks(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.tmp = self._tmp.name

    def tearDown(self):
        self._tmp.cleanup()

    def test_branch_head_newer_than_tag_fails(self):
        f = Fixture(self.tmp, diverge_119=True)
        code, out, err = run(*f.args())
        self.assertEqual(code, 1, out + err)
        line = next(l for l in fail_lines(out) if "[branch-vs-tag:1.19:compatibility]" in l)
        self.assertIn("cilium/compatibility.json: 1.19 k8s_tested", line)
        self.assertIn("at tag v1.19.1", line)
        self.assertIn("lists 1.31, 1.32, 1.33, 1.34", line)
        self.assertIn("it lists 1.32, 1.33, 1.34, 1.35", line)
        self.assertIn("the branch head is newer (1 commits after v1.19.1)", line)
        # The branch has the upstream contradiction: compatibility.rst changed, requirements.rst not.
        req = next(l for l in fail_lines(out) if "[compat-vs-req:v1.19-head]" in l)
        self.assertIn("requirements.rst lists 1.31, 1.32, 1.33, 1.34", req)
        e = f.json("cilium/compatibility.json")["cilium"]["1.19"]
        self.assertEqual(e["k8s_tested"], K8S_119)  # the tag's list; the branch's is recorded beside it
        self.assertEqual(e["at_branch_head"]["k8s_tested"], K8S_119_BRANCH)
        self.assertEqual(e["at_branch_head"]["commit"], f.tags["v1.19-head"])
        # Acknowledged, the run passes and says so.
        f.out = Path(self.tmp) / "out2"
        code, out, err = run(*f.args("--acknowledge", "branch-vs-tag:1.19:compatibility",
                                     "--acknowledge", "compat-vs-req:v1.19-head"))
        self.assertEqual(code, 0, out + err)
        self.assertIn("ACK [branch-vs-tag:1.19:compatibility]", out)

    def test_compatibility_vs_requirements_fails(self):
        f = Fixture(self.tmp, req_120=["1.32", "1.33", "1.34", "1.35"])
        code, out, err = run(*f.args())
        self.assertEqual(code, 1, out + err)
        lines = [l for l in fail_lines(out) if "[compat-vs-req:v1.20.1]" in l]
        self.assertEqual(len(lines), 1, out)
        self.assertIn(f"at cilium/cilium@v1.20.1({f.tags['v1.20.1']})", lines[0])
        self.assertIn("compatibility.rst lists 1.33, 1.34, 1.35, 1.36 but requirements.rst lists 1.32, 1.33, 1.34, 1.35",
                      lines[0])
        self.assertIn("requirements_rst_disagrees", f.json("cilium/compatibility.json")["cilium"]["1.20"])

    def test_not_checked_fact_fails(self):
        f = Fixture(self.tmp, unchecked=True)
        code, out, err = run(*f.args())
        self.assertEqual(code, 1, out + err)
        keys = sorted(l.split("]")[0][6:] for l in fail_lines(out))
        self.assertEqual(keys, [
            "not-checked:cilium/eni_iam.json#/prefix_delegation/bare_metal_by_minor/1.17/checked",
            "not-checked:cilium/eni_iam.json#/prefix_delegation/bare_metal_by_minor/1.18/note",
        ])
        self.assertIn('cilium/eni_iam.json: #/prefix_delegation/bare_metal_by_minor/1.17/checked: '
                      'marked unverified in --previous and not re-derived by this run: "checked": false', out)
        # The 1.20 "not verified" note of compatibility.json was re-derived at v1.20.1: no failure.
        self.assertNotIn("compatibility.json#/cilium/1.20/note", out)

    def test_calendar_without_cilium_k8s_minor_fails(self):
        f = Fixture(self.tmp, calendar=CALENDAR[1:])
        code, out, err = run(*f.args())
        self.assertEqual(code, 1, out + err)
        line = next(l for l in fail_lines(out) if "[eks-calendar:1.36]" in l)
        self.assertIn("aws/eks_versions.json: calendar: no row for Kubernetes 1.36, which Cilium 1.20 (v1.20.1)", line)

    def test_charts_behind_tags_fails(self):
        f = Fixture(self.tmp, chart_versions=["1.12.0", "1.12.19", "1.19.0", "1.20.0", "1.20.1"])
        code, out, err = run(*f.args())
        self.assertEqual(code, 1, out + err)
        line = next(l for l in fail_lines(out) if "[charts-vs-tag:1.19]" in l)
        self.assertIn("index.yaml is 1.19.0; newest git tag is v1.19.1", line)

    def test_eni_max_pods_disagreeing_with_limits_fails(self):
        f = Fixture(self.tmp, max_pods_override={"m5.large": 30})
        code, out, err = run(*f.args())
        self.assertEqual(code, 1, out + err)
        line = next(l for l in fail_lines(out) if "[eni-max-pods:m5.large]" in l)
        self.assertIn("aws/eni-max-pods.txt: m5.large: misc/eni-max-pods.txt says 30; "
                      "pkg/vpc/vpc_ip_resource_limit.go gives 3 x (10 - 1) + 2 = 29", line)


def load_script():
    import importlib.util
    spec = importlib.util.spec_from_file_location("refresh_knowledge", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    saved, sys.dont_write_bytecode = sys.dont_write_bytecode, True  # no scripts/__pycache__
    try:
        spec.loader.exec_module(module)
    finally:
        sys.dont_write_bytecode = saved
    return module


class Parsers(unittest.TestCase):
    rk = load_script()

    def test_simple_table_compatibility_rst(self):
        # The layout of Cilium's oldest compatibility.rst (RST simple table).
        text = textwrap.dedent("""\
            All Kubernetes versions listed are compatible with Cilium:

            ============= =========================== ============================
             k8s Version   k8s `NetworkPolicy` API      CiliumNetworkPolicy
            ============= =========================== ============================
             1.7           * `extensions/v1beta1`_    `cilium.io/v2` has a
             1.8           * `networking.k8s.io/v1`_  `CustomResourceDefinition`
             1.9
            ============= =========================== ============================
            """)
        self.assertEqual(self.rk.parse_compatibility_rst(text, "x"), ["1.7", "1.8", "1.9"])

    def test_grid_table_with_several_rows(self):
        text = textwrap.dedent("""\
            +----------------------+---------------------------+----------------------------+
            | k8s Version          | k8s NetworkPolicy API     | CiliumNetworkPolicy        |
            +----------------------+---------------------------+----------------------------+
            | 1.7                  | * `extensions/v1beta1`_   | ``cilium.io/v2`` has a     |
            +----------------------+---------------------------+ `CustomResourceDefinition` |
            | 1.8, 1.9, 1.10, 1.11 | * `networking.k8s.io/v1`_ |                            |
            +----------------------+---------------------------+----------------------------+
            """)
        self.assertEqual(self.rk.parse_compatibility_rst(text, "x"), ["1.7", "1.8", "1.9", "1.10", "1.11"])

    def test_requirements_without_version_section(self):
        self.assertIsNone(self.rk.parse_requirements_rst("Requirements\n============\n\nNone.\n", "x"))

    def test_calendar_approximate_dates(self):
        text = versions_adoc([("1.37", "August 2026", "September 2026", "November 2027", "November 2028")])
        row = self.rk.parse_calendar_adoc(text, {}, "x")[0]
        self.assertEqual(row["eks_release"], "2026-09")
        self.assertEqual(row["approximate"], ["upstream_release", "eks_release", "end_of_standard_support",
                                              "end_of_extended_support"])

    def test_branch_behind_tag_says_the_tag_is_newer(self):
        with tempfile.TemporaryDirectory() as tmp:
            r = Repo(Path(tmp) / "c")
            set_cilium_docs(r, ["1.31", "1.32"])
            r.commit("old", "2026-01-01T00:00:00Z")
            r.git("branch", "v1.19")  # a stale local branch ref
            set_cilium_docs(r, ["1.32", "1.33"])
            r.commit("Prepare for release v1.19.1", "2026-02-01T00:00:00Z")
            r.tag("v1.19.1", "2026-02-01T00:00:00Z")
            code, out, err = run("--cilium", r.path, "--previous", "", "--out", Path(tmp) / "o")
            self.assertEqual(code, 1, out + err)
            self.assertIn("the tag is newer (the branch ref is 1 commits behind v1.19.1; fetch it)", out)


class InputErrors(unittest.TestCase):
    def setUp(self):
        self._tmp = tempfile.TemporaryDirectory()
        self.tmp = Path(self._tmp.name)

    def tearDown(self):
        self._tmp.cleanup()

    def assertUsage(self, args, *needles):
        code, out, err = run(*args)
        self.assertEqual(code, 2, out + err)
        self.assertNotIn("Traceback", err)
        for n in needles:
            self.assertIn(n, err)

    def test_missing_dir(self):
        self.assertUsage(["--cilium", self.tmp / "nope", "--previous", "", "--out", self.tmp / "o"],
                         "--cilium", "nope: no such directory")

    def test_not_a_git_checkout(self):
        (self.tmp / "plain").mkdir()
        self.assertUsage(["--eks-ami", self.tmp / "plain", "--previous", "", "--out", self.tmp / "o"],
                         "--eks-ami", "not a git checkout")

    def test_missing_file(self):
        r = Repo(self.tmp / "vpc")
        r.write("misc/eni-max-pods.txt", eni_max_pods(LIMITS))
        r.commit("only the table", "2026-01-01T00:00:00Z")
        self.assertUsage(["--vpc-cni", r.path, "--previous", "", "--out", self.tmp / "o"],
                         "pkg/vpc/vpc_ip_resource_limit.go not found at HEAD")

    def test_no_source(self):
        self.assertUsage(["--previous", ""], "no source checkout given")

    def test_out_not_empty(self):
        r = make_eks_ami(self.tmp / "ami")
        (self.tmp / "o").mkdir()
        (self.tmp / "o" / "x").write_text("x")
        self.assertUsage(["--eks-ami", r.path, "--previous", "", "--out", self.tmp / "o"],
                         "exists and is not an empty directory")

    def test_out_inside_previous(self):
        r = make_eks_ami(self.tmp / "ami")
        (self.tmp / "prev").mkdir()
        self.assertUsage(["--eks-ami", r.path, "--previous", self.tmp / "prev", "--out", self.tmp / "prev" / "o"],
                         "inside --previous")

    def test_upstream_format_change(self):
        r = Repo(self.tmp / "docs")
        r.write("latest/ug/versioning/kubernetes-versions.adoc", "= Versions\n\nNo table here.\n")
        r.commit("rewrite", "2026-01-01T00:00:00Z")
        self.assertUsage(["--eks-docs", r.path, "--previous", "", "--out", self.tmp / "o"],
                         "no release calendar table")


if __name__ == "__main__":
    unittest.main()
