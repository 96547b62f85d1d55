// The state conformance suite: the same behaviour asked of every state store, against real
// servers (redis-server, PostgreSQL) where the store has one.

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <thread>

#include "sidecar/runtime/registry.h"
#include "tests/framework/servers.h"

namespace outrigger::sidecar::components::state {
namespace {

using testing::PostgresServer;
using testing::RedisServer;

// Started on first use, stopped when the test process exits (their destructors).
RedisServer& redis() {
  static RedisServer server;
  static bool started = [] {
    EXPECT_EQ(server.start(), "");
    return true;
  }();
  (void)started;
  return server;
}

PostgresServer& postgres() {
  static PostgresServer server;
  static bool started = [] {
    EXPECT_EQ(server.start(), "");
    return true;
  }();
  (void)started;
  return server;
}

struct StoreCase {
  std::string type;
  std::function<std::map<std::string, std::string>()> metadata;
  std::function<void()> restart;  // restarts the backing server; null when there is none
};

void PrintTo(const StoreCase& c, std::ostream* os) { *os << c.type; }

std::string tempFile(const std::string& name) {
  return (std::filesystem::temp_directory_path() /
          ("outrigger-conf-" + std::to_string(::getpid()) + "-" + name))
      .string();
}

std::vector<StoreCase> cases() {
  return {
      {"state.in-memory", [] { return std::map<std::string, std::string>{}; }, nullptr},
      {"state.sqlite",
       [] {
         return std::map<std::string, std::string>{{"connectionString", tempFile("sqlite.db")}};
       },
       nullptr},
      {"state.redis",
       [] {
         return std::map<std::string, std::string>{{"redisHost", redis().address()},
                                                   {"readTimeout", "2s"}};
       },
       [] {
         redis().stop();
         ASSERT_EQ(redis().start(), "");
       }},
      {"state.postgresql",
       [] {
         return std::map<std::string, std::string>{
             {"connectionString", postgres().connectionString()}, {"timeout", "5s"}};
       },
       [] {
         postgres().stop();
         ASSERT_EQ(postgres().start(), "");
       }},
  };
}

class StateConformance : public ::testing::TestWithParam<StoreCase> {
 protected:
  void SetUp() override {
    auto& registry = runtime::builtinRegistry();
    ASSERT_TRUE(registry.loadModuleFor(GetParam().type).ok());
    auto factory = registry.state.find(GetParam().type, "v1");
    ASSERT_TRUE(factory.ok()) << factory.status().message();
    auto props = runtime::validateMetadata((*factory)->fields, GetParam().metadata());
    ASSERT_TRUE(props.ok()) << props.status().message();
    store_ = (*factory)->create();
    Status st = store_->init(*props);
    ASSERT_TRUE(st.ok()) << st.message();
    prefix_ = std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
              std::to_string(std::chrono::steady_clock::now().time_since_epoch().count()) + "||";
  }
  void TearDown() override {
    if (store_) store_->close();
  }
  std::string k(const std::string& key) { return prefix_ + key; }
  Status put(const std::string& key, const std::string& value,
             std::optional<std::string> etag = std::nullopt,
             Concurrency c = Concurrency::kLastWrite, std::optional<int64_t> ttl = std::nullopt) {
    SetRequest r;
    r.key = k(key);
    r.value = value;
    r.etag = std::move(etag);
    r.concurrency = c;
    r.ttl_seconds = ttl;
    return store_->set(r);
  }
  GetResponse fetch(const std::string& key) {
    auto r = store_->get(GetRequest{k(key), {}, Consistency::kStrong});
    EXPECT_TRUE(r.ok()) << r.status().message();
    return r.ok() ? *r : GetResponse{};
  }
  Status remove(const std::string& key, std::optional<std::string> etag = std::nullopt) {
    return store_->del(
        DeleteRequest{k(key), std::move(etag), {}, Concurrency::kLastWrite, Consistency::kStrong});
  }
  std::unique_ptr<Store> store_;
  std::string prefix_;
};

TEST_P(StateConformance, SetGetDelete) {
  EXPECT_FALSE(fetch("a").found);
  ASSERT_TRUE(put("a", R"({"n":1})").ok());
  auto got = fetch("a");
  EXPECT_TRUE(got.found);
  EXPECT_EQ(got.data, R"({"n":1})");
  EXPECT_FALSE(got.etag.empty());
  ASSERT_TRUE(put("a", "2").ok());
  EXPECT_EQ(fetch("a").data, "2");
  EXPECT_TRUE(remove("a").ok());
  EXPECT_FALSE(fetch("a").found);
  EXPECT_TRUE(remove("never-there").ok());
}

TEST_P(StateConformance, ETags) {
  ASSERT_TRUE(put("e", "1").ok());
  std::string etag = fetch("e").etag;
  ASSERT_TRUE(put("e", "2", etag).ok());
  std::string etag2 = fetch("e").etag;
  EXPECT_NE(etag, etag2);
  EXPECT_EQ(put("e", "3", etag).code(), StatusCode::kAborted);  // stale
  EXPECT_EQ(fetch("e").data, "2");
  EXPECT_EQ(put("missing", "1", etag2).code(), StatusCode::kAborted);
  EXPECT_EQ(remove("e", etag).code(), StatusCode::kAborted);
  EXPECT_TRUE(remove("e", etag2).ok());
  if (GetParam().type != "state.in-memory") {
    EXPECT_EQ(put("e", "4", std::string("not-a-version")).code(), StatusCode::kInvalidArgument);
  }
}

TEST_P(StateConformance, FirstWrite) {
  EXPECT_TRUE(put("f", "1", std::nullopt, Concurrency::kFirstWrite).ok());
  EXPECT_EQ(put("f", "2", std::nullopt, Concurrency::kFirstWrite).code(), StatusCode::kAborted);
  EXPECT_EQ(fetch("f").data, "1");
}

TEST_P(StateConformance, TimeToLive) {
  ASSERT_TRUE(put("t", "1", std::nullopt, Concurrency::kLastWrite, 1).ok());
  EXPECT_TRUE(fetch("t").found);
  bool gone = false;
  for (int i = 0; i < 60 && !gone; ++i) {  // bounded: at most 6 s for a 1 s TTL
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    gone = !fetch("t").found;
  }
  EXPECT_TRUE(gone);
}

TEST_P(StateConformance, TransactionsAreAllOrNothing) {
  auto* tx = dynamic_cast<TransactionalStore*>(store_.get());
  ASSERT_NE(tx, nullptr);
  ASSERT_TRUE(put("x", "old").ok());
  std::string stale = "1";
  auto upsert = [&](const std::string& key, const std::string& v,
                    std::optional<std::string> etag = std::nullopt) {
    Operation op;
    op.kind = Operation::Kind::kUpsert;
    op.set.key = k(key);
    op.set.value = v;
    op.set.etag = etag;
    return op;
  };
  Operation del;
  del.kind = Operation::Kind::kDelete;
  del.del.key = k("x");
  ASSERT_TRUE(tx->multi({upsert("y", "1"), del}, {}).ok());
  EXPECT_FALSE(fetch("x").found);
  EXPECT_EQ(fetch("y").data, "1");
  std::string etag = fetch("y").etag;
  Status st = tx->multi({upsert("z", "1"), upsert("y", "2", etag + "0")}, {});
  EXPECT_FALSE(st.ok());
  EXPECT_FALSE(fetch("z").found) << "a failed transaction must apply nothing";
  EXPECT_EQ(fetch("y").data, "1");
}

TEST_P(StateConformance, BulkLargeAndOddKeys) {
  std::string big(1 << 20, 'x');
  ASSERT_TRUE(put("big", big).ok());
  EXPECT_EQ(fetch("big").data.size(), big.size());
  ASSERT_TRUE(put("ключ/with spaces&symbols?", "\"u\"").ok());
  EXPECT_EQ(fetch("ключ/with spaces&symbols?").data, "\"u\"");
  auto bulk = store_->bulkGet({GetRequest{k("big"), {}, {}}, GetRequest{k("nope"), {}, {}}});
  ASSERT_TRUE(bulk.ok());
  ASSERT_EQ(bulk->size(), 2u);
  EXPECT_TRUE((*bulk)[0].found);
  EXPECT_FALSE((*bulk)[1].found);
}

TEST_P(StateConformance, ConcurrentWritersLoseNothing) {
  std::vector<std::thread> threads;
  std::atomic<int> errors{0};
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < 25; ++i) {
        if (!put("c" + std::to_string(t) + "-" + std::to_string(i), std::to_string(i)).ok())
          errors++;
      }
    });
  }
  for (auto& th : threads) th.join();
  EXPECT_EQ(errors.load(), 0);
  for (int t = 0; t < 4; ++t) {
    for (int i = 0; i < 25; ++i)
      EXPECT_EQ(fetch("c" + std::to_string(t) + "-" + std::to_string(i)).data, std::to_string(i));
  }
}

