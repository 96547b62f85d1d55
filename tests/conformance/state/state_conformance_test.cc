// The state conformance suite: the same behaviour asked of every state store, created the way the
// runtime creates it (registry, validated metadata, init), against real servers (redis-server,
// PostgreSQL) where the store has one. Cases a store cannot support are gated on features().

#include <gtest/gtest.h>
#include <libpq-fe.h>
#include <sqlite3.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <filesystem>
#include <functional>
#include <future>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <ostream>
#include <thread>

#include "sidecar/components/state/query.h"
#include "sidecar/runtime/registry.h"
#include "tests/framework/servers.h"

namespace outrigger::sidecar::components::state {
namespace {

using outrigger::testing::PostgresServer;
using outrigger::testing::RedisServer;
using outrigger::testing::ServerProcess;
using Metadata = std::map<std::string, std::string>;

// Servers start on first use and stop when the test process exits (static destruction).
struct Started {
  ServerProcess* server;
  std::string error;  // why it did not start; empty when it did
};

Started& redis() {
  static RedisServer server;
  static Started started{&server, server.start()};
  return started;
}

Started& postgres() {
  static PostgresServer server;
  static Started started{&server, server.start()};
  return started;
}

std::string tempPath(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("outrigger-conformance-" + std::to_string(::getpid()) + "-" + name))
      .string();
}

// Removes the SQLite files of this process at exit.
struct TempFiles {
  ~TempFiles() {
    std::error_code ec;
    for (const char* suffix : {"", "-wal", "-shm"}) {
      std::filesystem::remove(tempPath("state.db") + suffix, ec);
    }
  }
} temp_files;

struct StoreCase {
  std::string name;
  std::string type;
  std::function<Metadata()> metadata;
  std::function<Started&()> server;  // null: nothing behind the store
  bool numeric_etag = true;          // the etag has a format a malformed one can break
  bool durable = true;               // a second instance sees what the first wrote
};

void PrintTo(const StoreCase& c, std::ostream* os) { *os << c.name; }

std::vector<StoreCase> cases() {
  return {
      {"in_memory", "state.in-memory", [] { return Metadata{}; }, nullptr, true, false},
      {"sqlite", "state.sqlite",
       [] {
         return Metadata{{"connectionString", tempPath("state.db")}, {"timeout", "5s"}};
       },
       nullptr},
      {"redis", "state.redis",
       [] {
         return Metadata{{"redisHost", static_cast<RedisServer*>(redis().server)->address()},
                         {"dialTimeout", "1s"},
                         {"readTimeout", "1s"},
                         {"writeTimeout", "1s"}};
       },
       redis},
      {"postgresql", "state.postgresql",
       [] {
         return Metadata{{"connectionString",
                          static_cast<PostgresServer*>(postgres().server)->connectionString()},
                         {"timeout", "2s"}};
       },
       postgres},
  };
}

StatusOr<std::unique_ptr<Store>> openStore(const std::string& type, const Metadata& raw) {
  auto& registry = runtime::builtinRegistry();
  RETURN_IF_ERROR(registry.loadModuleFor(type));
  ASSIGN_OR_RETURN(const runtime::ComponentFactory<Store>* factory,
                   registry.state.find(type, "v1"));
  ASSIGN_OR_RETURN(runtime::Properties properties, runtime::validateMetadata(factory->fields, raw));
  std::unique_ptr<Store> store = factory->create();
  RETURN_IF_ERROR(store->init(properties));
  return store;
}

// Runs f on its own thread and waits at most `limit`: a call that hangs fails the test instead
// of hanging it. On a timeout the thread is left behind (and what it uses must outlive it).
template <typename F>
auto within(std::chrono::seconds limit, F f) -> std::optional<decltype(f())> {
  using R = decltype(f());
  auto promise = std::make_shared<std::promise<R>>();
  auto future = promise->get_future();
  std::thread([promise, f = std::move(f)]() mutable { promise->set_value(f()); }).detach();
  if (future.wait_for(limit) != std::future_status::ready) return std::nullopt;
  return future.get();
}

// Retries f until it returns an OK status, at most `limit`; the last status.
Status eventually(std::chrono::seconds limit, const std::function<Status()>& f) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  Status st = f();
  while (!st.ok() && std::chrono::steady_clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    st = f();
  }
  return st;
}

class StateConformance : public ::testing::TestWithParam<StoreCase> {
 protected:
  void SetUp() override {
    if (GetParam().server) {
      const Started& s = GetParam().server();
      ASSERT_EQ(s.error, "") << "the server behind " << GetParam().type << " did not start";
      server_ = s.server;
    }
    auto store = openStore(GetParam().type, GetParam().metadata());
    ASSERT_TRUE(store.ok()) << store.status().toString();
    store_ = std::move(*store);
    static std::atomic<int> counter{0};
    prefix_ = "conf-" + std::to_string(::getpid()) + "-" + std::to_string(counter++) + "||";
  }

  void TearDown() override {
    if (server_ && !server_->running()) (void)server_->start();
    if (store_) store_->close();
  }

  std::unique_ptr<Store> reopen() {
    auto store = openStore(GetParam().type, GetParam().metadata());
    EXPECT_TRUE(store.ok()) << store.status().toString();
    return store.ok() ? std::move(*store) : nullptr;
  }

  bool has(const char* feature) const { return hasFeature(*store_, feature); }
  TransactionalStore* tx() { return dynamic_cast<TransactionalStore*>(store_.get()); }

