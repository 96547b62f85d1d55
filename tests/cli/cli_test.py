#!/usr/bin/env python3
"""`outrigger run` end to end: the app gets DAPR_HTTP_PORT and reaches state through the sidecar,
both logs are prefixed, the app's exit code is passed on, SIGTERM stops both (no orphan sidecar),
and bad flags fail with a message and exit code 1.

Usage: cli_test.py OUTRIGGER OUTRIGGERD"""
import os
import signal
import socket
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


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return str(sock.getsockname()[1])


# Unique per run, so that concurrent runs of this test never see each other's processes.
TAG = str(os.getpid())
ID1, ID2, ID3 = "clitest1x" + TAG, "clitest2x" + TAG, "clitest3x" + TAG
SLEEP2, SLEEP3 = "time.sleep(60.%s)" % TAG, "time.sleep(61.%s)" % TAG


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
r = subprocess.run([OUTRIGGER, "run", "--app-id", ID1, "--dapr-http-port", free_port(),
                    "--", sys.executable, "-c", APP, "3"], capture_output=True, text=True, env=env, timeout=60)
check("exit code passed on", r.returncode == 3, r.stdout + r.stderr)
check("app output prefixed", '== APP == got "v"' in r.stdout, r.stdout)
check("sidecar output prefixed", "== SIDECAR == " in r.stdout, r.stdout)
components = os.path.join(env["HOME"], ".outrigger", "components")
check("defaults written", os.path.exists(os.path.join(components, "statestore.yaml")))
with open(os.path.join(components, "statestore.yaml")) as f:
    check("default state store is SQLite", "state.sqlite" in f.read())
check("SQLite database under ~/.outrigger", os.path.exists(os.path.join(env["HOME"], ".outrigger", "state.db")))

# 1b. State survives a second run (SQLite on disk), and a given resources path is used as is.
READ = r'''
import os, sys, urllib.error, urllib.request
try:
    print("again", urllib.request.urlopen("http://127.0.0.1:%s/v1.0/state/statestore/k" % os.environ["DAPR_HTTP_PORT"], timeout=5).read().decode(), flush=True)
except urllib.error.HTTPError as e:
    print("error", e.code, e.read().decode(), flush=True)
    sys.exit(2)
'''
r = subprocess.run([OUTRIGGER, "run", "--app-id", ID1, "--dapr-http-port", free_port(),
                    "--", sys.executable, "-c", READ], capture_output=True, text=True, env=env, timeout=60)
check("state kept across runs", r.returncode == 0 and '== APP == again "v"' in r.stdout, r.stdout + r.stderr)
empty = tempfile.mkdtemp(prefix="outrigger-res-")
r = subprocess.run([OUTRIGGER, "run", "--app-id", ID1, "--dapr-http-port", free_port(), "--resources-path", empty,
                    "--", sys.executable, "-c", READ], capture_output=True, text=True, env=env, timeout=60)
check("resources path used instead of the defaults", r.returncode != 0 and "ERR_STATE_STORE" in r.stdout, r.stdout + r.stderr)
check("sidecar stopped after the app", not [p for p in pids_of("outriggerd --app-id " + ID1)], "")

# 1c. The sidecar listens on loopback only unless told otherwise (issue 12; daprd: all interfaces),
# and says how to open up.
LISTEN = r'''
import os
port = int(os.environ["DAPR_HTTP_PORT"])
for name in ("/proc/net/tcp", "/proc/net/tcp6"):
    for line in open(name).readlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        if state == "0A" and int(local.rsplit(":", 1)[1], 16) == port:
            print("listening", local.rsplit(":", 1)[0], flush=True)
'''
r = subprocess.run([OUTRIGGER, "run", "--app-id", ID1, "--dapr-http-port", free_port(),
                    "--", sys.executable, "-c", LISTEN], capture_output=True, text=True, env=env, timeout=60)
