#!/usr/bin/env python3
"""Rebuild parts of the shared ground truth from local checkouts of upstream sources.

Usage:
    python3 scripts/refresh-knowledge.py [--cilium DIR] [--charts DIR] [--vpc-cni DIR]
        [--eks-ami DIR] [--eks-docs DIR] [--previous DIR] [--out DIR] [--full-tree]
        [--acknowledge KEY ...]

Each DIR is the top of a git checkout (files are read at HEAD, or at a tag,
with `git cat-file`, never from the working tree):

  --cilium    cilium/cilium with its tags (and release branches v1.X, local
              or origin/v1.X): compatibility.rst, requirements.rst and the EKS
              CI matrix at the newest patch tag of every minor from 1.12, and
              at the branch head.
  --charts    cilium/charts: index.yaml and the cilium-X.Y.Z.tgz archives.
  --vpc-cni   aws/amazon-vpc-cni-k8s: pkg/vpc/vpc_ip_resource_limit.go and
              misc/eni-max-pods.txt.
  --eks-ami   awslabs/amazon-eks-ami: CHANGELOG.md.
  --eks-docs  awsdocs/amazon-eks-user-guide: the release calendar in
              latest/ug/versioning/kubernetes-versions.adoc (or the older
              latest/ug/clusters/kubernetes-versions.adoc).

The rebuilt files are written, in the formats of the shared ground truth
(--previous, default ../shared/data), to --out (default: a new directory
./knowledge-refresh-<UTC time>). The output directory must be new or empty and
may not lie inside --previous: the ground truth is never changed in place.
Facts not rebuilt by a source are carried over from --previous; --full-tree
also copies every file of --previous that this run did not write, so that the
output can be given to scripts/build-knowledge.py as SOURCE_DIR.

Cross-checks (each failure is one line "FAIL [key] file: fact: values"):
  compat-vs-req:REF     compatibility.rst and requirements.rst list different
                        Kubernetes versions at the same ref
  branch-vs-tag:MINOR:DOC  the release branch head and the newest tag differ
                        (the line says which is newer)
  charts-vs-tag:MINOR   the charts index and the git tags disagree on the
                        newest patch
  chart-archive:VER / chart-commit:VER  the archive of a newest chart is
                        missing, has another digest or version, or the charts
                        commit names another release commit than the tag
  not-checked:FILE#PTR  a fact of --previous says "not checked"/"not verified"
                        (or "checked": false) and this run did not re-derive it
  eks-calendar:K8S      a Kubernetes minor of the newest Cilium minor's list
                        has no EKS calendar row
  eni-max-pods:TYPE     eni-max-pods.txt disagrees with the limits map
  stale:...             a checkout is older than the facts in --previous
  final-superseded:MINOR  --previous calls a patch final but a newer one exists
--acknowledge KEY (repeatable) turns the failure with that key into an "ACK"
line: for upstream contradictions that a maintainer has read and recorded.

Exit status: 0 when every cross-check passes, 1 when one fails (the output is
still written, for inspection), 2 for usage and input errors (a missing
directory or file, a file not in the expected format).

Python 3 standard library and the git command only.
"""

import argparse
import csv
import datetime
import hashlib
import io
import json
import os
import re
import shutil
import subprocess
import sys
import tarfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
DEFAULT_PREVIOUS = REPO / ".." / "shared" / "data"
TOOL = "scripts/refresh-knowledge.py"

FIRST_MINOR = (1, 12)
VERSION_RE = re.compile(r"(?<![\d.])1\.\d{1,2}(?![\d])")
STABLE_TAG = re.compile(r"^v(\d+)\.(\d+)\.(\d+)$")
STABLE_VERSION = re.compile(r"^(\d+)\.(\d+)\.(\d+)$")

CILIUM_COMPAT = ["Documentation/network/kubernetes/compatibility.rst",
                 "Documentation/concepts/kubernetes/compatibility.rst"]
CILIUM_REQ = ["Documentation/network/kubernetes/requirements.rst",
              "Documentation/concepts/kubernetes/requirements.rst"]
CILIUM_EKS_MATRIX = [".github/actions/eks/k8s-versions.yaml",
                     ".github/actions/aws/k8s-versions.yaml"]
VPC_LIMITS = "pkg/vpc/vpc_ip_resource_limit.go"
VPC_MAX_PODS = "misc/eni-max-pods.txt"
EKS_DOCS_PAGES = ["latest/ug/versioning/kubernetes-versions.adoc",
                  "latest/ug/clusters/kubernetes-versions.adoc"]
EKS_DOCS_ATTRIBUTES = "latest/ug/attributes.txt"

# Keys of a compatibility.json minor that this script does not derive and
# carries over from --previous when it re-derives the minor.
CILIUM_KEEP_KEYS = {"maintenance_eol", "maintenance_eol_source"}

NOT_CHECKED_RE = re.compile(r"\bnot\s+(?:been\s+)?(?:checked|verified)\b", re.I)
CHECK_FLAG_KEYS = {"checked", "verified"}

LIMITS_COLUMNS = ["instance_type", "ENILimit", "IPv4Limit", "DefaultNetworkCardIndex",
                  "NetworkCardCount", "NetworkCards", "HypervisorType", "IsBareMetal"]
ALL_CARDS_COLUMNS = ["instance_type", "ENILimit", "NetworkCardCount", "ENILimitAllCards", "MultiCard"]


class InputError(Exception):
    """A usage or input problem: exit 2 with this message."""


def vkey(text):
    return tuple(int(p) for p in re.findall(r"\d+", text))


def listing(versions):
    return ", ".join(versions) if versions else "(none)"


def dump_json(value):
    return json.dumps(value, indent=2, sort_keys=True, ensure_ascii=False) + "\n"


def utc_date(epoch):
    return datetime.datetime.fromtimestamp(int(epoch), datetime.timezone.utc).strftime("%Y-%m-%d")


# --------------------------------------------------------------------------
# git

class Git:
    """A git checkout named on the command line; every read is at a commit."""

    def __init__(self, flag, path, repo):
        self.flag, self.repo = flag, repo
        self.path = Path(path)
        if not self.path.exists():
            raise InputError(f"{flag} {path}: no such directory")
        if not self.path.is_dir():
            raise InputError(f"{flag} {path}: not a directory")
        top = self._run(["rev-parse", "--show-toplevel"], check=False)
        if top is None:
            raise InputError(f"{flag} {path}: not a git checkout (git rev-parse failed); "
                             f"clone {repo} there")
        if Path(top.strip()).resolve() != self.path.resolve():
            raise InputError(f"{flag} {path}: not the top of the checkout (the top is {top.strip()})")
        head = self._run(["rev-parse", "--verify", "-q", "HEAD^{commit}"], check=False)
        if head is None:
            raise InputError(f"{flag} {path}: the checkout has no commits")
        self.head = head.strip()

    def _run(self, args, check=True, binary=False):
        env = dict(os.environ, LC_ALL="C", GIT_TERMINAL_PROMPT="0")
        try:
            proc = subprocess.run(["git", "-C", str(self.path), *args], capture_output=True, env=env)
        except FileNotFoundError:
            raise InputError("git is not installed (needed to read the checkouts)") from None
        if proc.returncode != 0:
            if check:
                err = proc.stderr.decode("utf-8", "replace").strip()
                raise InputError(f"{self.flag} {self.path}: git {' '.join(args)} failed: {err}")
            return None
        return proc.stdout if binary else proc.stdout.decode("utf-8", "replace")

    def lines(self, *args):
        return [line for line in self._run(list(args)).splitlines() if line.strip()]

    def commit(self, ref):
        out = self._run(["rev-parse", "--verify", "-q", ref + "^{commit}"], check=False)
        return out.strip() if out else None

    def date(self, commit):
        """Commit date, UTC, YYYY-MM-DD."""
        return utc_date(self._run(["log", "-1", "--format=%ct", commit]).strip())

    def iso(self, commit):
        return self._run(["log", "-1", "--format=%cI", commit]).strip()

    def last_change(self, path, commit=None):
        out = self._run(["log", "-1", "--format=%H%x00%cI%x00%s", commit or self.head, "--", path]).strip()
        if not out:
            return None, None, None
        sha, iso, subject = out.split("\x00", 2)
        return sha, iso, subject

    def blob(self, commit, path):
        """File bytes at the commit, or None when the path is not there."""
        return self._run(["cat-file", "blob", f"{commit}:{path}"], check=False, binary=True)

    def text(self, commit, path):
        data = self.blob(commit, path)
        if data is None:
            return None
        try:
            return data.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError(f"{self.repo}@{commit}:{path}: not UTF-8 text") from None

    def require_text(self, path):
        text = self.text(self.head, path)
        if text is None:
            raise InputError(f"{self.flag} {self.path}: {path} not found at HEAD ({self.head[:12]})")
        return text

    def is_ancestor(self, a, b):
        env = dict(os.environ, LC_ALL="C")
        proc = subprocess.run(["git", "-C", str(self.path), "merge-base", "--is-ancestor", a, b],
                              capture_output=True, env=env)
        return proc.returncode == 0

    def count(self, a, b):
        return int(self._run(["rev-list", "--count", f"{a}..{b}"]).strip())

    def ref(self, commit, path):
        return f"{self.repo}@{commit}:{path}"