TEST_P(StateConformance, ServesAgainAfterTheServerRestarts) {
  if (!GetParam().restart) GTEST_SKIP() << "no server behind this store";
  ASSERT_TRUE(put("r", "1").ok());
  GetParam().restart();
  Status st;
  for (int i = 0; i < 50; ++i) {  // bounded: reconnects within 5 s
    st = put("r2", "2");
    if (st.ok()) break;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  EXPECT_TRUE(st.ok()) << st.message();
  EXPECT_EQ(fetch("r2").data, "2");
}

INSTANTIATE_TEST_SUITE_P(AllStores, StateConformance, ::testing::ValuesIn(cases()),
                         [](const auto& info) {
                           std::string n = info.param.type.substr(6);
                           for (auto& c : n)
                             if (c == '-') c = '_';
                           return n;
                         });

TEST(StateMetadataValidation, MissingRequiredFieldsAreNamed) {
  auto& registry = runtime::builtinRegistry();
  for (const auto& [type, field] :
       std::vector<std::pair<std::string, std::string>>{{"state.redis", "redisHost"},
                                                        {"state.postgresql", "connectionString"},
                                                        {"state.sqlite", "connectionString"}}) {
    ASSERT_TRUE(registry.loadModuleFor(type).ok());
    auto factory = registry.state.find(type, "v1");
    ASSERT_TRUE(factory.ok());
    auto props = runtime::validateMetadata((*factory)->fields, {});
    ASSERT_FALSE(props.ok()) << type;
    EXPECT_NE(props.status().message().find(field), std::string::npos) << props.status().message();
  }
}

}  // namespace
}  // namespace outrigger::sidecar::components::state
