#!/usr/bin/env python3
"""End to end without a cluster: the real kubectl applies CRDs, a Deployment and Components to the
test API server; outrigger-operator creates the Service and streams the Components to a real
outriggerd in kubernetes mode, which serves state on them; a change is hot-reloaded, a delete
removes the component, and a restart of the API server mid-watch loses nothing: changes made while
the watch is down, with the history it would resume from compacted away, arrive through a relist
on 410 Gone. An endpoint's clientTLS secret references are resolved; the stream answers only a
service-account token of its namespace (401, 403).

Usage: e2e_test.py OPERATOR OUTRIGGERD KUBECTL
"""
import base64
import http.client as httpclient
import http.server as httpserver
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
OPERATOR, OUTRIGGERD, KUBECTL = sys.argv[1:4]
sys.path.insert(0, HERE)
from checks import check, failures, finish, free_port, launch, stop, wait, write_kubeconfig  # noqa: E402


def http(method, url, body=None, headers=None):
    req = urllib.request.Request(url, method=method, data=body.encode() if body else None,
                                 headers={"Content-Type": "application/json", **(headers or {})})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


class App(httpserver.BaseHTTPRequestHandler):
    """The app behind the sidecar, and an external endpoint: records what reaches it."""
    protocol_version = "HTTP/1.1"
    seen = []  # (method, path, x-token header, body)

    def log_message(self, *args):
        pass

    def answer(self):
        n = int(self.headers.get("Content-Length", 0) or 0)
        body = self.rfile.read(n).decode() if n else ""
        App.seen.append((self.command, self.path, self.headers.get("x-token"), body))
        code = 404 if self.path == "/dapr/subscribe" else 200
        self.send_response(code)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    do_GET = do_POST = do_PUT = do_OPTIONS = answer


def received(method, path, token=None):
    return any(m == method and p == path and (token is None or t == token) for m, p, t, _ in App.seen)


work = tempfile.mkdtemp(prefix="outrigger-e2e-")
api_port, op_port, op_metrics_port, dapr_port = free_port(), free_port(), free_port(), free_port()
app_server = httpserver.ThreadingHTTPServer(("127.0.0.1", 0), App)
app_port = app_server.server_address[1]
threading.Thread(target=app_server.serve_forever, daemon=True).start()
state_file = os.path.join(work, "apiserver.json")
procs = []


def start(args, log, env=None):
    return launch(procs, work, args, log, env)


def start_apiserver(*flags):
    p = start([sys.executable, os.path.join(HERE, "fake_apiserver.py"), "--port", str(api_port),
               "--state", state_file, *flags], "apiserver.log")
    wait("API server up", lambda: http("GET", f"http://127.0.0.1:{api_port}/version")[0] == 200)
    return p


kubeconfig = write_kubeconfig(work, f"http://127.0.0.1:{api_port}")


def kubectl(*args, stdin=None):
    r = subprocess.run([KUBECTL, "--kubeconfig", kubeconfig, "--cache-dir", os.path.join(work, "cache"),
                        *args], input=stdin, capture_output=True, text=True, timeout=60)
    if r.returncode != 0:
        print(f"kubectl {' '.join(args)}: {r.stderr.strip()}", flush=True)
    return r


def relists(resource):
    """The operator's count of relists after 410 Gone for one collection (its metric)."""
    text = http("GET", f"http://127.0.0.1:{op_metrics_port}/")[1]
    for line in text.splitlines():
        if line.startswith(f'outrigger_operator_relists_total{{resource="{resource}"}} '):
            return float(line.split()[-1])
    return None


def service_account_token(namespace, name, audiences=None):
    """A token the test API server issues (TokenRequest) for a service account."""
    code, body = http("POST", f"http://127.0.0.1:{api_port}/api/v1/namespaces/{namespace}/serviceaccounts/{name}/token",
                      json.dumps({"spec": {"audiences": audiences}} if audiences else {"spec": {}}))
    return json.loads(body)["status"]["token"] if code == 201 else ""