# --------------------------------------------------------------------------
# report

class Report:
    def __init__(self, acknowledged):
        self.acknowledged = set(acknowledged)
        self.failures = []   # (key, line)
        self.warnings = []
        self.read = []
        self.notes = []

    def fail(self, key, file, fact, detail):
        self.failures.append((key, f"{file}: {fact}: {detail}"))

    def warn(self, text):
        self.warnings.append(text)


# --------------------------------------------------------------------------
# Cilium docs (compatibility.rst, requirements.rst, EKS CI matrix)

def parse_compatibility_rst(text, where):
    """Kubernetes versions in the first column of the 'k8s Version' table
    (grid table, or simple table in old releases)."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if "k8s Version" in line:
            break
    else:
        raise InputError(f"{where}: no 'k8s Version' table")
    above = lines[i - 1] if i > 0 else ""
    found = []
    if above.strip().startswith("+"):
        for line in lines[i + 1:]:
            s = line.strip()
            if not s.startswith(("+", "|")):
                break
            if s.startswith("|"):
                found += VERSION_RE.findall(s.split("|")[1])
    elif above.strip() and set(above.strip()) <= {"=", " "}:
        width = re.match(r"\s*=+", above).end()
        for line in lines[i + 2:]:
            if re.fullmatch(r"\s*=+(\s+=+)*\s*", line):
                break
            found += VERSION_RE.findall(line[:width])
    else:
        raise InputError(f"{where}: the 'k8s Version' line is not in a grid or simple table")
    versions = sorted(set(found), key=vkey)
    if not versions:
        raise InputError(f"{where}: no Kubernetes version in the 'k8s Version' column")
    return versions


def parse_requirements_rst(text, where):
    """The bullet list of the 'Kubernetes Version' section, or None."""
    lines = text.splitlines()
    for i, line in enumerate(lines):
        if line.strip() == "Kubernetes Version" and i + 1 < len(lines) and set(lines[i + 1].strip()) <= {"=", "-", "~", "^"} and lines[i + 1].strip():
            break
    else:
        return None
    found, started = [], False
    for line in lines[i + 2:]:
        m = re.match(r"\s*[*-]\s+(.*)", line)
        if m:
            started = True
            found += VERSION_RE.findall(m.group(1))
        elif started and line.strip():
            break
        elif not started and re.match(r"\S", line) and set(line.strip()) <= {"=", "-", "~", "^"}:
            break  # next section
    if not found:
        raise InputError(f"{where}: 'Kubernetes Version' section has no version list")
    return sorted(set(found), key=vkey)


def parse_eks_matrix(text, where):
    """`include:` list of .github/actions/{eks,aws}/k8s-versions.yaml."""
    items, cur = [], None
    for line in text.splitlines():
        if line.lstrip().startswith("#") or not line.strip():
            continue
        m = re.match(r"^\s*-\s+([\w-]+):\s*(.*?)\s*$", line)
        if m:
            cur = {}
            items.append(cur)
        else:
            m = re.match(r"^\s+([\w-]+):\s*(.*?)\s*$", line)
            if not m or cur is None:
                continue
        key, value = m.group(1), m.group(2).strip("\"'")
        cur[key] = True if value == "true" else False if value == "false" else value
    if not items or any("version" not in i for i in items):
        raise InputError(f"{where}: no include list with versions")
    return items


def cilium_tags(git):
    stable, pre = {}, {}
    for tag in git.lines("tag", "-l", "v*"):
        m = STABLE_TAG.match(tag)
        if m:
            minor = (int(m.group(1)), int(m.group(2)))
            if minor >= FIRST_MINOR:
                stable.setdefault(minor, []).append((int(m.group(3)), tag))
        else:
            m = re.match(r"^v(\d+)\.(\d+)\.\d+-", tag)
            if m and (int(m.group(1)), int(m.group(2))) >= FIRST_MINOR:
                pre.setdefault((int(m.group(1)), int(m.group(2))), []).append(tag)
    for tags in stable.values():
        tags.sort()
    return stable, pre


def read_cilium_docs(git, commit, label):
    """compatibility.rst, requirements.rst and the EKS CI matrix at a commit."""
    out = {}
    for path in CILIUM_COMPAT:
        text = git.text(commit, path)
        if text is not None:
            where = f"cilium/cilium@{label}:{path}"
            out["k8s"] = parse_compatibility_rst(text, where)
            out["k8s_source"] = where
            break
    else:
        raise InputError(f"cilium/cilium@{label}: no compatibility.rst ({' or '.join(CILIUM_COMPAT)})")
    out["req"] = out["req_source"] = None
    for path in CILIUM_REQ:
        text = git.text(commit, path)
        if text is not None:
            where = f"cilium/cilium@{label}:{path}"
            out["req"] = parse_requirements_rst(text, where)
            out["req_source"] = where
            break
    out["matrix"] = out["matrix_source"] = None
    for path in CILIUM_EKS_MATRIX:
        text = git.text(commit, path)
        if text is not None:
            where = f"cilium/cilium@{label}:{path}"
            out["matrix"] = parse_eks_matrix(text, where)
            out["matrix_source"] = where
            break
    return out


def compare_docs(report, minor, docs, ref_key):
    if docs["req"] is None:
        report.warn(f"cilium/compatibility.json: {minor}: no requirements.rst version list at "
                    f"{docs['k8s_source'].split(':')[0]}; compatibility.rst not cross-checked")
    elif docs["req"] != docs["k8s"]:
        report.fail(f"compat-vs-req:{ref_key}", "cilium/compatibility.json", f"{minor} k8s_tested",
                    f"at {docs['k8s_source'].rsplit(':', 1)[0]} compatibility.rst lists "
                    f"{listing(docs['k8s'])} but requirements.rst lists {listing(docs['req'])}")


def refresh_cilium(git, report):
    """Per minor: the derived compatibility.json entry parts."""
    stable, pre = cilium_tags(git)
    if not stable:
        raise InputError(f"--cilium {git.path}: no release tags vX.Y.Z from v1.12 on "
                         "(fetch the tags: git fetch --tags)")
    result = {}
    for (major, mnr), tags in sorted(stable.items()):
        minor = f"{major}.{mnr}"
        _, tag = tags[-1]
        commit = git.commit(tag)
        date = git.date(commit)
        label = f"{tag}({commit})"
        docs = read_cilium_docs(git, commit, label)
        compare_docs(report, minor, docs, tag)
        identical, cache = [], {}
        for _, t in tags:
            c = git.commit(t)
            try:
                listed = read_cilium_docs(git, c, f"{t}({c})")["k8s"] if c not in cache else cache[c]
            except InputError:
                listed = None
            cache[c] = listed
            if listed == docs["k8s"]:
                identical.append(t)
        entry = {
            "doc_ref": {"ref": tag, "commit": commit, "commit_date": date},
            "source": docs["k8s_source"],
            "k8s_tested": docs["k8s"],
            "k8s_tested_identical_at_tags": identical,
            "requirements_rst_k8s_list": docs["req"],
            "requirements_rst_source": docs["req_source"],
            "_tag_commit": commit,
            "_tag_date": date,
            "_tag_version": tag[1:],
        }
        if docs["req"] is not None and docs["req"] != docs["k8s"]:
            entry["requirements_rst_disagrees"] = {
                "compatibility_rst": docs["k8s"], "compatibility_rst_source": docs["k8s_source"],
                "requirements_rst": docs["req"], "requirements_rst_source": docs["req_source"],
                "note": f"Found by {TOOL}: upstream lists differ at the same ref; k8s_tested follows "
                        "compatibility.rst.",
            }
        if docs["matrix"] is not None:
            entry["eks_ci_matrix"] = docs["matrix"]
            entry["eks_ci_matrix_k8s_versions"] = sorted({i["version"] for i in docs["matrix"]}, key=vkey)
            entry["eks_ci_matrix_source"] = docs["matrix_source"]
        # Release branch head.
        for ref, shown in ((f"refs/heads/v{minor}", f"v{minor}"),
                           (f"refs/remotes/origin/v{minor}", f"origin/v{minor}")):
            head = git.commit(ref)
            if head:
                break
        else:
            head = None
            report.notes.append(f"cilium {minor}: no release branch v{minor} or origin/v{minor}; "
                                "branch head not compared")
        if head and head != commit:
            hdate = git.date(head)
            hlabel = f"{shown} branch head({head}, committed {hdate})"
            hdocs = read_cilium_docs(git, head, hlabel)
            compare_docs(report, minor, hdocs, f"{shown}-head")
            if git.is_ancestor(commit, head):
                newer = f"the branch head is newer ({git.count(commit, head)} commits after {tag})"
            elif git.is_ancestor(head, commit):
                newer = f"the tag is newer (the branch ref is {git.count(head, commit)} commits behind {tag}; fetch it)"
            else:
                newer = ("the branch head and the tag have diverged; by commit date the "
                         + ("branch head" if hdate > date else "tag") + " is newer")
            branch = {"ref": f"{shown} (branch)", "commit": head, "commit_date": hdate,
                      "k8s_tested": hdocs["k8s"], "k8s_tested_source": hdocs["k8s_source"],
                      "requirements_rst_k8s_list": hdocs["req"],
                      "requirements_rst_source": hdocs["req_source"], "compared_with_tag": newer}
            if hdocs["matrix"] is not None:
                branch["eks_ci_matrix_k8s_versions"] = sorted({i["version"] for i in hdocs["matrix"]}, key=vkey)
                branch["eks_ci_matrix_source"] = hdocs["matrix_source"]
            entry["at_branch_head"] = branch
            for doc, a, b in (("compatibility", docs["k8s"], hdocs["k8s"]),
                              ("requirements", docs["req"], hdocs["req"])):
                if a != b:
                    report.fail(f"branch-vs-tag:{minor}:{doc}", "cilium/compatibility.json",
                                f"{minor} {'k8s_tested' if doc == 'compatibility' else 'requirements_rst_k8s_list'}",
                                f"{doc}.rst at tag {tag} ({commit[:12]}, {date}) lists {listing(a)}; "
                                f"at {shown} branch head ({head[:12]}, {hdate}) it lists {listing(b)}; "
                                f"{newer}. The tag's list is written; decide and acknowledge")
        elif head:
            entry["at_branch_head"] = {"ref": f"{shown} (branch)", "commit": head,
                                       "commit_date": date, "compared_with_tag": f"same commit as {tag}"}
        result[minor] = entry
    for (major, mnr), tags in sorted(pre.items()):
        if (major, mnr) not in stable:
            report.notes.append(f"cilium {major}.{mnr}: only pre-release tags ({', '.join(sorted(tags, key=vkey)[-3:])}); not read")
    report.read.append(f"cilium/cilium@{git.head} ({git.path}): newest tags "
                       + ", ".join(e["doc_ref"]["ref"] for e in result.values()))
    return result


# --------------------------------------------------------------------------
# cilium/charts

def unquote(value):
    value = value.strip()
    if len(value) >= 2 and value[0] == value[-1] and value[0] in "\"'":
        return value[1:-1]
    return value


def parse_index_yaml(text, where):
    """entries.cilium[] of a Helm repository index (the keys at the entry
    level; nested maps and block scalars are skipped)."""
    entries, chart, cur, last, in_entries = [], None, None, None, False
    for raw in text.splitlines():
        if raw.startswith("entries:"):
            in_entries = True
            continue
        if in_entries and re.match(r"\S", raw):
            in_entries = False
        if not in_entries:
            continue
        m = re.match(r"^  ([^\s:-][^:]*):\s*$", raw)
        if m:
            chart, cur = m.group(1).strip(), None
            continue
        if chart != "cilium":
            continue
        m = re.match(r"^  - (.*)$", raw)
        if m:
            cur = {}
            entries.append(cur)
            raw = "    " + m.group(1)
        if cur is None:
            continue
        m = re.match(r"^    ([A-Za-z][\w.-]*):(?:\s+(.*))?$", raw)
        if m:
            last = m.group(1)
            value = m.group(2)
            cur[last] = None if value is None or value.strip() in ("|", ">", "|-", ">-") else unquote(value)
            continue
        m = re.match(r"^    - (.*)$", raw)
        if m and last:
            cur.setdefault("_list_" + last, []).append(unquote(m.group(1)))
    if not entries:
        raise InputError(f"{where}: no entries.cilium list")
    for e in entries:
        for key in ("version", "created"):
            if not e.get(key):
                raise InputError(f"{where}: an entries.cilium item has no {key}: {e}")
    return entries


def chart_version(blob, where):
    try:
        with tarfile.open(fileobj=io.BytesIO(blob), mode="r:gz") as tar:
            member = next((m for m in tar.getmembers() if m.name.endswith("/Chart.yaml")
                           and m.name.count("/") == 1), None)
            if member is None:
                return None
            text = tar.extractfile(member).read().decode("utf-8", "replace")
    except (tarfile.TarError, OSError, EOFError):
        raise InputError(f"{where}: not a readable .tgz archive") from None
    m = re.search(r"^version:\s*(\S+)", text, re.M)
    return unquote(m.group(1)) if m else None


def refresh_charts(git, report):
    where = git.ref(git.head, "index.yaml")
    entries = parse_index_yaml(git.require_text("index.yaml"), where)
    released = {}
    for m in re.finditer(r"^Add cilium v(\d+\.\d+\.\d+)@([0-9a-f]{7,40})",
                         "\n".join(git.lines("log", "--format=%s", git.head)), re.M):
        released.setdefault(m.group(1), m.group(2))
    per_minor = {}
    for e in entries:
        m = STABLE_VERSION.match(e["version"])
        if not m or (int(m.group(1)), int(m.group(2))) < FIRST_MINOR:
            continue
        per_minor.setdefault(f"{m.group(1)}.{m.group(2)}", []).append(e)
    result = {}
    for minor, items in per_minor.items():
        items.sort(key=lambda e: vkey(e["version"]))
        newest = items[-1]
        first = next((e for e in items if e["version"].endswith(".0")), None)
        url = (newest.get("_list_urls") or [f"cilium-{newest['version']}.tgz"])[0]
        archive_where = git.ref(git.head, url)
        blob = None if "://" in url else git.blob(git.head, url)
        if blob is None:
            report.fail(f"chart-archive:{newest['version']}", "cilium/compatibility.json",
                        f"{minor} latest_patch_release", f"index.yaml lists {newest['version']} but "
                        f"{url} is not in cilium/charts@{git.head}")
        else:
            digest = hashlib.sha256(blob).hexdigest()
            if newest.get("digest") and digest != newest["digest"]:
                report.fail(f"chart-archive:{newest['version']}", "cilium/compatibility.json",
                            f"{minor} latest_patch_release", f"index.yaml digest of {url} is "
                            f"{newest['digest']} but the archive's sha256 is {digest}")
            inside = chart_version(blob, archive_where)
            if inside != newest["version"]:
                report.fail(f"chart-archive:{newest['version']}", "cilium/compatibility.json",
                            f"{minor} latest_patch_release", f"index.yaml says {newest['version']} "
                            f"but {url} Chart.yaml says {inside}")
        result[minor] = {
            "version": newest["version"],
            "created": newest["created"],
            "release_commit": released.get(newest["version"]),
            "first_created": first["created"] if first else None,
            "source": where,
        }
    report.read.append(f"cilium/charts@{git.head} ({git.path}): newest charts "
                       + ", ".join(v["version"] for _, v in sorted(result.items(), key=lambda i: vkey(i[0]))))
    return result


def merge_compatibility(previous, cilium, charts, report, cover, charts_git):
    doc = json.loads(json.dumps(previous)) if previous else {"_meta": {}, "cilium": {}}
    doc.setdefault("_meta", {})
    doc.setdefault("cilium", {})
    minors = sorted(set(cilium or {}) | set(charts or {}), key=vkey)
    dropped_all = {}
    for minor in minors:
        prev = doc["cilium"].get(minor, {})
        c = (cilium or {}).get(minor)
        h = (charts or {}).get(minor)
        if c is not None:
            entry = {k: v for k, v in prev.items() if k in CILIUM_KEEP_KEYS}
            entry.update({k: v for k, v in c.items() if not k.startswith("_")})
            if h is None and "first_release_chart_published" in prev:
                entry["first_release_chart_published"] = prev["first_release_chart_published"]
            for k in c:
                if not k.startswith("_"):
                    cover.add(("cilium/compatibility.json", ("cilium", minor, k)))
        else:
            entry = dict(prev)
        # latest_patch_release
        prev_latest = prev.get("latest_patch_release")
        tag_version = c["_tag_version"] if c else None
        latest = None
        if h is not None:
            latest = {
                "version": h["version"],
                "chart_published": h["created"],
                "release_commit": h["release_commit"],
                "source": h["source"],
                "evidence_level": "A: cilium/charts index.yaml entry (chart published)",
            }
            if c and tag_version == h["version"]:
                latest["tag_commit_date"] = c["_tag_date"]
                if h["release_commit"] and not c["_tag_commit"].startswith(h["release_commit"]):
                    report.fail(f"chart-commit:{h['version']}", "cilium/compatibility.json",
                                f"{minor} latest_patch_release.release_commit",
                                f"cilium/charts commit 'Add cilium v{h['version']}@{h['release_commit']}' "
                                f"but tag v{tag_version} is {c['_tag_commit']}")
                latest["release_commit"] = latest["release_commit"] or c["_tag_commit"]
            if h["first_created"]:
                entry["first_release_chart_published"] = h["first_created"]
                cover.add(("cilium/compatibility.json", ("cilium", minor, "first_release_chart_published")))
        elif c is not None:
            if prev_latest and prev_latest.get("version") == tag_version:
                latest = prev_latest
            else:
                latest = {
                    "version": tag_version,
                    "chart_published": None,
                    "release_commit": c["_tag_commit"],
                    "tag_commit_date": c["_tag_date"],
                    "source": c["source"].split(":")[0],
                    "evidence_level": "A: cilium/cilium git tag",
                }
                report.fail(f"chart-unknown:{tag_version}", "cilium/compatibility.json",
                            f"{minor} latest_patch_release.chart_published",
                            f"tag v{tag_version} is newer than the previous {prev_latest and prev_latest.get('version')} "
                            "and no --charts checkout was given: publication date unknown (null written)")
        if c and h and tag_version != h["version"]:
            report.fail(f"charts-vs-tag:{minor}", "cilium/compatibility.json", f"{minor} latest_patch_release",
                        f"newest chart in cilium/charts@{charts_git.head[:12]}:index.yaml is {h['version']}; "
                        f"newest git tag is v{tag_version}")
        if latest is not None:
            if prev_latest:
                pv = prev_latest.get("version")
                if pv and STABLE_VERSION.match(pv) and vkey(pv) > vkey(latest["version"]):
                    report.fail(f"stale:cilium-{minor}", "cilium/compatibility.json",
                                f"{minor} latest_patch_release.version",
                                f"previous ground truth has {pv}, the checkouts' newest is "
                                f"{latest['version']}: a checkout is older than the ground truth")
                if prev_latest.get("final") and pv and pv != latest["version"]:
                    report.fail(f"final-superseded:{minor}", "cilium/compatibility.json",
                                f"{minor} latest_patch_release.final",
                                f"previous ground truth calls {pv} final; the checkouts have {latest['version']}")
                if prev_latest.get("final") and pv == latest["version"]:
                    latest["final"] = True
            entry["latest_patch_release"] = latest
            cover.add(("cilium/compatibility.json", ("cilium", minor, "latest_patch_release")))
        if c is not None:
            dropped = sorted(set(prev) - set(entry))
            if dropped:
                dropped_all[minor] = dropped
            for k in dropped:
                cover.add(("cilium/compatibility.json", ("cilium", minor, k)))
        doc["cilium"][minor] = entry
    # Minors in the previous file that this run did not see.
    if cilium is not None:
        for minor in sorted(set(doc["cilium"]) - set(cilium), key=vkey):
            report.warn(f"cilium/compatibility.json: {minor}: in --previous but no release tag in the "
                        "cilium checkout; carried over unchanged")
    doc["_meta"]["refreshed"] = {
        "by": TOOL,
        "date": datetime.date.today().isoformat(),
        "keys_dropped_per_minor": dropped_all,
        "note": "Re-derived minors: every key except " + ", ".join(sorted(CILIUM_KEEP_KEYS))
                + " comes from this run; keys of the previous file that described an older read are "
                  "dropped (listed here). at_branch_head: the release branch head, when it differs from the tag.",
    }
    return doc


# --------------------------------------------------------------------------
# aws/amazon-vpc-cni-k8s

def matching_brace(text, start):
    """Index of the '}' closing the '{' at text[start - 1]."""
    depth, i = 1, start
    while i < len(text):
        ch = text[i]
        if ch == '"':
            i = text.index('"', i + 1)
        elif text.startswith("//", i):
            i = text.find("\n", i)
            if i < 0:
                break
        elif ch == "{":
            depth += 1
        elif ch == "}":
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ValueError("unbalanced braces")


def parse_limits_go(text, where):
    m = re.search(r"map\[string\]InstanceTypeLimits\s*\{", text)
    if not m:
        raise InputError(f"{where}: no map[string]InstanceTypeLimits literal")
    end = matching_brace(text, m.end())
    body = text[m.end():end]
    entry_re = re.compile(r'\s*(?://[^\n]*\n\s*)*"([^"]+)"\s*:\s*\{')
    pos, rows = 0, []
    while True:
        em = entry_re.match(body, pos)
        if not em:
            if body[pos:].strip(" \t\r\n,"):
                raise InputError(f"{where}: unexpected text in the map near {body[pos:pos + 60]!r}")
            break
        close = matching_brace(body, em.end())
        rows.append((em.group(1), body[em.end():close]))
        pos = close + 1
        while pos < len(body) and body[pos] in ", \t\r\n":
            pos += 1
    out = []
    for name, fields in rows:
        def num(field):
            fm = re.search(r"\b" + field + r":\s*(\d+)", fields)
            if not fm:
                raise InputError(f"{where}: {name}: no {field}")
            return int(fm.group(1))
        hyp = re.search(r'\bHypervisorType:\s*"([^"]*)"', fields)
        metal = re.search(r"\bIsBareMetal:\s*(true|false)", fields)
        if not hyp or not metal:
            raise InputError(f"{where}: {name}: no HypervisorType or IsBareMetal")
        cards = []
        for cm in re.finditer(r"\{([^{}]*MaximumNetworkInterfaces[^{}]*)\}", fields):
            mx = re.search(r"MaximumNetworkInterfaces:\s*(\d+)", cm.group(1))
            ix = re.search(r"NetworkCardIndex:\s*(\d+)", cm.group(1))
            if not mx or not ix:
                raise InputError(f"{where}: {name}: a NetworkCard without index or maximum")
            cards.append((int(ix.group(1)), int(mx.group(1))))
        out.append({
            "instance_type": name, "ENILimit": num("ENILimit"), "IPv4Limit": num("IPv4Limit"),
            "DefaultNetworkCardIndex": num("DefaultNetworkCardIndex"), "NetworkCards": cards,
            "HypervisorType": hyp.group(1), "IsBareMetal": metal.group(1),
        })
    if not out:
        raise InputError(f"{where}: the limits map is empty")
    names = [r["instance_type"] for r in out]
    if len(names) != len(set(names)):
        raise InputError(f"{where}: duplicate instance types")
    return sorted(out, key=lambda r: r["instance_type"])


def parse_eni_max_pods(text):
    table = {}
    for line in text.splitlines():
        m = re.match(r"^([a-z0-9][\w.-]*)\s+(\d+)\s*$", line)
        if m:
            table[m.group(1)] = int(m.group(2))
    return table


def regions_in_header(text):
    m = re.search(r"regions queried were:\s*\n((?:\s*//\s*-\s*\S+\s*\n)+)", text)
    return re.findall(r"-\s*(\S+)", m.group(1)) if m else []


def csv_text(columns, rows):
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(columns)
    for row in rows:
        writer.writerow([row[c] for c in columns])
    return buf.getvalue()


def refresh_vpc_cni(git, report, previous_sources):
    go_text = git.require_text(VPC_LIMITS)
    pods_blob = git.blob(git.head, VPC_MAX_PODS)
    if pods_blob is None:
        raise InputError(f"--vpc-cni {git.path}: {VPC_MAX_PODS} not found at HEAD ({git.head[:12]})")
    limits = parse_limits_go(go_text, git.ref(git.head, VPC_LIMITS))
    pods = parse_eni_max_pods(pods_blob.decode("utf-8", "replace"))
    by_type = {r["instance_type"]: r for r in limits}
    for name in sorted(set(by_type) | set(pods)):
        if name not in pods or name not in by_type:
            where_missing = VPC_MAX_PODS if name not in pods else VPC_LIMITS
            report.fail(f"eni-max-pods:{name}", "aws/eni-max-pods.txt", name,
                        f"present in only one of {VPC_LIMITS} and {VPC_MAX_PODS} (missing from {where_missing}) "
                        f"at {git.repo}@{git.head}")
            continue
        r = by_type[name]
        expected = r["ENILimit"] * (r["IPv4Limit"] - 1) + 2
        if pods[name] != expected:
            report.fail(f"eni-max-pods:{name}", "aws/eni-max-pods.txt", name,
                        f"{VPC_MAX_PODS} says {pods[name]}; {VPC_LIMITS} gives {r['ENILimit']} x "
                        f"({r['IPv4Limit']} - 1) + 2 = {expected}")
    limit_rows, card_rows = [], []
    for r in limits:
        cards = r["NetworkCards"]
        limit_rows.append({**r, "NetworkCardCount": len(cards),
                           "NetworkCards": ";".join(f"{i}:{m}" for i, m in cards)})
        total = sum(m for _, m in cards) if cards else r["ENILimit"]
        card_rows.append({"instance_type": r["instance_type"], "ENILimit": r["ENILimit"],
                          "NetworkCardCount": len(cards), "ENILimitAllCards": total,
                          "MultiCard": "true" if len(cards) > 1 else "false"})
    date_iso = git.iso(git.head)
    go_change = git.last_change(VPC_LIMITS)
    pods_change = git.last_change(VPC_MAX_PODS)
    prev_date = (previous_sources or {}).get("instance_limits_csv", {}).get("commit_read_date")
    if prev_date and parse_iso(prev_date) and parse_iso(prev_date) > parse_iso(date_iso):
        report.fail("stale:vpc-cni", "aws/limits_source.json", "instance_limits_csv.commit_read_date",
                    f"previous ground truth was read at {prev_date}; the checkout HEAD {git.head[:12]} "
                    f"is from {date_iso}: the checkout is older than the ground truth")
    report.read.append(f"{git.repo}@{git.head} ({git.path}): {len(limits)} instance types")
    return {
        "limits_csv": csv_text(LIMITS_COLUMNS, limit_rows),
        "all_cards_csv": csv_text(ALL_CARDS_COLUMNS, card_rows),
        "eni_max_pods": pods_blob,
        "count": len(limits),
        "pods_count": len(pods),
        "commit": git.head,
        "commit_iso": date_iso,
        "commit_date": git.date(git.head),
        "go_change": go_change,
        "pods_change": pods_change,
        "regions": regions_in_header(go_text),
        "repo": git.repo,
    }


def parse_iso(iso):
    try:
        return datetime.datetime.fromisoformat(iso)
    except (TypeError, ValueError):
        return None


def utc_iso_date(iso):
    try:
        return datetime.datetime.fromisoformat(iso).astimezone(datetime.timezone.utc).strftime("%Y-%m-%d")
    except ValueError:
        return iso[:10]


def merge_limits_source(previous, vpc):
    doc = json.loads(json.dumps(previous)) if previous else {}
    lim = doc.setdefault("instance_limits_csv", {})
    sha, iso, subject = vpc["go_change"]
    lim.update({
        "repo": vpc["repo"], "path": VPC_LIMITS, "commit_read": vpc["commit"],
        "commit_read_date": vpc["commit_iso"], "file_last_changed_commit": sha,
        "file_last_changed_date": iso, "file_last_changed_subject": subject,
        "row_count": vpc["count"], "regions_queried_per_file_header": vpc["regions"],
        "refreshed_by": TOOL,
    })
    cards = doc.setdefault("instance_enis_all_cards_csv", {})
    cards.update({
        "source": f"{vpc['repo']}@{vpc['commit']}:{VPC_LIMITS} (NetworkCards of every entry; file last "
                  f"changed in {sha}, {iso[:10] if iso else None})",
        "refreshed_by": TOOL,
    })
    pods = doc.setdefault("eni-max-pods.txt", {})
    psha, piso, _ = vpc["pods_change"]
    pods.update({
        "repo": vpc["repo"], "path": VPC_MAX_PODS, "commit_read": vpc["commit"], "copy": "verbatim",
        "entries": vpc["pods_count"], "file_last_changed_commit": psha, "file_last_changed_date": piso,
        "refreshed_by": TOOL,
    })
    return doc


# --------------------------------------------------------------------------
# awslabs/amazon-eks-ami CHANGELOG.md

RELEASE_RE = re.compile(r"^#{1,3}\s+(?:\[[^\]]*\]\s*)?AMI Release (v?\d{8})\s*$", re.M)
K8S_BLOCK_RE = re.compile(r"<summary><b>Kubernetes (\d+\.\d+)</b></summary>(.*?)</details>", re.S)
CELL_RE = re.compile(r"<t([hd])((?:\s[^>]*)?)>(.*?)</t[hd]>", re.S)
SINGLE_COLUMN = "AL2 (release notes with a single \"Version\" column, {first}-{last})"


def release_date(label):
    d = re.search(r"(\d{4})(\d{2})(\d{2})", label)
    return f"{d.group(1)}-{d.group(2)}-{d.group(3)}"


def parse_changelog(text, where):
    """[(release, k8s, variant, package_row, version)] from the per-Kubernetes
    package tables; releases without such tables are skipped."""
    marks = list(RELEASE_RE.finditer(text))
    if not marks:
        raise InputError(f"{where}: no '# AMI Release vYYYYMMDD' headings")
    rows, releases = [], []
    for i, mark in enumerate(marks):
        section = text[mark.end():marks[i + 1].start() if i + 1 < len(marks) else len(text)]
        release = mark.group(1) if mark.group(1).startswith("v") else "v" + mark.group(1)
        found = False
        for block in K8S_BLOCK_RE.finditer(section):
            k8s = block.group(1)
            for table in re.findall(r"<table>(.*?)</table>", block.group(2), re.S):
                trs = [t for t in re.split(r"<tr>", table)[1:]]
                if not trs:
                    continue
                header = [re.sub(r"\s+", " ", c[2]).strip() for c in CELL_RE.findall(trs[0]) if c[0] == "h"]
                if not header or header[0] != "Package":
                    continue
                found = True
                columns = header[1:]
                for tr in trs[1:]:
                    cells = CELL_RE.findall(tr)
                    if not cells:
                        continue
                    name = re.sub(r"<[^>]+>", "", cells[0][2]).strip()
                    values = []
                    for _, attrs, value in cells[1:]:
                        span = re.search(r'colspan="(\d+)"', attrs)
                        values += [re.sub(r"<[^>]+>", "", value).strip()] * (int(span.group(1)) if span else 1)
                    if len(values) != len(columns):
                        raise InputError(f"{where}: {release} Kubernetes {k8s}: row {name!r} has "
                                         f"{len(values)} cells for {len(columns)} columns")
                    if not re.fullmatch(r"kernel(\d+\.\d+)?", name):
                        continue
                    for column, value in zip(columns, values):
                        if value in ("—", "-", "–", ""):
                            continue
                        if not re.match(r"^\d+\.\d+", value):
                            raise InputError(f"{where}: {release} Kubernetes {k8s} {column}: "
                                             f"kernel version {value!r}")
                        rows.append((release, k8s, column, name, value))
        if found:
            releases.append(release)
    if not rows:
        raise InputError(f"{where}: no per-Kubernetes package table with a kernel row")
    return rows, releases


def refresh_eks_ami(git, report, previous):
    where = git.ref(git.head, "CHANGELOG.md")
    rows, releases = parse_changelog(git.require_text("CHANGELOG.md"), where)
    single = sorted({r[0] for r in rows if r[2] == "Version"}, key=vkey)
    label = SINGLE_COLUMN.format(first=single[0], last=single[-1]) if single else None
    families = {"amazon_linux_2": {}, "amazon_linux_2023": {}}
    for release, k8s, column, package, version in sorted(rows, key=lambda r: vkey(r[0])):
        if column == "Version":
            family, variant = "amazon_linux_2", label
        elif column.startswith("AL2023"):
            family, variant = "amazon_linux_2023", column
        elif column.startswith("AL2"):
            family, variant = "amazon_linux_2", column
        else:
            continue
        series = ".".join(version.split(".")[:2])
        slot = families[family].setdefault(k8s, {}).setdefault(variant, {}).setdefault(series, {
            "first_release_seen": release})
        slot.update({"last_release_seen": release, "kernel_version_in_last_release": version,
                     "package_row": package})
    ordered = sorted(releases, key=vkey)
    sha, iso, _ = git.last_change("CHANGELOG.md")
    source = {
        "repo": git.repo, "commit": git.head, "path": "CHANGELOG.md",
        "commit_date": git.date(git.head), "file_last_changed_commit": sha, "file_last_changed_date": iso,
        "releases_covered": f"{ordered[0]} .. {ordered[-1]} ({len(ordered)} releases with per-Kubernetes "
                            "package tables)",
    }
    prev_cover = (((previous or {}).get("amazon_linux_2023") or {}).get("source") or {}).get("releases_covered", "")
    prev_newest = re.findall(r"v\d{8}", prev_cover)
    if prev_newest and vkey(prev_newest[-1]) > vkey(ordered[-1]):
        report.fail("stale:eks-ami", "aws/amis.json", "amazon_linux_2023.source.releases_covered",
                    f"previous ground truth reaches {prev_newest[-1]}; {where} reaches {ordered[-1]}: "
                    "the checkout is older than the ground truth")
    report.read.append(f"{git.repo}@{git.head} ({git.path}): CHANGELOG releases {ordered[0]} .. {ordered[-1]}")
    return {"families": families, "source": source, "newest_release": ordered[-1], "releases": ordered}


def merge_amis(previous, ami):
    doc = json.loads(json.dumps(previous)) if previous else {}
    method = ("Parsed by " + TOOL + " from the per-Kubernetes-version package tables (rows named kernel, "
              "kernel6.12, kernel6.18, ...) of every release in CHANGELOG.md; \"series\" = first two "
              "components of the package version.")
    for family, detail in ami["families"].items():
        part = doc.setdefault(family, {})
        part["detail"] = detail
        part["kernel_series_by_k8s_version"] = {
            k8s: sorted({s for variant in variants.values() for s in variant}, key=vkey)
            for k8s, variants in detail.items()
        }
        part["source"] = dict(ami["source"])
        part["method"] = method
    return doc


# --------------------------------------------------------------------------
# awsdocs/amazon-eks-user-guide kubernetes-versions.adoc

CALENDAR_COLUMNS = {
    "kubernetes version": "kubernetes_version",
    "upstream release": "upstream_release",
    "amazon eks release": "eks_release",
    "end of standard support": "end_of_standard_support",
    "end of extended support": "end_of_extended_support",
}


def parse_attributes(text):
    return {m.group(1): m.group(2).strip() for m in re.finditer(r"^:([\w-]+):\s*(.*)$", text or "", re.M)}


def parse_doc_date(value, where):
    value = re.sub(r"\s+", " ", value.strip())
    for fmt, approx in (("%B %d, %Y", False), ("%b %d, %Y", False), ("%B %Y", True), ("%b %Y", True)):
        try:
            d = datetime.datetime.strptime(value, fmt)
        except ValueError:
            continue
        return (d.strftime("%Y-%m") if approx else d.strftime("%Y-%m-%d")), approx
    raise InputError(f"{where}: date {value!r} is not 'Month D, YYYY' or 'Month YYYY'")


def parse_calendar_adoc(text, attrs, where):
    lines = text.splitlines()
    head = next((i for i, l in enumerate(lines) if re.match(r"^\|\s*Kubernetes version\s*(\||$)", l.strip())), None)
    if head is None:
        raise InputError(f"{where}: no release calendar table (a '|Kubernetes version' header)")
    starts = [i for i in range(head) if lines[i].strip() == "|==="]
    ends = [i for i in range(head, len(lines)) if lines[i].strip() == "|==="]
    if not starts or not ends:
        raise InputError(f"{where}: the calendar table is not delimited by |=== lines")
    start, end = starts[-1], ends[0]
    cols = None
    for i in range(max(0, start - 3), start):
        m = re.search(r'cols="(\d+)"', lines[i])
        if m:
            cols = int(m.group(1))
    cells, groups = [], [[]]
    for line in lines[start + 1:end]:
        s = line.strip()
        if not s:
            if groups[-1]:
                groups.append([])
            continue
        if s.startswith("|"):
            parts = [p.strip() for p in s.split("|")[1:]]
            cells += parts
            groups[-1] += parts
        elif cells:
            cells[-1] += " " + s
    if cols is None:
        cols = len(groups[0])
    header = [CALENDAR_COLUMNS.get(c.lower()) for c in cells[:cols]]
    for needed in ("kubernetes_version", "eks_release", "end_of_standard_support"):
        if needed not in header:
            raise InputError(f"{where}: calendar table has no {needed} column (header {cells[:cols]})")
    data = cells[cols:]
    if len(data) % cols:
        raise InputError(f"{where}: calendar table has {len(data)} cells, not a multiple of {cols}")

    def resolve(value):
        def sub(m):
            if m.group(1) not in attrs:
                raise InputError(f"{where}: unknown attribute {{{m.group(1)}}} in the calendar table")
            return attrs[m.group(1)]
        return re.sub(r"\{([\w-]+)\}", sub, value)

    rows = []
    for n in range(0, len(data), cols):
        row, approx = {}, []
        for field, value in zip(header, data[n:n + cols]):
            if field is None:
                continue
            value = resolve(value).strip().strip("`").strip()
            if field == "kubernetes_version":
                if not re.fullmatch(r"\d+\.\d+", value):
                    raise InputError(f"{where}: Kubernetes version {value!r}")
                row[field] = value
            else:
                row[field], is_approx = parse_doc_date(value, where)
                if is_approx:
                    approx.append(field)
        if approx:
            row["approximate"] = approx
        rows.append(row)
    if not rows:
        raise InputError(f"{where}: calendar table has no rows")
    return sorted(rows, key=lambda r: vkey(r["kubernetes_version"]), reverse=True)


def refresh_eks_docs(git, report):
    for path in EKS_DOCS_PAGES:
        text = git.text(git.head, path)
        if text is not None:
            break
    else:
        raise InputError(f"--eks-docs {git.path}: neither {' nor '.join(EKS_DOCS_PAGES)} exists at HEAD "
                         f"({git.head[:12]})")
    where = git.ref(git.head, path)
    attrs = parse_attributes(git.text(git.head, EKS_DOCS_ATTRIBUTES))
    rows = parse_calendar_adoc(text, attrs, where)
    report.read.append(f"{git.repo}@{git.head} ({git.path}): {path}, calendar "
                       f"{rows[-1]['kubernetes_version']} .. {rows[0]['kubernetes_version']}")
    sha, iso, _ = git.last_change(path)
    return {"rows": rows, "source": {
        "repo": git.repo, "commit": git.head, "path": path, "commit_date": git.date(git.head),
        "file_last_changed_commit": sha, "file_last_changed_date": iso,
        "how_read": f"{TOOL} from a local git checkout",
    }}


def merge_eks_versions(previous, docs, report, cover):
    doc = json.loads(json.dumps(previous)) if previous else {}
    sources = doc.setdefault("calendar_sources", {})
    key = next((s for s, v in sources.items() if isinstance(v, dict) and v.get("repo") == docs["source"]["repo"]
                and v.get("commit") == docs["source"]["commit"] and v.get("path") == docs["source"]["path"]), None)
    if key is None:
        key = next(chr(c) for c in range(ord("A"), ord("Z") + 1) if chr(c) not in sources)
    sources[key] = docs["source"]
    ref = f"{docs['source']['repo']}@{docs['source']['commit']}:{docs['source']['path']}"
    new = {r["kubernetes_version"]: dict(r, sources=[key], source=ref) for r in docs["rows"]}
    old = {r["kubernetes_version"]: r for r in doc.get("calendar", [])}
    newest_doc = max(new, key=vkey)
    for version in sorted(old, key=vkey):
        if version not in new and vkey(version) > vkey(newest_doc):
            report.fail(f"stale:eks-docs:{version}", "aws/eks_versions.json", f"calendar {version}",
                        f"previous ground truth has a row for {version} (sources {', '.join(old[version].get('sources', []))}) "
                        f"but {ref} ends at {newest_doc}: the docs checkout is older than the ground truth "
                        "(or the row came from elsewhere)")
    merged = dict(old)
    merged.update(new)
    previous_rows = doc.get("calendar", [])
    doc["calendar"] = [merged[v] for v in sorted(merged, key=vkey, reverse=True)]
    for i, version in enumerate(r.get("kubernetes_version") for r in previous_rows):
        if version in new:
            cover.add(("aws/eks_versions.json", ("calendar", i)))
            cover.add(("aws/eks_versions.json", ("kubernetes_" + version.replace(".", "_"),)))
            section = doc.get("kubernetes_" + version.replace(".", "_"))
            if isinstance(section, dict):
                doc["kubernetes_" + version.replace(".", "_")] = {
                    "status": f"Calendar row read from {ref} by {TOOL} on {datetime.date.today().isoformat()}."}
    return doc


# --------------------------------------------------------------------------
# knowledge-dates.json

def set_family(dates, name, covers, new_sources, replace_repos, extra=None, replace_all=False):
    """Put new_sources first; keep the previous sources except those of
    replace_repos (all of them with replace_all) and exact repeats."""
    fam = dates["families"].setdefault(name, {"covers": covers, "sources": []})
    fam.setdefault("covers", covers)
    new_refs = {s["ref"] for s in new_sources}
    kept = [] if replace_all else [
        s for s in fam.get("sources", [])
        if s.get("ref") not in new_refs
        and not any(str(s.get("ref", "")).startswith((r + "@", r + " ")) for r in replace_repos)]
    fam["sources"] = new_sources + kept
    fam["date"] = max(s["date"] for s in fam["sources"] if s.get("date"))
    for k, v in (extra or {}).items():
        fam[k] = v
    fam["refreshed_by"] = TOOL


def merge_dates(previous, results):
    dates = json.loads(json.dumps(previous)) if previous else {
        "_meta": {"description": "Per fact family of the ground truth, the date of the newest source it "
                                 "was read from (commit date, UTC)."}, "families": {}}
    dates.setdefault("families", {})
    today = datetime.date.today().isoformat()
    dates["compiled"] = today
    dates.setdefault("_meta", {})["compiled"] = today
    c, h = results.get("cilium"), results.get("charts")
    if c:
        per_minor, sources = {}, []
        for minor, e in c["entries"].items():
            per_minor[minor] = {"ref": e["doc_ref"]["ref"], "commit": e["doc_ref"]["commit"],
                                "date": e["doc_ref"]["commit_date"]}
            sources.append({"date": e["doc_ref"]["commit_date"],
                            "ref": f"cilium/cilium@{e['doc_ref']['ref']}({e['doc_ref']['commit']})",
                            "what": f"{minor} compatibility.rst, requirements.rst, EKS CI matrix"})
            if "at_branch_head" in e and "k8s_tested" in e["at_branch_head"]:
                b = e["at_branch_head"]
                per_minor[minor]["branch_head"] = {"ref": b["ref"], "commit": b["commit"], "date": b["commit_date"]}
                sources.append({"date": b["commit_date"], "ref": f"cilium/cilium@{b['ref']}({b['commit']})",
                                "what": f"{minor} release branch head (compared only; see compatibility.json at_branch_head)"})
        set_family(dates, "cilium_docs", "k8s_tested, requirements, EKS CI matrix (cilium/compatibility.json)",
                   sources, ["cilium/cilium"], {"per_minor": per_minor}, replace_all=True)
    if c or h:
        sources, facts = [], []
        if h:
            sources.append({"date": h["date"], "ref": f"cilium/charts@{h['commit']}:index.yaml",
                            "what": "chart publication times, newest chart per minor"})
            facts += [v["created"][:10] for v in h["entries"].values()]
        if c:
            sources.append({"date": max(e["doc_ref"]["commit_date"] for e in c["entries"].values()),
                            "ref": f"cilium/cilium@{c['head']} tags",
                            "what": "newest patch tag per minor"})
            facts += [e["doc_ref"]["commit_date"] for e in c["entries"].values()]
        replace = (["cilium/charts"] if h else []) + (["cilium/cilium"] if c else [])
        set_family(dates, "cilium_releases", "latest patch per minor (cilium/compatibility.json latest_patch_release)",
                   sources, replace, {"facts_to": max(facts)}, replace_all=bool(h))
    v = results.get("vpc_cni")
    if v:
        set_family(dates, "ec2_limits", "aws/instance_limits.csv, instance_enis_all_cards.csv, eni-max-pods.txt",
                   [{"date": v["commit_date"], "ref": f"{v['repo']}@{v['commit']}:{VPC_LIMITS}",
                     "what": f"ENI and IPv4 limits, network cards (file last changed {(v['go_change'][0] or '')[:8]}, "
                             f"{(v['go_change'][1] or '')[:10]})"}],
                   [v["repo"]], {"limits_table_date": utc_iso_date(v["go_change"][1]) if v["go_change"][1] else None})
    a = results.get("eks_ami")
    if a:
        s = a["source"]
        set_family(dates, "ami_kernels", "aws/amis.json (AL2, AL2023 kernel series per Kubernetes minor)",
                   [{"date": s["commit_date"], "ref": f"{s['repo']}@{s['commit']}:CHANGELOG.md",
                     "what": f"releases {s['releases_covered']}"}],
                   [s["repo"]], {"facts_to": release_date(a["newest_release"])})
    d = results.get("eks_docs")
    if d:
        s = d["source"]
        set_family(dates, "eks_calendar", "aws/eks_versions.json calendar",
                   [{"date": s["commit_date"], "ref": f"{s['repo']}@{s['commit']}:{s['path']}",
                     "what": f"calendar {d['rows'][-1]['kubernetes_version']}-{d['rows'][0]['kubernetes_version']}"}],
                   [])
    return dates


# --------------------------------------------------------------------------
# "not checked" facts of --previous

def flagged_facts(node, pointer=()):
    """(pointer, text) for every string that says 'not checked'/'not
    verified' and every "checked"/"verified": false."""
    if isinstance(node, dict):
        for k, v in node.items():
            if k.lower() in CHECK_FLAG_KEYS and v is False:
                yield pointer + (k,), f'"{k}": false'
            else:
                yield from flagged_facts(v, pointer + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            yield from flagged_facts(v, pointer + (i,))
    elif isinstance(node, str):
        m = NOT_CHECKED_RE.search(node)
        if m:
            s = max(0, m.start() - 60)
            yield pointer, ("…" if s else "") + node[s:m.end() + 40].replace("\n", " ") + ("…" if m.end() + 40 < len(node) else "")


def json_pointer(pointer):
    return "#/" + "/".join(str(p).replace("~", "~0").replace("/", "~1") for p in pointer)


def check_not_checked(previous_dir, report, cover):
    if previous_dir is None:
        return
    for path in sorted(previous_dir.rglob("*.json")):
        rel = path.relative_to(previous_dir).as_posix()
        if rel.startswith("realworld/"):
            continue
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, ValueError) as e:
            raise InputError(f"--previous: {rel}: not readable JSON ({e})") from None
        for pointer, text in flagged_facts(data):
            if any(f == rel and pointer[:len(p)] == p for f, p in cover):
                continue
            report.fail(f"not-checked:{rel}{json_pointer(pointer)}", rel, json_pointer(pointer),
                        f"marked unverified in --previous and not re-derived by this run: {text}")


