// The output-only bindings against real servers: bindings.http against an in-process HTTP app,
// bindings.redis against redis-server, bindings.postgresql against PostgreSQL. Each binding is
// created through builtinRegistry(), as the runtime creates it, and every operation it supports
// is exercised, with its errors.

#include <gtest/gtest.h>
#include <hiredis/hiredis.h>

#include <memory>
#include <string>

#include "common/json/json.h"
#include "sidecar/runtime/registry.h"
#include "tests/framework/servers.h"
#include "tests/framework/test_app.h"

namespace outrigger::sidecar::components::bindings {
namespace {

using Raw = std::map<std::string, std::string>;
using outrigger::testing::PostgresServer;
using outrigger::testing::Received;
using outrigger::testing::RedisServer;
using outrigger::testing::TestApp;

StatusOr<std::unique_ptr<Binding>> openBinding(const std::string& type, const Raw& raw) {
  auto& registry = runtime::builtinRegistry();
  RETURN_IF_ERROR(registry.loadModuleFor(type));
  ASSIGN_OR_RETURN(auto factory, registry.bindings.find(type, "v1"));
  ASSIGN_OR_RETURN(auto props, runtime::validateMetadata(factory->fields, raw));
  auto b = factory->create();
  RETURN_IF_ERROR(b->init(props));
  return b;
}

StatusOr<InvokeResponse> invoke(Binding& b, const std::string& op, const std::string& data,
                                Metadata md = {}) {
  return b.output()->invoke(InvokeRequest{op, data, std::move(md)});
}

// ---------------------------------------------------------------------------------------------
// bindings.http

class HttpBindingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    app_.setBehaviour([](const http::Request& req) {
      std::string target(req.target());
      if (target.rfind("/api/missing", 0) == 0) return http::makeResponse(404, "no such thing");
      if (target.rfind("/api/broken", 0) == 0) return http::makeResponse(500, "boom");
      auto res =
          http::makeResponse(200, "reply to " + std::string(req.method_string()), "text/plain");
      res.set("X-Reply", "yes");
      if (req.method() == http::bhttp::verb::head) res.body().clear();
      res.prepare_payload();
      return res;
    });
  }
  std::unique_ptr<Binding> open(Raw extra = {}) {
    Raw md{{"url", "http://127.0.0.1:" + std::to_string(app_.port()) + "/api"}};
    for (auto& [k, v] : extra) md[k] = v;
    auto b = openBinding("bindings.http", md);
    EXPECT_TRUE(b.ok()) << b.status().toString();
    return b.ok() ? std::move(*b) : nullptr;
  }
  Received last() {
    auto got = app_.received();
    return got.empty() ? Received{} : got.back();
  }
  TestApp app_;
};

TEST_F(HttpBindingTest, CreateIsAPostWithDataPathAndHeaders) {
  auto b = open();
  ASSERT_TRUE(b);
  auto res = invoke(*b, "create", R"("hello")", {{"path", "orders/1"}, {"X-Token", "abc"}});
  ASSERT_TRUE(res.ok()) << res.status().toString();
  Received r = last();
  EXPECT_EQ(r.method, "POST");
  EXPECT_EQ(r.target, "/api/orders/1");
  EXPECT_EQ(r.body, "hello");  // a JSON string is sent as its contents
  EXPECT_EQ(r.headers["X-Token"], "abc");
  EXPECT_EQ(r.headers.count("path"), 0u);
  // JSON that is not a string is sent as JSON text.
  ASSERT_TRUE(invoke(*b, "post", R"({"n":1})", {{"path", "/orders"}}).ok());
  EXPECT_EQ(last().body, R"({"n":1})");
  EXPECT_EQ(last().target, "/api/orders");
}

