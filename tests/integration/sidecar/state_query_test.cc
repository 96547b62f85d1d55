// The state query API (/v1.0-alpha1/state/{store}/query) through the real outriggerd: routed (not
// taken for service invocation), filtered, sorted and paged on the SQLite and in-memory stores,
// limited to the app's own keys, and Dapr's errors for what is malformed or unsupported.

#include <gtest/gtest.h>

#include <csignal>
#include <string>
#include <vector>

#include "common/json/json.h"
#include "tests/framework/test_app.h"

namespace outrigger::testing {
namespace {

using http::bhttp::verb;

std::string resources(const std::string& dir) {
  return "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: statestore}\n"
         "spec: {type: state.sqlite, version: v1, metadata: [{name: connectionString, value: \"" +
         dir +
         "/s.db\"}]}\n---\n"
         "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: memstore}\n"
         "spec: {type: state.in-memory, version: v1, metadata: []}\n";
}

const char* kPeople =
    R"([{"key":"ann","value":{"state":"CA","age":31,"person":{"org":"Dev Ops"}}},)"
    R"({"key":"bob","value":{"state":"WA","age":25,"person":{"org":"Finance"}}},)"
    R"({"key":"cid","value":{"state":"CA","age":47,"person":{"org":"Finance"}}},)"
    R"({"key":"dee","value":{"state":"TX","age":29,"person":{"org":"Dev Ops"}}}])";

// The keys of a 200 answer, in order, and its token.
struct Answer {
  unsigned status = 0;
  std::vector<std::string> keys;
  std::string token;
  std::string body;
};

Answer query(SidecarProcess& sidecar, const std::string& store, const std::string& body) {
  auto res = sidecar.request(verb::post, "/v1.0-alpha1/state/" + store + "/query", body);
  Answer a;
  a.status = res.result_int();
  a.body = res.body();
  if (a.status != 200) return a;
  auto doc = json::parse(res.body());
  EXPECT_TRUE(doc.ok()) << res.body();
  if (!doc.ok()) return a;
  for (const auto& r : (*doc)["results"].GetArray()) {
    a.keys.push_back(r["key"].GetString());
    EXPECT_TRUE(r.HasMember("data") && r["data"].IsObject()) << res.body();
    EXPECT_TRUE(r.HasMember("etag") && r["etag"].IsString()) << res.body();
  }
  if (doc->HasMember("token")) a.token = (*doc)["token"].GetString();
  return a;
}

TEST(StateQuery, FiltersSortsAndPagesOnEveryQueryableStore) {
  std::string dir = makeTempDir("outrigger-query");
  writeFile(dir + "/c.yaml", resources(dir));
  SidecarProcess sidecar;
  ASSERT_TRUE(sidecar.start({"--app-id", "alpha", "--resources-path", dir})) << sidecar.log();
  for (const char* store : {"statestore", "memstore"}) {
    SCOPED_TRACE(store);
    ASSERT_EQ(
        sidecar.request(verb::post, std::string("/v1.0/state/") + store, kPeople).result_int(),
        204u);
    Answer a = query(sidecar, store, R"({"filter":{"EQ":{"state":"CA"}}})");
    ASSERT_EQ(a.status, 200u) << a.body;
    EXPECT_EQ(a.keys, (std::vector<std::string>{"ann", "cid"}));
    a = query(sidecar, store,
              R"({"filter":{"OR":[{"EQ":{"person.org":"Finance"}},{"IN":{"state":["TX"]}}]},)"
              R"("sort":[{"key":"age","order":"DESC"}]})");
    EXPECT_EQ(a.keys, (std::vector<std::string>{"cid", "dee", "bob"})) << a.body;
    // Pages of two, following the token to the end.
    std::vector<std::string> all;
    std::string token;
    for (int page = 0; page < 5; ++page) {
      std::string body = R"({"sort":[{"key":"age"}],"page":{"limit":2)";
      if (!token.empty()) body += R"(,"token":")" + token + "\"";
      a = query(sidecar, store, body + "}}");
      ASSERT_EQ(a.status, 200u) << a.body;
      EXPECT_LE(a.keys.size(), 2u);
      all.insert(all.end(), a.keys.begin(), a.keys.end());
      token = a.token;
      if (token.empty()) break;
    }
    EXPECT_EQ(all, (std::vector<std::string>{"bob", "dee", "ann", "cid"}));
    // Nothing matches: 204, as daprd answers an empty result.
    a = query(sidecar, store, R"({"filter":{"EQ":{"state":"NY"}}})");
    EXPECT_EQ(a.status, 204u) << a.body;
    // PUT works as POST.
    auto put = sidecar.request(verb::put, std::string("/v1.0-alpha1/state/") + store + "/query",
                               R"({"filter":{"EQ":{"age":25}}})");
    EXPECT_EQ(put.result_int(), 200u) << put.body();
    EXPECT_NE(put.body().find(R"("key":"bob")"), std::string::npos) << put.body();
  }
  EXPECT_EQ(sidecar.stop(SIGTERM), 0);
}

TEST(StateQuery, AnAppSeesOnlyItsOwnKeys) {
  // Two apps share one SQLite file; each query answers that app's keys, without their prefix.
  std::string dir = makeTempDir("outrigger-query-apps");
  writeFile(dir + "/c.yaml", resources(dir));
  SidecarProcess alpha, beta;
  ASSERT_TRUE(alpha.start({"--app-id", "alpha", "--resources-path", dir})) << alpha.log();
  ASSERT_TRUE(beta.start({"--app-id", "beta", "--resources-path", dir})) << beta.log();
  ASSERT_EQ(alpha
                .request(verb::post, "/v1.0/state/statestore",
                         R"([{"key":"a1","value":{"n":1}},{"key":"a2","value":{"n":2}}])")
                .result_int(),
            204u);
  ASSERT_EQ(beta.request(verb::post, "/v1.0/state/statestore", R"([{"key":"b1","value":{"n":1}}])")
                .result_int(),
            204u);
  Answer a = query(alpha, "statestore", "{}");
  EXPECT_EQ(a.keys, (std::vector<std::string>{"a1", "a2"})) << a.body;
  a = query(beta, "statestore", R"({"filter":{"EQ":{"n":1}}})");
  EXPECT_EQ(a.keys, (std::vector<std::string>{"b1"})) << a.body;
  EXPECT_EQ(alpha.stop(SIGTERM), 0);
  EXPECT_EQ(beta.stop(SIGTERM), 0);
}

TEST(StateQuery, MalformedQueriesGetDaprErrors) {
  std::string dir = makeTempDir("outrigger-query-errors");
  writeFile(dir + "/c.yaml", resources(dir));
  SidecarProcess sidecar;
  ASSERT_TRUE(sidecar.start({"--app-id", "alpha", "--resources-path", dir})) << sidecar.log();
  struct Case {
    std::string store;
    std::string body;
    unsigned status;
    std::string error_code;
  } cases[] = {
      {"memstore", "{not json", 400, "ERR_MALFORMED_REQUEST"},
      {"memstore", R"({"filter":{"LIKE":{"a":"b"}}})", 400, "ERR_MALFORMED_REQUEST"},
      {"memstore", R"({"filter":{"AND":[{"EQ":{"a":1}}]}})", 400, "ERR_MALFORMED_REQUEST"},
      {"memstore", R"({"sort":[{"key":"a","order":"SIDEWAYS"}]})", 400, "ERR_MALFORMED_REQUEST"},
      {"memstore", R"({"page":{"limit":"ten"}})", 400, "ERR_MALFORMED_REQUEST"},
      {"statestore", R"({"page":{"limit":1,"token":"not-a-token"}})", 400, "ERR_STATE_QUERY"},
      {"nostore", "{}", 400, "ERR_STATE_STORE_NOT_FOUND"},
  };
  for (const auto& c : cases) {
    auto res = sidecar.request(verb::post, "/v1.0-alpha1/state/" + c.store + "/query", c.body);
    EXPECT_EQ(res.result_int(), c.status) << c.body << " -> " << res.body();
    EXPECT_NE(res.body().find("\"errorCode\":\"" + c.error_code + "\""), std::string::npos)
        << c.body << " -> " << res.body();
  }
  EXPECT_EQ(sidecar.request(verb::get, "/v1.0/healthz").result_int(), 204u);
  EXPECT_EQ(sidecar.stop(SIGTERM), 0);
}

}  // namespace
}  // namespace outrigger::testing