# --------------------------------------------------------------------------
# EKS calendar vs Cilium

def check_calendar_covers_cilium(compat, eks_versions, report):
    if not compat or not eks_versions or not compat.get("cilium"):
        return
    minors = compat["cilium"]
    newest = max(minors, key=vkey)
    entry = minors[newest]
    calendar = {r.get("kubernetes_version") for r in eks_versions.get("calendar", [])}
    lists = [(entry.get("doc_ref", {}).get("ref", newest), entry.get("k8s_tested", []))]
    branch = entry.get("at_branch_head") or {}
    if branch.get("k8s_tested") and branch["k8s_tested"] != entry.get("k8s_tested"):
        lists.append((branch["ref"], branch["k8s_tested"]))
    for ref, versions in lists:
        for v in versions:
            if v not in calendar:
                report.fail(f"eks-calendar:{v}", "aws/eks_versions.json", "calendar",
                            f"no row for Kubernetes {v}, which Cilium {newest} ({ref}) lists as tested; "
                            f"calendar rows: {listing(sorted(calendar, key=vkey))}")


# --------------------------------------------------------------------------
# summary against --previous

def flatten(node, pointer=()):
    if isinstance(node, dict):
        out = {}
        for k, v in node.items():
            out.update(flatten(v, pointer + (k,)))
        return out
    if isinstance(node, list):
        if node and all(isinstance(i, dict) and "kubernetes_version" in i for i in node):
            out = {}
            for i in node:
                out.update(flatten(i, pointer + (i["kubernetes_version"],)))
            return out
        if all(not isinstance(i, (dict, list)) for i in node):
            return {pointer: ", ".join(map(str, node))}
        out = {}
        for i, v in enumerate(node):
            out.update(flatten(v, pointer + (i,)))
        return out
    return {pointer: node}


