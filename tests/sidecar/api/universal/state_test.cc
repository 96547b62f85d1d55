// The transport-neutral state API over a recording fake store: key prefixing modes, the `||`
// separator, and Dapr's errorCode and HTTP status for each failure.

#include "sidecar/api/universal/state.h"

#include <gtest/gtest.h>

#include <chrono>
#include <condition_variable>
#include <future>
#include <limits>
#include <map>
#include <mutex>

namespace outrigger::sidecar::api::universal {
namespace {

namespace state = components::state;

// Remembers every key it is given; fails the next call with `fail` when set.
class RecordingStore : public state::Store, public state::TransactionalStore {
 public:
  explicit RecordingStore(std::vector<std::string> features) : features_(std::move(features)) {}
  Status init(const runtime::Properties&) override { return okStatus(); }
  std::vector<std::string> features() const override { return features_; }
  StatusOr<state::GetResponse> get(const state::GetRequest& r) override {
    keys.push_back(r.key);
    if (auto st = takeFailure(); !st.ok()) return st;
    state::GetResponse out;
    auto it = data.find(r.key);
    if (it != data.end()) {
      out.found = true;
      out.data = it->second;
      out.etag = "1";
    }
    return out;
  }
  Status set(const state::SetRequest& r) override {
    keys.push_back(r.key);
    if (auto st = takeFailure(); !st.ok()) return st;
    data[r.key] = r.value;
    last_ttl = r.ttl_seconds;
    return okStatus();
  }
  Status del(const state::DeleteRequest& r) override {
    keys.push_back(r.key);
    if (auto st = takeFailure(); !st.ok()) return st;
    data.erase(r.key);
    return okStatus();
  }
  Status multi(const std::vector<state::Operation>& ops, const state::RequestMetadata&) override {
    for (const auto& op : ops)
      keys.push_back(op.kind == state::Operation::Kind::kUpsert ? op.set.key : op.del.key);
    return takeFailure();
  }

  std::vector<std::string> keys;
  std::map<std::string, std::string> data;
  std::optional<int64_t> last_ttl;
  Status fail;

 private:
  Status takeFailure() { return std::exchange(fail, okStatus()); }
  std::vector<std::string> features_;
};

// A RecordingStore that answers queries with every item under the requested prefix.
class QueryingStore : public RecordingStore, public state::QueryableStore {
 public:
  QueryingStore()
      : RecordingStore({state::kFeatureETag, state::kFeatureTransactional, state::kFeatureTTL,
                        state::kFeatureQuery}) {}
  StatusOr<state::QueryResponse> query(const state::QueryRequest& r) override {
    prefixes.push_back(r.key_prefix);
    if (!query_failure.ok()) return std::exchange(query_failure, okStatus());
    state::QueryResponse out;
    for (const auto& [k, v] : data) {
      if (k.rfind(r.key_prefix, 0) == 0) out.results.push_back({k, v, "1"});
    }
    out.token = "next";
    return out;
  }
  std::vector<std::string> prefixes;
  Status query_failure;
};

// A RecordingStore whose calls block until released, as on a backend that stopped answering; it
// lets a call wait 50 ms for a worker.
class HangingStore : public RecordingStore {
 public:
  HangingStore() : RecordingStore({state::kFeatureETag, state::kFeatureTTL}) {}
  Status set(const state::SetRequest& r) override {
    std::unique_lock<std::mutex> lock(mutex_);
    hung_++;
    cv_.notify_all();
    cv_.wait(lock, [&] { return released_; });
    return RecordingStore::set(r);
  }
  std::optional<std::chrono::milliseconds> queueTimeout() const override {
    return std::chrono::milliseconds(50);
  }
  bool waitHung(int n) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, std::chrono::seconds(30), [&] { return hung_ >= n; });
  }
  void release() {
    std::lock_guard<std::mutex> lock(mutex_);
    released_ = true;
    cv_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int hung_ = 0;
  bool released_ = false;
};

class StateApiTest : public ::testing::Test {
 protected:
  void SetUp() override { context_.options.app_id = "myapp"; }

  std::shared_ptr<RecordingStore> addStore(const std::string& name, const std::string& prefix,
                                           std::vector<std::string> features = {
                                               state::kFeatureETag, state::kFeatureTransactional,
                                               state::kFeatureTTL}) {
    auto store = std::make_shared<RecordingStore>(std::move(features));
    auto inst = std::make_shared<runtime::StateInstance>();
    inst->spec.name = name;
    inst->component = store;
    inst->key_prefix = prefix;
    context_.compstore.state.put(inst);
    return store;
  }

