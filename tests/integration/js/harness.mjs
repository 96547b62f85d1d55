// Starts a real outriggerd on free ports with a temporary resources directory, and stops it.
import { spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import net from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

export async function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export async function startSidecar({ appId, appPort, resources, files = {} }) {
  const dir = mkdtempSync(path.join(tmpdir(), "outrigger-js-"));
  for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
  writeFileSync(path.join(dir, "resources.yaml"), resources.replaceAll("@DIR@", dir));
  const httpPort = await freePort();
  const args = ["--app-id", appId, "--dapr-http-port", String(httpPort), "--metrics-port", String(await freePort()),
                "--dapr-internal-grpc-port", String(await freePort()), "--resources-path", dir,
                "--dapr-listen-addresses", "127.0.0.1"];
  if (appPort) args.push("--app-port", String(appPort));
  const proc = spawn(process.env.OUTRIGGERD, args, {
    env: { ...process.env, OUTRIGGER_NAMERESOLUTION_DIR: dir },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  proc.stdout.on("data", (d) => (log += d));
  proc.stderr.on("data", (d) => (log += d));
  const deadline = Date.now() + 20000;
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`http://127.0.0.1:${httpPort}/v1.0/healthz/outbound`);
      if (r.status === 204) break;
    } catch {}
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    httpPort,
    dir,
    log: () => log,
    // /v1.0/healthz turns 204 once the app answered and its subscriptions and bindings started.
    waitForApp: async (timeoutMs = 20000) => {
      const until = Date.now() + timeoutMs;
      while (Date.now() < until) {
        try {
          if ((await fetch(`http://127.0.0.1:${httpPort}/v1.0/healthz`)).status === 204) return true;
        } catch {}
        await new Promise((r) => setTimeout(r, 50));
      }
      throw new Error(`outriggerd never saw the app ready:\n${log}`);
    },
    stop: () =>
      new Promise((resolve) => {
        if (proc.exitCode !== null) return resolve(proc.exitCode);
        proc.on("exit", (code) => resolve(code));
        proc.kill("SIGTERM");
      }),
  };
}
