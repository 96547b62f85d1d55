#!/usr/bin/env python3
"""The injector against realistic pods, end to end.

Starts the real outrigger-injector over HTTPS (a self-signed certificate made with openssl for this
run), sends every pod of testdata/ in an AdmissionReview (v1 and v1beta1 in turn), applies the
returned JSON Patch with python3-jsonpatch (a real RFC 6902 implementation: adding under a list or
map that does not exist fails there) and validates the patched pod against the Kubernetes 1.30 and
1.34 schemas with ../shared/k8s/validate.py. Then checks what a schema cannot see: one daprd, its
ports, env, probes and securityContext, labels, app containers' DAPR_* variables set once and the
user's own kept, volumes and mounts consistent, and that outriggerd accepts the arguments it is
given. Denied and skipped pods, malformed reviews and oversized bodies too.

usage: fixtures_test.py OUTRIGGER_INJECTOR OUTRIGGERD
"""
import base64
import copy
import http.client
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import tempfile
import time

import jsonpatch
import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(os.path.dirname(HERE))
VALIDATE = os.path.join(ROOT, "..", "shared", "k8s", "validate.py")
TESTDATA = os.path.join(HERE, "testdata")
PY = "/usr/bin/python3"  # Debian's, with python3-yaml, python3-jsonschema, python3-jsonpatch
K8S_VERSIONS = ("1.30", "1.34")
IMAGE = "registry.local/outrigger/outriggerd:test"
MAX_BODY = 256 * 1024


def sa(ns, name):
    return {"username": "system:serviceaccount:%s:%s" % (ns, name),
            "uid": "0b0c0d0e-%s" % name, "groups": ["system:serviceaccounts",
                                                    "system:serviceaccounts:" + ns,
                                                    "system:authenticated"]}


RS = sa("kube-system", "replicaset-controller")
ADMIN = {"username": "kubernetes-admin", "groups": ["system:masters", "system:authenticated"]}

# What each fixture must come to. args: sidecar flags and values; no_args: flags that must be
# absent; env: app container -> variable -> the value it must keep.
EXPECT = {
    "deployment-basic": dict(app_id="orders", args={"--app-port": "8080"}),
    "bare-pod-no-labels": dict(app_id="debug-shell", user=ADMIN),
    "deployment-env-volumes": dict(
        app_id="checkout",
        args={"--app-port": "5000", "--config": "shop-tracing"},
        env={"checkout": {"DAPR_HTTP_PORT": "3600"}},
        sidecar_env={"GOMAXPROCS": "2", "REGION": "eu-west-1",
                     "DAPR_ENV_KEYS": "GOMAXPROCS REGION DB_PASSWORD"},
        sidecar_secret_env={"DB_PASSWORD": ("checkout-db", "password"),
                            "DAPR_API_TOKEN": ("dapr-api-token", "token")},
        mounts={"tls-certs": ("/etc/checkout/certs", True),
                "scratch": ("/tmp/sidecar-scratch", False)},
        resources={"requests": {"cpu": "100m", "memory": "64Mi"},
                   "limits": {"cpu": "1", "memory": "256Mi"}}),
    "deployment-multi-container": dict(
        app_id="catalog", args={"--log-level": "debug"},
        untouched_init=["wait-for-db", "migrate"]),
    "daemonset-host-network": dict(
        app_id="node-agent", user=sa("kube-system", "daemon-set-controller"),
        args={"--metrics-port": "9190"}, metrics_port=9190),
    "deployment-native-sidecar": dict(app_id="payments", native=True),
    "job-native-sidecar": dict(app_id="nightly-report", native=True,
                               user=sa("kube-system", "job-controller"), metrics=False),
    "statefulset-all-annotations": dict(
        app_id="ledger", user=sa("kube-system", "statefulset-controller"),
        grpc_port=50011, internal_port=50012, metrics_port=9595, image=
        "registry.example.com/outrigger/outriggerd:0.1.0",
        args={"--app-port": "7000", "--app-channel-address": "127.0.0.1",
              "--app-max-concurrency": "16", "--config": "ledger-config", "--log-level": "warn",
              "--log-as-json=true": None, "--enable-api-logging=true": None,
              "--dapr-grpc-port": "50011", "--dapr-internal-grpc-port": "50012",
              "--dapr-listen-addresses": "0.0.0.0", "--max-body-size": "16Mi",
              "--read-buffer-size": "8Ki", "--dapr-graceful-shutdown-seconds": "20",
              "--dapr-block-shutdown-duration": "10s",
              "--disable-builtin-k8s-secret-store=true": None,
              "--enable-app-health-check=true": None,
              "--app-health-check-path": "/healthz/ready", "--app-health-probe-interval": "3",
              "--app-health-probe-timeout": "800", "--app-health-threshold": "2",
              "--placement-host-address":
                  "placement-0.placement:50005,placement-1.placement:50005"},
        no_args=["--scheduler-host-address"],
        probes={"livenessProbe": (5, 2, 10, 4), "readinessProbe": (1, 2, 3, 5)},
        seccomp="RuntimeDefault",
        sidecar_secret_env={"APP_API_TOKEN": ("ledger-app-token", "token")}),
    "denied-app-id": dict(denied="dapr.io/app-id"),
    "denied-app-port": dict(denied="dapr.io/app-port"),
    "denied-memory-quantity": dict(denied="dapr.io/sidecar-memory-limit"),
    "denied-app-protocol": dict(denied="dapr.io/app-protocol"),
    "skipped-no-annotations": dict(skipped=True),
    "skipped-existing-daprd": dict(skipped=True),
}


