#!/usr/bin/env python3
"""A test Kubernetes API server: just enough of the real protocol for outrigger-operator and the
real kubectl (discovery, CRUD, list/watch with resourceVersion, bookmarks and 410 Gone, JSON
merge patch, CRDs that add their resources to discovery). Objects persist in a state file, so
the server can be killed and restarted mid-test; events from before a restart are gone, so a
watch from an older resourceVersion gets 410 and must relist, as with a real compacted etcd.

Service-account tokens: TokenRequest (POST .../serviceaccounts/NAME/token) issues tokens that
name their service account and audiences (unsigned: this is a test server), and TokenReview
(POST /apis/authentication.k8s.io/v1/tokenreviews) authenticates exactly those.

Test-only control endpoints, under /_test/ (no real API server has them):
  POST /_test/compact            drops the event history, as etcd compaction does: a watch from any
                                 resourceVersion before now gets 410 Gone and must relist
  POST /_test/watches?down=true  ends open watches and answers new ones 503 (lists, gets and
                                 writes still work, so changes can be made while watches are down);
                                 down=false serves watches again (also --watches-down at start)
  GET  /_test/log                what the server answered collections, in order: ["list", path],
                                 ["watch", path] and ["gone", path] (a watch answered 410)

Usage: fake_apiserver.py --port N --state FILE [--watches-down]
"""
import argparse
import base64
import copy
import datetime
import http.server
import json
import os
import re
import socketserver
import sys
import threading
import time
import urllib.parse
import uuid

BUILTIN = {
    # (group, version) -> {plural: (kind, namespaced)}
    ("", "v1"): {"namespaces": ("Namespace", False), "services": ("Service", True),
                 "secrets": ("Secret", True), "pods": ("Pod", True), "configmaps": ("ConfigMap", True)},
    ("apps", "v1"): {"deployments": ("Deployment", True), "statefulsets": ("StatefulSet", True)},
    ("coordination.k8s.io", "v1"): {"leases": ("Lease", True)},
    ("apiextensions.k8s.io", "v1"): {"customresourcedefinitions": ("CustomResourceDefinition", False)},
}


class Store:
    def __init__(self, path):
        self.path = path
        self.lock = threading.Condition()
        self.objects = {}  # key (group, version, plural, ns, name) as string -> object
        self.rv = 1
        self.events = []  # (rv, resource key prefix, type, object)
        self.first_event_rv = 1
        self.crds = {}  # (group, version) -> {plural: (kind, namespaced)}
        self.watches_down = False
        self.log = []  # ["list" | "watch" | "gone", path] in order (see /_test/log)
        if os.path.exists(path):
            with open(path) as f:
                data = json.load(f)
            self.objects = data["objects"]
            self.rv = data["rv"]
            for obj in self.objects.values():
                if obj.get("kind") == "CustomResourceDefinition":
                    self.add_crd(obj)
        self.first_event_rv = self.rv + 1  # no history across a restart

    def save(self):
        tmp = self.path + ".tmp"
        with open(tmp, "w") as f:
            json.dump({"objects": self.objects, "rv": self.rv}, f)
        os.replace(tmp, self.path)

    def add_crd(self, crd):
        spec = crd.get("spec", {})
        group, plural = spec.get("group"), spec.get("names", {}).get("plural")
        kind = spec.get("names", {}).get("kind")
        namespaced = spec.get("scope", "Namespaced") == "Namespaced"
        for v in spec.get("versions", []):
            if v.get("served", True):
                self.crds.setdefault((group, v["name"]), {})[plural] = (kind, namespaced)

    def resources(self, group, version):
        return {**BUILTIN.get((group, version), {}), **self.crds.get((group, version), {})}

    def record(self, etype, key_prefix, obj):
        self.rv += 1
        obj.setdefault("metadata", {})["resourceVersion"] = str(self.rv)
        self.events.append((self.rv, key_prefix, etype, copy.deepcopy(obj)))
        if len(self.events) > 2000:
            self.events = self.events[-1000:]
            self.first_event_rv = self.events[0][0]
        self.save()
        self.lock.notify_all()


def status(code, reason, message):
    return {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Failure",
            "message": message, "reason": reason, "code": code}


def merge_patch(target, patch):
    if not isinstance(patch, dict):
        return copy.deepcopy(patch)
    if not isinstance(target, dict):
        target = {}
    out = copy.deepcopy(target)
    for k, v in patch.items():
        if v is None:
            out.pop(k, None)
        else:
            out[k] = merge_patch(out.get(k), v)
    return out