  std::string k(const std::string& key) const { return prefix_ + key; }

  static SetRequest setRequest(const std::string& key, const std::string& value,
                               std::optional<std::string> etag = std::nullopt,
                               Concurrency concurrency = Concurrency::kLastWrite,
                               std::optional<int64_t> ttl = std::nullopt) {
    SetRequest r;
    r.key = key;
    r.value = value;
    r.etag = std::move(etag);
    r.concurrency = concurrency;
    r.ttl_seconds = ttl;
    if (ttl) r.metadata["ttlInSeconds"] = std::to_string(*ttl);
    return r;
  }

  Status put(const std::string& key, const std::string& value,
             std::optional<std::string> etag = std::nullopt,
             Concurrency concurrency = Concurrency::kLastWrite,
             std::optional<int64_t> ttl = std::nullopt) {
    return store_->set(setRequest(k(key), value, std::move(etag), concurrency, ttl));
  }

  StatusOr<GetResponse> tryGet(const std::string& key) {
    GetRequest r;
    r.key = k(key);
    r.consistency = Consistency::kStrong;
    return store_->get(r);
  }

  GetResponse fetch(const std::string& key) {
    auto r = tryGet(key);
    EXPECT_TRUE(r.ok()) << r.status().toString();
    return r.ok() ? *r : GetResponse{};
  }

  Status remove(const std::string& key, std::optional<std::string> etag = std::nullopt) {
    DeleteRequest r;
    r.key = k(key);
    r.etag = std::move(etag);
    return store_->del(r);
  }

  Operation upsert(const std::string& key, const std::string& value,
                   std::optional<std::string> etag = std::nullopt,
                   Concurrency concurrency = Concurrency::kLastWrite,
                   std::optional<int64_t> ttl = std::nullopt) const {
    Operation op;
    op.kind = Operation::Kind::kUpsert;
    op.set = setRequest(k(key), value, std::move(etag), concurrency, ttl);
    return op;
  }

  Operation erase(const std::string& key, std::optional<std::string> etag = std::nullopt) const {
    Operation op;
    op.kind = Operation::Kind::kDelete;
    op.del.key = k(key);
    op.del.etag = std::move(etag);
    return op;
  }

  std::unique_ptr<Store> store_;
  ServerProcess* server_ = nullptr;
  std::string prefix_;
};

TEST_P(StateConformance, AdvertisesTheFeaturesItImplements) {
  EXPECT_TRUE(has(kFeatureETag));
  EXPECT_TRUE(has(kFeatureTransactional));
  EXPECT_TRUE(has(kFeatureTTL));
  EXPECT_EQ(has(kFeatureTransactional), tx() != nullptr);
}

TEST_P(StateConformance, GetOfAMissingKeyIsNotFound) {
  auto got = tryGet("never-written");
  ASSERT_TRUE(got.ok()) << got.status().toString();
  EXPECT_FALSE(got->found);
  EXPECT_EQ(got->data, "");
}

TEST_P(StateConformance, SetThenGetReturnsTheValueAndAnEtag) {
  ASSERT_TRUE(put("a", R"({"n":1})").ok());
  auto got = fetch("a");
  EXPECT_TRUE(got.found);
  EXPECT_EQ(got.data, R"({"n":1})");
  if (has(kFeatureETag)) EXPECT_FALSE(got.etag.empty());
}

TEST_P(StateConformance, OverwriteReplacesTheValueAndTheEtag) {
  ASSERT_TRUE(put("a", "1").ok());
  std::string first = fetch("a").etag;
  ASSERT_TRUE(put("a", R"("two")").ok());
  auto got = fetch("a");
  EXPECT_EQ(got.data, R"("two")");
  if (has(kFeatureETag)) EXPECT_NE(got.etag, first);
}

TEST_P(StateConformance, DeleteRemovesAndDeletingAMissingKeyIsFine) {
  ASSERT_TRUE(put("d", "1").ok());
  ASSERT_TRUE(remove("d").ok());
  EXPECT_FALSE(fetch("d").found);
  EXPECT_TRUE(remove("d").ok());
  EXPECT_TRUE(remove("never-written").ok());
}

TEST_P(StateConformance, WriteWithTheCurrentEtagSucceeds) {
  if (!has(kFeatureETag)) GTEST_SKIP() << "no ETAG feature";
  ASSERT_TRUE(put("e", "1").ok());
  std::string etag = fetch("e").etag;
  Status st = put("e", "2", etag);
  ASSERT_TRUE(st.ok()) << st.toString();
  auto got = fetch("e");
  EXPECT_EQ(got.data, "2");
  st = remove("e", got.etag);
  EXPECT_TRUE(st.ok()) << st.toString();
  EXPECT_FALSE(fetch("e").found);
}

TEST_P(StateConformance, StaleEtagIsAbortedAndChangesNothing) {
  if (!has(kFeatureETag)) GTEST_SKIP() << "no ETAG feature";
  ASSERT_TRUE(put("e", "1").ok());
  std::string stale = fetch("e").etag;
  ASSERT_TRUE(put("e", "2").ok());
  std::string current = fetch("e").etag;
  ASSERT_NE(stale, current);
  EXPECT_EQ(put("e", "3", stale).code(), StatusCode::kAborted);
  EXPECT_EQ(remove("e", stale).code(), StatusCode::kAborted);
  auto got = fetch("e");
  EXPECT_TRUE(got.found);
  EXPECT_EQ(got.data, "2");
  EXPECT_EQ(got.etag, current);
}