class Failures:
    def __init__(self):
        self.items = []
        self.checks = 0

    def check(self, ok, what):
        self.checks += 1
        if not ok:
            self.items.append(what)
        return ok


def free_log_port(log_path, proc, timeout=20.0):
    """The port the injector logged it listens on (it was started with --port 0)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            break
        with open(log_path, errors="replace") as f:
            m = re.search(r"listening on 127\.0\.0\.1:(\d+) ", f.read())
        if m:
            return int(m.group(1))
        time.sleep(0.05)
    with open(log_path, errors="replace") as f:
        sys.exit("FAIL: the injector did not start:\n" + f.read())


class Injector:
    def __init__(self, binary, work):
        self.cert = os.path.join(work, "tls.crt")
        key = os.path.join(work, "tls.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", self.cert,
                        "-days", "1", "-subj", "/CN=dapr-sidecar-injector.dapr-system.svc",
                        "-addext", "subjectAltName=IP:127.0.0.1"],
                       check=True, capture_output=True, timeout=60)
        self.log = os.path.join(work, "injector.log")
        self.proc = subprocess.Popen(
            [binary, "--listen-address", "127.0.0.1", "--port", "0", "--metrics-port", "0",
             "--tls-cert-file", self.cert, "--tls-key-file", key, "--sidecar-image", IMAGE,
             "--max-request-bytes", str(MAX_BODY)],
            stdout=open(self.log, "w"), stderr=subprocess.STDOUT, start_new_session=True)
        self.port = free_log_port(self.log, self.proc)
        self.ctx = ssl.create_default_context(cafile=self.cert)  # verified, not skipped

    def post(self, body, content_type="application/json", path="/mutate?timeout=10s"):
        conn = http.client.HTTPSConnection("127.0.0.1", self.port, context=self.ctx, timeout=30)
        try:
            conn.request("POST", path, body=body, headers={"Content-Type": content_type})
            res = conn.getresponse()
            return res.status, res.read().decode()
        finally:
            conn.close()

    def stop(self):
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(timeout=10)
        return self.proc.returncode


def review(pod, uid, version, user):
    return {"apiVersion": version, "kind": "AdmissionReview", "request": {
        "uid": uid, "kind": {"group": "", "version": "v1", "kind": "Pod"},
        "resource": {"group": "", "version": "v1", "resource": "pods"},
        "requestKind": {"group": "", "version": "v1", "kind": "Pod"},
        "requestResource": {"group": "", "version": "v1", "resource": "pods"},
        "namespace": pod["metadata"].get("namespace", "default"), "operation": "CREATE",
        "userInfo": user, "object": pod, "oldObject": None, "dryRun": False,
        "options": {"apiVersion": "meta.k8s.io/v1", "kind": "CreateOptions"}}}


def containers(pod):
    spec = pod["spec"]
    return (spec.get("initContainers") or []) + (spec.get("containers") or [])


def env_map(container):
    return {e["name"]: e for e in container.get("env") or []}


def check_injected(f, name, exp, original, patched, outriggerd):
    where = name + ": "
    spec = patched["spec"]
    native = exp.get("native", False)
    sidecars = [c for c in containers(patched) if c["name"] == "daprd"]
    if not f.check(len(sidecars) == 1, where + "expected one daprd, got %d" % len(sidecars)):
        return
    d = sidecars[0]
    if native:
        f.check(spec["initContainers"][0]["name"] == "daprd", where + "daprd is not init 0")
        f.check(d.get("restartPolicy") == "Always", where + "native sidecar restartPolicy")
        f.check("startupProbe" in d, where + "native sidecar without a startupProbe")
    else:
        f.check(spec["containers"][-1]["name"] == "daprd", where + "daprd is not the last")
        f.check("restartPolicy" not in d and "startupProbe" not in d,
                where + "ordinary sidecar with native fields")
    f.check(d["image"] == exp.get("image", IMAGE), where + "image " + d["image"])

    ports = {p["name"]: p["containerPort"] for p in d.get("ports", [])}
    want = {"dapr-http": 3500, "dapr-grpc": exp.get("grpc_port", 50001),
            "dapr-internal": exp.get("internal_port", 50002)}
    if exp.get("metrics", True):
        want["dapr-metrics"] = exp.get("metrics_port", 9090)
    f.check(ports == want, where + "ports %s, want %s" % (ports, want))
    for probe, path in (("readinessProbe", ("httpGet", "path")),):
        f.check(d[probe][path[0]].get(path[1]) == "/v1.0/healthz", where + probe + " path")
    f.check(d["readinessProbe"]["httpGet"]["port"] == 3501, where + "readiness port")
    f.check(d["livenessProbe"]["tcpSocket"]["port"] == 3501, where + "liveness port")
    for probe, (delay, timeout, period, threshold) in exp.get(
            "probes", {"livenessProbe": (3, 3, 6, 3), "readinessProbe": (3, 3, 6, 3)}).items():
        got = tuple(d[probe][k] for k in ("initialDelaySeconds", "timeoutSeconds",
                                          "periodSeconds", "failureThreshold"))
        f.check(got == (delay, timeout, period, threshold), where + "%s %s" % (probe, got))

    sc = d.get("securityContext", {})
    f.check(sc.get("allowPrivilegeEscalation") is False, where + "allowPrivilegeEscalation")
    f.check(sc.get("runAsNonRoot") is True, where + "runAsNonRoot")
    f.check(sc.get("readOnlyRootFilesystem") is True, where + "readOnlyRootFilesystem")
    f.check(sc.get("capabilities", {}).get("drop") == ["ALL"], where + "capabilities")
    f.check(sc.get("seccompProfile", {}).get("type") == exp.get("seccomp"), where + "seccomp")
    f.check(d.get("resources") == exp.get("resources"), where + "resources %s" % d.get("resources"))

    denv = env_map(d)
    f.check(denv.get("NAMESPACE", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
            == "metadata.namespace", where + "NAMESPACE")
    f.check(denv.get("POD_NAME", {}).get("valueFrom", {}).get("fieldRef", {}).get("fieldPath")
            == "metadata.name", where + "POD_NAME")
    f.check(denv.get("DAPR_CONTROLPLANE_NAMESPACE", {}).get("value") == "dapr-system",
            where + "DAPR_CONTROLPLANE_NAMESPACE")
    f.check("DAPR_TRUST_ANCHORS" in denv and "DAPR_CONTROLPLANE_TRUST_DOMAIN" in denv,
            where + "trust anchors and domain")
    f.check(len(denv) == len(d.get("env", [])), where + "a sidecar variable set twice")
    for k, v in exp.get("sidecar_env", {}).items():
        f.check(denv.get(k, {}).get("value") == v, where + "sidecar env %s" % k)
    for k, (secret, key) in exp.get("sidecar_secret_env", {}).items():
        ref = denv.get(k, {}).get("valueFrom", {}).get("secretKeyRef", {})
        f.check(ref == {"name": secret, "key": key}, where + "sidecar env %s: %s" % (k, ref))

    mounts = {m["name"]: (m["mountPath"], m.get("readOnly", False))
              for m in d.get("volumeMounts", [])}
    f.check(mounts.get("dapr-identity-token") == ("/var/run/secrets/dapr.io/sentrytoken", True),
            where + "token mount")
    for vol, mount in exp.get("mounts", {}).items():
        f.check(mounts.get(vol) == mount, where + "mount %s: %s" % (vol, mounts.get(vol)))
    volumes = [v["name"] for v in spec.get("volumes", [])]
    f.check(volumes.count("dapr-identity-token") == 1, where + "token volume")
    token = [v for v in spec["volumes"] if v["name"] == "dapr-identity-token"][0]
    f.check(token["projected"]["sources"][0]["serviceAccountToken"]["audience"] ==
            "spiffe://cluster.local/ns/dapr-system/dapr-sentry", where + "token audience")
    f.check(volumes[:len(original["spec"].get("volumes") or [])] ==
            [v["name"] for v in original["spec"].get("volumes") or []],
            where + "the pod's own volumes moved")
    for c in containers(patched):
        paths = [m["mountPath"] for m in c.get("volumeMounts", [])]
        f.check(len(paths) == len(set(paths)), where + c["name"] + ": a mount path twice")
        for m in c.get("volumeMounts", []):
            f.check(m["name"] in volumes, where + "%s mounts missing volume %s" % (c["name"],
                                                                                  m["name"]))

    labels = patched["metadata"]["labels"]
    for k, v in (original["metadata"].get("labels") or {}).items():
        f.check(labels.get(k) == v, where + "label %s lost" % k)
    f.check(labels.get("dapr.io/sidecar-injected") == "true", where + "sidecar-injected label")
    f.check(labels.get("dapr.io/app-id") == exp["app_id"],
            where + "app-id label %s" % labels.get("dapr.io/app-id"))
    f.check(labels.get("dapr.io/metrics-enabled") ==
            ("true" if exp.get("metrics", True) else "false"), where + "metrics-enabled label")
    f.check(patched["metadata"].get("annotations") == original["metadata"].get("annotations"),
            where + "annotations changed")

    # The app's containers: unchanged but for the DAPR_* variables, added once and only if absent.
    before = {c["name"]: c for c in containers(original)}
    untouched = set(exp.get("untouched_init", []))
    for c in containers(patched):
        if c["name"] == "daprd":
            continue
        old = before.get(c["name"])
        if not f.check(old is not None, where + "new container " + c["name"]):
            continue
        strip = lambda x: {k: v for k, v in x.items() if k != "env"}
        f.check(strip(c) == strip(old), where + c["name"] + " changed beyond env")
        names = [e["name"] for e in c.get("env", [])]
        f.check(len(names) == len(set(names)), where + c["name"] + ": a variable twice " +
                str(names))
        f.check(c.get("env", [])[:len(old.get("env") or [])] == (old.get("env") or []),
                where + c["name"] + ": its own env changed")
        is_init = c in (patched["spec"].get("initContainers") or [])
        if c["name"] in untouched or (is_init and not native):
            f.check(c == old, where + c["name"] + " (init) touched")
            continue
        env = env_map(c)
        for var in ("DAPR_HTTP_PORT", "DAPR_GRPC_PORT", "APP_PROTOCOL"):
            f.check(var in env, where + c["name"] + " lacks " + var)
        for var, value in exp.get("env", {}).get(c["name"], {}).items():
            f.check(env[var].get("value") == value, where + "%s %s overridden" % (c["name"], var))

    args = d.get("args", [])
    pairs = {args[i]: args[i + 1] if i + 1 < len(args) else None for i in range(len(args))}
    f.check(pairs.get("--mode") == "kubernetes", where + "--mode")
    f.check(pairs.get("--app-id") == exp["app_id"], where + "--app-id")
    for flag, value in exp.get("args", {}).items():
        if value is None:
            f.check(flag in args, where + "missing " + flag)
        else:
            f.check(pairs.get(flag) == value, where + "%s %s" % (flag, pairs.get(flag)))
    for flag in exp.get("no_args", []):
        f.check(flag not in args, where + "unexpected " + flag)
    # The sidecar must take every argument it is given (--help: parse and check, then exit).
    r = subprocess.run([outriggerd] + args + ["--help"], capture_output=True, text=True,
                       timeout=60)
    f.check(r.returncode == 0, where + "outriggerd refuses its arguments: " + r.stderr.strip())


def validate(f, docs, work, label):
    path = os.path.join(work, label + ".yaml")
    with open(path, "w") as out:
        yaml.safe_dump_all(docs, out, sort_keys=False)
    for v in K8S_VERSIONS:
        r = subprocess.run([PY, VALIDATE, "--k8s-version", v, path], capture_output=True,
                           text=True, timeout=300)
        f.check(r.returncode == 0, "%s not valid for Kubernetes %s:\n%s%s" %
                (label, v, r.stdout[-3000:], r.stderr[-2000:]))


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    injector_bin, outriggerd = sys.argv[1], sys.argv[2]
    for path in (injector_bin, outriggerd, VALIDATE):
        if not os.path.exists(path):
            sys.exit("FAIL: %s is missing" % path)
    names = sorted(n[:-5] for n in os.listdir(TESTDATA) if n.endswith(".yaml"))
    if sorted(EXPECT) != names:
        sys.exit("FAIL: testdata and EXPECT differ: %s" % (set(names) ^ set(EXPECT)))
    f = Failures()
    work = tempfile.mkdtemp(prefix="injector-fixtures-")
    inj = Injector(injector_bin, work)
    try:
        originals, patched_docs = [], []
        for i, name in enumerate(names):
            with open(os.path.join(TESTDATA, name + ".yaml")) as src:
                pod = yaml.safe_load(src)
            originals.append(pod)
            exp = EXPECT[name]
            version = ("admission.k8s.io/v1", "admission.k8s.io/v1beta1")[i % 2]
            uid = "9f3a%04d-0000-4000-8000-%012d" % (i, i)
            status, body = inj.post(json.dumps(review(pod, uid, version, exp.get("user", RS))))
            if not f.check(status == 200, "%s: HTTP %d %s" % (name, status, body)):
                continue
            out = json.loads(body)
            res = out["response"]
            f.check(out["apiVersion"] == version and out["kind"] == "AdmissionReview",
                    name + ": answered as " + out["apiVersion"])
            f.check(res["uid"] == uid, name + ": uid " + res["uid"])
            if "denied" in exp:
                f.check(res["allowed"] is False and "patch" not in res, name + ": not denied")
                msg = res.get("result", {}).get("message", "")
                f.check(exp["denied"] in msg, name + ": message does not name %s: %s" %
                        (exp["denied"], msg))
                continue
            f.check(res["allowed"] is True, name + ": not allowed: " + body)
            if exp.get("skipped"):
                f.check("patch" not in res and "patchType" not in res, name + ": patched")
                continue
            if not f.check(res.get("patchType") == "JSONPatch" and "patch" in res,
                           name + ": no patch"):
                continue
            ops = json.loads(base64.b64decode(res["patch"], validate=True))
            try:
                patched = jsonpatch.apply_patch(copy.deepcopy(pod), ops)
            except (jsonpatch.JsonPatchException, jsonpatch.JsonPointerException) as e:
                f.check(False, "%s: the patch does not apply: %s\n%s" % (name, e, ops))
                continue
            check_injected(f, name, exp, pod, patched, outriggerd)
            # The API server names a generateName pod after admission.
            if not patched["metadata"].get("name"):
                patched["metadata"]["name"] = patched["metadata"]["generateName"] + "x7k2p"
            patched_docs.append(patched)
        validate(f, originals, work, "fixtures-as-given")
        validate(f, patched_docs, work, "patched-pods")

        # Bad requests get their status and a message, and the server goes on.
        good = json.dumps(review(originals[0], "u-bad", "admission.k8s.io/v1", RS))
        status, body = inj.post(good[:len(good) // 2])
        f.check(status == 400 and "not JSON" in body, "truncated review: %d %s" % (status, body))
        status, body = inj.post("")
        f.check(status == 400 and "empty body" in body, "empty body: %d %s" % (status, body))
        status, body = inj.post(good, content_type="text/plain")
        f.check(status == 415, "text/plain: %d %s" % (status, body))
        status, body = inj.post(" " * (MAX_BODY + 1))
        f.check(status == 413 and str(MAX_BODY) in body, "oversized body: %d %s" % (status, body))
        status, body = inj.post(good)
        f.check(status == 200 and '"allowed":true' in body, "after bad requests: %d" % status)
    finally:
        code = inj.stop()
        f.check(code == 0, "injector exit code %s" % code)
        with open(inj.log, errors="replace") as log:
            text = log.read()
        f.check(not re.search(r"level=(error|fatal)|Sanitizer|runtime error", text),
                "injector log:\n" + text)
        shutil.rmtree(work, ignore_errors=True)

    for item in f.items:
        print("FAIL: " + item)
    print("%d fixtures, %d checks, %d failed" % (len(names), f.checks, len(f.items)))
    sys.exit(1 if f.items else 0)


if __name__ == "__main__":
    main()