// Metadata become headers and `path` the request target: CR LF, spaces or other control bytes in
// them would end the head and smuggle a second request to the bound server. Each is refused as
// the caller's error (400) before anything is sent.
TEST_F(HttpBindingTest, MetadataThatWouldBreakTheHeadIsRefused) {
  auto b = open();
  ASSERT_TRUE(b);
  const std::vector<Metadata> bad = {
      {{"path", "a HTTP/1.1\r\nHost: x\r\n\r\nDELETE /smuggled"}},
      {{"path", "a\nb"}},
      {{"path", "a b"}},
      {{"path", std::string("a\0b", 3)}},
      {{"X-Token", "abc\r\nX-Smuggled: 1"}},
      {{"X-Token", "abc\n"}},
      {{"X-Token", std::string("a\0b", 3)}},
      {{"X-Token", "bell\x07"}},
      {{"Bad Name", "v"}},
      {{"X-Smuggled: 1\r\nX-Token", "v"}},
  };
  for (const auto& md : bad) {
    auto res = invoke(*b, "post", R"("x")", md);
    ASSERT_FALSE(res.ok()) << ::testing::PrintToString(md);
    EXPECT_EQ(res.status().code(), StatusCode::kInvalidArgument) << res.status().toString();
    EXPECT_EQ(res.status().httpStatus(), 400) << res.status().toString();
  }
  EXPECT_TRUE(app_.received().empty());
  // Framing fields are the binding's own: a caller's are not sent, and the request stays whole.
  auto res = invoke(*b, "post", R"("whole")",
                    {{"path", "ok"},
                     {"Content-Length", "0"},
                     {"Transfer-Encoding", "chunked"},
                     {"Host", "elsewhere"},
                     {"X-Tab", "a\tb"}});
  ASSERT_TRUE(res.ok()) << res.status().toString();
  Received r = last();
  EXPECT_EQ(r.target, "/api/ok");
  EXPECT_EQ(r.body, "whole");
  EXPECT_EQ(r.headers["X-Tab"], "a\tb");
  EXPECT_NE(r.headers["Host"], "elsewhere");
  EXPECT_EQ(app_.received().size(), 1u);
}

TEST_F(HttpBindingTest, EveryVerbIsSentAsItsMethod) {
  auto b = open();
  ASSERT_TRUE(b);
  for (const char* op : {"get", "head", "post", "put", "patch", "delete", "options", "trace"}) {
    auto res = invoke(*b, op, "", {{"path", "v"}});
    ASSERT_TRUE(res.ok()) << op << ": " << res.status().toString();
    std::string method = op;
    for (auto& c : method) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
    EXPECT_EQ(last().method, method);
    EXPECT_EQ(last().target, "/api/v");
    EXPECT_EQ(res->metadata["statusCode"], "200") << op;
    if (method != "HEAD") {
      EXPECT_EQ(res->data, "reply to " + method);
    }
  }
  EXPECT_EQ(b->output()->operations().size(), 9u);
  EXPECT_FALSE(invoke(*b, "fly", "").ok());
}

TEST_F(HttpBindingTest, ResponseMetadataAndBody) {
  auto b = open();
  ASSERT_TRUE(b);
  auto res = invoke(*b, "get", "", {{"path", "x"}});
  ASSERT_TRUE(res.ok()) << res.status().toString();
  EXPECT_TRUE(res->has_data);
  EXPECT_EQ(res->data, "reply to GET");
  EXPECT_EQ(res->content_type, "text/plain");
  EXPECT_EQ(res->metadata["statusCode"], "200");
  EXPECT_EQ(res->metadata["status"], "200 OK");
  EXPECT_EQ(res->metadata["X-Reply"], "yes");
}

TEST_F(HttpBindingTest, StatusFrom400IsAnError) {
  auto b = open();
  ASSERT_TRUE(b);
  auto missing = invoke(*b, "get", "", {{"path", "missing"}});
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find("404"), std::string::npos)
      << missing.status().toString();
  auto broken = invoke(*b, "post", R"("x")", {{"path", "broken"}});
  ASSERT_FALSE(broken.ok());
  EXPECT_NE(broken.status().message().find("500"), std::string::npos) << broken.status().toString();
  // errorIfNot2XX false: the answer comes back with its status.
  auto lenient = open({{"errorIfNot2XX", "false"}});
  ASSERT_TRUE(lenient);
  auto res = invoke(*lenient, "get", "", {{"path", "broken"}});
  ASSERT_TRUE(res.ok()) << res.status().toString();
  EXPECT_EQ(res->metadata["statusCode"], "500");
  EXPECT_EQ(res->data, "boom");
}