def short(value):
    text = json.dumps(value, ensure_ascii=False) if not isinstance(value, str) else value
    return text if len(text) <= 90 else text[:87] + "..."


def diff_lines(rel, old, new, limit=40):
    lines, detail = [], []
    if rel.endswith(".json"):
        a = flatten(json.loads(old)) if old else {}
        b = flatten(json.loads(new))
        added = [k for k in b if k not in a]
        removed = [k for k in a if k not in b]
        changed = [k for k in b if k in a and a[k] != b[k]]
        for k in changed:
            detail.append(f"    ~ {json_pointer(k)}: {short(a[k])} -> {short(b[k])}")
        for k in added:
            detail.append(f"    + {json_pointer(k)}: {short(b[k])}")
        for k in removed:
            detail.append(f"    - {json_pointer(k)}: {short(a[k])}")
    elif rel.endswith(".csv"):
        def rows(text):
            return {r[0]: r for r in list(csv.reader(io.StringIO(text)))[1:]} if text else {}
        a, b = rows(old), rows(new)
        added = [k for k in b if k not in a]
        removed = [k for k in a if k not in b]
        changed = [k for k in b if k in a and a[k] != b[k]]
        detail += [f"    ~ {k}: {','.join(a[k])} -> {','.join(b[k])}" for k in changed] + [f"    + {k}" for k in added]
        detail += [f"    - {k}" for k in removed]
    else:
        a = set((old or "").splitlines())
        b = set(new.splitlines())
        added, removed, changed = sorted(b - a), sorted(a - b), []
        detail += [f"    + {k}" for k in added] + [f"    - {k}" for k in removed]
    status = "new file" if old is None else "unchanged" if not (added or removed or changed) else "changed"
    lines.append(f"  {rel}: {status}: {len(added)} added, {len(changed)} changed, {len(removed)} removed")
    lines += detail[:limit]
    if len(detail) > limit:
        lines.append(f"    ... {len(detail) - limit} more (compare the files)")
    return lines