SENTRY_AUDIENCE = "spiffe://cluster.local/ns/default/dapr-sentry"  # the operator's default
tokens = {}  # set once the API server is up


def stream(app_id, namespace="default", token="orders"):
    """What the operator streams to app_id up to SYNCED: (status, {(kind, name): object}); token
    names one of `tokens`, or is None for no Authorization header."""
    conn = httpclient.HTTPConnection("127.0.0.1", op_port, timeout=10)
    conn.request("GET", f"/v1/namespaces/{namespace}/resources/stream?appId={app_id}",
                 headers={"Authorization": "Bearer " + tokens[token]} if token else {})
    r = conn.getresponse()
    objects = {}
    if r.status == 200:
        for line in iter(r.readline, b""):
            event = json.loads(line)
            if event["type"] == "SYNCED":
                break
            obj = event["object"]
            objects[(obj["kind"], obj["metadata"]["name"])] = obj
    conn.close()
    return r.status, objects


def component(name, type_, extra=""):
    return f"""apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {{name: {name}, namespace: default}}
spec:
  type: {type_}
  version: v1
  metadata: [{extra}]
"""


try:
    api = start_apiserver()
    # The sidecar's projected token (the Sentry's audience), as the injector mounts it.
    tokens["orders"] = service_account_token("default", "orders", [SENTRY_AUDIENCE])
    tokens["pod"] = service_account_token("default", "orders")  # the pod's own (API audience)
    tokens["other-namespace"] = service_account_token("other", "orders", [SENTRY_AUDIENCE])
    tokens["elsewhere"] = service_account_token("default", "orders", ["https://elsewhere.example"])
    tokens["forged"] = "not-a-token"
    check("service-account tokens issued", all(tokens.values()))
    token_file = os.path.join(work, "token")
    with open(token_file, "w") as f:
        f.write(tokens["orders"] + "\n")
    crds = os.path.join(HERE, "..", "..", "crds")
    if os.path.isdir(crds) and any(f.endswith(".yaml") for f in os.listdir(crds)):
        check("kubectl apply -f crds/", kubectl("apply", "--validate=false", "-f", crds).returncode == 0)
    else:  # the CRDs are being written elsewhere; a minimal Component CRD keeps this test going
        check("kubectl apply CRD", kubectl("apply", "--validate=false", "-f", "-", stdin="""
apiVersion: apiextensions.k8s.io/v1
kind: CustomResourceDefinition
metadata: {name: components.dapr.io}
spec:
  group: dapr.io
  names: {kind: Component, listKind: ComponentList, plural: components, singular: component}
  scope: Namespaced
  versions: [{name: v1alpha1, served: true, storage: true,
              schema: {openAPIV3Schema: {type: object, x-kubernetes-preserve-unknown-fields: true}}}]
""").returncode == 0)
    check("apply deployment", kubectl("apply", "--validate=false", "-f", "-", stdin="""
apiVersion: apps/v1
kind: Deployment
metadata: {name: orders, namespace: default}
spec:
  selector: {matchLabels: {app: orders}}
  template:
    metadata:
      labels: {app: orders}
      annotations: {dapr.io/enabled: "true", dapr.io/app-id: orders}
    spec: {containers: [{name: app, image: example/orders:1}]}
""").returncode == 0)
    # apply, not "create secret": typed kubectl commands send protobuf, which this server does not speak
    check("apply secret", kubectl("apply", "--validate=false", "-f", "-", stdin="""
apiVersion: v1
kind: Secret
metadata: {name: prefix, namespace: default}
data: {value: ZnJvbXNlY3JldA==}
""").returncode == 0)
    check("apply component", kubectl("apply", "--validate=false", "-f", "-",
                                     stdin=component("statestore", "state.in-memory")).returncode == 0)
    # The other kinds the operator streams: read at start-up (Resiliency) or hot-reloaded.
    check("apply resiliency", kubectl("apply", "--validate=false", "-f", "-", stdin="""
apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata: {name: policies, namespace: default}
spec:
  policies: {timeouts: {short: 5s}}
  targets: {components: {statestore: {outbound: {timeout: short}}}}
""").returncode == 0)
    check("apply pubsub", kubectl("apply", "--validate=false", "-f", "-",
                                  stdin=component("pubsub", "pubsub.in-memory")).returncode == 0)

    op = start([OPERATOR, "--kubeconfig", kubeconfig, "--port", str(op_port), "--healthz-port", "0",
                "--metrics-port", str(op_metrics_port), "--identity", "op-1"], "operator.log")
    wait("operator created Service orders-dapr",
         lambda: kubectl("get", "service", "orders-dapr", "-o", "json").returncode == 0, 30)
    svc = json.loads(kubectl("get", "service", "orders-dapr", "-o", "json").stdout or "{}")
    ports = {p["name"]: (p["port"], p.get("targetPort")) for p in svc.get("spec", {}).get("ports", [])}
    check("service ports", ports.get("dapr-http") == (80, 3500) and ports.get("dapr-internal") == (50002, 50002))
    check("service owned by the deployment",
          svc.get("metadata", {}).get("ownerReferences", [{}])[0].get("name") == "orders")

    sidecar = start([OUTRIGGERD, "--mode", "kubernetes", "--control-plane-address", f"127.0.0.1:{op_port}",
                     "--app-id", "orders", "--dapr-http-port", str(dapr_port), "--metrics-port", "0",
                     "--app-port", str(app_port),
                     "--dapr-internal-grpc-port", "0", "--dapr-listen-addresses", "127.0.0.1"],
                    "sidecar.log", {"NAMESPACE": "default", "OUTRIGGER_NAMERESOLUTION_DIR": work,
                                    "OUTRIGGER_OPERATOR_TOKEN_FILE": token_file})
    base = f"http://127.0.0.1:{dapr_port}/v1.0"
    wait("sidecar healthy", lambda: http("GET", base + "/healthz")[0] == 204)
    wait("component served", lambda: http("POST", base + "/state/statestore", '[{"key":"a","value":1}]')[0] == 204)
    check("state readable", http("GET", base + "/state/statestore/a") == (200, "1"))

    # The stream holds resolved secrets: only a service account of the namespace may read it.
    check("stream without a token: 401", stream("orders", token=None)[0] == 401)
    check("stream with a forged token: 401", stream("orders", token="forged")[0] == 401)
    check("stream with a token for another audience: 401", stream("orders", token="elsewhere")[0] == 401)
    check("stream of another namespace: 403", stream("orders", token="other-namespace")[0] == 403)
    check("stream of the token's own namespace", stream("orders", namespace="other",
                                                        token="other-namespace")[0] == 200)
    check("stream with the pod's own token", stream("orders", token="pod") ==
          stream("orders", token="orders"))

    # Hot reload: a second component appears, and a secretKeyRef is resolved by the operator.
    kubectl("apply", "--validate=false", "-f", "-", stdin=component(
        "second", "state.in-memory", "{name: keyPrefix, secretKeyRef: {name: prefix, key: value}}"))
    wait("hot-reloaded second component", lambda: '"name":"second"' in http("GET", base + "/metadata")[1])
    check("first component kept serving", http("GET", base + "/state/statestore/a") == (200, "1"))
    # A broken change is reported and does not take the component down.
    kubectl("apply", "--validate=false", "-f", "-", stdin=component("statestore", "state.nope"))
    wait("bad component reported", lambda: "componentErrors" in http("GET", base + "/metadata")[1])
    check("old instance still serves", http("GET", base + "/state/statestore/a") == (200, "1"))
    kubectl("apply", "--validate=false", "-f", "-", stdin=component("statestore", "state.in-memory"))
    wait("fixed component reloaded", lambda: "componentErrors" not in http("GET", base + "/metadata")[1])

    check("delete", kubectl("delete", "component", "second").returncode == 0)
    wait("deleted component gone", lambda: '"name":"second"' not in http("GET", base + "/metadata")[1])
    check("resiliency from the operator loaded at start-up",
          "1 resiliency policies loaded" in open(os.path.join(work, "sidecar.log")).read())

    # HTTPEndpoint: invocable by name, its header from a Kubernetes secret; changes apply at once.
    def endpoint(header):
        return f"""apiVersion: dapr.io/v1alpha1
kind: HTTPEndpoint
metadata: {{name: external, namespace: default}}
spec:
  baseUrl: http://127.0.0.1:{app_port}/api
  headers: [{header}]
"""
    kubectl("apply", "--validate=false", "-f", "-",
            stdin=endpoint("{name: x-token, secretKeyRef: {name: prefix, key: value}}"))
    wait("HTTPEndpoint listed", lambda: '"httpEndpoints":[{"name":"external"}]' in http("GET", base + "/metadata")[1])
    check("invoke by HTTPEndpoint name", http("GET", base + "/invoke/external/method/hello")[0] == 200)
    check("endpoint called with the secret header", received("GET", "/api/hello", "fromsecret"))
    kubectl("apply", "--validate=false", "-f", "-", stdin=endpoint("{name: x-token, value: plain}"))
    wait("endpoint change applied", lambda: http("GET", base + "/invoke/external/method/again")[0] == 200
         and received("GET", "/api/again", "plain"))
    kubectl("delete", "httpendpoint", "external")
    wait("deleted endpoint gone", lambda: '"httpEndpoints":[]' in http("GET", base + "/metadata")[1])

    # An endpoint's clientTLS material from Secret keys: the operator streams the values in place
    # of the references (to the app it is scoped to; this sidecar's app is not).
    pem = {k: f"-----BEGIN {k}-----\nMIIB{k}\n-----END {k}-----\n" for k in ("CA", "CERT", "KEY")}
    b64 = {k: base64.b64encode(v.encode()).decode() for k, v in pem.items()}
    check("apply TLS secret", kubectl("apply", "--validate=false", "-f", "-", stdin=f"""
apiVersion: v1
kind: Secret
metadata: {{name: billing-tls, namespace: default}}
type: kubernetes.io/tls
data: {{ca.crt: {b64["CA"]}, tls.crt: {b64["CERT"]}, tls.key: {b64["KEY"]}}}
""").returncode == 0)
    check("apply TLS endpoint", kubectl("apply", "--validate=false", "-f", "-", stdin="""
apiVersion: dapr.io/v1alpha1
kind: HTTPEndpoint
metadata: {name: secure, namespace: default}
spec:
  baseUrl: https://billing.example.com
  clientTLS:
    rootCA: {secretKeyRef: {name: billing-tls, key: ca.crt}}
    certificate: {secretKeyRef: {name: billing-tls, key: tls.crt}}
    privateKey: {secretKeyRef: {name: billing-tls, key: tls.key}}
    renegotiation: RenegotiateNever
scopes: [billing]
""").returncode == 0)
    secure = {}
    wait("TLS endpoint streamed", lambda: secure.update(
        stream("billing")[1].get(("HTTPEndpoint", "secure"), {})) or "spec" in secure)
    tls = secure.get("spec", {}).get("clientTLS", {})
    check("clientTLS rootCA resolved", tls.get("rootCA") == {"value": pem["CA"]})
    check("clientTLS certificate resolved", tls.get("certificate") == {"value": pem["CERT"]})
    check("clientTLS privateKey resolved", tls.get("privateKey") == {"value": pem["KEY"]})
    check("clientTLS other fields kept", tls.get("renegotiation") == "RenegotiateNever")
    check("TLS endpoint not streamed to an app out of its scopes",
          ("HTTPEndpoint", "secure") not in stream("orders")[1])
    kubectl("delete", "httpendpoint", "secure")

    # Declarative subscriptions: added, re-routed and deleted while the sidecar runs.
    def subscription(route):
        return f"""apiVersion: dapr.io/v2alpha1
kind: Subscription
metadata: {{name: orders-sub, namespace: default}}
spec:
  pubsubname: pubsub
  topic: orders
  routes: {{default: {route}}}
scopes: [orders]
"""
    kubectl("apply", "--validate=false", "-f", "-", stdin=subscription("/neworder"))
    wait("subscription listed", lambda: '"topic":"orders"' in http("GET", base + "/metadata")[1])
    check("publish", http("POST", base + "/publish/pubsub/orders", '{"n":1}')[0] == 204)
    wait("event delivered on the route", lambda: received("POST", "/neworder"))
    kubectl("apply", "--validate=false", "-f", "-", stdin=subscription("/rerouted"))
    wait("re-routed subscription delivers", lambda: http("POST", base + "/publish/pubsub/orders", '{"n":2}')[0] == 204
         and received("POST", "/rerouted"))
    kubectl("delete", "subscription", "orders-sub")
    wait("deleted subscription gone", lambda: '"topic":"orders"' not in http("GET", base + "/metadata")[1])

    # Kill the API server mid-watch and restart it with watches down (its objects persist, its
    # event history does not; lists and writes work). While no watch runs, a Component is deleted,
    # another created and the history compacted, so the operator's resourceVersion is too old:
    # once watches are back, its watch must get 410 Gone, it must relist, and the sidecar must see
    # both changes.
    kubectl("apply", "--validate=false", "-f", "-", stdin=component("doomed", "state.in-memory"))
    wait("component doomed served", lambda: '"name":"doomed"' in http("GET", base + "/metadata")[1])
    relists_before = relists("components")
    check("operator exports its relists", relists_before is not None)
    api.send_signal(signal.SIGKILL)
    api.wait()
    api = start_apiserver("--watches-down")
    control = f"http://127.0.0.1:{api_port}/_test"
    check("delete while the watch is down", kubectl("delete", "component", "doomed").returncode == 0)
    check("create while the watch is down", kubectl(
        "apply", "--validate=false", "-f", "-", stdin=component("fresh", "state.in-memory")).returncode == 0)
    check("history compacted", http("POST", control + "/compact")[0] == 200)
    # No watch could run, and nothing but a relist after 410 can bring these changes now.
    metadata = http("GET", base + "/metadata")[1]
    check("sidecar unchanged while the watch is down",
          '"name":"doomed"' in metadata and '"name":"fresh"' not in metadata)
    check("watches back", http("POST", control + "/watches?down=false")[0] == 200)
    wait("component deleted while the watch was down is gone",
         lambda: '"name":"doomed"' not in http("GET", base + "/metadata")[1], 40)
    wait("component created while the watch was down is served",
         lambda: http("POST", base + "/state/fresh", '[{"key":"f","value":2}]')[0] == 204, 40)
    check("state on the relisted component", http("GET", base + "/state/fresh/f") == (200, "2"))
    log = json.loads(http("GET", control + "/log")[1])
    components = "/apis/dapr.io/v1alpha1/components"
    gone = [i for i, e in enumerate(log) if e == ["gone", components]]
    check("the components watch got 410 Gone", bool(gone))
    check("the operator relisted components after the 410",
          bool(gone) and ["list", components] in log[gone[0] + 1:])
    check("the operator counted the relist",
          relists_before is not None and (relists("components") or 0) > relists_before)
    # The watch resumes from the relist: a later change arrives as an event.
    kubectl("apply", "--validate=false", "-f", "-", stdin=component("third", "state.in-memory"))
    wait("component applied after the relist arrives",
         lambda: '"name":"third"' in http("GET", base + "/metadata")[1], 40)
    check("delete deployment", kubectl("delete", "deployment", "orders").returncode == 0)
    wait("service removed with its deployment",
         lambda: kubectl("get", "service", "orders-dapr").returncode != 0, 30)
finally:
    app_server.shutdown()
    stop(procs)

finish(work, ("operator.log", "sidecar.log"), 4000)