TEST_F(HttpBindingTest, UnreachableServerAndBadUrl) {
  auto b = openBinding("bindings.http",
                       {{"url", "http://127.0.0.1:" + std::to_string(testing::freeTcpPort())}});
  ASSERT_TRUE(b.ok()) << b.status().toString();
  auto res = invoke(**b, "get", "");
  ASSERT_FALSE(res.ok());
  EXPECT_EQ(res.status().code(), StatusCode::kUnavailable) << res.status().toString();
  for (const char* url : {"ftp://x", "http://", "http://h:99999"}) {
    auto bad = openBinding("bindings.http", {{"url", url}});
    EXPECT_FALSE(bad.ok()) << url;
    if (!bad.ok()) {
      EXPECT_NE(bad.status().message().find("url"), std::string::npos) << url;
    }
  }
  EXPECT_FALSE(openBinding("bindings.http", {}).ok());  // url is required
}

// ---------------------------------------------------------------------------------------------
// bindings.redis

RedisServer& sharedRedis() {
  static RedisServer server;
  static std::string started = server.start();
  EXPECT_EQ(started, "");
  return server;
}

// A command straight to redis-server, to look behind the binding.
std::string redisDirect(const std::string& command, const std::string& key) {
  redisContext* ctx = redisConnect("127.0.0.1", sharedRedis().port());
  if (!ctx || ctx->err) return "cannot connect";
  auto* r = static_cast<redisReply*>(redisCommand(ctx, "%s %s", command.c_str(), key.c_str()));
  std::string out;
  if (!r) {
    out = "no reply";
  } else if (r->type == REDIS_REPLY_INTEGER) {
    out = std::to_string(r->integer);
  } else if (r->type == REDIS_REPLY_STRING) {
    out.assign(r->str, r->len);
  } else if (r->type == REDIS_REPLY_NIL) {
    out = "(nil)";
  }
  if (r) freeReplyObject(r);
  redisFree(ctx);
  return out;
}

class RedisBindingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto b = openBinding("bindings.redis", {{"redisHost", sharedRedis().address()}});
    ASSERT_TRUE(b.ok()) << b.status().toString();
    binding_ = std::move(*b);
  }
  void TearDown() override {
    if (binding_) binding_->close();
  }
  std::string key(const std::string& name) {
    return std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()) + "-" +
           name;
  }
  std::unique_ptr<Binding> binding_;
};

TEST_F(RedisBindingTest, CreateGetDelete) {
  std::string k = key("a");
  ASSERT_TRUE(invoke(*binding_, "create", R"("hello")", {{"key", k}}).ok());
  EXPECT_EQ(redisDirect("GET", k), "hello");  // a JSON string is stored as its contents
  auto got = invoke(*binding_, "get", "", {{"key", k}});
  ASSERT_TRUE(got.ok()) << got.status().toString();
  EXPECT_TRUE(got->has_data);
  EXPECT_EQ(got->data, "hello");
  ASSERT_TRUE(invoke(*binding_, "create", R"({"n":1})", {{"key", k}}).ok());
  EXPECT_EQ(invoke(*binding_, "get", "", {{"key", k}})->data, R"({"n":1})");
  ASSERT_TRUE(invoke(*binding_, "delete", "", {{"key", k}}).ok());
  EXPECT_EQ(redisDirect("GET", k), "(nil)");
  auto gone = invoke(*binding_, "get", "", {{"key", k}});
  ASSERT_TRUE(gone.ok()) << gone.status().toString();
  EXPECT_FALSE(gone->has_data);
}

TEST_F(RedisBindingTest, CreateWithTtlSetsTheKeysExpiry) {
  std::string k = key("ttl");
  ASSERT_TRUE(invoke(*binding_, "create", R"("v")", {{"key", k}, {"ttlInSeconds", "100"}}).ok());
  int ttl = std::stoi(redisDirect("TTL", k));
  EXPECT_GT(ttl, 0);
  EXPECT_LE(ttl, 100);
  // Without ttlInSeconds the key does not expire (TTL -1).
  ASSERT_TRUE(invoke(*binding_, "create", R"("v")", {{"key", k}}).ok());
  EXPECT_EQ(redisDirect("TTL", k), "-1");
  for (const char* bad : {"soon", "0", "-3"}) {
    auto res = invoke(*binding_, "create", R"("v")", {{"key", k}, {"ttlInSeconds", bad}});
    ASSERT_FALSE(res.ok()) << bad;
    EXPECT_NE(res.status().message().find("ttlInSeconds"), std::string::npos) << bad;
  }
}

