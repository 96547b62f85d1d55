// The secret store conformance suite: the same behaviour asked of every secret store, each created
// the way the runtime creates it (registry, validated metadata, init) and seeded with the same
// secrets; then what is particular to each store (flattening, multi-valued secrets, prefixes,
// hidden variables) and the ways their configuration can be wrong.

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <unistd.h>
#include <yaml-cpp/yaml.h>

#include <atomic>
#include <cctype>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <ostream>
#include <thread>
#include <vector>

#include "sidecar/components/secretstores/secret_store.h"
#include "sidecar/runtime/registry.h"

namespace outrigger::sidecar::components::secretstores {
namespace {

using Metadata = std::map<std::string, std::string>;
using Bulk = std::map<std::string, Secret>;
using ::testing::Contains;
using ::testing::HasSubstr;
using ::testing::Key;
using ::testing::Not;

constexpr char kMultiValued[] = "MULTIPLE_KEY_VALUES_PER_SECRET";

// What every store is seeded with: names and values both stores can hold (environment variable
// names are letters, digits and underscores; values may hold anything but NUL).
const std::map<std::string, std::string>& seed() {
  static const std::map<std::string, std::string> secrets = {
      {"ALPHA", "one"},
      {"BETA", "two words = and more"},
      {"EMPTY", ""},
      {"UNICODE", "p\xC3\xA4ss\xE2\x9C\x93 \xE6\x97\xA5\xE6\x9C\xAC"},
      {"MULTILINE", "line 1\nline 2\n"},
  };
  return secrets;
}

// Leaked on purpose: the global RemoveTempDir below reads it during exit, after function-local
// statics may already be gone.
const std::string& tempDir() {
  static const std::string& dir = *new std::string([] {
    auto path = std::filesystem::temp_directory_path() /
                ("outrigger-secrets-conformance-" + std::to_string(::getpid()));
    std::filesystem::create_directories(path);
    return path.string();
  }());
  return dir;
}

struct RemoveTempDir {
  ~RemoveTempDir() {
    std::error_code ec;
    std::filesystem::remove_all(tempDir(), ec);
  }
} remove_temp_dir;

std::string writeFile(const std::string& name, const std::string& text) {
  std::string path = tempDir() + "/" + name;
  std::ofstream(path, std::ios::binary | std::ios::trunc) << text;
  return path;
}

// JSON string literal for s (quotes, backslashes and control characters escaped).
std::string quote(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += c;
    } else if (c == '\n') {
      out += "\\n";
    } else {
      out += c;
    }
  }
  return out + "\"";
}

StatusOr<std::unique_ptr<SecretStore>> openStore(const std::string& type, const Metadata& raw) {
  auto& registry = runtime::builtinRegistry();
  RETURN_IF_ERROR(registry.loadModuleFor(type));
  ASSIGN_OR_RETURN(const runtime::ComponentFactory<SecretStore>* factory,
                   registry.secretstores.find(type, "v1"));
  ASSIGN_OR_RETURN(runtime::Properties properties, runtime::validateMetadata(factory->fields, raw));
  std::unique_ptr<SecretStore> store = factory->create();
  RETURN_IF_ERROR(store->init(properties));
  return store;
}

struct StoreCase {
  std::string name;
  std::string type;
  // Puts seed() where the store will find it; the metadata that points the store there.
  std::function<Metadata()> prepare;
};

void PrintTo(const StoreCase& c, std::ostream* os) { *os << c.name; }

std::vector<StoreCase> cases() {
  return {
      {"local_file", "secretstores.local.file",
       [] {
         std::string json = "{";
         for (const auto& [name, value] : seed()) {
           json += (json.size() > 1 ? "," : "") + quote(name) + ":" + quote(value);
         }
         return Metadata{{"secretsFile", writeFile("seed.json", json + "}")}};
       }},
      // A prefix of this process only: the suite sees exactly its own variables, whatever else
      // the environment holds.
      {"local_env", "secretstores.local.env",
       [] {
         std::string prefix = "OUTRIGGER_CONFORMANCE_" + std::to_string(::getpid()) + "_";
         for (const auto& [name, value] : seed())
           ::setenv((prefix + name).c_str(), value.c_str(), 1);
         return Metadata{{"prefix", prefix}};
       }},
  };
}