TEST_P(StateConformance, EtagForAMissingKeyIsAborted) {
  if (!has(kFeatureETag)) GTEST_SKIP() << "no ETAG feature";
  ASSERT_TRUE(put("other", "1").ok());
  std::string etag = fetch("other").etag;
  EXPECT_EQ(put("missing", "1", etag).code(), StatusCode::kAborted);
  EXPECT_EQ(remove("missing", etag).code(), StatusCode::kAborted);
  EXPECT_FALSE(fetch("missing").found);
}

TEST_P(StateConformance, EtagOfADeletedKeyDoesNotMatchItsSuccessor) {
  if (!has(kFeatureETag)) GTEST_SKIP() << "no ETAG feature";
  ASSERT_TRUE(put("r", "1").ok());
  std::string old = fetch("r").etag;
  ASSERT_TRUE(remove("r").ok());
  ASSERT_TRUE(put("r", "2").ok());
  EXPECT_EQ(put("r", "3", old).code(), StatusCode::kAborted);
  EXPECT_EQ(fetch("r").data, "2");
}

// Dapr's ETagInvalid (400), not a mismatch (409), on every store sharing the version format; the
// in-memory store answered a mismatch.
TEST_P(StateConformance, MalformedEtagIsInvalidArgument) {
  if (!has(kFeatureETag) || !GetParam().numeric_etag) GTEST_SKIP() << "etags have no format";
  ASSERT_TRUE(put("m", "1").ok());
  for (const char* etag : {"not-an-etag", "abc", "12abc", " 1", "", "99999999999999999999"}) {
    SCOPED_TRACE(std::string("etag '") + etag + "'");
    EXPECT_EQ(put("m", "2", std::string(etag)).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(remove("m", std::string(etag)).code(), StatusCode::kInvalidArgument);
    EXPECT_EQ(put("never-written", "2", std::string(etag)).code(), StatusCode::kInvalidArgument);
  }
  EXPECT_EQ(fetch("m").data, "1");
  EXPECT_FALSE(fetch("never-written").found);
}

// Dapr's bounds for ttlInSeconds (-1 to MaxInt32) on every store: larger values overflowed (the
// in-memory and SQLite stores saved an item that was gone at once; Redis wrote, then failed).
TEST_P(StateConformance, OutOfRangeTtlIsInvalidArgumentAndWritesNothing) {
  if (!has(kFeatureTTL)) GTEST_SKIP() << "no TTL feature";
  for (int64_t ttl : {std::numeric_limits<int64_t>::max(), int64_t{9223372036}, kMaxTtlSeconds + 1,
                      int64_t{-2}, std::numeric_limits<int64_t>::min()}) {
    SCOPED_TRACE(ttl);
    EXPECT_EQ(put("big", "1", std::nullopt, Concurrency::kLastWrite, ttl).code(),
              StatusCode::kInvalidArgument);
    EXPECT_FALSE(fetch("big").found);
  }
  ASSERT_TRUE(put("max", "1", std::nullopt, Concurrency::kLastWrite, kMaxTtlSeconds).ok());
  EXPECT_TRUE(fetch("max").found) << "the longest TTL allowed must not expire at once";
  ASSERT_TRUE(put("forever", "1", std::nullopt, Concurrency::kLastWrite, -1).ok());
  EXPECT_TRUE(fetch("forever").found);
}

TEST_P(StateConformance, TransactionWithAnOutOfRangeTtlAppliesNothing) {
  if (!tx() || !has(kFeatureTTL)) GTEST_SKIP() << "no TTL or no transactions";
  ASSERT_TRUE(put("x", "old").ok());
  // The bad operation is not the first, so a store checking as it writes has written already.
  Status st = tx()->multi({upsert("a", "1"), erase("x"),
                           upsert("b", "2", std::nullopt, Concurrency::kLastWrite,
                                  std::numeric_limits<int64_t>::max())},
                          {});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.toString();
  EXPECT_FALSE(fetch("a").found) << "a failed transaction must apply nothing";
  EXPECT_FALSE(fetch("b").found);
  EXPECT_EQ(fetch("x").data, "old");
}

TEST_P(StateConformance, FirstWriteOnAnExistingKeyIsAborted) {
  Status st = put("f", "1", std::nullopt, Concurrency::kFirstWrite);
  ASSERT_TRUE(st.ok()) << st.toString();
  EXPECT_EQ(put("f", "2", std::nullopt, Concurrency::kFirstWrite).code(), StatusCode::kAborted);
  EXPECT_EQ(fetch("f").data, "1");
  // First-write with the current etag is an ordinary checked update.
  std::string etag = fetch("f").etag;
  st = put("f", "3", etag, Concurrency::kFirstWrite);
  EXPECT_TRUE(st.ok()) << st.toString();
  EXPECT_EQ(fetch("f").data, "3");
}

TEST_P(StateConformance, TtlExpiresTheKey) {
  if (!has(kFeatureTTL)) GTEST_SKIP() << "no TTL feature";
  ASSERT_TRUE(put("t", "1", std::nullopt, Concurrency::kLastWrite, 1).ok());
  ASSERT_TRUE(put("keep", "1").ok());
  EXPECT_TRUE(fetch("t").found) << "a key must be there right after it was saved";
  Status gone = eventually(std::chrono::seconds(15), [&] {
    auto r = tryGet("t");
    if (!r.ok()) return r.status();
    return r->found ? abortedError("still there") : okStatus();
  });
  EXPECT_TRUE(gone.ok()) << "a key saved with a 1 s TTL must be gone within 15 s";
  EXPECT_TRUE(fetch("keep").found) << "a key saved without a TTL must stay";
}

TEST_P(StateConformance, TtlAppliesInsideTransactions) {
  if (!has(kFeatureTTL) || !tx()) GTEST_SKIP() << "no TTL or no transactions";
  ASSERT_TRUE(tx()->multi({upsert("tt", "1", std::nullopt, Concurrency::kLastWrite, 1)}, {}).ok());
  EXPECT_TRUE(fetch("tt").found);
  Status gone = eventually(std::chrono::seconds(15), [&] {
    auto r = tryGet("tt");
    if (!r.ok()) return r.status();
    return r->found ? abortedError("still there") : okStatus();
  });
  EXPECT_TRUE(gone.ok()) << "a key saved with a 1 s TTL must be gone within 15 s";
}

TEST_P(StateConformance, TransactionAppliesUpsertsAndDeletes) {
  if (!tx()) GTEST_SKIP() << "not transactional";
  ASSERT_TRUE(put("x", "old").ok());
  ASSERT_TRUE(put("y", "old").ok());
  std::string etag = fetch("y").etag;
  Status st = tx()->multi({upsert("a", "1"), upsert("y", "new", etag), erase("x")}, {});
  ASSERT_TRUE(st.ok()) << st.toString();
  EXPECT_EQ(fetch("a").data, "1");
  EXPECT_EQ(fetch("y").data, "new");
  EXPECT_FALSE(fetch("x").found);
}

TEST_P(StateConformance, TransactionWithAStaleEtagAppliesNothing) {
  if (!tx() || !has(kFeatureETag)) GTEST_SKIP() << "not transactional";
  ASSERT_TRUE(put("x", "old").ok());
  ASSERT_TRUE(put("y", "old").ok());
  std::string stale = fetch("y").etag;
  ASSERT_TRUE(put("y", "newer").ok());
  // The stale operation comes last, so a store applying as it goes would have written the rest.
  Status st = tx()->multi({upsert("a", "1"), erase("x"), upsert("y", "lost", stale)}, {});
  EXPECT_EQ(st.code(), StatusCode::kAborted) << st.toString();
  EXPECT_FALSE(fetch("a").found) << "a failed transaction must apply nothing";
  EXPECT_EQ(fetch("x").data, "old");
  EXPECT_EQ(fetch("y").data, "newer");

  st = tx()->multi({upsert("b", "1"), erase("y", stale)}, {});
  EXPECT_EQ(st.code(), StatusCode::kAborted) << st.toString();
  EXPECT_FALSE(fetch("b").found);
  EXPECT_TRUE(fetch("y").found);

  st =
      tx()->multi({upsert("c", "1"), upsert("x", "2", std::nullopt, Concurrency::kFirstWrite)}, {});
  EXPECT_EQ(st.code(), StatusCode::kAborted) << st.toString();
  EXPECT_FALSE(fetch("c").found);
  EXPECT_EQ(fetch("x").data, "old");
}

TEST_P(StateConformance, TransactionWithAMalformedEtagAppliesNothing) {
  if (!tx() || !has(kFeatureETag) || !GetParam().numeric_etag) GTEST_SKIP();
  ASSERT_TRUE(put("x", "old").ok());
  Status st = tx()->multi({upsert("a", "1"), upsert("x", "2", std::string("bogus"))}, {});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.toString();
  EXPECT_FALSE(fetch("a").found);
  EXPECT_EQ(fetch("x").data, "old");
  st = tx()->multi({upsert("a", "1"), erase("x", std::string("bogus"))}, {});
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument) << st.toString();
  EXPECT_FALSE(fetch("a").found);
  EXPECT_EQ(fetch("x").data, "old");
}