  // Every call completes inline (no executor), so results are ready on return.
  Status save(const std::string& store, const std::string& key, universal::Metadata metadata = {},
              std::optional<std::string> etag = {}) {
    SaveStateRequest r;
    r.store = store;
    StateItem item;
    item.key = key;
    item.value = "1";
    item.metadata = std::move(metadata);
    item.etag = std::move(etag);
    r.items.push_back(item);
    Status out = internalError("no answer");
    api_.save(std::move(r), [&](Status st) { out = st; });
    return out;
  }
  StatusOr<GetStateResponse> get(const std::string& store, const std::string& key) {
    StatusOr<GetStateResponse> out = internalError("no answer");
    api_.get(GetStateRequest{store, key, "", {}}, [&](StatusOr<GetStateResponse> r) { out = r; });
    return out;
  }
  Status remove(const std::string& store, const std::string& key,
                std::optional<std::string> etag = {}) {
    DeleteStateRequest r;
    r.store = store;
    r.key = key;
    r.etag = std::move(etag);
    Status out = internalError("no answer");
    api_.remove(std::move(r), [&](Status st) { out = st; });
    return out;
  }
  StatusOr<std::vector<BulkGetItem>> bulk(const std::string& store, std::vector<std::string> keys) {
    StatusOr<std::vector<BulkGetItem>> out = internalError("no answer");
    api_.bulkGet(BulkGetRequest{store, std::move(keys), {}},
                 [&](StatusOr<std::vector<BulkGetItem>> r) { out = r; });
    return out;
  }
  Status transaction(const std::string& store, std::vector<TransactionOp> ops) {
    Status out = internalError("no answer");
    api_.transaction(TransactionRequest{store, std::move(ops), {}}, [&](Status st) { out = st; });
    return out;
  }
  StatusOr<QueryStateResponse> query(const std::string& store) {
    StatusOr<QueryStateResponse> out = internalError("no answer");
    api_.query(QueryStateRequest{store, {}, {}}, [&](StatusOr<QueryStateResponse> r) { out = r; });
    return out;
  }
  static TransactionOp op(const std::string& kind, const std::string& key) {
    TransactionOp o;
    o.operation = kind;
    o.request.key = key;
    o.request.value = "1";
    return o;
  }

  static void expectCode(const Status& st, const std::string& code, int http) {
    EXPECT_FALSE(st.ok());
    EXPECT_EQ(st.errorCode(), code) << st.message();
    EXPECT_EQ(st.httpStatus(), http) << st.message();
  }