class SecretStoreConformance : public ::testing::TestWithParam<StoreCase> {
 protected:
  void SetUp() override {
    auto store = openStore(GetParam().type, GetParam().prepare());
    ASSERT_TRUE(store.ok()) << store.status().toString();
    store_ = std::move(*store);
  }
  void TearDown() override {
    if (store_) store_->close();
  }

  Secret get(const std::string& name) {
    auto r = store_->get(name, {});
    EXPECT_TRUE(r.ok()) << name << ": " << r.status().toString();
    return r.ok() ? *r : Secret{};
  }

  std::unique_ptr<SecretStore> store_;
};

TEST_P(SecretStoreConformance, GetReturnsTheSecretUnderItsOwnName) {
  EXPECT_EQ(get("ALPHA"), (Secret{{"ALPHA", "one"}}));
  EXPECT_EQ(get("BETA"), (Secret{{"BETA", "two words = and more"}}));
}

TEST_P(SecretStoreConformance, ValuesComeBackByteForByte) {
  for (const char* name : {"UNICODE", "MULTILINE"}) {
    EXPECT_EQ(get(name), (Secret{{name, seed().at(name)}})) << name;
  }
}

TEST_P(SecretStoreConformance, AnEmptyValueIsASecretNotAMissingOne) {
  EXPECT_EQ(get("EMPTY"), (Secret{{"EMPTY", ""}}));
}

TEST_P(SecretStoreConformance, GetOfAMissingSecretIsNotFound) {
  for (const char* name : {"MISSING", "alpha", "ALPHA_", ""}) {
    auto r = store_->get(name, {});
    ASSERT_FALSE(r.ok()) << "'" << name << "' was found: " << ::testing::PrintToString(*r);
    EXPECT_EQ(r.status().code(), StatusCode::kNotFound) << name << ": " << r.status().toString();
  }
}

// The whole name is looked up: a store that hands it to a C interface (getenv) must not read
// "ALPHA\0x" as ALPHA, nor "BETA=two words " as a tail of BETA's value; scopes check whole names.
TEST_P(SecretStoreConformance, ANameIsMatchedWholeNotAsACString) {
  for (const std::string& name :
       {std::string("ALPHA\0", 6), std::string("ALPHA\0x", 7), std::string("BETA=two words ")}) {
    auto r = store_->get(name, {});
    EXPECT_FALSE(r.ok()) << ::testing::PrintToString(name)
                         << " was found: " << ::testing::PrintToString(*r);
  }
}

TEST_P(SecretStoreConformance, BulkReturnsEverySecretAndNothingElse) {
  auto bulk = store_->bulkGet({});
  ASSERT_TRUE(bulk.ok()) << bulk.status().toString();
  Bulk expected;
  for (const auto& [name, value] : seed()) expected[name] = Secret{{name, value}};
  EXPECT_EQ(*bulk, expected);
}

TEST_P(SecretStoreConformance, BulkAgreesWithGet) {
  auto bulk = store_->bulkGet({});
  ASSERT_TRUE(bulk.ok()) << bulk.status().toString();
  ASSERT_FALSE(bulk->empty());
  for (const auto& [name, secret] : *bulk) EXPECT_EQ(get(name), secret) << name;
}

TEST_P(SecretStoreConformance, RequestMetadataIsAccepted) {
  auto r = store_->get("ALPHA", {{"version_id", "1"}, {"unknown", "x"}});
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(*r, (Secret{{"ALPHA", "one"}}));
  EXPECT_TRUE(store_->bulkGet({{"unknown", "x"}}).ok());
}

TEST_P(SecretStoreConformance, NameValueStoresDoNotClaimMultipleKeys) {
  EXPECT_THAT(store_->features(), Not(Contains(kMultiValued)));
}