TEST_P(StateConformance, BulkGetAnswersEveryKeyInOrder) {
  ASSERT_TRUE(put("b1", "1").ok());
  ASSERT_TRUE(put("b2", "2").ok());
  std::vector<GetRequest> requests;
  for (const char* key : {"b2", "nope", "b1"}) {
    GetRequest r;
    r.key = k(key);
    requests.push_back(r);
  }
  auto bulk = store_->bulkGet(requests);
  ASSERT_TRUE(bulk.ok()) << bulk.status().toString();
  ASSERT_EQ(bulk->size(), 3u);
  EXPECT_TRUE((*bulk)[0].found);
  EXPECT_EQ((*bulk)[0].data, "2");
  EXPECT_FALSE((*bulk)[1].found);
  EXPECT_TRUE((*bulk)[2].found);
  EXPECT_EQ((*bulk)[2].data, "1");
  if (has(kFeatureETag)) EXPECT_EQ((*bulk)[2].etag, fetch("b1").etag);
}

TEST_P(StateConformance, LargeValuesRoundTripExactly) {
  std::string big(1 << 20, '\0');
  for (size_t i = 0; i < big.size(); ++i) big[i] = static_cast<char>('a' + (i * 7919) % 26);
  ASSERT_TRUE(put("big", big).ok());
  auto got = fetch("big");
  ASSERT_TRUE(got.found);
  EXPECT_EQ(got.data.size(), big.size());
  EXPECT_TRUE(got.data == big) << "1 MB value came back different";
}

