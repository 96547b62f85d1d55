// Secrets through the real outriggerd: the secrets API over local.file and local.env stores, with
// Dapr's status codes and errorCodes, and secretKeyRef in other components' metadata resolved at
// start-up (or stopping it with a message that says which file, component and field).

#include <gtest/gtest.h>
#include <sqlite3.h>
#include <unistd.h>

#include <algorithm>
#include <csignal>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#include "common/json/json.h"
#include "tests/framework/test_app.h"

namespace outrigger::testing {
namespace {

using http::bhttp::verb;
using StringMap = std::map<std::string, std::string>;

std::string replaceAll(std::string text, const std::string& from, const std::string& to) {
  for (size_t p = 0; (p = text.find(from, p)) != std::string::npos; p += to.size()) {
    text.replace(p, from.size(), to);
  }
  return text;
}

// A JSON object of strings; fails the test on anything else.
StringMap stringMap(const json::Value& v) {
  StringMap out;
  EXPECT_TRUE(v.IsObject());
  if (!v.IsObject()) return out;
  for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
    EXPECT_TRUE(it->value.IsString()) << it->name.GetString();
    if (it->value.IsString()) out[it->name.GetString()] = it->value.GetString();
  }
  return out;
}

StringMap secretOf(const http::Response& res) {
  auto doc = json::parse(res.body());
  EXPECT_TRUE(doc.ok()) << res.body();
  return doc.ok() ? stringMap(*doc) : StringMap{};
}

std::map<std::string, StringMap> bulkOf(const http::Response& res) {
  std::map<std::string, StringMap> out;
  auto doc = json::parse(res.body());
  EXPECT_TRUE(doc.ok() && doc->IsObject()) << res.body();
  if (!doc.ok() || !doc->IsObject()) return out;
  for (auto it = doc->MemberBegin(); it != doc->MemberEnd(); ++it) {
    out[it->name.GetString()] = stringMap(it->value);
  }
  return out;
}

void expectError(const http::Response& res, unsigned status, const std::string& code) {
  EXPECT_EQ(res.result_int(), status) << res.body();
  auto doc = json::parse(res.body());
  ASSERT_TRUE(doc.ok()) << res.body();
  const json::Value* error_code = json::find(*doc, "errorCode");
  ASSERT_NE(error_code, nullptr) << res.body();
  EXPECT_EQ(json::scalarToString(*error_code), code) << res.body();
}

// Every `column` of `table` in the SQLite file at path (empty when it cannot be read).
std::vector<std::string> sqliteColumn(const std::string& path, const std::string& table,
                                      const std::string& column) {
  std::vector<std::string> out;
  sqlite3* db = nullptr;
  if (sqlite3_open_v2(path.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* s = nullptr;
    std::string sql = "SELECT " + column + " FROM " + table + " ORDER BY 1";
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &s, nullptr) == SQLITE_OK) {
      while (sqlite3_step(s) == SQLITE_ROW) {
        out.emplace_back(reinterpret_cast<const char*>(sqlite3_column_text(s, 0)));
      }
    }
    sqlite3_finalize(s);
  }
  sqlite3_close(db);
  return out;
}

// Some single line of the log holds every needle: one message names file, component and field.
bool oneLineHasAll(const std::string& log, const std::vector<std::string>& needles) {
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (std::all_of(needles.begin(), needles.end(),
                    [&](const std::string& n) { return line.find(n) != std::string::npos; })) {
      return true;
    }
  }
  return false;
}

const char* kSecretsJson = R"({
  "dbPath": "@DIR@/from-secret.db",
  "keyPrefix": "tenant42",
  "creds": {"user": "u1", "password": "p=1 \u00e4"},
  "port": 5432
})";

// Secret stores first in no particular file order: the runtime loads them before the components
// that refer to them.
const char* kResources = R"(apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: statestore}
spec:
  type: state.sqlite
  version: v1
  metadata:
  - {name: connectionString, secretKeyRef: {name: dbPath}}
  - {name: keyPrefix, secretKeyRef: {name: keyPrefix, key: keyPrefix}}
