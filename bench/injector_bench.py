#!/usr/bin/env python3
"""Sidecar injector benchmark (bench/injector.sh builds the binary and calls this).

Admission latency and throughput of outrigger-injector for a typical pod (a Deployment's pod,
tests/injector/testdata/deployment-basic.yaml) over HTTPS with keep-alive, as the API server calls
it, and its memory. Baseline in the same run: nginx over TLS with the same certificate, answering
the same POST with the injector's own answer as a fixed string, so the difference is the injector's
own work (parsing the review, building the patch) plus its HTTP/TLS stack against nginx's.

Load: bench/injector_load.cc (built by bench/injector.sh), open loop at a fixed rate over one
keep-alive connection, rounds alternating between the two targets so that noise from a shared
machine falls on both; p50/p90/p99 with microsecond resolution over every request of every round.
Then one round with a new TLS connection per request, and the maximum throughput over 8
connections. RSS: VmRSS after start (idle), after the first review, and the peak sampled every 50 ms
at the fixed rate and at maximum throughput; the anonymous part, and nginx's worker for comparison.
Not a test: prints numbers, exits 0 whatever they are.
"""
import argparse
import base64
import json
import os
import shutil
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.request

import yaml

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
POD = os.path.join(ROOT, "tests", "injector", "testdata", "deployment-basic.yaml")
CLK_TCK = os.sysconf("SC_CLK_TCK")


def log(msg):
    print("bench: " + msg, file=sys.stderr, flush=True)


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def rss_kb(pid, field="VmRSS"):
    try:
        with open("/proc/%d/status" % pid) as f:
            for line in f:
                if line.startswith(field + ":"):
                    return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pids):
    total = 0
    for pid in pids:
        try:
            with open("/proc/%d/stat" % pid) as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += int(fields[11]) + int(fields[12])  # utime, stime
        except OSError:
            pass
    return total / CLK_TCK


class PeakRss:
    """The peak VmRSS of a process, sampled every 50 ms while active."""

    def __init__(self, pid):
        self.pid, self.peak, self._on = pid, 0, threading.Event()
        self._stop = False
        threading.Thread(target=self._run, daemon=True).start()

    def _run(self):
        while not self._stop:
            if self._on.is_set():
                self.peak = max(self.peak, rss_kb(self.pid))
            time.sleep(0.05)

    def active(self, on):
        (self._on.set if on else self._on.clear)()

    def close(self):
        self._stop = True


def largest_mappings(pid, n=4):
    """The n files mapped into pid with the most resident kB, as (kB, basename)."""
    rss, name = {}, None
    try:
        with open("/proc/%d/smaps" % pid) as f:
            for line in f:
                parts = line.split()
                if "-" in parts[0] and len(parts) >= 5:
                    name = parts[5] if len(parts) > 5 and parts[5].startswith("/") else None
                elif parts[0] == "Rss:" and name:
                    rss[name] = rss.get(name, 0) + int(parts[1])
    except OSError:
        return []
    return sorted(((kb, os.path.basename(p)) for p, kb in rss.items()), reverse=True)[:n]


def wait_https(port, ctx, proc, timeout=20):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            return False
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1) as s:
                with ctx.wrap_socket(s, server_hostname="127.0.0.1"):
                    return True
        except OSError:
            time.sleep(0.05)
    return False


def post(port, ctx, body):
    req = urllib.request.Request("https://127.0.0.1:%d/mutate" % port, data=body,
                                 headers={"Content-Type": "application/json"}, method="POST")
    with urllib.request.urlopen(req, context=ctx, timeout=10) as res:
        return res.status, res.read()


def load(driver, port, body_file, secs, conns, rate, keepalive=True, samples=None):
    cmd = [driver, "--port", str(port), "--body", body_file, "--seconds", "%g" % secs,
           "--connections", str(conns), "--rate", "%g" % rate]
    if not keepalive:
        cmd.append("--new-connection-per-request")
    if samples:
        cmd += ["--samples", samples]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True, timeout=secs + 60)
    return json.loads(out.stdout)


def pooled(samples_file, secs):
    """Percentiles (ms) over every request of every run written to samples_file."""
    with open(samples_file) as f:
        v = sorted(int(line) for line in f if line.strip())

    def pct(p):
        return v[min(len(v), max(1, int(len(v) * p + 0.999999))) - 1] / 1000 if v else float("nan")

    return {"p50": pct(0.5), "p90": pct(0.9), "p99": pct(0.99), "p999": pct(0.999),
            "max": pct(1.0), "n": len(v), "rate": len(v) / secs}