TEST_P(StateConformance, ValuesAreOpaqueBytes) {
  std::string bytes;
  for (int i = 0; i < 256; ++i) bytes.push_back(static_cast<char>(i));
  bytes += "\xff\xfe\x00\x80 not utf-8";
  ASSERT_TRUE(put("bin", bytes).ok());
  auto got = fetch("bin");
  ASSERT_TRUE(got.found);
  EXPECT_TRUE(got.data == bytes) << "binary value came back different";
  ASSERT_TRUE(put("empty", "").ok());
  got = fetch("empty");
  EXPECT_TRUE(got.found);
  EXPECT_EQ(got.data, "");
}

TEST_P(StateConformance, UnicodeAndOddKeysAreDistinctKeys) {
  const std::vector<std::string> keys = {
      "ключ",      "🚀 rocket",  "with space",          "quote\"and'apostrophe", "back\\slash",
      "new\nline", "tab\there", "per%20cent",          "slash/and?query&x=1",   "inner||bars",
      "*",         "[a-z]",     std::string(1000, 'k')};
  for (size_t i = 0; i < keys.size(); ++i) {
    Status st = put(keys[i], std::to_string(i));
    ASSERT_TRUE(st.ok()) << "key #" << i << ": " << st.toString();
  }
  for (size_t i = 0; i < keys.size(); ++i) {
    auto got = fetch(keys[i]);
    EXPECT_TRUE(got.found) << "key #" << i;
    EXPECT_EQ(got.data, std::to_string(i)) << "key #" << i;
  }
  ASSERT_TRUE(remove(keys[0]).ok());
  EXPECT_FALSE(fetch(keys[0]).found);
  EXPECT_TRUE(fetch(keys[1]).found);
}

// The API refuses NUL in keys, but a store must not cut a key at one either (C strings, libpq
// text parameters): "nul\0x" and "nul\0y" are two keys, or neither is accepted.
TEST_P(StateConformance, KeysWithANulAreWholeOrRefused) {
  const std::string x("nul\0x", 5), y("nul\0y", 5);
  Status first = put(x, "1"), second = put(y, "2");
  if (!first.ok() || !second.ok()) {
    EXPECT_EQ(first.code(), StatusCode::kInvalidArgument) << first.toString();
    EXPECT_EQ(second.code(), StatusCode::kInvalidArgument) << second.toString();
  } else {
    EXPECT_EQ(fetch(x).data, "1");
    EXPECT_EQ(fetch(y).data, "2");
  }
  EXPECT_FALSE(fetch("nul").found);
}

