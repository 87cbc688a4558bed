#!/usr/bin/env python3
"""What checkov (3.3.x) and `eks-cilium-doctor preflight` each find, per file,
in a directory of real infrastructure code (default: the shared corpus
../shared/data/realworld/iac). Prints a Markdown table (the README's).

    python3 scripts/compare-checkov.py [DIR] [--checkov PATH] [--doctor PATH]

checkov runs once over the directory, offline (BC_SKIP_MAPPING=TRUE,
--skip-download); preflight runs once per file, so each row says what that
file alone gives. A file preflight does not read (Pulumi and CDK program
sources, Helm values files on their own) shows the reason it was skipped.
"""

import argparse
import json
import os
import shutil
import subprocess
import sys
from collections import defaultdict
from pathlib import Path


def checkov_findings(checkov, directory):
    """file name -> sorted failed check ids; None when checkov is absent."""
    if not checkov:
        return None
    env = dict(os.environ, BC_SKIP_MAPPING="TRUE", LOG_LEVEL="ERROR")
    run = subprocess.run(
        [checkov, "-d", str(directory), "--skip-download", "--output", "json", "--quiet", "--compact"],
        capture_output=True, text=True, env=env, check=False,
    )
    if run.returncode not in (0, 1):
        sys.exit(f"checkov failed (exit {run.returncode}): {run.stderr[-2000:]}")
    out = run.stdout.strip()
    reports = json.loads(out) if out else []
    if isinstance(reports, dict):
        reports = [reports]
    found = defaultdict(set)
    for report in reports:
        for failed in report.get("results", {}).get("failed_checks", []):
            found[Path(failed["file_path"]).name].add(failed["check_id"])
    return {name: sorted(ids) for name, ids in found.items()}


def preflight(doctor, path):
    """(codes found, or the reason nothing was evaluated)."""
    run = subprocess.run(
        [doctor, "preflight", str(path), "--format", "json", "--fail-on", "none", "--color", "never"],
        capture_output=True, text=True, check=False,
    )
    if run.returncode == 2:
        message = run.stderr.strip().removeprefix("error: ")
        if "no input was recognised" in message:
            return [], "not read: " + message.split(": ", 2)[-1].split(";")[0]
        message = message.replace(str(path) + ": ", "")
        if "binary Terraform plan" in message:
            return [], "refused (exit 2): a binary plan; `terraform show -json` gives what preflight reads"
        return [], "refused (exit 2): " + message[:160]
    report = json.loads(run.stdout)
    codes = sorted({f["rule"] for f in report["findings"] if f["rule"] != "VER011"})
    return codes, ""


def main():
    here = Path(__file__).resolve().parent.parent
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("dir", nargs="?", default=here.parent / "shared/data/realworld/iac")
    parser.add_argument("--checkov", default=shutil.which("checkov"))
    parser.add_argument("--doctor", default=str(here / "target/debug/eks-cilium-doctor"))
    args = parser.parse_args()
    directory = Path(args.dir)
    files = sorted(p for p in directory.iterdir() if p.is_file() and p.name != "README.md")
    checkov = checkov_findings(args.checkov, directory)
    print("| file | checkov | preflight |")
    print("|---|---|---|")
    for path in files:
        codes, why = preflight(args.doctor, path)
        ours = ", ".join(codes) if codes else (why or "none")
        if checkov is None:
            theirs = "(checkov not installed)"
        else:
            theirs = ", ".join(checkov.get(path.name, [])) or "none"
        print(f"| `{path.name}` | {theirs} | {ours.replace('|', '/')} |")


if __name__ == "__main__":
    main()
