#!/usr/bin/env bash
# The main job: installs what is missing, builds, and runs the example app beside its sidecar on
# embedded defaults (SQLite state, in-memory pub/sub). Exits with the app's exit code.
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"
bash scripts/install-deps.sh
bash scripts/build.sh "$root/build"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
exec "$root/build/cli/outrigger" run --app-id hello --app-port "$port" -- python3 "$root/examples/hello/app.py"
