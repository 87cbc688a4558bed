#!/usr/bin/env python3
"""Lint and render deploy/chart through Helm's own Go engine.

helm cannot be installed from the registries this project reaches; the PyPI
package helm-python-sdk (scripts/test.sh installs it) binds Helm v4's Go SDK,
the code `helm lint` and `helm template` run. Output is laid out as
`helm template` prints it: one `---` / `# Source:` block per object, in
Helm's install order.

Usage:
  chart.py lint CHART                  exit 1 on a warning or error
  chart.py template CHART [--namespace NS] [--name NAME] [--values JSON]
"""

import argparse
import json
import re
import sys

import helm_python as helm

# Helm's InstallOrder for the kinds the chart has; others go last.
ORDER = ["Namespace", "ServiceAccount", "ClusterRole", "ClusterRoleBinding",
         "Service", "Deployment"]
INFO = 1


def lint(chart: str) -> int:
    report = helm.lint(chart)
    worst = 0
    for m in report["messages"]:
        print(f'{m["severity"]} {m["path"]}: {m["error"]}')
        worst = max(worst, m["severity"])
    for e in report.get("errors") or []:
        print(f"error: {e}")
        worst = max(worst, 4)
    return 1 if worst > INFO else 0


def template(chart: str, name: str, namespace: str, values: dict) -> str:
    with helm.Chart.load(chart) as loaded:
        rendered = loaded.render(values, name=name, namespace=namespace)
    blocks = []
    for path in sorted(rendered):
        for doc in re.split(r"^---\s*$", rendered[path], flags=re.M):
            body = doc.strip("\n")
            meaningful = [l for l in body.splitlines() if l.strip() and not l.lstrip().startswith("#")]
            if not meaningful:
                continue
            kind = re.search(r"^kind:\s*(\S+)", body, flags=re.M).group(1)
            rank = ORDER.index(kind) if kind in ORDER else len(ORDER)
            blocks.append((rank, kind, path, f"---\n# Source: {path}\n{body}\n"))
    blocks.sort(key=lambda b: b[:3])
    return "".join(b[3] for b in blocks)


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("command", choices=["lint", "template"])
    parser.add_argument("chart")
    parser.add_argument("--name", default="eks-cilium-doctor")
    parser.add_argument("--namespace", default="eks-cilium-doctor")
    parser.add_argument("--values", default="{}", help="values as JSON")
    args = parser.parse_args()
    if args.command == "lint":
        return lint(args.chart)
    sys.stdout.write(template(args.chart, args.name, args.namespace, json.loads(args.values)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