auth: {secretStore: localsecrets}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: envstate}
spec:
  type: state.sqlite
  version: v1
  metadata:
  - {name: connectionString, value: "@DIR@/env-state.db"}
  - {name: tableName, secretKeyRef: {name: TABLE}}
auth: {secretStore: envsecrets}
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
metadata: {name: multisecrets}
spec:
  type: secretstores.local.file
  version: v1
  metadata:
  - {name: secretsFile, value: "@DIR@/secrets.json"}
  - {name: multiValued, value: "true"}
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: envsecrets}
spec:
  type: secretstores.local.env
  version: v1
  metadata: [{name: prefix, value: "@PREFIX@"}]
---
apiVersion: dapr.io/v1alpha1
kind: Component
metadata: {name: daprenv}
spec:
  type: secretstores.local.env
  version: v1
  metadata: [{name: prefix, value: "DAPR_"}]
)";

class SecretsApiTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    dir_ = new std::string(makeTempDir("outrigger-secrets"));
    prefix_ = new std::string("OUTRIGGER_IT_" + std::to_string(::getpid()) + "_");
    // The sidecar inherits this environment.
    ::setenv((*prefix_ + "TOKEN").c_str(), "tok-123", 1);
    ::setenv((*prefix_ + "TABLE").c_str(), "from_env_secret", 1);
    ::setenv(("DAPR_" + *prefix_ + "HIDDEN").c_str(), "must not leak", 1);
    writeFile(*dir_ + "/secrets.json", replaceAll(kSecretsJson, "@DIR@", *dir_));
    writeFile(*dir_ + "/components.yaml",
              replaceAll(replaceAll(kResources, "@DIR@", *dir_), "@PREFIX@", *prefix_));
    sidecar_ = new SidecarProcess();
    started_ = sidecar_->start({"--app-id", "secrets-app", "--resources-path", *dir_});
  }
  static void TearDownTestSuite() {
    delete sidecar_;
    sidecar_ = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(started_) << sidecar_->log(); }

  static http::Response get(const std::string& target) {
    return sidecar_->request(verb::get, target);
  }

  static std::string* dir_;
  static std::string* prefix_;
  static SidecarProcess* sidecar_;
  static bool started_;
};

std::string* SecretsApiTest::dir_ = nullptr;
std::string* SecretsApiTest::prefix_ = nullptr;
SidecarProcess* SecretsApiTest::sidecar_ = nullptr;
bool SecretsApiTest::started_ = false;

TEST_F(SecretsApiTest, GetAnswersTheSecretAsAJsonMap) {
  auto res = get("/v1.0/secrets/localsecrets/keyPrefix");
  ASSERT_EQ(res.result_int(), 200u) << res.body();
  EXPECT_EQ(res[http::bhttp::field::content_type], "application/json");
  EXPECT_EQ(secretOf(res), (StringMap{{"keyPrefix", "tenant42"}}));
  // Nested members are secrets named by their path; numbers keep their digits.
  res = get("/v1.0/secrets/localsecrets/creds:password");
  ASSERT_EQ(res.result_int(), 200u) << res.body();
  EXPECT_EQ(secretOf(res), (StringMap{{"creds:password", "p=1 \xC3\xA4"}}));
  res = get("/v1.0/secrets/localsecrets/port");
  ASSERT_EQ(res.result_int(), 200u) << res.body();
  EXPECT_EQ(secretOf(res), (StringMap{{"port", "5432"}}));
}

TEST_F(SecretsApiTest, MultiValuedSecretsAnswerAllTheirKeys) {
  auto res = get("/v1.0/secrets/multisecrets/creds");
  ASSERT_EQ(res.result_int(), 200u) << res.body();
  EXPECT_EQ(secretOf(res), (StringMap{{"user", "u1"}, {"password", "p=1 \xC3\xA4"}}));
}

