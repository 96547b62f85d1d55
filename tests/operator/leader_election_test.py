#!/usr/bin/env python3
"""Leader election between two outrigger-operator replicas against the test API server, with short
leases (--leader-elect-* flags): exactly one leads and holds the Lease, renewing it without
rewriting acquireTime; only the leader reconciles Services; when the leader is killed, the other
takes over once the Lease has gone unrenewed for its duration, counts the transition and
reconciles; a leader that stops cleanly releases the Lease.

Usage: leader_election_test.py OPERATOR
"""
import datetime
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
OPERATOR = sys.argv[1]
LEASE_SECONDS = 4
sys.path.insert(0, HERE)
from checks import check, failures, finish, free_port, launch, stop, wait, write_kubeconfig  # noqa: E402


def http(method, url, body=None):
    req = urllib.request.Request(url, method=method, data=json.dumps(body).encode() if body else None,
                                 headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=5) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def micro_time(text):
    return datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%S.%fZ")


work = tempfile.mkdtemp(prefix="outrigger-leader-")
api_port = free_port()
api = f"http://127.0.0.1:{api_port}"
procs = []


def start(args, log):
    return launch(procs, work, args, log)


def lease():
    code, body = http("GET", api + "/apis/coordination.k8s.io/v1/namespaces/default/leases/outrigger-operator")
    return json.loads(body)["spec"] if code == 200 else None


def holder():
    spec = lease()
    return spec.get("holderIdentity") if spec else None


def is_leader(replica):
    code, text = http("GET", f"http://127.0.0.1:{replica['metrics']}/")
    return code == 200 and "\noutrigger_operator_leader 1" in "\n" + text


def deployment(name):
    return {"apiVersion": "apps/v1", "kind": "Deployment", "metadata": {"name": name, "namespace": "default"},
            "spec": {"selector": {"matchLabels": {"app": name}}, "template": {
                "metadata": {"labels": {"app": name},
                             "annotations": {"dapr.io/enabled": "true", "dapr.io/app-id": name}},
                "spec": {"containers": [{"name": "app", "image": "example/app:1"}]}}}}


def service_exists(app_id):
    return http("GET", f"{api}/api/v1/namespaces/default/services/{app_id}-dapr")[0] == 200


kubeconfig = write_kubeconfig(work, api)

try:
    start([sys.executable, os.path.join(HERE, "fake_apiserver.py"), "--port", str(api_port),
           "--state", os.path.join(work, "apiserver.json")], "apiserver.log")
    wait("API server up", lambda: http("GET", api + "/version")[0] == 200)
    check("deployment a", http("POST", api + "/apis/apps/v1/namespaces/default/deployments",
                               deployment("a"))[0] == 201)

    replicas = {}
    for name in ("op-1", "op-2"):
        metrics = free_port()
        replicas[name] = {"metrics": metrics, "proc": start(
            [OPERATOR, "--kubeconfig", kubeconfig, "--port", "0", "--healthz-port", "0",
             "--metrics-port", str(metrics), "--identity", name, "--lease-namespace", "default",
             "--leader-elect-lease-duration", f"{LEASE_SECONDS}s",
             "--leader-elect-renew-deadline", "3s", "--leader-elect-retry-period", "500ms"],
            f"{name}.log")}

    wait("a replica holds the Lease", lambda: holder() in replicas)
    first = holder()
    other = "op-2" if first == "op-1" else "op-1"
    wait(f"the holder {first} says it leads", lambda: is_leader(replicas[first]))
    wait(f"{other} is up", lambda: http("GET", f"http://127.0.0.1:{replicas[other]['metrics']}/")[0] == 200)
    # Several looks over a few renewals: one leader, always the holder.
    for _ in range(5):
        spec = lease()
        check("exactly one leader, the Lease holder",
              spec and spec["holderIdentity"] == first and is_leader(replicas[first])
              and not is_leader(replicas[other]))
        time.sleep(0.2)
    check("Lease duration from the flag", lease()["leaseDurationSeconds"] == LEASE_SECONDS)
    wait("the leader reconciles", lambda: service_exists("a"))

    # Renewals move renewTime and keep acquireTime and the holder.
    before = lease()
    wait("the leader renews", lambda: lease()["renewTime"] != before["renewTime"])
    after = lease()
    check("renewal keeps acquireTime", after["acquireTime"] == before["acquireTime"])
    check("renewal keeps the holder and transitions",
          after["holderIdentity"] == first and after["leaseTransitions"] == before["leaseTransitions"])
    check("renewTime after acquireTime", micro_time(after["renewTime"]) > micro_time(after["acquireTime"]))

    # Kill the leader: no release, so the other waits for the Lease to expire, then takes over.
    replicas[first]["proc"].send_signal(signal.SIGKILL)
    replicas[first]["proc"].wait()
    last = lease()  # the killed leader's last renewal
    check("deployment b", http("POST", api + "/apis/apps/v1/namespaces/default/deployments",
                               deployment("b"))[0] == 201)
    wait(f"{other} takes over the Lease", lambda: holder() == other, 30)
    taken = lease()
    check(f"{other} took over only after the Lease expired",
          micro_time(taken["acquireTime"]) - micro_time(last["renewTime"])
          >= datetime.timedelta(seconds=LEASE_SECONDS))
    check("takeover counted in leaseTransitions", taken["leaseTransitions"] == last["leaseTransitions"] + 1)
    wait(f"{other} says it leads", lambda: is_leader(replicas[other]))
    wait("the new leader reconciles", lambda: service_exists("b"))

    # A clean stop releases the Lease at once.
    replicas[other]["proc"].send_signal(signal.SIGTERM)
    check("the leader stops", replicas[other]["proc"].wait(timeout=20) == 0)
    spec = lease()
    check("a stopped leader releases the Lease", spec is not None and spec["holderIdentity"] == "")
finally:
    stop(procs)

finish(work, ("op-1.log", "op-2.log"), 3000)