  runtime::Context context_;
  StateApi api_{context_};
};

TEST_F(StateApiTest, KeyPrefixModes) {
  context_.namespace_name = "prod";
  struct Case {
    std::string mode;
    std::string stored;
  } cases[] = {
      {"appid", "myapp||k"},          {"", "myapp||k"},
      {"name", "s-name||k"},          {"none", "k"},
      {"namespace", "prod.myapp||k"}, {"custom-prefix", "custom-prefix||k"},
  };
  for (const auto& c : cases) {
    std::string name = c.mode == "name" ? "s-name" : "s-" + c.mode;
    auto store = addStore(name, c.mode);
    ASSERT_TRUE(save(name, "k").ok()) << c.mode;
    ASSERT_EQ(store->keys.size(), 1u);
    EXPECT_EQ(store->keys[0], c.stored) << c.mode;
    auto got = get(name, "k");
    ASSERT_TRUE(got.ok());
    EXPECT_TRUE(got->found) << c.mode;
    EXPECT_EQ(store->keys.back(), c.stored);
  }
}

// Stores keep keys as C strings or text: "nul\0x" and "nul\0y" would both be "nul". A NUL in a
// key, a store name or a metadata key never reaches a store, on any route.
TEST_F(StateApiTest, NulBytesInKeysNamesAndMetadataAreMalformed) {
  auto store = addStore("s", "appid");
  const std::string nul_key("nul\0x", 5);
  expectCode(save("s", nul_key), "ERR_MALFORMED_REQUEST", 400);
  expectCode(get("s", nul_key).status(), "ERR_MALFORMED_REQUEST", 400);
  expectCode(remove("s", nul_key), "ERR_MALFORMED_REQUEST", 400);
  expectCode(bulk("s", {"ok", nul_key}).status(), "ERR_MALFORMED_REQUEST", 400);
  expectCode(transaction("s", {op("upsert", "ok"), op("delete", nul_key)}), "ERR_MALFORMED_REQUEST",
             400);
  expectCode(get(std::string("s\0", 2), "k").status(), "ERR_MALFORMED_REQUEST", 400);
  expectCode(save("s", "k", {{std::string("ttlInSeconds\0", 13), "5"}}), "ERR_MALFORMED_REQUEST",
             400);
  expectCode(save("s", "k", {{"contentType", std::string("a\0b", 3)}}), "ERR_MALFORMED_REQUEST",
             400);
  EXPECT_TRUE(store->keys.empty());
}

TEST_F(StateApiTest, NamespaceModeWithoutANamespaceUsesTheAppId) {
  auto store = addStore("s", "namespace");
  ASSERT_TRUE(save("s", "k").ok());
  EXPECT_EQ(store->keys[0], "myapp||k");
}

TEST_F(StateApiTest, PrefixesKeepAppsApart) {
  auto store = addStore("s", "appid");
  ASSERT_TRUE(save("s", "k").ok());
  context_.options.app_id = "otherapp";
  auto got = get("s", "k");
  ASSERT_TRUE(got.ok());
  EXPECT_FALSE(got->found);
  EXPECT_EQ(store->keys.back(), "otherapp||k");
}

TEST_F(StateApiTest, BulkGetAnswersWithTheAppsKeys) {
  auto store = addStore("s", "appid");
  ASSERT_TRUE(save("s", "a").ok());
  auto items = bulk("s", {"a", "b"});
  ASSERT_TRUE(items.ok());
  ASSERT_EQ(items->size(), 2u);
  EXPECT_EQ((*items)[0].key, "a");
  EXPECT_TRUE((*items)[0].found);
  EXPECT_EQ((*items)[0].data, "1");
  EXPECT_EQ((*items)[1].key, "b");
  EXPECT_FALSE((*items)[1].found);
  // A failing key is reported on its item; the call itself succeeds.
  store->fail = unavailableError("down");
  items = bulk("s", {"a", "b"});
  ASSERT_TRUE(items.ok());
  EXPECT_NE((*items)[0].error.find("down"), std::string::npos);
  EXPECT_TRUE((*items)[1].found == false && (*items)[1].error.empty());
}

TEST_F(StateApiTest, SeparatorInKeysIsRejectedEverywhere) {
  auto store = addStore("s", "appid");
  expectCode(save("s", "a||b"), "ERR_MALFORMED_REQUEST", 400);
  expectCode(get("s", "a||b").status(), "ERR_MALFORMED_REQUEST", 400);
  expectCode(remove("s", "a||b"), "ERR_MALFORMED_REQUEST", 400);
  expectCode(bulk("s", {"ok", "a||b"}).status(), "ERR_MALFORMED_REQUEST", 400);
  expectCode(transaction("s", {op("upsert", "ok"), op("delete", "x||")}), "ERR_MALFORMED_REQUEST",
             400);
  expectCode(save("s", ""), "ERR_MALFORMED_REQUEST", 400);
  EXPECT_TRUE(store->keys.empty());  // nothing reached the store
  // A single bar is an ordinary character.
  EXPECT_TRUE(save("s", "a|b").ok());
  EXPECT_EQ(store->keys.back(), "myapp||a|b");
}

TEST_F(StateApiTest, UnknownAndUnconfiguredStores) {
  expectCode(save("s", "k"), "ERR_STATE_STORE_NOT_CONFIGURED", 500);
  expectCode(get("s", "k").status(), "ERR_STATE_STORE_NOT_CONFIGURED", 500);
  addStore("s", "appid");
  expectCode(save("nostore", "k"), "ERR_STATE_STORE_NOT_FOUND", 400);
  expectCode(get("nostore", "k").status(), "ERR_STATE_STORE_NOT_FOUND", 400);
  expectCode(remove("nostore", "k"), "ERR_STATE_STORE_NOT_FOUND", 400);
  expectCode(bulk("nostore", {"k"}).status(), "ERR_STATE_STORE_NOT_FOUND", 400);
  expectCode(transaction("nostore", {op("upsert", "k")}), "ERR_STATE_STORE_NOT_FOUND", 400);
}

TEST_F(StateApiTest, StoreFailuresMapToDaprCodes) {
  auto store = addStore("s", "appid");
  store->fail = state::etagMismatch("k");
  expectCode(save("s", "k", {}, "7"), "ERR_STATE_SAVE", 409);
  store->fail = state::etagInvalid("x");
  expectCode(save("s", "k", {}, "x"), "ERR_STATE_SAVE", 400);
  store->fail = unavailableError("connection refused");
  expectCode(save("s", "k"), "ERR_STATE_SAVE", 500);
  store->fail = state::etagMismatch("k");
  expectCode(remove("s", "k", "7"), "ERR_STATE_DELETE", 409);
  store->fail = unavailableError("connection refused");
  expectCode(remove("s", "k"), "ERR_STATE_DELETE", 500);
  store->fail = unavailableError("connection refused");
  expectCode(get("s", "k").status(), "ERR_STATE_GET", 500);
  store->fail = abortedError("conflict");
  expectCode(transaction("s", {op("upsert", "k")}), "ERR_STATE_TRANSACTION", 500);
}

TEST_F(StateApiTest, QuerySearchesOnlyThisAppsKeysAndAnswersThemUnprefixed) {
  auto store = std::make_shared<QueryingStore>();
  for (auto [name, prefix] : {std::pair{"byapp", "appid"}, std::pair{"byname", "name"},
                              std::pair{"raw", "none"}, std::pair{"custom", "team"}}) {
    auto inst = std::make_shared<runtime::StateInstance>();
    inst->spec.name = name;
    inst->component = store;
    inst->key_prefix = prefix;
    context_.compstore.state.put(inst);
  }
  store->data = {{"myapp||a", "1"}, {"other||b", "2"}, {"byname||c", "3"}, {"team||d", "4"}};
  auto r = query("byapp");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->results.size(), 1u);
  EXPECT_EQ(r->results[0].key, "a");
  EXPECT_EQ(r->results[0].data, "1");
  EXPECT_EQ(r->token, "next");
  r = query("byname");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->results.size(), 1u);
  EXPECT_EQ(r->results[0].key, "c");
  r = query("custom");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->results.size(), 1u);
  EXPECT_EQ(r->results[0].key, "d");
  r = query("raw");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->results.size(), 4u);
  EXPECT_EQ(store->prefixes, (std::vector<std::string>{"myapp||", "byname||", "team||", ""}));
}