TEST_P(StateConformance, ConcurrentWritersLoseNothing) {
  constexpr int kThreads = 6;
  constexpr int kKeysPerThread = 20;
  constexpr int kIncrementsPerThread = 10;
  ASSERT_TRUE(put("counter", "0").ok());
  std::atomic<int> errors{0};
  std::atomic<int> gave_up{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kKeysPerThread; ++i) {
        if (!put("w" + std::to_string(t) + "-" + std::to_string(i), std::to_string(t * 1000 + i))
                 .ok()) {
          errors++;
        }
      }
      // Optimistic increments: read with etag, write with it, retry on a conflict. Any lost
      // update shows in the final count.
      for (int i = 0; i < kIncrementsPerThread; ++i) {
        bool done = false;
        for (int attempt = 0; attempt < 5000 && !done; ++attempt) {
          auto got = tryGet("counter");
          if (!got.ok()) {
            errors++;
            return;
          }
          Status st = put("counter", std::to_string(std::stoi(got->data) + 1), got->etag);
          if (st.ok()) {
            done = true;
          } else if (st.code() != StatusCode::kAborted) {
            errors++;
            return;
          }
        }
        if (!done) gave_up++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  EXPECT_EQ(gave_up.load(), 0);
  for (int t = 0; t < kThreads; ++t) {
    for (int i = 0; i < kKeysPerThread; ++i) {
      EXPECT_EQ(fetch("w" + std::to_string(t) + "-" + std::to_string(i)).data,
                std::to_string(t * 1000 + i));
    }
  }
  if (has(kFeatureETag)) {
    EXPECT_EQ(fetch("counter").data, std::to_string(kThreads * kIncrementsPerThread));
  }
}

TEST_P(StateConformance, ASecondInstanceSeesTheData) {
  if (!GetParam().durable) GTEST_SKIP() << "state lives in the instance";
  ASSERT_TRUE(put("durable", "1").ok());
  std::string etag = fetch("durable").etag;
  store_->close();
  store_ = reopen();
  ASSERT_NE(store_, nullptr);
  auto got = fetch("durable");
  EXPECT_TRUE(got.found);
  EXPECT_EQ(got.data, "1");
  EXPECT_EQ(got.etag, etag);
  // Two instances at once (two sidecars on one backend) keep each other's etags honest.
  auto other = reopen();
  ASSERT_NE(other, nullptr);
  ASSERT_TRUE(other->set(setRequest(k("durable"), "2")).ok());
  EXPECT_EQ(put("durable", "3", etag).code(), StatusCode::kAborted);
  other->close();
}

TEST_P(StateConformance, ServesAgainAfterTheServerRestarts) {
  if (!server_) GTEST_SKIP() << "no server behind this store";
  ASSERT_TRUE(put("before", "1").ok());
  server_->kill();
  ASSERT_EQ(server_->start(), "");
  // The pool's connections all died with the server; the store must notice and reconnect.
  Status st = eventually(std::chrono::seconds(20), [&] { return put("after", "2"); });
  ASSERT_TRUE(st.ok()) << st.toString();
  EXPECT_EQ(fetch("after").data, "2");
  for (int i = 0; i < 5; ++i) EXPECT_TRUE(put("again" + std::to_string(i), "3").ok());
}

TEST_P(StateConformance, FailsInBoundedTimeWhileTheServerIsDown) {
  if (!server_) GTEST_SKIP() << "no server behind this store";
  ASSERT_TRUE(put("before", "1").ok());
  server_->stop();
  Store* store = store_.get();
  std::string key = k("before");
  auto got = within(std::chrono::seconds(30), [store, key] {
    GetRequest r;
    r.key = key;
    return store->get(r).status();
  });
  ASSERT_TRUE(got.has_value()) << "get hung while the server was down";
  EXPECT_FALSE(got->ok());
  auto set =
      within(std::chrono::seconds(30), [store, key] { return store->set(setRequest(key, "2")); });
  ASSERT_TRUE(set.has_value()) << "set hung while the server was down";
  EXPECT_FALSE(set->ok());
  ASSERT_EQ(server_->start(), "");
  Status st = eventually(std::chrono::seconds(20), [&] { return put("after", "2"); });
  EXPECT_TRUE(st.ok()) << st.toString();
}

TEST_P(StateConformance, FailsInBoundedTimeWhileTheServerHangs) {
  if (!server_) GTEST_SKIP() << "no server behind this store";
  ASSERT_TRUE(put("before", "1").ok());
  ASSERT_TRUE(server_->pause());
  Store* store = store_.get();
  std::string key = k("before");
  auto got = within(std::chrono::seconds(30), [store, key] {
    GetRequest r;
    r.key = key;
    return store->get(r).status();
  });
  auto set =
      within(std::chrono::seconds(30), [store, key] { return store->set(setRequest(key, "2")); });
  ASSERT_TRUE(server_->resume());
  if (!got || !set) store_.release();  // a thread still uses it: leak rather than crash
  ASSERT_TRUE(got.has_value()) << "get hung on a server that does not answer";
  ASSERT_TRUE(set.has_value()) << "set hung on a server that does not answer";
  EXPECT_FALSE(got->ok()) << got->toString();
  EXPECT_FALSE(set->ok()) << set->toString();
  Status st = eventually(std::chrono::seconds(20), [&] { return put("after", "2"); });
  EXPECT_TRUE(st.ok()) << st.toString();
}

// ---- The query API, on the stores that advertise it ----

TEST_P(StateConformance, QueryAdvertisedIffImplemented) {
  EXPECT_EQ(has(kFeatureQuery), dynamic_cast<QueryableStore*>(store_.get()) != nullptr);
}

class StateQueryConformance : public StateConformance {
 protected:
  void SetUp() override {
    StateConformance::SetUp();
    if (!store_) return;
    querier_ = dynamic_cast<QueryableStore*>(store_.get());
    if (!has(kFeatureQuery) || !querier_) GTEST_SKIP() << GetParam().type << " has no query API";
  }
  // The keys (without prefix) the query answers under this test's prefix, and the token.
  std::pair<std::vector<std::string>, std::string> query(const std::string& text,
                                                         const std::string& token = "") {
    auto q = parseQuery(text);
    EXPECT_TRUE(q.ok()) << q.status().toString();
    QueryRequest r;
    r.key_prefix = prefix_;
    if (q.ok()) r.query = std::move(*q);
    if (!token.empty()) r.query.token = token;
    auto res = querier_->query(r);
    EXPECT_TRUE(res.ok()) << res.status().toString();
    std::vector<std::string> keys;
    if (!res.ok()) return {keys, ""};
    for (const auto& item : res->results) {
      EXPECT_EQ(item.key.rfind(prefix_, 0), 0u) << item.key;
      auto got = fetch(item.key.substr(prefix_.size()));
      EXPECT_EQ(item.data, got.data) << item.key;
      EXPECT_EQ(item.etag, got.etag) << item.key;
      keys.push_back(item.key.substr(prefix_.size()));
    }
    return {keys, res->token};
  }
  void putPeople() {
    ASSERT_TRUE(put("ann", R"({"state":"CA","age":31,"person":{"org":"Dev Ops"}})").ok());
    ASSERT_TRUE(put("bob", R"({"state":"WA","age":25,"person":{"org":"Finance"}})").ok());
    ASSERT_TRUE(put("cid", R"({"state":"CA","age":47,"person":{"org":"Finance"}})").ok());
    ASSERT_TRUE(put("dee", R"({"state":"TX","age":29,"person":{"org":"Dev Ops"}})").ok());
  }
  QueryableStore* querier_ = nullptr;
};

TEST_P(StateQueryConformance, FiltersOnTheValue) {
  putPeople();
  EXPECT_EQ(query(R"({"filter":{"EQ":{"state":"CA"}}})").first,
            (std::vector<std::string>{"ann", "cid"}));
  EXPECT_EQ(query(R"({"filter":{"IN":{"person.org":["Finance"]}}})").first,
            (std::vector<std::string>{"bob", "cid"}));
  EXPECT_EQ(
      query(R"({"filter":{"AND":[{"EQ":{"state":"CA"}},{"EQ":{"person.org":"Finance"}}]}})").first,
      (std::vector<std::string>{"cid"}));
  EXPECT_EQ(query(R"({"filter":{"OR":[{"EQ":{"age":25}},{"EQ":{"state":"TX"}}]}})").first,
            (std::vector<std::string>{"bob", "dee"}));
  EXPECT_TRUE(query(R"({"filter":{"EQ":{"state":"NY"}}})").first.empty());
}

TEST_P(StateQueryConformance, SortsAndPages) {
  putPeople();
  EXPECT_EQ(query(R"({"sort":[{"key":"age","order":"DESC"}]})").first,
            (std::vector<std::string>{"cid", "ann", "dee", "bob"}));
  std::vector<std::string> all;
  std::string token;
  for (int page = 0; page < 5; ++page) {
    auto [keys, next] = query(R"({"sort":[{"key":"age"}],"page":{"limit":3}})", token);
    EXPECT_LE(keys.size(), 3u);
    all.insert(all.end(), keys.begin(), keys.end());
    token = next;
    if (token.empty()) break;
  }
  EXPECT_EQ(all, (std::vector<std::string>{"bob", "dee", "ann", "cid"}));
}

TEST_P(StateQueryConformance, OnlyLiveKeysUnderThePrefix) {
  putPeople();
  ASSERT_TRUE(remove("bob").ok());
  // Another prefix (another app) is not searched, nor is a key that merely contains it.
  ASSERT_TRUE(store_->set(setRequest("other||" + prefix_ + "eve", R"({"state":"CA"})")).ok());
  ASSERT_TRUE(store_->set(setRequest("x" + prefix_ + "fay", R"({"state":"CA"})")).ok());
  EXPECT_EQ(query("{}").first, (std::vector<std::string>{"ann", "cid", "dee"}));
  EXPECT_EQ(query(R"({"filter":{"EQ":{"state":"CA"}}})").first,
            (std::vector<std::string>{"ann", "cid"}));
}

INSTANTIATE_TEST_SUITE_P(AllStores, StateQueryConformance, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.name; });