# --------------------------------------------------------------------------
# main

def load_previous(previous_dir, rel, binary=False):
    if previous_dir is None:
        return None
    path = previous_dir / rel
    if not path.exists():
        return None
    try:
        data = path.read_bytes()
        if binary:
            return data
        text = data.decode("utf-8")
        return json.loads(text) if rel.endswith(".json") else text
    except (OSError, UnicodeDecodeError, ValueError) as e:
        raise InputError(f"--previous: {rel}: not readable ({e})") from None


def parse_args(argv):
    p = argparse.ArgumentParser(
        description="Rebuild parts of the shared ground truth from local checkouts of upstream sources, "
                    "with cross-checks. See the module docstring for the details.")
    p.add_argument("--cilium", metavar="DIR", help="git checkout of cilium/cilium, with tags")
    p.add_argument("--charts", metavar="DIR", help="git checkout of cilium/charts")
    p.add_argument("--vpc-cni", metavar="DIR", help="git checkout of aws/amazon-vpc-cni-k8s")
    p.add_argument("--eks-ami", metavar="DIR", help="git checkout of awslabs/amazon-eks-ami")
    p.add_argument("--eks-docs", metavar="DIR", help="git checkout of awsdocs/amazon-eks-user-guide")
    p.add_argument("--previous", metavar="DIR", default=str(DEFAULT_PREVIOUS),
                   help="the ground truth to compare with and to carry facts over from "
                        "(default ../shared/data); '' for none")
    p.add_argument("--out", metavar="DIR", help="new or empty output directory "
                                                "(default ./knowledge-refresh-<UTC time>)")
    p.add_argument("--full-tree", action="store_true",
                   help="also copy the files of --previous this run does not write")
    p.add_argument("--acknowledge", metavar="KEY", action="append", default=[],
                   help="turn the failure with this key into an ACK line (repeatable)")
    return p.parse_args(argv)