TEST_F(StateApiTest, QueryErrorsAreDaprs) {
  addStore("plain", "appid");  // no QueryableStore
  expectCode(query("plain").status(), "ERR_STATE_STORE_NOT_SUPPORTED", 500);
  expectCode(query("nostore").status(), "ERR_STATE_STORE_NOT_FOUND", 400);
  auto store = std::make_shared<QueryingStore>();
  auto inst = std::make_shared<runtime::StateInstance>();
  inst->spec.name = "q";
  inst->component = store;
  context_.compstore.state.put(inst);
  store->query_failure = invalidArgumentError("invalid page token 'x'");
  expectCode(query("q").status(), "ERR_STATE_QUERY", 400);
  store->query_failure = unavailableError("connection refused");
  expectCode(query("q").status(), "ERR_STATE_QUERY", 500);
  EXPECT_TRUE(query("q").ok());
}

TEST_F(StateApiTest, TtlNeedsAStoreWithTtl) {
  auto with = addStore("ttl", "appid");
  ASSERT_TRUE(save("ttl", "k", {{"ttlInSeconds", "30"}}).ok());
  EXPECT_EQ(with->last_ttl, 30);
  expectCode(save("ttl", "k", {{"ttlInSeconds", "soon"}}), "ERR_MALFORMED_REQUEST", 400);
  expectCode(save("ttl", "k", {{"ttlInSeconds", "-2"}}), "ERR_MALFORMED_REQUEST", 400);
  ASSERT_TRUE(save("ttl", "k", {{"ttlInSeconds", "-1"}}).ok());  // -1: never expires
  auto without = addStore("plain", "appid", {state::kFeatureETag});
  expectCode(save("plain", "k", {{"ttlInSeconds", "30"}}), "ERR_STATE_STORE_NOT_SUPPORTED", 500);
  TransactionOp upsert = op("upsert", "k");
  upsert.request.metadata["ttlInSeconds"] = "30";
  auto tx_without_ttl =
      addStore("tx", "appid", {state::kFeatureETag, state::kFeatureTransactional});
  expectCode(transaction("tx", {upsert}), "ERR_STATE_STORE_NOT_SUPPORTED", 500);
  EXPECT_TRUE(without->keys.empty());
  EXPECT_TRUE(tx_without_ttl->keys.empty());
}

