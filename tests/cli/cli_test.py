#!/usr/bin/env python3
"""`outrigger run` end to end: the app gets DAPR_HTTP_PORT and reaches state through the sidecar,
both logs are prefixed, the app's exit code is passed on, SIGTERM stops both (no orphan sidecar),
and bad flags fail with a message and exit code 1.

Usage: cli_test.py OUTRIGGER OUTRIGGERD"""
import os
import signal
import subprocess
import sys
import tempfile
import time

OUTRIGGER, OUTRIGGERD = sys.argv[1:3]
failures = []
env = {**os.environ, "OUTRIGGER_SIDECAR": OUTRIGGERD, "HOME": tempfile.mkdtemp(prefix="outrigger-home-"),
       "OUTRIGGER_NAMERESOLUTION_DIR": tempfile.mkdtemp(prefix="outrigger-nr-")}


def check(what, cond, detail=""):
    if not cond:
        failures.append(what)
        print(f"FAIL: {what}\n{detail[-3000:]}", flush=True)


def pids_of(name):
    out = subprocess.run(["pgrep", "-f", name], capture_output=True, text=True).stdout
    return [int(p) for p in out.split()]


APP = r'''
import json, os, sys, urllib.request
base = "http://127.0.0.1:%s/v1.0" % os.environ["DAPR_HTTP_PORT"]
req = urllib.request.Request(base + "/state/statestore", data=b'[{"key":"k","value":"v"}]', method="POST",
                             headers={"Content-Type": "application/json"})
urllib.request.urlopen(req, timeout=5)
print("got", urllib.request.urlopen(base + "/state/statestore/k", timeout=5).read().decode(), flush=True)
sys.exit(int(sys.argv[1]))
'''

# 1. The app reaches state through its sidecar; its exit code is ours; both logs are prefixed.
r = subprocess.run([OUTRIGGER, "run", "--app-id", "clitest", "--dapr-http-port", "3599",
                    "--", sys.executable, "-c", APP, "3"], capture_output=True, text=True, env=env, timeout=60)
check("exit code passed on", r.returncode == 3, r.stdout + r.stderr)
check("app output prefixed", '== APP == got "v"' in r.stdout, r.stdout)
check("sidecar output prefixed", "== SIDECAR == " in r.stdout, r.stdout)
check("defaults written", os.path.exists(os.path.join(env["HOME"], ".outrigger", "components", "statestore.yaml")))
check("sidecar stopped after the app", not [p for p in pids_of("outriggerd --app-id clitest")], "")

# 2. SIGTERM stops both.
p = subprocess.Popen([OUTRIGGER, "run", "--app-id", "clitest2", "--dapr-http-port", "3598", "--",
                      sys.executable, "-c", "import time; print('up', flush=True); time.sleep(60)"],
                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
deadline = time.time() + 20
while time.time() < deadline and not pids_of("time.sleep(60)"):
    time.sleep(0.1)
time.sleep(0.3)
p.send_signal(signal.SIGTERM)
try:
    out, _ = p.communicate(timeout=20)
except subprocess.TimeoutExpired:
    p.kill()
    out = "timeout"
check("stops on SIGTERM", p.returncode is not None and out != "timeout", out)
time.sleep(0.2)
check("no orphan sidecar", not pids_of("outriggerd --app-id clitest2"))
check("no orphan app", not pids_of("time.sleep(60)"))

# 3. Bad usage.
for args, needle in ([["run", "--", "true"], "--app-id is required"],
                     [["run", "--app-id", "x", "--app-port", "abc", "--", "true"], "invalid value 'abc'"],
                     [["run", "--app-id", "x", "--bogus", "1", "--", "true"], "unknown flag"],
                     [["frobnicate"], "unknown command"]):
    r = subprocess.run([OUTRIGGER, *args], capture_output=True, text=True, env=env, timeout=10)
    check(f"bad usage {args}", r.returncode == 1 and needle in r.stderr, r.stderr)

print(f"{0 if failures else 1} passed, {len(failures)} failed")
sys.exit(1 if failures else 0)
