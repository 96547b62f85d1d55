#!/usr/bin/env python3
"""The quickstart app: talks plain HTTP to its sidecar ($DAPR_HTTP_PORT) the way a Dapr app does.
It saves and reads state, invokes itself through the sidecar, publishes an event and receives it
through a subscription, prints what happened, and exits 0 when everything worked."""
import http.server
import json
import os
import sys
import threading
import time
import urllib.request

DAPR = f"http://127.0.0.1:{os.environ['DAPR_HTTP_PORT']}/v1.0"
APP_ID = os.environ.get("APP_ID", "hello")
received = threading.Event()


class App(http.server.BaseHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def reply(self, code, body=b"", ctype="application/json"):
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def do_GET(self):
        if self.path == "/dapr/subscribe":
            return self.reply(200, json.dumps([{"pubsubname": "pubsub", "topic": "greetings", "route": "/greetings"}]).encode())
        if self.path.startswith("/hello"):
            return self.reply(200, json.dumps({"greeting": f"hello from {APP_ID}",
                                               "caller": self.headers.get("dapr-caller-app-id")}).encode())
        self.reply(404)

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/greetings":
            event = json.loads(body)
            print(f"received event on topic {event['topic']}: {event['data']}", flush=True)
            received.set()
            return self.reply(200, b'{"status":"SUCCESS"}')
        self.reply(404)


def call(method, path, body=None):
    data = json.dumps(body).encode() if body is not None else None
    req = urllib.request.Request(DAPR + path, data=data, method=method, headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=10) as r:
        return r.status, r.read().decode()


def main():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", int(os.environ["APP_PORT"])), App)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    # The sidecar reports healthy once it reached the app and started its subscriptions.
    for _ in range(100):
        try:
            if call("GET", "/healthz")[0] == 204:
                break
        except Exception:
            pass
        time.sleep(0.1)
    call("POST", "/state/statestore", [{"key": "visits", "value": {"count": 1}}])
    print("state:", call("GET", "/state/statestore/visits")[1], flush=True)
    print("invoke:", call("GET", f"/invoke/{APP_ID}/method/hello")[1], flush=True)
    call("POST", "/publish/pubsub/greetings", {"text": "hi there"})
    ok = received.wait(10)
    print("quickstart " + ("succeeded" if ok else "FAILED: no event arrived"), flush=True)
    server.shutdown()
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