// Components are called from several API threads at once.
TEST_P(SecretStoreConformance, ConcurrentReadersAllSeeTheSameSecrets) {
  constexpr int kThreads = 8;
  constexpr int kRounds = 200;
  std::atomic<int> wrong{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      for (int i = 0; i < kRounds; ++i) {
        if ((i + t) % 10 == 0) {
          auto bulk = store_->bulkGet({});
          if (!bulk.ok() || bulk->size() != seed().size()) ++wrong;
          continue;
        }
        auto a = store_->get("ALPHA", {});
        if (!a.ok() || *a != Secret{{"ALPHA", "one"}}) ++wrong;
        auto m = store_->get("MISSING", {});
        if (m.ok() || m.status().code() != StatusCode::kNotFound) ++wrong;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(wrong.load(), 0);
}

INSTANTIATE_TEST_SUITE_P(AllStores, SecretStoreConformance, ::testing::ValuesIn(cases()),
                         [](const auto& info) { return info.param.name; });

// ---- secretstores.local.file ----

StatusOr<std::unique_ptr<SecretStore>> fileStore(const std::string& json, Metadata extra = {}) {
  extra["secretsFile"] = writeFile("store.json", json);
  return openStore("secretstores.local.file", extra);
}

Bulk bulkOf(SecretStore& store) {
  auto bulk = store.bulkGet({});
  EXPECT_TRUE(bulk.ok()) << bulk.status().toString();
  return bulk.ok() ? *bulk : Bulk{};
}

TEST(LocalFileSecretStore, NestedObjectsBecomeSecretsNamedByTheirPath) {
  auto store = fileStore(R"({"a": {"b": "x", "c": {"d": "y"}}, "top": "z"})");
  ASSERT_TRUE(store.ok()) << store.status().toString();
  EXPECT_EQ(bulkOf(**store),
            (Bulk{{"a:b", {{"a:b", "x"}}}, {"a:c:d", {{"a:c:d", "y"}}}, {"top", {{"top", "z"}}}}));
  auto inner = (*store)->get("a:c:d", {});
  ASSERT_TRUE(inner.ok());
  EXPECT_EQ(*inner, (Secret{{"a:c:d", "y"}}));
  // An object is not itself a secret.
  EXPECT_EQ((*store)->get("a", {}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ((*store)->get("a:c", {}).status().code(), StatusCode::kNotFound);
}

TEST(LocalFileSecretStore, NestedSeparatorIsConfigurable) {
  auto store = fileStore(R"({"db": {"password": "x"}})", {{"nestedSeparator", "__"}});
  ASSERT_TRUE(store.ok()) << store.status().toString();
  EXPECT_EQ(bulkOf(**store), (Bulk{{"db__password", {{"db__password", "x"}}}}));
  EXPECT_EQ((*store)->get("db:password", {}).status().code(), StatusCode::kNotFound);
}

TEST(LocalFileSecretStore, ArrayElementsAreNamedByTheirIndex) {
  auto store = fileStore(R"({"hosts": ["a", {"name": "b"}]})");
  ASSERT_TRUE(store.ok()) << store.status().toString();
  EXPECT_EQ(bulkOf(**store),
            (Bulk{{"hosts:0", {{"hosts:0", "a"}}}, {"hosts:1:name", {{"hosts:1:name", "b"}}}}));
}

TEST(LocalFileSecretStore, NumbersBooleansAndNullBecomeText) {
  auto store = fileStore(
      R"({"port": 5432, "ratio": 1.50, "big": 12345678901234567890, "neg": -3e2,
          "on": true, "off": false, "none": null})");
  ASSERT_TRUE(store.ok()) << store.status().toString();
  std::map<std::string, std::string> values;
  for (const auto& [name, secret] : bulkOf(**store)) values[name] = secret.at(name);
  EXPECT_EQ(values, (std::map<std::string, std::string>{{"port", "5432"},
                                                        {"ratio", "1.50"},
                                                        {"big", "12345678901234567890"},
                                                        {"neg", "-3e2"},
                                                        {"on", "true"},
                                                        {"off", "false"},
                                                        {"none", ""}}));
}

TEST(LocalFileSecretStore, MultiValuedSecretsHoldTheirChildrenAsKeys) {
  auto store = fileStore(R"({
      "db": {"user": "u", "password": "p", "tls": {"ca": "c", "pins": ["k1", "k2"]}},
      "plain": "v",
      "port": 6379,
      "list": ["x", "y"]})",
                         {{"multiValued", "true"}});
  ASSERT_TRUE(store.ok()) << store.status().toString();
  EXPECT_THAT((*store)->features(), Contains(kMultiValued));
  Secret db{{"user", "u"},
            {"password", "p"},
            {"tls:ca", "c"},
            {"tls:pins:0", "k1"},
            {"tls:pins:1", "k2"}};
  auto got = (*store)->get("db", {});
  ASSERT_TRUE(got.ok()) << got.status().toString();
  EXPECT_EQ(*got, db);
  EXPECT_EQ(bulkOf(**store), (Bulk{{"db", db},
                                   {"plain", {{"plain", "v"}}},
                                   {"port", {{"port", "6379"}}},
                                   {"list", {{"0", "x"}, {"1", "y"}}}}));
  // Flattened names are keys inside a secret, not secrets of their own.
  EXPECT_EQ((*store)->get("db:user", {}).status().code(), StatusCode::kNotFound);
}

TEST(LocalFileSecretStore, MultiValuedUsesTheSeparatorBelowTheFirstLevel) {
  auto store = fileStore(R"({"db": {"tls": {"ca": "c"}}})",
                         {{"multiValued", "true"}, {"nestedSeparator", "."}});
  ASSERT_TRUE(store.ok()) << store.status().toString();
  EXPECT_EQ(bulkOf(**store), (Bulk{{"db", {{"tls.ca", "c"}}}}));
}

TEST(LocalFileSecretStore, RelativePathsAreTakenFromTheWorkingDirectory) {
  writeFile("relative.json", R"({"rel": "ok"})");
  auto cwd = std::filesystem::current_path();
  std::filesystem::current_path(tempDir());
  auto store = openStore("secretstores.local.file", {{"secretsFile", "relative.json"}});
  std::filesystem::current_path(cwd);
  ASSERT_TRUE(store.ok()) << store.status().toString();
  EXPECT_EQ(bulkOf(**store), (Bulk{{"rel", {{"rel", "ok"}}}}));
}

TEST(LocalFileSecretStore, TheFileIsReadOnceAtInit) {
  std::string path = writeFile("once.json", R"({"k": "before"})");
  auto store = openStore("secretstores.local.file", {{"secretsFile", path}});
  ASSERT_TRUE(store.ok()) << store.status().toString();
  writeFile("once.json", R"({"k": "after"})");
  auto got = (*store)->get("k", {});
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->at("k"), "before");
}

