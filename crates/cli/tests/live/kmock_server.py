"""A Kubernetes API for the live tests: kmock's in-memory emulator, seeded
with the objects of a directory of `kubectl get -o json` dumps.

Usage: kmock_server.py DUMP_DIR [--deny GROUP/VERSION/PLURAL]... [--page N]
Prints the URL on the first line of stdout, then serves until killed.
- Every kind the collector reads exists (empty when the dump has none);
  Cilium's CRDs are served when the dump has Cilium objects; Karpenter's
  NodePools and security-group policies are not installed unless seeded.
- Pods are served in pages of N (`limit`/`continue`), as an API server
  may return fewer items than asked.
- `--deny` answers 403 Forbidden for a list, as RBAC would.
"""

import argparse
import asyncio
import json
import pathlib
import sys

import kmock

# kind -> (group/version, plural, namespaced)
KINDS = {
    "Node": ("v1", "nodes", False),
    "Pod": ("v1", "pods", True),
    "Event": ("v1", "events", True),
    "ServiceAccount": ("v1", "serviceaccounts", True),
    "Service": ("v1", "services", True),
    "ConfigMap": ("v1", "configmaps", True),
    "DaemonSet": ("apps/v1", "daemonsets", True),
    "Deployment": ("apps/v1", "deployments", True),
    "StatefulSet": ("apps/v1", "statefulsets", True),
    "ReplicaSet": ("apps/v1", "replicasets", True),
    "ValidatingWebhookConfiguration": ("admissionregistration.k8s.io/v1", "validatingwebhookconfigurations", False),
    "MutatingWebhookConfiguration": ("admissionregistration.k8s.io/v1", "mutatingwebhookconfigurations", False),
    "ClusterRole": ("rbac.authorization.k8s.io/v1", "clusterroles", False),
    "ClusterRoleBinding": ("rbac.authorization.k8s.io/v1", "clusterrolebindings", False),
    "CustomResourceDefinition": ("apiextensions.k8s.io/v1", "customresourcedefinitions", False),
    "NetworkPolicy": ("networking.k8s.io/v1", "networkpolicies", True),
    "CiliumNode": ("cilium.io/v2", "ciliumnodes", False),
    "CiliumEndpoint": ("cilium.io/v2", "ciliumendpoints", True),
    "CiliumNetworkPolicy": ("cilium.io/v2", "ciliumnetworkpolicies", True),
    "CiliumClusterwideNetworkPolicy": ("cilium.io/v2", "ciliumclusterwidenetworkpolicies", False),
    "SecurityGroupPolicy": ("vpcresources.k8s.aws/v1beta1", "securitygrouppolicies", True),
    "NodePool": ("karpenter.sh/v1", "nodepools", False),
}
BUILT_IN = {k for k, (gv, _, _) in KINDS.items()
            if "." not in gv.split("/")[0] or gv.split("/")[0].endswith("k8s.io")}


def load(dump: pathlib.Path):
    objects = []
    version = None
    for path in sorted(dump.glob("*.json")):
        doc = json.loads(path.read_text())
        if "serverVersion" in doc:
            version = doc["serverVersion"]
            continue
        for obj in doc.get("items", [doc]) if "kind" in doc else []:
            if obj.get("kind") in KINDS:
                objects.append(obj)
    return objects, version


def paged(objects, page):
    """A list handler with real `limit`/`continue` semantics (the token is an offset)."""
    def serve(request):
        start = int(request.params.get("continue") or 0)
        size = min(int(request.params.get("limit") or page), page)
        items = objects[start:start + size]
        more = start + size < len(objects)
        return {"apiVersion": "v1", "kind": "PodList",
                "metadata": {"resourceVersion": "4242", **({"continue": str(start + size)} if more else {})},
                "items": items}
    return serve


async def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("dump", type=pathlib.Path)
    parser.add_argument("--deny", action="append", default=[])
    parser.add_argument("--page", type=int, default=7)
    args = parser.parse_args()

    objects, version = load(args.dump)
    emulator = kmock.KubernetesEmulator()
    present = {o["kind"] for o in objects}
    cilium = any(k.startswith("Cilium") for k in present)
    for kind, (gv, plural, namespaced) in KINDS.items():
        installed = kind in BUILT_IN or kind in present or (cilium and gv.startswith("cilium.io/"))
        if installed:
            emulator.resources[f"{gv}/{plural}"] = kmock.ResourceInfo(
                kind=kind, namespaced=namespaced, verbs={"get", "list", "watch"})
    for obj in objects:
        gv, plural, namespaced = KINDS[obj["kind"]]
        meta = obj["metadata"]
        emulator.objects[f"{gv}/{plural}", meta.get("namespace") if namespaced else None, meta["name"]] = obj
    pods = [o for o in objects if o["kind"] == "Pod"]
    emulator["list", kmock.resource("v1/pods")] << paged(pods, args.page)
    for denied in args.deny:
        emulator["list", kmock.resource(denied)] << 403 << kmock.data({
            "kind": "Status", "apiVersion": "v1", "status": "Failure", "reason": "Forbidden", "code": 403,
            "message": f'{denied} is forbidden: User "doctor" cannot list resource "{denied.split("/")[-1]}" '
                       f'at the cluster scope'})
    if version:
        emulator["get /version"] << version

    async with emulator, kmock.Server(emulator) as server:
        print(server.url, flush=True)
        await asyncio.Event().wait()


if __name__ == "__main__":
    asyncio.run(main())
