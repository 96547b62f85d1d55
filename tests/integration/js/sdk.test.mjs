// The official Dapr JS SDK (HTTP protocol) against outriggerd, unchanged.
import { CommunicationProtocolEnum, DaprClient, DaprServer, HttpMethod } from "@dapr/dapr";
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { freePort, startSidecar } from "./harness.mjs";

const RESOURCES = `
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: statestore}
spec: {type: state.in-memory, version: v1, metadata: []}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: durable}
spec:
  type: state.sqlite
  version: v1
  metadata: [{name: connectionString, value: "@DIR@/state.db"}]
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: pubsub}
spec: {type: pubsub.in-memory, version: v1, metadata: []}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: localsecrets}
spec:
  type: secretstores.local.file
  version: v1
  metadata: [{name: secretsFile, value: "@DIR@/secrets.json"}]
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: files}
spec:
  type: bindings.localstorage
  version: v1
  metadata: [{name: rootPath, value: "@DIR@/files"}]
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: tick}
spec:
  type: bindings.cron
  version: v1
  metadata: [{name: schedule, value: "@every 1s"}]
`;

let sidecar, client, server;
const received = [];
const bulkReceived = [];
let invoked = null;
let ticks = 0;

before(async () => {
  const appPort = await freePort();
  const secrets = JSON.stringify({ dbPassword: "s3cret", nested: { a: "b" } });
  sidecar = await startSidecar({ appId: "js-app", appPort, resources: RESOURCES, files: { "secrets.json": secrets } });
  const clientOptions = { daprHost: "127.0.0.1", daprPort: String(sidecar.httpPort),
                          communicationProtocol: CommunicationProtocolEnum.HTTP };
  server = new DaprServer({ serverHost: "127.0.0.1", serverPort: String(appPort), clientOptions });
  await server.pubsub.subscribe("pubsub", "orders", async (data) => { received.push(data); });
  await server.pubsub.subscribeBulk("pubsub", "bulk-orders", async (data) => { bulkReceived.push(data); },
                                   { maxMessagesCount: 10, maxAwaitDurationMs: 200 });
  await server.invoker.listen("hello", async ({ body }) => { invoked = body; return { reply: "hi" }; },
                              { method: HttpMethod.POST });
  await server.binding.receive("tick", async () => { ticks++; });
  await server.start();
  await sidecar.waitForApp();  // subscriptions are read once the app is up
  client = new DaprClient(clientOptions);
});

after(async () => {
  await server?.stop();
  const code = await sidecar?.stop();
  assert.equal(code, 0, "outriggerd exits 0 on SIGTERM");
});

test("state: save, get, bulk, delete", async () => {
  for (const store of ["statestore", "durable"]) {
    await client.state.save(store, [{ key: "a", value: { n: 1 } }, { key: "b", value: "text" }]);
    assert.deepEqual(await client.state.get(store, "a"), { n: 1 });
    assert.equal(await client.state.get(store, "b"), "text");
    const bulk = await client.state.getBulk(store, ["a", "b", "missing"]);
    assert.equal(bulk.length, 3);
    assert.deepEqual(bulk.find((x) => x.key === "a").data, { n: 1 });
    await client.state.delete(store, "a");
    assert.equal(await client.state.get(store, "a"), "");
  }
});

test("state: etags and transactions", async () => {
  await client.state.save("durable", [{ key: "e", value: 1 }]);
  const raw = await fetch(`http://127.0.0.1:${sidecar.httpPort}/v1.0/state/durable/e`);
  const etag = raw.headers.get("etag");
  assert.ok(etag);
  await client.state.save("durable", [{ key: "e", value: 2, etag }]);
  // A stale etag: the SDK reports the 409 without throwing; the value must not change.
  await client.state.save("durable", [{ key: "e", value: 3, etag }]);
  assert.equal(await client.state.get("durable", "e"), 2);
  await client.state.transaction("durable", [
    { operation: "upsert", request: { key: "t1", value: "x" } },
    { operation: "delete", request: { key: "e" } },
  ]);
  assert.equal(await client.state.get("durable", "t1"), "x");
  assert.equal(await client.state.get("durable", "e"), "");
});

test("secrets", async () => {
  assert.deepEqual(await client.secret.get("localsecrets", "dbPassword"), { dbPassword: "s3cret" });
  const bulk = await client.secret.getBulk("localsecrets");
  assert.equal(bulk.dbPassword.dbPassword, "s3cret");
  assert.equal(bulk["nested:a"]["nested:a"], "b");
});

test("metadata and health", async () => {
  const md = await client.metadata.get();
  assert.equal(md.id, "js-app");
  const names = md.components.map((c) => c.name).sort();
  assert.deepEqual(names, ["durable", "files", "localsecrets", "pubsub", "statestore", "tick"]);
  assert.ok(md.subscriptions.some((s) => s.topic === "orders"));
  assert.equal(await client.health.isHealthy(), true);
});

test("service invocation through the sidecar", async () => {
  const res = await client.invoker.invoke("js-app", "hello", HttpMethod.POST, { ping: 1 });
  assert.deepEqual(res, { reply: "hi" });
  assert.deepEqual(typeof invoked === "string" ? JSON.parse(invoked) : invoked, { ping: 1 });
});

test("pub/sub: publish and receive", async () => {
  await client.pubsub.publish("pubsub", "orders", { id: 42 });
  const deadline = Date.now() + 10000;
  while (!received.some((d) => d?.id === 42) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.ok(received.some((d) => d?.id === 42), `received: ${JSON.stringify(received)}`);
});

test("pub/sub: bulk publish, and DaprServer's subscribeBulk receives every entry", async () => {
  const orders = [1, 2, 3, 4, 5].map((n) => ({ n }));
  const res = await client.pubsub.publishBulk("pubsub", "bulk-orders", orders);
  assert.equal(res.failedMessages.length, 0, JSON.stringify(res));
  const deadline = Date.now() + 10000;
  const got = () => bulkReceived.map((d) => d?.n).filter((n) => n !== undefined).sort();
  while (got().length < 5 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  assert.deepEqual(got(), [1, 2, 3, 4, 5], `received: ${JSON.stringify(bulkReceived)}`);
});

test("bindings: localstorage create and get", async () => {
  await client.binding.send("files", "create", "hello file", { fileName: "greeting.txt" });
  const got = await client.binding.send("files", "get", undefined, { fileName: "greeting.txt" });
  assert.equal(String(got), "hello file");
});

test("bindings: a cron input binding reaches DaprServer's binding.receive", async () => {
  const deadline = Date.now() + 10000;
  while (ticks === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  assert.ok(ticks > 0, "no cron event arrived");
});