TEST_F(RedisBindingTest, IncrementAndErrors) {
  std::string k = key("n");
  EXPECT_EQ(invoke(*binding_, "increment", "", {{"key", k}})->data, "1");
  EXPECT_EQ(invoke(*binding_, "increment", "", {{"key", k}})->data, "2");
  auto no_key = invoke(*binding_, "get", "");
  ASSERT_FALSE(no_key.ok());
  EXPECT_NE(no_key.status().message().find("key"), std::string::npos);
  EXPECT_FALSE(invoke(*binding_, "fly", "", {{"key", k}}).ok());
  // INCR on a value that is not a number: redis' error comes back.
  ASSERT_TRUE(invoke(*binding_, "create", R"("text")", {{"key", k}}).ok());
  EXPECT_FALSE(invoke(*binding_, "increment", "", {{"key", k}}).ok());
}

TEST_F(RedisBindingTest, ServerRestartIsSurvived) {
  std::string k = key("r");
  ASSERT_TRUE(invoke(*binding_, "create", R"("before")", {{"key", k}}).ok());
  sharedRedis().stop();
  ASSERT_EQ(sharedRedis().start(), "");
  // One reconnect: the next call works on a new connection.
  auto res = invoke(*binding_, "create", R"("after")", {{"key", k}});
  ASSERT_TRUE(res.ok()) << res.status().toString();
  EXPECT_EQ(invoke(*binding_, "get", "", {{"key", k}})->data, "after");
}

// ---------------------------------------------------------------------------------------------
// bindings.postgresql

PostgresServer& sharedPostgres() {
  static PostgresServer server;
  static std::string started = server.start();
  EXPECT_EQ(started, "");
  return server;
}

class PostgresBindingTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto b = openBinding("bindings.postgresql",
                         {{"connectionString", sharedPostgres().connectionString()}});
    ASSERT_TRUE(b.ok()) << b.status().toString();
    binding_ = std::move(*b);
    table_ = "t_" + std::string(::testing::UnitTest::GetInstance()->current_test_info()->name());
    for (auto& c : table_) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    ASSERT_TRUE(exec("DROP TABLE IF EXISTS " + table_).ok());
  }
  void TearDown() override {
    if (binding_) binding_->close();
  }
  StatusOr<InvokeResponse> exec(const std::string& sql, const std::string& params = "") {
    Metadata md{{"sql", sql}};
    if (!params.empty()) md["params"] = params;
    return invoke(*binding_, "exec", "", md);
  }
  StatusOr<InvokeResponse> query(const std::string& sql, const std::string& params = "") {
    Metadata md{{"sql", sql}};
    if (!params.empty()) md["params"] = params;
    return invoke(*binding_, "query", "", md);
  }
  std::unique_ptr<Binding> binding_;
  std::string table_;
};