def nginx_conf(work, port, cert, key, answer):
    if "'" in answer or "$" in answer or "\\" in answer:
        sys.exit("bench: the answer cannot be written into nginx.conf as is")
    d = os.path.join(work, "nginx")
    os.makedirs(d, exist_ok=True)
    user = "user root;" if os.getuid() == 0 else ""
    conf = os.path.join(d, "nginx.conf")
    with open(conf, "w") as f:
        f.write("""%s
worker_processes 1;
daemon off;
pid %s/nginx.pid;
error_log %s/error.log warn;
events { worker_connections 256; }
http {
  access_log off;
  client_body_temp_path %s/body;
  proxy_temp_path %s/proxy;
  fastcgi_temp_path %s/fastcgi;
  uwsgi_temp_path %s/uwsgi;
  scgi_temp_path %s/scgi;
  keepalive_requests 1000000;
  server {
    listen 127.0.0.1:%d ssl;
    ssl_certificate %s;
    ssl_certificate_key %s;
    ssl_protocols TLSv1.2 TLSv1.3;
    location = /mutate {
      default_type application/json;
      return 200 '%s';
    }
  }
}
""" % (user, d, d, d, d, d, d, d, port, cert, key, answer))
    return d, conf


def stop_all(procs, grace=10.0):
    """SIGTERM to each, then SIGKILL to whatever is still up once the grace period is over."""
    for p in procs:
        if p.poll() is None:
            p.terminate()
    deadline = time.monotonic() + grace
    for p in procs:
        try:
            p.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--injector", required=True)
    ap.add_argument("--driver", required=True, help="the injector_load binary")
    ap.add_argument("--duration", type=float, default=10, help="seconds per target and round")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--rate", type=float, default=200)
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    for tool in ("nginx", "openssl"):
        if not shutil.which(tool):
            sys.exit("bench: '%s' is missing (scripts/install-deps.sh installs it)" % tool)

    work = tempfile.mkdtemp(prefix="outrigger-bench-injector.")
    procs = []
    try:
        cert, key = os.path.join(work, "tls.crt"), os.path.join(work, "tls.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt",
                        "ec_paramgen_curve:P-256", "-nodes", "-keyout", key, "-out", cert, "-days",
                        "1", "-subj", "/CN=dapr-sidecar-injector.dapr-system.svc", "-addext",
                        "subjectAltName=IP:127.0.0.1"], check=True, capture_output=True)
        ctx = ssl.create_default_context(cafile=cert)
        with open(POD) as f:
            pod = yaml.safe_load(f)
        review = {"apiVersion": "admission.k8s.io/v1", "kind": "AdmissionReview", "request": {
            "uid": "2c5f7a10-bench-4000-8000-000000000001",
            "kind": {"group": "", "version": "v1", "kind": "Pod"},
            "resource": {"group": "", "version": "v1", "resource": "pods"},
            "namespace": "shop", "operation": "CREATE",
            "userInfo": {"username": "system:serviceaccount:kube-system:replicaset-controller",
                         "groups": ["system:serviceaccounts", "system:authenticated"]},
            "object": pod, "dryRun": False}}
        body = json.dumps(review, separators=(",", ":")).encode()
        body_file = os.path.join(work, "review.json")
        with open(body_file, "wb") as f:
            f.write(body)

        port, mport = free_port(), free_port()
        inj_log = open(os.path.join(work, "injector.log"), "w")
        inj = subprocess.Popen([a.injector, "--listen-address", "127.0.0.1", "--port", str(port),
                                "--metrics-port", str(mport), "--tls-cert-file", cert,
                                "--tls-key-file", key], stdout=inj_log, stderr=subprocess.STDOUT)
        procs.append(inj)
        if not wait_https(port, ctx, inj):
            sys.exit("bench: the injector did not start (see %s)" % inj_log.name)
        time.sleep(1)
        rss_idle = rss_kb(inj.pid)
        status, answer = post(port, ctx, body)
        res = json.loads(answer)["response"]
        if status != 200 or res.get("patchType") != "JSONPatch":
            sys.exit("bench: unexpected answer %d %s" % (status, answer[:300]))
        patch_ops = len(json.loads(base64.b64decode(res["patch"])))
        rss_first = rss_kb(inj.pid)

        nport = free_port()
        ndir, nconf = nginx_conf(work, nport, cert, key, answer.decode())
        ng = subprocess.Popen(["nginx", "-e", os.path.join(ndir, "error.log"), "-c", nconf, "-p",
                               ndir], stdout=subprocess.DEVNULL, stderr=subprocess.STDOUT)
        procs.append(ng)
        if not wait_https(nport, ctx, ng):
            sys.exit("bench: nginx did not start (see %s/error.log)" % ndir)
        status, nanswer = post(nport, ctx, body)
        if status != 200 or nanswer != answer:
            sys.exit("bench: nginx does not give the injector's answer")
        nginx_pids = [ng.pid] + [int(p) for p in subprocess.run(
            ["pgrep", "-P", str(ng.pid)], capture_output=True, text=True).stdout.split()]

        nginx_worker = nginx_pids[-1]
        targets = {"injector": (port, [inj.pid]), "nginx": (nport, nginx_pids)}
        fixed_peak, max_peak = PeakRss(inj.pid), PeakRss(inj.pid)
        for name, (p, _) in targets.items():  # warm-up: connections, caches, allocator
            load(a.driver, p, body_file, 1, 1, a.rate)

        cpu = {n: 0.0 for n in targets}
        errors = 0
        load_before = open("/proc/loadavg").read().split()[:3]
        log("%d rounds x %g s at %g req/s, one keep-alive connection" %
            (a.rounds, a.duration, a.rate))
        for r in range(a.rounds):
            for name, (p, pids) in targets.items():
                fixed_peak.active(name == "injector")
                c0 = cpu_seconds(pids)
                res = load(a.driver, p, body_file, a.duration, 1, a.rate,
                           samples=os.path.join(work, "fixed-%s.txt" % name))
                cpu[name] += cpu_seconds(pids) - c0
                errors += res["errors"]
                fixed_peak.active(False)
        fixed = {n: pooled(os.path.join(work, "fixed-%s.txt" % n), a.rounds * a.duration)
                 for n in targets}
        nginx_rss = rss_kb(nginx_worker)

        log("one round with a new TLS connection per request")
        fresh = {}
        for name, (p, _) in targets.items():
            fixed_peak.active(name == "injector")
            out = os.path.join(work, "fresh-%s.txt" % name)
            errors += load(a.driver, p, body_file, a.duration, 1, a.rate, keepalive=False,
                           samples=out)["errors"]
            fixed_peak.active(False)
            fresh[name] = pooled(out, a.duration)

        log("maximum throughput, 8 keep-alive connections")
        maxrate = {}
        for name, (p, _) in targets.items():
            max_peak.active(name == "injector")
            res = load(a.driver, p, body_file, 5, 8, 0)
            max_peak.active(False)
            maxrate[name] = res["rate"]
            errors += res["errors"]
        fixed_peak.close()
        max_peak.close()
        rss_end, anon_end = rss_kb(inj.pid), rss_kb(inj.pid, "RssAnon")
        mappings = largest_mappings(inj.pid)
        load_after = open("/proc/loadavg").read().split()[:3]

        metrics = urllib.request.urlopen("http://127.0.0.1:%d/metrics" % mport, timeout=10)
        text = metrics.read().decode()
        total = count = 0.0
        for line in text.splitlines():
            if line.startswith("outrigger_injector_admission_latency_seconds_sum"):
                total = float(line.split()[1])
            elif line.startswith("outrigger_injector_admission_latency_seconds_count"):
                count = float(line.split()[1])

        print()
        print("Sidecar injector: POST /mutate of a typical pod (%s, %d bytes; answer %d bytes, "
              "%d patch operations)" % (os.path.relpath(POD, ROOT), len(body), len(answer),
                                        patch_ops))
        print("load average before %s, after %s" % (" ".join(load_before), " ".join(load_after)))
        print()
        print("%-46s %10s %10s" % ("", "injector", "nginx TLS"))

        def row(label, fmt, key, table):
            print("%-46s %10s %10s" % (label, fmt % table["injector"][key],
                                       fmt % table["nginx"][key]))

        print("at %g req/s, keep-alive (%d requests each)" % (a.rate, fixed["injector"]["n"]))
        for k in ("p50", "p90", "p99", "p999", "max"):
            row("  latency %s (ms)" % k.replace("p999", "p99.9"), "%.3f", k, fixed)
        row("  achieved (req/s)", "%.1f", "rate", fixed)
        print("%-46s %10.1f %10.1f" % ("  CPU per request (us)",
                                       cpu["injector"] / max(1, fixed["injector"]["n"]) * 1e6,
                                       cpu["nginx"] / max(1, fixed["nginx"]["n"]) * 1e6))
        print("at %g req/s, a new TLS connection per request" % a.rate)
        for k in ("p50", "p99"):
            row("  latency %s (ms)" % k, "%.3f", k, fresh)
        print("%-46s %10.0f %10.0f" % ("max throughput, 8 connections (req/s)",
                                       maxrate["injector"], maxrate["nginx"]))
        print("%-46s %10.1f %10.1f" % ("RSS peak at the fixed rate (MB; nginx: worker)",
                                       fixed_peak.peak / 1024, nginx_rss / 1024))
        print()
        print("injector review time (its own histogram): mean %.1f us over %d reviews" %
              (total / count * 1e6 if count else float("nan"), count))
        print("injector RSS (MB): idle %.1f; after the first review %.1f; peak at %g req/s %.1f; "
              "peak at max throughput %.1f; at the end %.1f, of which anonymous %.1f" %
              (rss_idle / 1024, rss_first / 1024, a.rate, fixed_peak.peak / 1024,
               max_peak.peak / 1024, rss_end / 1024, anon_end / 1024))
        print("largest file mappings resident (MB): " +
              ", ".join("%s %.1f" % (name, kb / 1024) for kb, name in mappings))
        if errors:
            log("WARNING: %d requests failed" % errors)
        p99 = fixed["injector"]["p99"]
        print("targets: p99 < 1 ms at %g req/s: %s (%.3f ms); RSS < 10 MB: %s (peak %.1f MB)" %
              (a.rate, "met" if p99 < 1 else "NOT met", p99,
               "met" if fixed_peak.peak < 10 * 1024 else "NOT met", fixed_peak.peak / 1024))
    finally:
        stop_all(procs)
        if a.keep:
            log("work directory kept: " + work)
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
