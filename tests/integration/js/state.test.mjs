// State through the official SDK (HTTP): etags and concurrency options on save, delete, bulk
// get and transactions, as an app relying on optimistic concurrency uses them; metadata set/get.
import { CommunicationProtocolEnum, DaprClient, StateConcurrencyEnum, StateConsistencyEnum } from "@dapr/dapr";
import assert from "node:assert/strict";
import { after, before, test } from "node:test";
import { startSidecar } from "./harness.mjs";

const RESOURCES = `
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: mem}
spec: {type: state.in-memory, version: v1, metadata: []}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: durable}
spec:
  type: state.sqlite
  version: v1
  metadata: [{name: connectionString, value: "@DIR@/state.db"}]
`;
const STORES = ["mem", "durable"];

let sidecar, client;

before(async () => {
  sidecar = await startSidecar({ appId: "js-state", resources: RESOURCES });
  client = new DaprClient({ daprHost: "127.0.0.1", daprPort: String(sidecar.httpPort),
                            communicationProtocol: CommunicationProtocolEnum.HTTP });
});

after(async () => {
  const code = await sidecar?.stop();
  assert.equal(code, 0, "outriggerd exits 0 on SIGTERM");
});

// The SDK's get() returns the value only; bulk get carries the etag.
async function etagOf(store, key) {
  const [item] = await client.state.getBulk(store, [key]);
  assert.equal(item.key, key);
  return item.etag;
}

// The SDK hands back {error} with the HTTP status inside the message.
function statusOf(result) {
  assert.ok(result?.error, "expected an error");
  return JSON.parse(result.error.message).status;
}

for (const store of STORES) {
  test(`${store}: first-write refuses to overwrite without the current etag`, async () => {
    const fw = { concurrency: StateConcurrencyEnum.CONCURRENCY_FIRST_WRITE };
    assert.deepEqual(await client.state.save(store, [{ key: "fw", value: "one", options: fw }]), {});
    assert.equal(statusOf(await client.state.save(store, [{ key: "fw", value: "two", options: fw }])), 409);
    assert.equal(await client.state.get(store, "fw"), "one");
    const etag = await etagOf(store, "fw");
    assert.ok(etag);
    assert.deepEqual(await client.state.save(store, [{ key: "fw", value: "two", etag, options: fw }]), {});
    assert.equal(await client.state.get(store, "fw", { consistency: StateConsistencyEnum.CONSISTENCY_STRONG }), "two");
  });

  test(`${store}: stale etags are conflicts on save and delete`, async () => {
    await client.state.save(store, [{ key: "e", value: { v: 1 } }]);
    const first = await etagOf(store, "e");
    await client.state.save(store, [{ key: "e", value: { v: 2 }, etag: first }]);
    const second = await etagOf(store, "e");
    assert.notEqual(second, first);
    assert.equal(statusOf(await client.state.save(store, [{ key: "e", value: { v: 3 }, etag: first }])), 409);
    assert.equal(statusOf(await client.state.delete(store, "e", { etag: first })), 409);
    assert.deepEqual(await client.state.get(store, "e"), { v: 2 });
    assert.deepEqual(await client.state.delete(store, "e", { etag: second }), {});
    assert.equal(await client.state.get(store, "e"), "");
  });

  test(`${store}: bulk get reports every key, found or not`, async () => {
    await client.state.save(store, [{ key: "b1", value: 1 }, { key: "b2", value: { x: "y" } }]);
    const items = await client.state.getBulk(store, ["b1", "b2", "nope"]);
    const byKey = Object.fromEntries(items.map((i) => [i.key, i]));
    assert.equal(byKey.b1.data, 1);
    assert.deepEqual(byKey.b2.data, { x: "y" });
    assert.ok(byKey.b1.etag);
    assert.ok("nope" in byKey);
    assert.equal(byKey.nope.data, undefined);
  });

  test(`${store}: a transaction with a stale etag applies nothing`, async () => {
    await client.state.save(store, [{ key: "t1", value: "a" }, { key: "t2", value: "b" }]);
    const stale = await etagOf(store, "t1");
    await client.state.save(store, [{ key: "t1", value: "a2" }]);
    await assert.rejects(
      client.state.transaction(store, [
        { operation: "upsert", request: { key: "t3", value: "new" } },
        { operation: "upsert", request: { key: "t1", value: "lost", etag: stale } },
        { operation: "delete", request: { key: "t2" } },
      ]),
      (e) => JSON.parse(e.message).status >= 400,
    );
    assert.equal(await client.state.get(store, "t1"), "a2");
    assert.equal(await client.state.get(store, "t2"), "b");
    assert.equal(await client.state.get(store, "t3"), "");
    const current = await etagOf(store, "t1");
    await client.state.transaction(store, [
      { operation: "upsert", request: { key: "t1", value: "a3", etag: current } },
      { operation: "delete", request: { key: "t2" } },
    ]);
    assert.equal(await client.state.get(store, "t1"), "a3");
    assert.equal(await client.state.get(store, "t2"), "");
  });
}

test("metadata: capabilities and extended keys set through the SDK", async () => {
  assert.equal(await client.metadata.set("team", "payments"), true);
  const md = await client.metadata.get();
  assert.equal(md.id, "js-state");
  assert.equal(md.extended.team, "payments");
  for (const store of STORES) {
    const c = md.components.find((x) => x.name === store);
    assert.ok(c, `${store} missing from ${JSON.stringify(md.components)}`);
    for (const cap of ["ETAG", "TRANSACTIONAL", "TTL"]) assert.ok(c.capabilities.includes(cap), `${store}: ${cap}`);
  }
  assert.equal(await client.health.isHealthy(), true);
});