TEST_F(PostgresBindingTest, ExecAndQueryWithParameters) {
  auto created =
      exec("CREATE TABLE " + table_ + " (id int PRIMARY KEY, name text, price float8, ok bool)");
  ASSERT_TRUE(created.ok()) << created.status().toString();
  EXPECT_EQ(created->metadata["operation"], "exec");
  auto ins = exec("INSERT INTO " + table_ + " VALUES ($1, $2, $3, $4), ($5, $6, $7, $8)",
                  R"([1, "apple", 1.5, true, 2, "pear", 2.25, false])");
  ASSERT_TRUE(ins.ok()) << ins.status().toString();
  EXPECT_EQ(ins->metadata["rows-affected"], "2");
  EXPECT_EQ(ins->metadata["sql"],
            "INSERT INTO " + table_ + " VALUES ($1, $2, $3, $4), ($5, $6, $7, $8)");
  EXPECT_FALSE(ins->metadata["duration"].empty());
  auto upd = exec("UPDATE " + table_ + " SET price = price * 2 WHERE id >= $1", "[1]");
  ASSERT_TRUE(upd.ok()) << upd.status().toString();
  EXPECT_EQ(upd->metadata["rows-affected"], "2");

  auto rows =
      query("SELECT id, name, price, ok FROM " + table_ + " WHERE name = $1", R"(["pear"])");
  ASSERT_TRUE(rows.ok()) << rows.status().toString();
  EXPECT_EQ(rows->metadata["operation"], "query");
  EXPECT_TRUE(rows->has_data);
  EXPECT_EQ(rows->content_type, "application/json");
  json::Document d;
  d.Parse(rows->data.c_str());
  ASSERT_TRUE(d.IsArray()) << rows->data;
  ASSERT_EQ(d.Size(), 1u) << rows->data;
  EXPECT_EQ(d[0][0].GetInt(), 2);
  EXPECT_STREQ(d[0][1].GetString(), "pear");
  EXPECT_DOUBLE_EQ(d[0][2].GetDouble(), 4.5);
  EXPECT_FALSE(d[0][3].GetBool());

  auto none = query("SELECT id FROM " + table_ + " WHERE id = $1", "[42]");
  ASSERT_TRUE(none.ok()) << none.status().toString();
  EXPECT_EQ(none->data, "[]");
  auto nulls = query("SELECT NULL::text, $1::int", "[7]");
  ASSERT_TRUE(nulls.ok()) << nulls.status().toString();
  EXPECT_EQ(nulls->data, "[[null,7]]");
}

TEST_F(PostgresBindingTest, BadSqlAndMissingSqlAreErrors) {
  auto bad = exec("SELEKT nothing");
  ASSERT_FALSE(bad.ok());
  EXPECT_NE(bad.status().message().find("syntax error"), std::string::npos)
      << bad.status().toString();
  auto missing_table = query("SELECT * FROM " + table_);
  ASSERT_FALSE(missing_table.ok());
  EXPECT_NE(missing_table.status().message().find(table_), std::string::npos)
      << missing_table.status().toString();
  auto no_sql = invoke(*binding_, "exec", "");
  ASSERT_FALSE(no_sql.ok());
  EXPECT_NE(no_sql.status().message().find("sql"), std::string::npos);
  auto bad_params = exec("SELECT $1::int", "{not an array");
  ASSERT_FALSE(bad_params.ok());
  EXPECT_NE(bad_params.status().message().find("params"), std::string::npos);
  auto wrong_count = exec("SELECT $1::int, $2::int", "[1]");
  EXPECT_FALSE(wrong_count.ok());
  // After errors the connection still serves.
  EXPECT_TRUE(query("SELECT 1").ok());
}

TEST_F(PostgresBindingTest, CloseThenUseReconnects) {
  ASSERT_TRUE(exec("CREATE TABLE " + table_ + " (id int)").ok());
  ASSERT_TRUE(exec("INSERT INTO " + table_ + " VALUES ($1)", "[5]").ok());
  auto closed = invoke(*binding_, "close", "");
  ASSERT_TRUE(closed.ok()) << closed.status().toString();
  EXPECT_EQ(closed->metadata["operation"], "close");
  EXPECT_FALSE(closed->has_data);
  auto rows = query("SELECT id FROM " + table_);
  ASSERT_TRUE(rows.ok()) << rows.status().toString();
  EXPECT_EQ(rows->data, "[[5]]");
  EXPECT_EQ(binding_->output()->operations(), (std::vector<std::string>{"exec", "query", "close"}));
}

TEST(PostgresBindingStartTest, UnreachableServerFailsInit) {
  auto b = openBinding(
      "bindings.postgresql",
      {{"connectionString", "host=127.0.0.1 port=" + std::to_string(testing::freeTcpPort()) +
                                " user=postgres connect_timeout=2"}});
  ASSERT_FALSE(b.ok());
  EXPECT_EQ(b.status().code(), StatusCode::kUnavailable) << b.status().toString();
  EXPECT_FALSE(openBinding("bindings.postgresql", {}).ok());  // connectionString is required
}

}  // namespace
}  // namespace outrigger::sidecar::components::bindings