TEST_F(SecretsApiTest, BulkAnswersEverySecret) {
  auto res = get("/v1.0/secrets/localsecrets/bulk");
  ASSERT_EQ(res.result_int(), 200u) << res.body();
  EXPECT_EQ(res[http::bhttp::field::content_type], "application/json");
  EXPECT_EQ(bulkOf(res), (std::map<std::string, StringMap>{
                             {"dbPath", {{"dbPath", *dir_ + "/from-secret.db"}}},
                             {"keyPrefix", {{"keyPrefix", "tenant42"}}},
                             {"creds:user", {{"creds:user", "u1"}}},
                             {"creds:password", {{"creds:password", "p=1 \xC3\xA4"}}},
                             {"port", {{"port", "5432"}}},
                         }));
  res = get("/v1.0/secrets/multisecrets/bulk");
  ASSERT_EQ(res.result_int(), 200u) << res.body();
  auto multi = bulkOf(res);
  EXPECT_EQ(multi["creds"], (StringMap{{"user", "u1"}, {"password", "p=1 \xC3\xA4"}}));
  EXPECT_EQ(multi.size(), 4u) << res.body();
}

TEST_F(SecretsApiTest, AMissingSecretAnswers204WithNoBody) {
  for (const char* target :
       {"/v1.0/secrets/localsecrets/nope", "/v1.0/secrets/localsecrets/creds",
        "/v1.0/secrets/multisecrets/creds:user", "/v1.0/secrets/envsecrets/NOPE"}) {
    auto res = get(target);
    EXPECT_EQ(res.result_int(), 204u) << target << " -> " << res.body();
    EXPECT_EQ(res.body(), "") << target;
  }
}

TEST_F(SecretsApiTest, EnvironmentSecretsAreNamedWithoutThePrefix) {
  auto res = get("/v1.0/secrets/envsecrets/TOKEN");
  ASSERT_EQ(res.result_int(), 200u) << res.body();
  EXPECT_EQ(secretOf(res), (StringMap{{"TOKEN", "tok-123"}}));
  res = get("/v1.0/secrets/envsecrets/bulk");
  ASSERT_EQ(res.result_int(), 200u) << res.body();
  EXPECT_EQ(bulkOf(res), (std::map<std::string, StringMap>{
                             {"TABLE", {{"TABLE", "from_env_secret"}}},
                             {"TOKEN", {{"TOKEN", "tok-123"}}},
                         }));
}

TEST_F(SecretsApiTest, DaprVariablesAreNeverServed) {
  auto res = get("/v1.0/secrets/daprenv/" + *prefix_ + "HIDDEN");
  EXPECT_EQ(res.result_int(), 204u) << res.body();
  res = get("/v1.0/secrets/daprenv/bulk");
  ASSERT_EQ(res.result_int(), 200u) << res.body();
  EXPECT_EQ(bulkOf(res), (std::map<std::string, StringMap>{}));
  EXPECT_EQ(res.body().find("must not leak"), std::string::npos) << res.body();
}

TEST_F(SecretsApiTest, AnUnknownStoreIs401) {
  expectError(get("/v1.0/secrets/nostore/keyPrefix"), 401, "ERR_SECRET_STORE_NOT_FOUND");
  expectError(get("/v1.0/secrets/nostore/bulk"), 401, "ERR_SECRET_STORE_NOT_FOUND");
}

// connectionString and keyPrefix of statestore come from localsecrets: the database is the file
// the secret names, and the rows carry the prefix the secret holds.
TEST_F(SecretsApiTest, SecretKeyRefsAreResolvedIntoComponentMetadata) {
  auto res = sidecar_->request(verb::post, "/v1.0/state/statestore",
                               R"([{"key":"order-1","value":{"n":1}}])");
  ASSERT_EQ(res.result_int(), 204u) << res.body();
  EXPECT_EQ(sqliteColumn(*dir_ + "/from-secret.db", "state", "key"),
            (std::vector<std::string>{"tenant42||order-1"}));
  res = get("/v1.0/state/statestore/order-1");
  ASSERT_EQ(res.result_int(), 200u) << res.body();
  EXPECT_EQ(res.body(), R"({"n":1})");
}