INSTANTIATE_TEST_SUITE_P(AllStores, StateConformance, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.name; });

// ---- Metadata checks: the first thing each component is asked (Envoy's ValidateFail) ----

StatusOr<const runtime::ComponentFactory<Store>*> factoryFor(const std::string& type) {
  auto& registry = runtime::builtinRegistry();
  RETURN_IF_ERROR(registry.loadModuleFor(type));
  return registry.state.find(type, "v1");
}

void expectValidateFails(const std::string& type, const Metadata& raw, const std::string& field) {
  auto factory = factoryFor(type);
  ASSERT_TRUE(factory.ok()) << factory.status().toString();
  auto props = runtime::validateMetadata((*factory)->fields, raw);
  ASSERT_FALSE(props.ok()) << type << " accepted " << ::testing::PrintToString(raw);
  EXPECT_EQ(props.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(props.status().message().find(field), std::string::npos)
      << "the error should name " << field << ": " << props.status().message();
}

void expectInitFails(const std::string& type, const Metadata& raw, const std::string& mention) {
  auto store = within(std::chrono::seconds(30), [type, raw] { return openStore(type, raw); });
  ASSERT_TRUE(store.has_value()) << type << ": init hung";
  ASSERT_FALSE(store->ok()) << type << " accepted " << ::testing::PrintToString(raw);
  EXPECT_NE(store->status().message().find(mention), std::string::npos)
      << "the error should mention " << mention << ": " << store->status().message();
}

TEST(StateStoreConfigTest, ValidateFailMissingRedisHost) {
  expectValidateFails("state.redis", {}, "redisHost");
}

TEST(StateStoreConfigTest, ValidateFailMissingPostgresConnectionString) {
  expectValidateFails("state.postgresql", {{"tableName", "t"}}, "connectionString");
}

TEST(StateStoreConfigTest, ValidateFailBadTypes) {
  expectValidateFails("state.sqlite", {{"timeout", "soon"}}, "timeout");
  expectValidateFails("state.redis", {{"redisHost", "localhost:6379"}, {"redisDB", "first"}},
                      "redisDB");
  expectValidateFails("state.redis", {{"redisHost", "localhost:6379"}, {"enableTLS", "maybe"}},
                      "enableTLS");
  expectValidateFails("state.postgresql", {{"connectionString", "x"}, {"cleanupInterval", "-"}},
                      "cleanupInterval");
}

TEST(StateStoreConfigTest, InitFailRedisTls) {
  expectInitFails("state.redis", {{"redisHost", "127.0.0.1:1"}, {"enableTLS", "true"}},
                  "enableTLS");
}

TEST(StateStoreConfigTest, InitFailBadRedisPort) {
  expectInitFails("state.redis", {{"redisHost", "127.0.0.1:http"}}, "redisHost");
}

TEST(StateStoreConfigTest, InitFailBadTableNames) {
  expectInitFails("state.sqlite",
                  {{"connectionString", tempPath("bad.db")}, {"tableName", "x; DROP TABLE y"}},
                  "tableName");
  expectInitFails("state.postgresql",
                  {{"connectionString", "host=127.0.0.1 port=1"}, {"tableName", "a b"}},
                  "tableName");
}

TEST(StateStoreConfigTest, InitFailUnreachableServersInBoundedTime) {
  int port = outrigger::testing::freeTcpPort();
  auto redis_store = within(std::chrono::seconds(30), [port] {
    return openStore("state.redis",
                     {{"redisHost", "127.0.0.1:" + std::to_string(port)}, {"dialTimeout", "1s"}});
  });
  ASSERT_TRUE(redis_store.has_value()) << "redis init hung";
  EXPECT_FALSE(redis_store->ok());
  auto pg_store = within(std::chrono::seconds(30), [port] {
    return openStore("state.postgresql",
                     {{"connectionString", "host=127.0.0.1 port=" + std::to_string(port) +
                                               " user=postgres dbname=postgres"},
                      {"timeout", "2s"}});
  });
  ASSERT_TRUE(pg_store.has_value()) << "postgresql init hung";
  EXPECT_FALSE(pg_store->ok());
}

// metadata.yaml documents the fields: it must say what the factory checks.
TEST(StateStoreConfigTest, MetadataYamlMatchesTheFactory) {
  for (const char* name : {"sqlite", "redis", "postgresql"}) {
    SCOPED_TRACE(name);
    std::string path =
        std::string(OUTRIGGER_SOURCE_DIR) + "/sidecar/components/state/" + name + "/metadata.yaml";
    YAML::Node doc;
    ASSERT_NO_THROW(doc = YAML::LoadFile(path)) << path;
    EXPECT_EQ(doc["type"].as<std::string>(), "state");
    EXPECT_EQ(doc["name"].as<std::string>(), name);
    auto factory = factoryFor(std::string("state.") + name);
    ASSERT_TRUE(factory.ok()) << factory.status().toString();
    std::map<std::string, YAML::Node> documented;
    for (YAML::const_iterator it = doc["metadata"].begin(); it != doc["metadata"].end(); ++it) {
      const YAML::Node& field = *it;
      documented[field["name"].as<std::string>()] = field;
    }
    EXPECT_EQ(documented.size(), (*factory)->fields.size());
    for (const auto& field : (*factory)->fields) {
      auto it = documented.find(field.name);
      ASSERT_NE(it, documented.end()) << field.name << " is not in " << path;
      EXPECT_EQ(it->second["required"].as<bool>(false), field.required) << field.name;
      if (field.default_value) {
        EXPECT_EQ(it->second["default"].as<std::string>(""), *field.default_value) << field.name;
      } else {
        EXPECT_FALSE(it->second["default"]) << field.name;
      }
    }
  }
}

TEST(StateStoreConfigTest, BackendStoresAreBlocking) {
  for (const char* type : {"state.sqlite", "state.redis", "state.postgresql"}) {
    auto factory = factoryFor(type);
    ASSERT_TRUE(factory.ok()) << factory.status().toString();
    EXPECT_TRUE((*factory)->blocking) << type;
  }
}

// ---- Expired rows are deleted, not only hidden (white-box: counts rows in the backend) ----

TEST(StateStoreCleanupTest, SqliteDeletesExpiredRows) {
  std::string path = tempPath("cleanup.db");
  auto store = openStore("state.sqlite", {{"connectionString", path}, {"cleanupInterval", "1s"}});
  ASSERT_TRUE(store.ok()) << store.status().toString();
  SetRequest r;
  r.key = "cleanup||a";
  r.value = "1";
  r.ttl_seconds = 1;
  ASSERT_TRUE((*store)->set(r).ok());
  auto rows = [&]() -> int {
    sqlite3* db = nullptr;
    int n = -1;
    if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
      sqlite3_stmt* s = nullptr;
      if (sqlite3_prepare_v2(db, "SELECT COUNT(*) FROM state", -1, &s, nullptr) == SQLITE_OK &&
          sqlite3_step(s) == SQLITE_ROW) {
        n = sqlite3_column_int(s, 0);
      }
      sqlite3_finalize(s);
    }
    sqlite3_close(db);
    return n;
  };
  EXPECT_EQ(rows(), 1);
  Status st = eventually(std::chrono::seconds(20), [&] {
    return rows() == 0 ? okStatus() : abortedError("row still there");
  });
  EXPECT_TRUE(st.ok()) << "the expired row was never deleted";
  (*store)->close();
  std::error_code ec;
  for (const char* suffix : {"", "-wal", "-shm"}) std::filesystem::remove(path + suffix, ec);
}

