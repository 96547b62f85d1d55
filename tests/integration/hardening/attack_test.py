#!/usr/bin/env python3
"""Issue 12's attacks against the real binaries: outriggerd (API with a token, public, internal and
metrics ports), outrigger-injector (HTTPS and metrics) and outrigger-operator (resource stream,
healthz, metrics, against the test API server). Each attack gets its clear error, nothing reaches
what it must not, and afterwards every process is alive and still serves every port.

Usage: attack_test.py OUTRIGGERD INJECTOR OPERATOR
"""
import http.server as httpserver
import json
import os
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import urllib.request

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
OUTRIGGERD, INJECTOR, OPERATOR = sys.argv[1:4]
sys.path.insert(0, os.path.join(HERE, "..", "..", "operator"))
from checks import check, failures, finish, free_port, launch, stop, wait, write_kubeconfig  # noqa: E402

TOKEN = "attack-test-token"
work = tempfile.mkdtemp(prefix="outrigger-attack-")
procs = []


def start(args, log, env=None):
    return launch(procs, work, args, log, env)


def raw(port, data, tls=False, read_all=True, timeout=10):
    """Sends bytes on a new connection; what came back before the server closed (or timeout)."""
    try:
        s = socket.create_connection(("127.0.0.1", port), timeout=timeout)
    except OSError as e:  # a dead process: reported by the check that looks at the answer
        return f"<{e}>".encode()
    if tls:
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        s = ctx.wrap_socket(s)
    out = b""
    try:
        s.sendall(data)
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            out += chunk
            if not read_all and b"\r\n\r\n" in out:
                break
    except (socket.timeout, ConnectionError, ssl.SSLError):
        pass
    finally:
        s.close()
    return out


def request(port, method, target, body=b"", headers=None, tls=False):
    """One Connection: close request; (status, head, body)."""
    if isinstance(body, str):
        body = body.encode()
    head = f"{method} {target} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n"
    for k, v in (headers or {}).items():
        head += f"{k}: {v}\r\n"
    if body or method in ("POST", "PUT"):
        head += f"Content-Length: {len(body)}\r\n"
    out = raw(port, head.encode() + b"\r\n" + body, tls=tls)
    if not out.startswith(b"HTTP/1."):
        return 0, b"", out
    head, _, rest = out.partition(b"\r\n\r\n")
    return int(head.split(b" ")[1]), head, rest


def error_code(body):
    try:
        return json.loads(body).get("errorCode", "")
    except ValueError:
        return ""


class Recorder(httpserver.BaseHTTPRequestHandler):
    """The app behind the sidecar, and a server an invocation URL could point at."""
    protocol_version = "HTTP/1.1"
    seen = []

    def log_message(self, *args):
        pass

    def answer(self):
        n = int(self.headers.get("Content-Length", 0) or 0)
        if n:
            self.rfile.read(n)
        Recorder.seen.append((self.command, self.path, dict(self.headers)))
        self.send_response(200 if self.path != "/dapr/subscribe" else 404)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    do_GET = do_POST = do_PUT = do_DELETE = do_OPTIONS = answer