// tableName of envstate comes from an environment variable through envsecrets.
TEST_F(SecretsApiTest, SecretKeyRefsResolveFromTheEnvironmentStore) {
  auto res = sidecar_->request(verb::post, "/v1.0/state/envstate", R"([{"key":"a","value":"x"}])");
  ASSERT_EQ(res.result_int(), 204u) << res.body();
  EXPECT_EQ(sqliteColumn(*dir_ + "/env-state.db", "from_env_secret", "key"),
            (std::vector<std::string>{"secrets-app||a"}));
}

TEST(SecretsNotConfigured, EveryRouteAnswers500) {
  std::string dir = makeTempDir("outrigger-nosecrets");
  writeFile(dir + "/state.yaml",
            "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: s}\n"
            "spec: {type: state.in-memory, version: v1}\n");
  SidecarProcess sidecar;
  ASSERT_TRUE(sidecar.start({"--app-id", "bare", "--resources-path", dir})) << sidecar.log();
  expectError(sidecar.request(verb::get, "/v1.0/secrets/any/a"), 500,
              "ERR_SECRET_STORES_NOT_CONFIGURED");
  expectError(sidecar.request(verb::get, "/v1.0/secrets/any/bulk"), 500,
              "ERR_SECRET_STORES_NOT_CONFIGURED");
  EXPECT_EQ(sidecar.stop(SIGTERM), 0);
}

// A component whose secret cannot be had does not start, and neither does the sidecar.
TEST(SecretsStartup, BadSecretsStopStartUpNamingFileComponentAndField) {
  // Secrets files live outside the resources folder, which must hold only YAML.
  std::string data = makeTempDir("outrigger-badsecrets-data");
  std::string dir = makeTempDir("outrigger-badsecrets");
  writeFile(data + "/secrets.json", R"({"present": "x", "multi": {"a": "1"}})");
  writeFile(data + "/malformed.json", R"({"present": )");
  auto fileStore = [&](const std::string& file, const std::string& extra = "") {
    return "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: files}\n"
           "spec: {type: secretstores.local.file, version: v1, metadata: "
           "[{name: secretsFile, value: \"" +
           data + "/" + file + "\"}" + extra + "]}\n";
  };
  auto stateWith = [](const std::string& store_name, const std::string& ref) {
    return "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: orders}\n"
           "spec: {type: state.in-memory, version: v1, metadata: "
           "[{name: keyPrefix, secretKeyRef: " +
           ref + "}]}\nauth: {secretStore: " + store_name + "}\n";
  };
  struct Case {
    std::string secret_store;  // written to a.yaml
    std::string state;         // written to b.yaml when not empty
    std::vector<std::string> needles;
  } cases[] = {
      // The secret does not exist.
      {fileStore("secrets.json"),
       stateWith("files", "{name: absent}"),
       {"b.yaml", "component 'orders'", "keyPrefix", "'absent'"}},
      // The secret exists, the key does not.
      {fileStore("secrets.json", ", {name: multiValued, value: \"true\"}"),
       stateWith("files", "{name: multi, key: b}"),
       {"b.yaml", "component 'orders'", "keyPrefix", "'multi'", "'b'"}},
      // The store named by auth.secretStore is not there.
      {fileStore("secrets.json"),
       stateWith("elsewhere", "{name: present}"),
       {"b.yaml", "component 'orders'", "keyPrefix", "'elsewhere'"}},
      // The store itself cannot start: its file is missing, or is not JSON.
      {fileStore("missing.json"),
       "",
       {"a.yaml", "component 'files'", "secretsFile", data + "/missing.json"}},
      {fileStore("malformed.json"),
       "",
       {"a.yaml", "component 'files'", "secretsFile", data + "/malformed.json", "JSON"}},
  };
  for (const auto& c : cases) {
    writeFile(dir + "/a.yaml", c.secret_store);
    std::filesystem::remove(dir + "/b.yaml");
    if (!c.state.empty()) writeFile(dir + "/b.yaml", c.state);
    std::string out;
    EXPECT_EQ(SidecarProcess::runToExit({"--app-id", "x", "--resources-path", dir}, &out), 1)
        << out;
    EXPECT_TRUE(oneLineHasAll(out, c.needles)) << ::testing::PrintToString(c.needles) << "\n"
                                               << out;
  }
}

}  // namespace
}  // namespace outrigger::testing