TEST(StateStoreCleanupTest, PostgresDeletesExpiredRows) {
  const Started& pg = postgres();
  ASSERT_EQ(pg.error, "");
  std::string conninfo = static_cast<PostgresServer*>(pg.server)->connectionString();
  auto store = openStore(
      "state.postgresql",
      {{"connectionString", conninfo}, {"tableName", "cleanup_state"}, {"cleanupInterval", "1s"}});
  ASSERT_TRUE(store.ok()) << store.status().toString();
  SetRequest r;
  r.key = "cleanup||a";
  r.value = "1";
  r.ttl_seconds = 1;
  ASSERT_TRUE((*store)->set(r).ok());
  auto rows = [&]() -> int {
    PGconn* c = PQconnectdb((conninfo + " connect_timeout=5").c_str());
    int n = -1;
    if (PQstatus(c) == CONNECTION_OK) {
      PGresult* res = PQexec(c, "SELECT COUNT(*) FROM cleanup_state");
      if (PQresultStatus(res) == PGRES_TUPLES_OK) n = std::atoi(PQgetvalue(res, 0, 0));
      PQclear(res);
    }
    PQfinish(c);
    return n;
  };
  EXPECT_EQ(rows(), 1);
  Status st = eventually(std::chrono::seconds(20), [&] {
    return rows() == 0 ? okStatus() : abortedError("row still there");
  });
  EXPECT_TRUE(st.ok()) << "the expired row was never deleted";
  (*store)->close();
}

}  // namespace
}  // namespace outrigger::sidecar::components::state