def prepare_out(args, previous_dir):
    out = Path(args.out) if args.out else Path.cwd() / (
        "knowledge-refresh-" + datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ"))
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise InputError(f"--out {out}: exists and is not an empty directory (never overwritten)")
    if previous_dir is not None:
        o, p = out.resolve(), previous_dir.resolve()
        if o == p or p in o.parents:
            raise InputError(f"--out {out}: inside --previous {previous_dir}; the ground truth is not changed in place")
    return out


def run(argv):
    args = parse_args(argv)
    flags = {"cilium": ("--cilium", "cilium/cilium"), "charts": ("--charts", "cilium/charts"),
             "vpc_cni": ("--vpc-cni", "aws/amazon-vpc-cni-k8s"), "eks_ami": ("--eks-ami", "awslabs/amazon-eks-ami"),
             "eks_docs": ("--eks-docs", "awsdocs/amazon-eks-user-guide")}
    given = {name: getattr(args, name) for name in flags if getattr(args, name)}
    if not given:
        raise InputError("no source checkout given: name at least one of "
                         + ", ".join(f for f, _ in flags.values()))
    previous_dir = Path(args.previous) if args.previous else None
    if previous_dir is not None and not previous_dir.is_dir():
        raise InputError(f"--previous {previous_dir}: no such directory")
    gits = {name: Git(flags[name][0], path, flags[name][1]) for name, path in given.items()}
    out = prepare_out(args, previous_dir)
    report = Report(args.acknowledge)
    cover = set()
    results, files = {}, {}

    prev_compat = load_previous(previous_dir, "cilium/compatibility.json")
    prev_eks = load_previous(previous_dir, "aws/eks_versions.json")
    compat = prev_compat

    if "cilium" in gits or "charts" in gits:
        cil = refresh_cilium(gits["cilium"], report) if "cilium" in gits else None
        cha = refresh_charts(gits["charts"], report) if "charts" in gits else None
        if cil is not None:
            results["cilium"] = {"entries": cil, "head": gits["cilium"].head}
        if cha is not None:
            g = gits["charts"]
            results["charts"] = {"entries": cha, "commit": g.head, "date": g.date(g.head)}
        compat = merge_compatibility(prev_compat, cil, cha, report, cover, gits.get("charts"))
        files["cilium/compatibility.json"] = dump_json(compat)
    if "vpc_cni" in gits:
        prev_src = load_previous(previous_dir, "aws/limits_source.json")
        vpc = refresh_vpc_cni(gits["vpc_cni"], report, prev_src)
        results["vpc_cni"] = vpc
        files["aws/instance_limits.csv"] = vpc["limits_csv"]
        files["aws/instance_enis_all_cards.csv"] = vpc["all_cards_csv"]
        files["aws/eni-max-pods.txt"] = vpc["eni_max_pods"]
        files["aws/limits_source.json"] = dump_json(merge_limits_source(prev_src, vpc))
        for key in ("instance_limits_csv", "instance_enis_all_cards_csv", "eni-max-pods.txt"):
            cover.add(("aws/limits_source.json", (key,)))
    if "eks_ami" in gits:
        prev_amis = load_previous(previous_dir, "aws/amis.json")
        ami = refresh_eks_ami(gits["eks_ami"], report, prev_amis)
        results["eks_ami"] = ami
        files["aws/amis.json"] = dump_json(merge_amis(prev_amis, ami))
        for fam in ("amazon_linux_2", "amazon_linux_2023"):
            for key in ("detail", "kernel_series_by_k8s_version", "source", "method"):
                cover.add(("aws/amis.json", (fam, key)))
    eks = prev_eks
    if "eks_docs" in gits:
        docs = refresh_eks_docs(gits["eks_docs"], report)
        results["eks_docs"] = docs
        eks = merge_eks_versions(prev_eks, docs, report, cover)
        files["aws/eks_versions.json"] = dump_json(eks)
    dates_prev = load_previous(previous_dir, "knowledge-dates.json")
    files["knowledge-dates.json"] = dump_json(merge_dates(dates_prev, results))
    for fam, src in (("cilium_docs", "cilium"), ("cilium_releases", "charts"), ("ec2_limits", "vpc_cni"),
                     ("ami_kernels", "eks_ami"), ("eks_calendar", "eks_docs")):
        if src in results:
            cover.add(("knowledge-dates.json", ("families", fam)))
    if "cilium" in results:
        cover.add(("knowledge-dates.json", ("families", "cilium_releases")))

    check_calendar_covers_cilium(compat, eks, report)
    check_not_checked(previous_dir, report, cover)

    # Write.
    out.mkdir(parents=True, exist_ok=True)
    for rel, content in files.items():
        path = out / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            path.write_bytes(content)
        else:
            path.write_text(content, encoding="utf-8", newline="\n")
    if args.full_tree and previous_dir is not None:
        for src in sorted(previous_dir.rglob("*")):
            rel = src.relative_to(previous_dir).as_posix()
            if src.is_file() and rel not in files:
                dst = out / rel
                dst.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(src, dst)

    # Report.
    lines = ["refresh-knowledge: read"] + [f"  {r}" for r in report.read]
    lines.append(f"wrote {out}: " + ", ".join(sorted(files)) + (" (+ the rest of --previous)" if args.full_tree else ""))
    lines.append(f"changes against --previous ({previous_dir if previous_dir else 'none'}):")
    for rel in sorted(files):
        old = load_previous(previous_dir, rel, binary=True)
        new = files[rel]
        lines += diff_lines(rel, None if old is None else old.decode("utf-8", "replace"),
                            new.decode("utf-8", "replace") if isinstance(new, bytes) else new)
    lines += [f"NOTE {n}" for n in report.notes]
    lines += [f"WARN {w}" for w in report.warnings]
    acked = [(k, l) for k, l in report.failures if k in report.acknowledged]
    failed = [(k, l) for k, l in report.failures if k not in report.acknowledged]
    lines += [f"ACK [{k}] {l}" for k, l in acked]
    for key in sorted(report.acknowledged - {k for k, _ in report.failures}):
        lines.append(f"WARN --acknowledge {key}: no such failure in this run (drop it)")
    lines += [f"FAIL [{k}] {l}" for k, l in failed]
    if failed:
        lines.append(f"result: {len(failed)} cross-check failure(s); the output in {out} is for inspection "
                     "until they are resolved or acknowledged (exit 1)")
    else:
        lines.append(f"result: all cross-checks pass ({len(acked)} acknowledged) (exit 0)")
    text = "\n".join(lines) + "\n"
    (out / "refresh-report.txt").write_text(text, encoding="utf-8")
    sys.stdout.write(text)
    return 1 if failed else 0


def main(argv=None):
    try:
        return run(sys.argv[1:] if argv is None else argv)
    except InputError as e:
        print(f"refresh-knowledge: error: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"refresh-knowledge: error: {e.filename or ''}: {e.strerror or e}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