listening = [l.split()[-1] for l in r.stdout.splitlines() if "== APP == listening" in l]
check("API on 127.0.0.1 only by default", listening and set(listening) == {"0100007F"}, r.stdout)
check("start-up log says how to open up", "--dapr-listen-addresses" in r.stdout, r.stdout)
r = subprocess.run([OUTRIGGER, "run", "--app-id", ID1, "--dapr-http-port", free_port(),
                    "--sidecar-arg=--dapr-listen-addresses=0.0.0.0",
                    "--", sys.executable, "-c", LISTEN], capture_output=True, text=True, env=env, timeout=60)
listening = [l.split()[-1] for l in r.stdout.splitlines() if "== APP == listening" in l]
check("API opened up with --dapr-listen-addresses", listening and set(listening) == {"00000000"}, r.stdout)

# 2. SIGTERM stops both.
p = subprocess.Popen([OUTRIGGER, "run", "--app-id", ID2, "--dapr-http-port", free_port(), "--",
                      sys.executable, "-c", "import time; print('up', flush=True); " + SLEEP2],
                     stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
deadline = time.time() + 20
while time.time() < deadline and not pids_of(SLEEP2):
    time.sleep(0.1)
time.sleep(0.3)
p.send_signal(signal.SIGTERM)
try:
    out, _ = p.communicate(timeout=20)
except subprocess.TimeoutExpired:
    p.kill()
    out = "timeout"
check("stops on SIGTERM", p.returncode is not None and out != "timeout", out)
check("exit code is the app's (died of SIGTERM)", p.returncode == 143, str(p.returncode))
check("sidecar stopped gracefully", "== SIDECAR == " in out and "outriggerd stopped" in out, out)
time.sleep(0.2)
check("no orphan sidecar", not pids_of("outriggerd --app-id " + ID2))
check("no orphan app", not pids_of(SLEEP2))

# 3. outrigger itself killed outright: the sidecar and the app are told to stop, not orphaned.
p = subprocess.Popen([OUTRIGGER, "run", "--app-id", ID3, "--dapr-http-port", free_port(), "--",
                      sys.executable, "-c", "import time; print('up', flush=True); " + SLEEP3],
                     stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env)
deadline = time.time() + 20
while time.time() < deadline and not pids_of(SLEEP3):
    time.sleep(0.1)
p.kill()
p.wait()
deadline = time.time() + 15
while time.time() < deadline and (pids_of("outriggerd --app-id " + ID3) or pids_of(SLEEP3)):
    time.sleep(0.1)
check("no orphan sidecar after SIGKILL", not pids_of("outriggerd --app-id " + ID3))
check("no orphan app after SIGKILL", not pids_of(SLEEP3))

# 4. Help, version, bad usage.
for args in (["--help"], ["run", "--help"]):
    r = subprocess.run([OUTRIGGER, *args], capture_output=True, text=True, env=env, timeout=10)
    check(f"help {args}", r.returncode == 0 and "outrigger run --app-id" in r.stdout, r.stdout + r.stderr)
r = subprocess.run([OUTRIGGER, "version"], capture_output=True, text=True, env=env, timeout=10)
check("version", r.returncode == 0 and r.stdout.startswith("outrigger "), r.stdout + r.stderr)
r = subprocess.run([OUTRIGGER], capture_output=True, text=True, env=env, timeout=10)
check("no arguments", r.returncode == 1 and "Usage" in r.stderr, r.stderr)
for args, needle in ([["run", "--", "true"], "--app-id is required"],
                     [["run", "--app-id", "x", "--app-port", "abc", "--", "true"], "invalid value 'abc'"],
                     [["run", "--app-id", "x", "--bogus", "1", "--", "true"], "unknown flag --bogus"],
                     [["run", "--app-i", "x", "--", "true"], "unknown flag --app-i"],
                     [["run", "--app-id", "x", "--resources=d", "--", "true"], "unknown flag --resources"],
                     [["frobnicate"], "unknown command"],
                     [["run", "--app-id", "x"], "no command to run"],
                     [["run", "--app-id", "x", "--dapr-http-port"], "needs a value"]):
    r = subprocess.run([OUTRIGGER, *args], capture_output=True, text=True, env=env, timeout=10)
    check(f"bad usage {args}", r.returncode == 1 and needle in r.stderr, r.stderr)

print("FAILED: " + ", ".join(failures) if failures else "all checks passed")
sys.exit(1 if failures else 0)