// A bad file stops the component with a message naming the file and what is wrong with it.
void expectInitFails(const Metadata& raw, const std::vector<std::string>& mentions) {
  auto store = openStore("secretstores.local.file", raw);
  ASSERT_FALSE(store.ok()) << "accepted " << ::testing::PrintToString(raw);
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument) << store.status().toString();
  for (const auto& m : mentions) EXPECT_THAT(store.status().message(), HasSubstr(m));
}

TEST(LocalFileSecretStore, InitFailsOnAMissingFile) {
  std::string path = tempDir() + "/no-such-file.json";
  expectInitFails({{"secretsFile", path}}, {"secretsFile", path, "No such file"});
}

TEST(LocalFileSecretStore, InitFailsOnADirectory) {
  expectInitFails({{"secretsFile", tempDir()}}, {"secretsFile", tempDir(), "directory"});
}

TEST(LocalFileSecretStore, InitFailsOnMalformedJson) {
  std::string path = writeFile("malformed.json", R"({"a": "b",)");
  expectInitFails({{"secretsFile", path}}, {"secretsFile", path, "not valid JSON", "offset"});
  path = writeFile("empty.json", "");
  expectInitFails({{"secretsFile", path}}, {"secretsFile", path, "not valid JSON"});
}

TEST(LocalFileSecretStore, InitFailsWhenTheTopLevelIsNotAnObject) {
  for (const char* text : {R"(["a"])", R"("a")", "42"}) {
    std::string path = writeFile("not-object.json", text);
    expectInitFails({{"secretsFile", path}}, {"secretsFile", path, "object"});
  }
}

