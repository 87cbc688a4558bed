"""A Kubernetes API for the live tests: kmock's in-memory emulator, seeded
with the objects of a directory of `kubectl get -o json` dumps.

Usage: kmock_server.py DUMP_DIR [--deny GROUP/VERSION/PLURAL]... [--page N]
                        [--log NS/POD/CONTAINER[/previous]=FILE]... [--deny-logs]
                        [--policy-reports]
Prints the URL on the first line of stdout, then serves until killed.
- Every kind the collector reads exists (empty when the dump has none);
  Cilium's CRDs are served when the dump has Cilium objects; Karpenter's
  NodePools and security-group policies are not installed unless seeded.
- Pods are served in pages of N (`limit`/`continue`), as an API server
  may return fewer items than asked.
- `--deny` answers 403 Forbidden for a list, as RBAC would.
- `GET pods/NAME/log` (kmock's emulator would answer it with the pod
  object: it ignores the subresource) is served as the kubelet does: the
  `--log` file's text for that container (`/previous`: its previous
  instance, whose pod status then says it restarted once), cut to the
  last `tailLines` and to `limitBytes`; an empty log for other
  containers; 400 for `previous=true` of a container that never
  restarted, 404 for an unknown pod. `--deny-logs` answers 403 instead.
- `--policy-reports` installs the wgpolicyk8s.io CRDs' resources, so the
  emulator stores what `serve --policy-report` creates (POST) and patches
  (PATCH: kmock merges the body into the object, None removing a key, as
  a JSON merge patch does). kmock 0.8 does not serve PUT (replace): its
  emulator guesses no action for PUT on a named object.
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
    parser.add_argument("--log", action="append", default=[])
    parser.add_argument("--deny-logs", action="store_true")
    parser.add_argument("--policy-reports", action="store_true")
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
    logs = {}
    for spec in args.log:
        key, path = spec.split("=", 1)
        logs[key] = pathlib.Path(path).read_text()
    for key in logs:
        parts = key.split("/")
        if len(parts) == 4 and parts[3] == "previous":
            restarted(objects, parts[0], parts[1], parts[2])
    pods = [o for o in objects if o["kind"] == "Pod"]
    emulator["list", kmock.resource("v1/pods")] << paged(pods, args.page)
    emulator["get", kmock.resource("v1/pods"), kmock.subresource("log")] << pod_log(pods, logs, args.deny_logs)
    if args.policy_reports:
        for plural, kind, namespaced in [("policyreports", "PolicyReport", True),
                                         ("clusterpolicyreports", "ClusterPolicyReport", False)]:
            emulator.resources[f"wgpolicyk8s.io/v1alpha2/{plural}"] = kmock.ResourceInfo(
                kind=kind, namespaced=namespaced, verbs={"get", "list", "watch", "create", "patch"})
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


def restarted(objects, namespace, pod, container):
    for obj in objects:
        meta = obj["metadata"]
        if obj["kind"] == "Pod" and meta.get("namespace") == namespace and meta["name"] == pod:
            for status in obj.get("status", {}).get("containerStatuses", []):
                if status["name"] == container:
                    status["restartCount"] = max(1, status.get("restartCount", 0))


def pod_log(pods, logs, deny):
    """The kubelet's answer to GET pods/NAME/log?container=…&previous=…&tailLines=…&limitBytes=…"""
    def serve(request):
        container = request.params.get("container", "")
        previous = request.params.get("previous") == "true"
        if deny:
            raise kmock.KubernetesError(
                status=403, reason="Forbidden",
                message=f'pods "{request.name}" is forbidden: User "doctor" cannot get resource '
                        f'"pods/log" in API group "" in the namespace "{request.namespace}"')
        pod = next((p for p in pods if p["metadata"]["name"] == request.name
                    and p["metadata"].get("namespace") == request.namespace), None)
        if pod is None:
            raise kmock.KubernetesError(status=404, reason="NotFound",
                                        message=f'pods "{request.name}" not found')
        key = f"{request.namespace}/{request.name}/{container}" + ("/previous" if previous else "")
        statuses = pod.get("status", {}).get("containerStatuses", [])
        restarts = next((s.get("restartCount", 0) for s in statuses if s["name"] == container), 0)
        if previous and not restarts and key not in logs:
            raise kmock.KubernetesError(
                status=400, reason="BadRequest",
                message=f'previous terminated container "{container}" in pod "{request.name}" not found')
        text = logs.get(key, "")
        tail = request.params.get("tailLines")
        lines = text.splitlines(keepends=True)
        if tail is not None:
            lines = lines[-int(tail):] if int(tail) else []
        body = "".join(lines).encode()
        limit = request.params.get("limitBytes")
        if limit is not None:
            body = body[:int(limit)]
        return body
    return serve



if __name__ == "__main__":
    asyncio.run(main())
