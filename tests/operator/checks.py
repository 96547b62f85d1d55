"""What the operator's Python tests share: free ports and checks that record failures."""

import socket
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


def check(what, cond):
    if not cond:
        failures.append(what)
        print(f"FAIL: {what}", flush=True)
    return cond
