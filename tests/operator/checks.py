"""What the operator's Python tests share: free ports and checks that record failures."""

import os
import signal
import socket
import subprocess
import sys
import time

failures = []


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def wait(what, pred, timeout=20):
    """True once pred() is true; a failure named what if it is not within timeout seconds."""
    deadline = time.time() + timeout
    while time.time() < deadline:
        try:
            if pred():
                return True
        except Exception:
            pass
        time.sleep(0.1)
    failures.append(what)
    print(f"FAIL: {what}", flush=True)
    return False


def launch(procs, work, args, log, env=None):
    """Starts args with its output in work/log and the test's environment plus env; kept in procs
    for stop()."""
    p = subprocess.Popen(args, stdout=open(os.path.join(work, log), "w"), stderr=subprocess.STDOUT,
                         env={**os.environ, **(env or {})})
    procs.append(p)
    return p


def write_kubeconfig(work, server):
    """A kubeconfig for the test API server at server (a URL); its path."""
    path = os.path.join(work, "kubeconfig")
    with open(path, "w") as f:
        f.write(f"""apiVersion: v1
kind: Config
clusters: [{{name: t, cluster: {{server: "{server}"}}}}]
contexts: [{{name: t, context: {{cluster: t, user: t, namespace: default}}}}]
current-context: t
users: [{{name: t, user: {{token: test}}}}]
""")
    return path


def check(what, cond):
    if not cond:
        failures.append(what)
        print(f"FAIL: {what}", flush=True)
    return cond


def stop(procs):
    """SIGTERM every process still running, then SIGKILL whatever has not stopped within 10 s."""
    for p in procs:
        if p.poll() is None:
            p.send_signal(signal.SIGTERM)
    for p in procs:
        try:
            p.wait(timeout=10)
        except subprocess.TimeoutExpired:
            p.kill()


def finish(work, logs, tail):
    """After a failure, prints the last tail bytes of each log in work; exits with the verdict."""
    if failures:
        for log in logs:
            path = os.path.join(work, log)
            if os.path.exists(path):
                print(f"---- {log}", flush=True)
                print(open(path).read()[-tail:], flush=True)
    print(f"{0 if failures else 1} passed, {len(failures)} failed")
    sys.exit(1 if failures else 0)