API_AUDIENCE = "https://kubernetes.default.svc.cluster.local"


def issue_token(namespace, name, audiences):
    claims = json.dumps({"ns": namespace, "sa": name, "aud": audiences or [API_AUDIENCE]})
    return "fake-sa." + base64.urlsafe_b64encode(claims.encode()).decode().rstrip("=")


def review_token(token, audiences):
    """-> TokenReview status: authenticated when the token is one issue_token made for one of the
    audiences asked (the API server's own when none)."""
    try:
        if not token.startswith("fake-sa."):
            raise ValueError("not a token of this server")
        payload = token[len("fake-sa."):]
        claims = json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))
        ns, sa, aud = claims["ns"], claims["sa"], claims["aud"]
    except (ValueError, KeyError, TypeError):
        return {"authenticated": False, "error": "invalid bearer token"}
    wanted = audiences or [API_AUDIENCE]
    matched = [a for a in aud if a in wanted]
    if not matched:
        return {"authenticated": False, "error": "token audiences " + json.dumps(aud) + " are not " + json.dumps(wanted)}
    return {"authenticated": True, "audiences": matched,
            "user": {"username": f"system:serviceaccount:{ns}:{sa}", "uid": str(uuid.uuid5(uuid.NAMESPACE_URL, ns + "/" + sa)),
                     "groups": ["system:serviceaccounts", f"system:serviceaccounts:{ns}", "system:authenticated"]}}


class BadBody(Exception):
    pass


class Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    store = None

    def log_message(self, fmt, *args):
        if os.environ.get("FAKE_APISERVER_LOG"):
            sys.stderr.write("apiserver: " + fmt % args + "\n")

    def send_json(self, code, obj):
        body = json.dumps(obj).encode()
        self.send_response(code)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def read_body(self):
        n = int(self.headers.get("Content-Length", 0) or 0)
        data = self.rfile.read(n) if n else b""
        try:
            return json.loads(data or b"null")
        except ValueError:
            raise BadBody("the body is not JSON (protobuf is not supported by this test server)")

    # ---- routing -------------------------------------------------------------------------
    def parse(self):
        u = urllib.parse.urlparse(self.path)
        q = {k: v[0] for k, v in urllib.parse.parse_qs(u.query).items()}
        parts = [p for p in u.path.split("/") if p]
        return parts, q

    def discovery(self, parts):
        s = self.store
        if parts == ["api"]:
            return {"kind": "APIVersions", "versions": ["v1"],
                    "serverAddressByClientCIDRs": [{"clientCIDR": "0.0.0.0/0", "serverAddress": "127.0.0.1"}]}
        if parts == ["apis"]:
            groups = {}
            for (g, v) in list(BUILTIN.keys()) + list(s.crds.keys()):
                if g:
                    groups.setdefault(g, []).append(v)
            return {"kind": "APIGroupList", "apiVersion": "v1", "groups": [
                {"name": g, "versions": [{"groupVersion": f"{g}/{v}", "version": v} for v in vs],
                 "preferredVersion": {"groupVersion": f"{g}/{vs[0]}", "version": vs[0]}} for g, vs in groups.items()]}
        if parts == ["version"]:
            return {"major": "1", "minor": "34", "gitVersion": "v1.34.0-outrigger-test"}
        gv = None
        if len(parts) == 2 and parts[0] == "api":
            gv = ("", parts[1])
        elif len(parts) == 3 and parts[0] == "apis":
            gv = (parts[1], parts[2])
        if gv is None:
            return None
        res = s.resources(*gv)
        if not res:
            return None
        verbs = ["create", "delete", "get", "list", "patch", "update", "watch"]
        return {"kind": "APIResourceList", "apiVersion": "v1",
                "groupVersion": f"{gv[0]}/{gv[1]}" if gv[0] else gv[1],
                "resources": [{"name": p, "singularName": k.lower(), "namespaced": ns, "kind": k, "verbs": verbs}
                              for p, (k, ns) in res.items()]}

    def resource(self, parts):
        """-> (group, version, plural, namespace, name, subresource) or None"""
        if parts and parts[0] == "api":
            g, rest = "", parts[1:]
        elif parts and parts[0] == "apis" and len(parts) >= 3:
            g, rest = parts[1], parts[2:]
        else:
            return None
        if not rest:
            return None
        v, rest = rest[0], rest[1:]
        ns = None
        if len(rest) >= 2 and rest[0] == "namespaces" and len(rest) >= 3:
            ns, rest = rest[1], rest[2:]
        if not rest:
            return None
        plural, rest = rest[0], rest[1:]
        if plural not in self.store.resources(g, v):
            return None
        name = rest[0] if rest else None
        sub = rest[1] if len(rest) > 1 else None
        return g, v, plural, ns, name, sub

    def handle_any(self, method):
        try:
            self.route(method)
        except BadBody as e:
            self.send_json(415, status(415, "UnsupportedMediaType", str(e)))

    def control(self, method, parts, q):
        s = self.store
        if method == "POST" and parts == ["_test", "compact"]:
            s.events = []
            s.first_event_rv = s.rv + 1
            return self.send_json(200, {"firstEventResourceVersion": str(s.first_event_rv)})
        if method == "POST" and parts == ["_test", "watches"] and q.get("down") in ("true", "false"):
            s.watches_down = q["down"] == "true"
            s.lock.notify_all()  # open watches end at once
            return self.send_json(200, {"down": s.watches_down})
        if method == "GET" and parts == ["_test", "log"]:
            return self.send_json(200, s.log)
        return self.send_json(404, status(404, "NotFound", f"no control endpoint {self.path}"))

    def route(self, method):
        parts, q = self.parse()
        if method == "DELETE":
            n = int(self.headers.get("Content-Length", 0) or 0)
            self._pending_body = self.rfile.read(n) if n else b""
        s = self.store
        with s.lock:
            if parts[:1] == ["_test"]:
                return self.control(method, parts, q)
            if method == "POST" and parts == ["apis", "authentication.k8s.io", "v1", "tokenreviews"]:
                spec = (self.read_body() or {}).get("spec", {})
                return self.send_json(201, {"kind": "TokenReview", "apiVersion": "authentication.k8s.io/v1",
                                            "spec": spec, "status": review_token(spec.get("token", ""), spec.get("audiences"))})
            if (method == "POST" and len(parts) == 7 and parts[:3] == ["api", "v1", "namespaces"]
                    and parts[4] == "serviceaccounts" and parts[6] == "token"):
                spec = (self.read_body() or {}).get("spec", {})
                token = issue_token(parts[3], parts[5], spec.get("audiences"))
                return self.send_json(201, {"kind": "TokenRequest", "apiVersion": "authentication.k8s.io/v1",
                                            "spec": spec, "status": {"token": token, "expirationTimestamp":
                                                                     "2100-01-01T00:00:00Z"}})
            if method == "GET":
                d = self.discovery(parts)
                if d is not None:
                    return self.send_json(200, d)
            if parts[:1] == ["openapi"]:
                return self.send_json(404, status(404, "NotFound", "no openapi here"))
            r = self.resource(parts)
            if r is None:
                return self.send_json(404, status(404, "NotFound", f"the server could not find {self.path}"))
            g, v, plural, ns, name, sub = r
            kind, namespaced = s.resources(g, v)[plural]
            prefix = json.dumps([g, plural, ns if namespaced else None])[:-1]
            key = json.dumps([g, plural, ns if namespaced else None, name])
            if method == "GET" and name is None:
                if q.get("watch") in ("true", "1"):
                    return self.watch(g, v, plural, ns, namespaced, q)
                s.log.append(["list", urllib.parse.urlparse(self.path).path])
                items = [o for k, o in s.objects.items() if self.matches(k, g, plural, ns)]
                return self.send_json(200, {"kind": kind + "List", "apiVersion": f"{g}/{v}" if g else v,
                                            "metadata": {"resourceVersion": str(s.rv)}, "items": items})
            if method == "GET":
                if key not in s.objects:
                    return self.send_json(404, status(404, "NotFound", f'{plural} "{name}" not found'))
                return self.send_json(200, s.objects[key])
            if method == "POST":
                obj = self.read_body()
                name = obj.get("metadata", {}).get("name")
                if not name and obj.get("metadata", {}).get("generateName"):
                    name = obj["metadata"]["generateName"] + uuid.uuid4().hex[:5]
                    obj["metadata"]["name"] = name
                if not name:
                    return self.send_json(422, status(422, "Invalid", "metadata.name: Required value"))
                key = json.dumps([g, plural, ns if namespaced else None, name])
                if key in s.objects:
                    return self.send_json(409, status(409, "AlreadyExists", f'{plural} "{name}" already exists'))
                meta = obj.setdefault("metadata", {})
                if namespaced:
                    meta["namespace"] = ns or "default"
                meta["uid"] = str(uuid.uuid4())
                meta["creationTimestamp"] = datetime.datetime.utcnow().strftime("%Y-%m-%dT%H:%M:%SZ")
                meta["generation"] = 1
                obj.setdefault("apiVersion", f"{g}/{v}" if g else v)
                obj.setdefault("kind", kind)
                if plural == "services":
                    obj.setdefault("spec", {}).setdefault("clusterIP", "None")
                s.objects[key] = obj
                if kind == "CustomResourceDefinition":
                    s.add_crd(obj)
                    obj["status"] = {"conditions": [{"type": "Established", "status": "True"}],
                                     "acceptedNames": obj["spec"]["names"]}
                s.record("ADDED", prefix, obj)
                return self.send_json(201, obj)
            if key not in s.objects:
                return self.send_json(404, status(404, "NotFound", f'{plural} "{name}" not found'))
            current = s.objects[key]
            if method == "PUT":
                obj = self.read_body()
                want = obj.get("metadata", {}).get("resourceVersion")
                if want and want != current["metadata"].get("resourceVersion"):
                    return self.send_json(409, status(409, "Conflict", "the object has been modified"))
                for f in ("uid", "creationTimestamp", "namespace"):
                    if f in current["metadata"]:
                        obj.setdefault("metadata", {})[f] = current["metadata"][f]
            elif method == "PATCH":
                patch = self.read_body()
                ctype = self.headers.get("Content-Type", "")
                if "json-patch+json" in ctype and "merge" not in ctype:
                    return self.send_json(415, status(415, "UnsupportedMediaType", "JSON Patch is not supported here"))
                # Strategic merge is taken as a JSON merge patch: close enough for these tests.
                obj = merge_patch(current, patch)
            elif method == "DELETE":  # its DeleteOptions body was consumed in route()
                del s.objects[key]
                s.record("DELETED", prefix, current)
                return self.send_json(200, current)
            else:
                return self.send_json(405, status(405, "MethodNotAllowed", method))
            obj["metadata"]["generation"] = current["metadata"].get("generation", 1) + 1
            s.objects[key] = obj
            if kind == "CustomResourceDefinition":
                s.add_crd(obj)
            s.record("MODIFIED", prefix, obj)
            return self.send_json(200, obj)

    @staticmethod
    def matches(key, g, plural, ns):
        kg, kp, kns, _ = json.loads(key)
        return kg == g and kp == plural and (ns is None or kns == ns)

    def watch(self, g, v, plural, ns, namespaced, q):
        s = self.store
        since = int(q.get("resourceVersion") or s.rv)
        timeout = min(int(q.get("timeoutSeconds") or 300), 300)
        path = urllib.parse.urlparse(self.path).path
        if s.watches_down:
            return self.send_json(503, status(503, "ServiceUnavailable", "watches are down (test control)"))
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        deadline = time.time() + timeout
        sent = since

        def chunk(obj):
            data = (json.dumps(obj) + "\n").encode()
            self.wfile.write(b"%x\r\n%s\r\n" % (len(data), data))
            self.wfile.flush()

        try:
            if since < s.first_event_rv - 1:
                # As the real API server: 200, then an ERROR event carrying the 410 Status.
                s.log.append(["gone", path])
                chunk({"type": "ERROR", "object": status(
                    410, "Expired", f"too old resource version: {since} ({s.first_event_rv - 1})")})
                self.wfile.write(b"0\r\n\r\n")
                return
            s.log.append(["watch", path])
            while time.time() < deadline and not s.watches_down:
                for rv, prefix, etype, obj in s.events:
                    if rv <= sent:
                        continue
                    sent = rv
                    kg, kp, kns = json.loads(prefix + "]")
                    if kg == g and kp == plural and (ns is None or kns == ns):
                        chunk({"type": etype, "object": obj})
                if q.get("allowWatchBookmarks") == "true":
                    chunk({"type": "BOOKMARK", "object": {"kind": "Bookmark", "metadata": {"resourceVersion": str(s.rv)}}})
                    sent = max(sent, s.rv)
                s.lock.wait(timeout=5)
            self.wfile.write(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass

    def do_GET(self):
        self.handle_any("GET")

    def do_POST(self):
        self.handle_any("POST")

    def do_PUT(self):
        self.handle_any("PUT")

    def do_PATCH(self):
        self.handle_any("PATCH")

    def do_DELETE(self):
        self.handle_any("DELETE")


class Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--state", required=True)
    p.add_argument("--watches-down", action="store_true", help="start with watches answered 503")
    a = p.parse_args()
    Handler.store = Store(a.state)
    Handler.store.watches_down = a.watches_down
    srv = Server(("127.0.0.1", a.port), Handler)
    print(f"fake apiserver on {a.port}", flush=True)
    srv.serve_forever()


if __name__ == "__main__":
    main()