def serve_recorder():
    server = httpserver.ThreadingHTTPServer(("127.0.0.1", 0), Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server.server_address[1]


app_port = serve_recorder()
target_port = serve_recorder()

# --- outriggerd ---------------------------------------------------------------------------
resources = os.path.join(work, "resources")
os.makedirs(os.path.join(work, "files"))
os.makedirs(resources)
with open(os.path.join(resources, "components.yaml"), "w") as f:
    f.write(f"""apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {{name: statestore}}
spec: {{type: state.sqlite, version: v1, metadata: [{{name: connectionString, value: "{work}/s.db"}}]}}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {{name: pubsub}}
spec: {{type: pubsub.in-memory, version: v1, metadata: []}}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {{name: files}}
spec: {{type: bindings.localstorage, version: v1, metadata: [{{name: rootPath, value: "{work}/files"}}]}}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {{name: envsecrets}}
spec: {{type: secretstores.local.env, version: v1, metadata: []}}
""")
config = os.path.join(work, "config.yaml")
with open(config, "w") as f:
    f.write("""apiVersion: dapr.io/v1alpha1
kind: Configuration
metadata: {name: attack}
spec:
  secrets:
    scopes:
    - {storeName: envsecrets, defaultAccess: allow, deniedSecrets: [PROBE_SECRET]}
""")
http_port, internal_port, public_port, metrics_port = (free_port() for _ in range(4))
sidecar = start([OUTRIGGERD, "--app-id", "attacked", "--app-port", str(app_port),
                 "--dapr-http-port", str(http_port), "--dapr-internal-grpc-port", str(internal_port),
                 "--dapr-public-port", str(public_port), "--metrics-port", str(metrics_port),
                 "--resources-path", resources, "--config", config, "--read-buffer-size", "32Ki"],
                "outriggerd.log", env={"DAPR_API_TOKEN": TOKEN, "PROBE_SECRET": "hidden-value",
                                       "HOME": work})
auth = {"dapr-api-token": TOKEN}

# --- outrigger-injector ---------------------------------------------------------------------
cert, key = os.path.join(work, "tls.crt"), os.path.join(work, "tls.key")
subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=injector",
                "-addext", "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
injector_port, injector_metrics = free_port(), free_port()
injector = start([INJECTOR, "--listen-address", "127.0.0.1", "--port", str(injector_port),
                  "--metrics-port", str(injector_metrics), "--tls-cert-file", cert,
                  "--tls-key-file", key], "injector.log")

# --- outrigger-operator against the test API server -----------------------------------------
api_port = free_port()
start([sys.executable, os.path.join(HERE, "..", "..", "operator", "fake_apiserver.py"), "--port",
       str(api_port), "--state", os.path.join(work, "apiserver.json")], "apiserver.log")
wait("API server up", lambda: urllib.request.urlopen(f"http://127.0.0.1:{api_port}/version", timeout=2))
crds = os.path.join(HERE, "..", "..", "..", "crds")
for name in sorted(os.listdir(crds)):
    for doc in yaml.safe_load_all(open(os.path.join(crds, name))):
        urllib.request.urlopen(urllib.request.Request(
            f"http://127.0.0.1:{api_port}/apis/apiextensions.k8s.io/v1/customresourcedefinitions",
            data=json.dumps(doc).encode(), method="POST",
            headers={"Content-Type": "application/json"}), timeout=5)
kubeconfig = write_kubeconfig(work, f"http://127.0.0.1:{api_port}")
op_port, op_healthz, op_metrics = free_port(), free_port(), free_port()
operator = start([OPERATOR, "--kubeconfig", kubeconfig, "--listen-address", "127.0.0.1",
                  "--port", str(op_port), "--healthz-port", str(op_healthz), "--metrics-port",
                  str(op_metrics), "--leader-elect=false"], "operator.log")

# Every listener, with a request it serves normally: (name, port, tls, target, headers, status).
LISTENERS = [
    ("sidecar API", http_port, False, "/v1.0/metadata", auth, 200),
    ("sidecar public", public_port, False, "/v1.0/healthz", {}, 204),
    ("sidecar metrics", metrics_port, False, "/metrics", {}, 200),
    ("injector HTTPS", injector_port, True, "/healthz", {}, None),
    ("injector metrics", injector_metrics, False, "/metrics", {}, 200),
    ("operator healthz", op_healthz, False, "/healthz", {}, 200),
    ("operator metrics", op_metrics, False, "/metrics", {}, 200),
    ("operator stream", op_port, False, "/v1/namespaces/default/resources/stream?appId=x", {},
     401),
]


def serves(port, tls, target, headers, status):
    code, _, _ = request(port, "GET", target, headers=headers, tls=tls)
    return code != 0 and (status is None or code == status)


try:
    wait("outriggerd healthy",
         lambda: request(http_port, "GET", "/v1.0/healthz")[0] == 204, timeout=30)
    wait("internal port open", lambda: socket.create_connection(("127.0.0.1", internal_port), 1))
    for name, port, tls, target, headers, status in LISTENERS:
        wait(name + " up", lambda: serves(port, tls, target, headers, status), timeout=30)

    # 1. A trailer field over Beast's 64 KiB field limit, and a 70 000-byte header (read buffer
    #    raised to 32Ki): an error status or a closed connection, never a dead process.
    trailer = (b"POST /v1.0/healthz HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
               b"0\r\nX: " + b"a" * 65534 + b"\r\n\r\n")
    for name, port, tls, *_ in LISTENERS + [("sidecar internal", internal_port, False, "", {}, 0)]:
        out = raw(port, trailer, tls=tls)
        # 431 or 400; the operator's stream answers 404 for a path it does not serve before it
        # reads any body, which is as good.
        check(f"{name}: oversized trailer refused (got {out[:40]!r})",
              out == b"" or out.startswith((b"HTTP/1.1 431", b"HTTP/1.1 400", b"HTTP/1.1 404")))
    out = raw(http_port, b"GET /v1.0/healthz HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 70000 +
              b"\r\n\r\n")
    check(f"70 000-byte header refused with 431 (got {out[:40]!r})",
          out.startswith(b"HTTP/1.1 431"))

    # 2. Deeply nested JSON on every JSON route, and at the injector without authentication.
    deep = b"[" * 4000000
    routes = [
        ("/v1.0/state/statestore", "application/json"),
        ("/v1.0/state/statestore/transaction", "application/json"),
        ("/v1.0/state/statestore/bulk", "application/json"),
        ("/v1.0-alpha1/state/statestore/query", "application/json"),
        ("/v1.0/bindings/files", "application/json"),
        ("/v1.0/publish/pubsub/orders", "application/json"),
        ("/v1.0/publish/pubsub/orders", "application/cloudevents+json"),
        ("/v1.0-alpha1/publish/bulk/pubsub/orders", "application/json"),
    ]
    for target, content_type in routes:
        code, _, body = request(http_port, "POST", target, deep,
                                {**auth, "Content-Type": content_type})
        check(f"{target} ({content_type}): deep JSON is 400 with an errorCode (got {code} {body[:80]!r})",
              code == 400 and error_code(body) != "")
    nested_value = ('[{"key":"deep","value":' + "[" * 100000 + "]" * 100000 + "}]").encode()
    code, _, body = request(http_port, "POST", "/v1.0/state/statestore", nested_value, auth)
    check(f"a deep state value is 400 (got {code} {body[:80]!r})", code == 400)
    code, _, body = request(injector_port, "POST", "/mutate", b"[" * 200000,
                            {"Content-Type": "application/json"}, tls=True)
    check(f"injector: deep AdmissionReview refused (got {code} {body[:80]!r})",
          code in (200, 400) and b"allowed\":true" not in body)

    # 3. The internal port: no proof of being a sidecar, no call reaches the app.
    Recorder.seen.clear()
    code, _, _ = request(internal_port, "POST", "/transfer", b"{}",
                         {"dapr-caller-app-id": "payments-admin"})
    check(f"internal port refuses an unauthenticated caller (got {code})", code == 401)
    check("the app saw no call from the unauthenticated caller",
          not any(p == "/transfer" for _, p, _ in Recorder.seen))
    # A client cannot pose as another app through the API either.
    Recorder.seen.clear()
    code, _, _ = request(http_port, "POST", "/v1.0/invoke/attacked/method/whoami", b"{}",
                         {**auth, "dapr-caller-app-id": "payments-admin"})
    callers = [h.get("dapr-caller-app-id") for _, p, h in Recorder.seen if p == "/whoami"]
    check(f"a caller-supplied dapr-caller-app-id never reaches the app (got {code}, {callers})",
          code == 200 and callers and all(c != "payments-admin" for c in callers))

    # 4. Request smuggling through the app id of URL-form invocation.
    Recorder.seen.clear()
    smuggle = (f"/v1.0/invoke/http%3A%2F%2F127.0.0.1%3A{target_port}%2Fa%20HTTP%2F1.1%0D%0A"
               "Content-Length%3A%200%0D%0A%0D%0ADELETE%20%2Fsmuggled/method/z")
    code, _, body = request(http_port, "GET", smuggle, headers=auth)
    check(f"smuggling app id is 400 (got {code} {body[:80]!r})", code == 400)
    check("no smuggled request reached the target",
          not any("smuggled" in p for _, p, _ in Recorder.seen))

    # 5. CR/LF from request JSON never reaches a response head.
    code, head, _ = request(http_port, "POST", "/v1.0/bindings/files",
                            json.dumps({"operation": "create", "data": "x",
                                        "metadata": {"fileName": "a.txt\r\nSet-Cookie: x"}}),
                            auth)
    check(f"a CR/LF file name is 400 and splits nothing (got {code})",
          code == 400 and b"Set-Cookie" not in head)

    # 6. A NUL byte does not get past secret scopes, nor merge state keys.
    code, _, body = request(http_port, "GET", "/v1.0/secrets/envsecrets/PROBE_SECRET%00",
                            headers=auth)
    check(f"NUL secret key refused (got {code} {body[:80]!r})",
          code == 400 and b"hidden-value" not in body)
    code, _, _ = request(http_port, "POST", "/v1.0/state/statestore",
                         '[{"key":"nul\\u0000x","value":1}]', auth)
    check(f"NUL state key refused (got {code})", code == 400)

    # 9. Metadata values are bounded, and need the token on the public port.
    code, _, _ = request(public_port, "PUT", "/v1.0/metadata/label", b"v")
    check(f"public port: PUT metadata without the token is 401 (got {code})", code == 401)
    code, _, body = request(http_port, "PUT", "/v1.0/metadata/big", b"x" * (1 << 20), auth)
    check(f"a 1 MiB metadata value is refused (got {code} {body[:80]!r})", code == 400)

    # Smaller items: 100 Continue, health with a trailing slash, CloudEvent that is not JSON.
    out = raw(http_port, ("POST /v1.0/state/statestore HTTP/1.1\r\nHost: x\r\n"
                          f"dapr-api-token: {TOKEN}\r\nContent-Length: 30\r\n"
                          "Expect: 100-continue\r\n\r\n").encode(), read_all=False)
    check(f"Expect: 100-continue is answered 100 (got {out[:40]!r})",
          out.startswith(b"HTTP/1.1 100"))
    code, _, _ = request(http_port, "GET", "/v1.0/healthz/")
    check(f"/v1.0/healthz/ needs no token (got {code})", code == 204)
    code, _, body = request(http_port, "POST", "/v1.0/publish/pubsub/orders", b"not json",
                            {**auth, "Content-Type": "application/cloudevents+json"})
    check(f"a non-JSON CloudEvent is 400 (got {code} {body[:80]!r})", code == 400)

    # Afterwards: every process alive, every port still serving.
    for p, name in ((sidecar, "outriggerd"), (injector, "injector"), (operator, "operator")):
        check(f"{name} still running", p.poll() is None)
    for name, port, tls, target, headers, status in LISTENERS:
        check(f"{name} still serves", serves(port, tls, target, headers, status))
    code, _, _ = request(http_port, "POST", "/v1.0/state/statestore",
                         '[{"key":"after","value":{"ok":true}}]', auth)
    check(f"state still saved afterwards (got {code})", code == 204)
finally:
    stop(procs)

finish(work, ["outriggerd.log", "injector.log", "operator.log", "apiserver.log"], 3000)