// Dapr's bounds (-1 to MaxInt32 seconds): a larger TTL overflowed the stores' arithmetic (the
// item was gone at once) or failed half-way through a Redis transaction.
TEST_F(StateApiTest, OutOfRangeTtlsAreMalformedAndReachNoStore) {
  auto store = addStore("ttl", "appid");
  for (const char* ttl :
       {"9223372036854775807", "9223372036", "2147483648", "-2", "99999999999999999999"}) {
    SCOPED_TRACE(ttl);
    expectCode(save("ttl", "k", {{"ttlInSeconds", ttl}}), "ERR_MALFORMED_REQUEST", 400);
    TransactionOp bad = op("upsert", "b");
    bad.request.metadata["ttlInSeconds"] = ttl;
    expectCode(transaction("ttl", {op("upsert", "a"), bad}), "ERR_MALFORMED_REQUEST", 400);
  }
  EXPECT_TRUE(store->keys.empty());
  ASSERT_TRUE(save("ttl", "k", {{"ttlInSeconds", "2147483647"}}).ok());
  EXPECT_EQ(store->last_ttl, std::numeric_limits<int32_t>::max());
  ASSERT_TRUE(save("ttl", "k", {{"ttlInSeconds", ""}}).ok());  // empty: none, as in Dapr
  EXPECT_EQ(store->last_ttl, std::nullopt);
}

// With every worker held by a hung backend, a queued call answers at its deadline with the
// route's error instead of waiting for a worker.
TEST_F(StateApiTest, ACallNoWorkerTakesInTimeFailsWithTheRoutesError) {
  auto store = std::make_shared<HangingStore>();
  auto inst = std::make_shared<runtime::StateInstance>();
  inst->spec.name = "hung";
  inst->component = store;
  inst->executor = std::make_shared<BoundedExecutor>("hung", 1, 10);
  context_.compstore.state.put(inst);
  std::promise<Status> first;
  api_.save(SaveStateRequest{"hung", {StateItem{"a", "1", {}, {}, {}}}},
            [&](Status st) { first.set_value(st); });
  ASSERT_TRUE(store->waitHung(1));
  std::promise<Status> second;
  api_.save(SaveStateRequest{"hung", {StateItem{"b", "1", {}, {}, {}}}},
            [&](Status st) { second.set_value(st); });
  auto answer = second.get_future();
  ASSERT_EQ(answer.wait_for(std::chrono::seconds(30)), std::future_status::ready);
  Status st = answer.get();
  expectCode(st, "ERR_STATE_SAVE", 500);
  EXPECT_EQ(st.code(), StatusCode::kDeadlineExceeded);
  EXPECT_NE(st.message().find("did not answer in time"), std::string::npos) << st.message();
  store->release();
  EXPECT_TRUE(first.get_future().get().ok());
  inst->executor->shutdown();
  EXPECT_EQ(store->keys, (std::vector<std::string>{"myapp||a"}));
}

TEST_F(StateApiTest, EtagsNeedAStoreWithEtags) {
  auto store = addStore("plain", "appid", {});
  expectCode(save("plain", "k", {}, "1"), "ERR_STATE_STORE_NOT_SUPPORTED", 500);
  EXPECT_TRUE(store->keys.empty());
}

TEST_F(StateApiTest, OptionsAreChecked) {
  addStore("s", "appid");
  SaveStateRequest r;
  r.store = "s";
  StateItem item;
  item.key = "k";
  item.options.concurrency = "whenever";
  r.items.push_back(item);
  Status out;
  api_.save(r, [&](Status st) { out = st; });
  expectCode(out, "ERR_MALFORMED_REQUEST", 400);
  r.items[0].options.concurrency = "first-write";
  r.items[0].options.consistency = "sometimes";
  api_.save(r, [&](Status st) { out = st; });
  expectCode(out, "ERR_MALFORMED_REQUEST", 400);
  r.items[0].options.consistency = "strong";
  api_.save(r, [&](Status st) { out = st; });
  EXPECT_TRUE(out.ok()) << out.message();
}

TEST_F(StateApiTest, Transactions) {
  auto store = addStore("s", "name");
  ASSERT_TRUE(transaction("s", {op("upsert", "a"), op("delete", "b")}).ok());
  EXPECT_EQ(store->keys, (std::vector<std::string>{"s||a", "s||b"}));
  expectCode(transaction("s", {op("merge", "a")}), "ERR_NOT_SUPPORTED_STATE_OPERATION", 400);
  addStore("notx", "appid", {state::kFeatureETag});
  expectCode(transaction("notx", {op("upsert", "a")}), "ERR_STATE_STORE_NOT_SUPPORTED", 500);
}

}  // namespace
}  // namespace outrigger::sidecar::api::universal