TEST(LocalFileSecretStore, InitFailsWhenTwoSecretsFlattenToOneName) {
  std::string path = writeFile("twice.json", R"({"a:b": "1", "a": {"b": "2"}})");
  expectInitFails({{"secretsFile", path}}, {path, "'a:b'", "twice"});
  path = writeFile("twice-multi.json", R"({"s": {"a.b": "1", "a": {"b": "2"}}})");
  expectInitFails({{"secretsFile", path}, {"multiValued", "true"}, {"nestedSeparator", "."}},
                  {path, "'s'", "'a.b'"});
}

// The runtime checks metadata before init: the message names the field.
void expectValidateFails(const std::string& type, const Metadata& raw, const std::string& field) {
  auto store = openStore(type, raw);
  ASSERT_FALSE(store.ok()) << type << " accepted " << ::testing::PrintToString(raw);
  EXPECT_EQ(store.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(store.status().message(), HasSubstr(field));
}

TEST(LocalFileSecretStore, ValidateFailsWithoutSecretsFileOrWithABadMultiValued) {
  expectValidateFails("secretstores.local.file", {}, "secretsFile");
  expectValidateFails("secretstores.local.file", {{"secretsFile", ""}}, "secretsFile");
  expectValidateFails("secretstores.local.file",
                      {{"secretsFile", writeFile("ok.json", "{}")}, {"multiValued", "maybe"}},
                      "multiValued");
}

// ---- secretstores.local.env ----

class LocalEnvSecretStore : public ::testing::Test {
 protected:
  void SetUp() override {
    static std::atomic<int> counter{0};
    prefix_ =
        "OUTRIGGER_ENVTEST_" + std::to_string(::getpid()) + "_" + std::to_string(counter++) + "_";
  }
  void TearDown() override {
    for (const auto& name : set_) ::unsetenv(name.c_str());
  }
  void set(const std::string& name, const std::string& value) {
    ::setenv(name.c_str(), value.c_str(), 1);
    set_.push_back(name);
  }
  std::unique_ptr<SecretStore> open(Metadata raw = {}) {
    auto store = openStore("secretstores.local.env", raw);
    EXPECT_TRUE(store.ok()) << store.status().toString();
    return store.ok() ? std::move(*store) : nullptr;
  }
  std::string prefix_;
  std::vector<std::string> set_;
};

TEST_F(LocalEnvSecretStore, WithoutAPrefixEveryVariableIsASecret) {
  set(prefix_ + "X", "1");
  auto store = open();
  ASSERT_TRUE(store);
  auto got = store->get(prefix_ + "X", {});
  ASSERT_TRUE(got.ok()) << got.status().toString();
  EXPECT_EQ(*got, (Secret{{prefix_ + "X", "1"}}));
  auto bulk = bulkOf(*store);
  EXPECT_EQ(bulk[prefix_ + "X"], (Secret{{prefix_ + "X", "1"}}));
  ASSERT_NE(std::getenv("PATH"), nullptr);
  EXPECT_EQ(bulk["PATH"], (Secret{{"PATH", std::getenv("PATH")}}));
}

TEST_F(LocalEnvSecretStore, APrefixSelectsVariablesAndIsStrippedFromNames) {
  set(prefix_ + "DB", "secret");
  set("OTHER_" + prefix_ + "DB", "not this");
  set(prefix_, "named exactly the prefix");
  auto store = open({{"prefix", prefix_}});
  ASSERT_TRUE(store);
  auto got = store->get("DB", {});
  ASSERT_TRUE(got.ok()) << got.status().toString();
  EXPECT_EQ(*got, (Secret{{"DB", "secret"}}));
  // Names are not looked up without the prefix, and the prefix is not part of a name.
  EXPECT_EQ(store->get("PATH", {}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(store->get(prefix_ + "DB", {}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(bulkOf(*store), (Bulk{{"DB", {{"DB", "secret"}}}}));
}

TEST_F(LocalEnvSecretStore, ThePrefixIsCaseSensitive) {
  set(prefix_ + "DB", "secret");
  std::string lower = prefix_;
  for (char& c : lower) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  auto store = open({{"prefix", lower}});
  ASSERT_TRUE(store);
  EXPECT_EQ(store->get("DB", {}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(bulkOf(*store), Bulk{});
}

TEST_F(LocalEnvSecretStore, RuntimeVariablesAreNeverServed) {
  for (const std::string& name :
       std::vector<std::string>{"DAPR_API_TOKEN", "APP_API_TOKEN", "DAPR_HTTP_PORT",
                                "dapr_lower_" + prefix_, "App_Api_Token"}) {
    set(name, "hidden");
  }
  auto store = open();
  ASSERT_TRUE(store);
  auto bulk = bulkOf(*store);
  for (const auto& name : set_) {
    EXPECT_EQ(store->get(name, {}).status().code(), StatusCode::kNotFound) << name;
    EXPECT_THAT(bulk, Not(Contains(Key(name)))) << name;
  }
}

TEST_F(LocalEnvSecretStore, ThePrefixDoesNotUnhideRuntimeVariables) {
  set("DAPR_" + prefix_ + "X", "hidden");
  set("APP_API_TOKEN", "hidden");
  auto dapr = open({{"prefix", "DAPR_"}});
  ASSERT_TRUE(dapr);
  EXPECT_EQ(dapr->get(prefix_ + "X", {}).status().code(), StatusCode::kNotFound);
  EXPECT_EQ(bulkOf(*dapr), Bulk{});
  auto app = open({{"prefix", "APP_"}});
  ASSERT_TRUE(app);
  EXPECT_EQ(app->get("API_TOKEN", {}).status().code(), StatusCode::kNotFound);
  EXPECT_THAT(bulkOf(*app), Not(Contains(Key("API_TOKEN"))));
}

TEST_F(LocalEnvSecretStore, AnUnsetVariableIsNotFoundAndAnEmptyOneIsEmpty) {
  set(prefix_ + "EMPTY", "");
  auto store = open({{"prefix", prefix_}});
  ASSERT_TRUE(store);
  EXPECT_EQ(store->get("UNSET", {}).status().code(), StatusCode::kNotFound);
  auto empty = store->get("EMPTY", {});
  ASSERT_TRUE(empty.ok()) << empty.status().toString();
  EXPECT_EQ(*empty, (Secret{{"EMPTY", ""}}));
}

TEST_F(LocalEnvSecretStore, TheEnvironmentIsReadOnEveryCall) {
  auto store = open({{"prefix", prefix_}});
  ASSERT_TRUE(store);
  EXPECT_EQ(store->get("LATE", {}).status().code(), StatusCode::kNotFound);
  set(prefix_ + "LATE", "now");
  auto got = store->get("LATE", {});
  ASSERT_TRUE(got.ok()) << got.status().toString();
  EXPECT_EQ(got->at("LATE"), "now");
}

// ---- Both: registration and metadata.yaml ----

TEST(SecretStoreRegistration, BothStoresAreNonBlockingAndDocumented) {
  for (const auto& [type, folder] : std::map<std::string, std::string>{
           {"secretstores.local.file", "local_file"}, {"secretstores.local.env", "local_env"}}) {
    SCOPED_TRACE(type);
    auto& registry = runtime::builtinRegistry();
    auto factory = registry.secretstores.find(type, "v1");
    ASSERT_TRUE(factory.ok()) << factory.status().toString();
    EXPECT_FALSE((*factory)->blocking);

    std::string path = std::string(OUTRIGGER_SOURCE_DIR) + "/sidecar/components/secretstores/" +
                       folder + "/metadata.yaml";
    YAML::Node doc;
    ASSERT_NO_THROW(doc = YAML::LoadFile(path)) << path;
    EXPECT_EQ(doc["type"].as<std::string>() + "." + doc["name"].as<std::string>(), type);
    EXPECT_EQ(doc["version"].as<std::string>(), "v1");
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
      EXPECT_FALSE(it->second["description"].as<std::string>("").empty()) << field.name;
      if (field.default_value) {
        EXPECT_EQ(it->second["default"].as<std::string>(""), *field.default_value) << field.name;
      } else {
        EXPECT_FALSE(it->second["default"]) << field.name;
      }
    }
  }
}

}  // namespace
}  // namespace outrigger::sidecar::components::secretstores
