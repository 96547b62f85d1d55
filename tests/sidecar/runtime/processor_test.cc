// Turning specs into live components: unknown types, metadata errors naming file, component and
// field, ignoreErrors, envRef and secretKeyRef through a fake secret store.

#include "sidecar/runtime/processor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cstdlib>
#include <future>
#include <thread>

namespace outrigger::sidecar::runtime {
namespace {

namespace state = components::state;
namespace secretstores = components::secretstores;

class FakeStore : public state::Store {
 public:
  Status init(const Properties& p) override {
    if (p.getBool("failInit")) return unavailableError("backend down");
    return okStatus();
  }
  std::vector<std::string> features() const override { return {state::kFeatureETag}; }
  StatusOr<state::GetResponse> get(const state::GetRequest&) override {
    return state::GetResponse{};
  }
  Status set(const state::SetRequest&) override { return okStatus(); }
  Status del(const state::DeleteRequest&) override { return okStatus(); }
};

// init waits until the test lets it go: a backend that hangs.
class HangingStore : public FakeStore {
 public:
  static std::shared_future<void> release;
  static std::atomic<int> alive;
  HangingStore() { ++alive; }
  ~HangingStore() override { --alive; }
  Status init(const Properties&) override {
    release.wait();
    return okStatus();
  }
};
std::shared_future<void> HangingStore::release;
std::atomic<int> HangingStore::alive{0};

class FakeSecretStore : public secretstores::SecretStore {
 public:
  Status init(const Properties&) override { return okStatus(); }
  StatusOr<secretstores::Secret> get(const std::string& name,
                                     const std::map<std::string, std::string>&) override {
    if (name == "db") return secretstores::Secret{{"password", "p4ss"}, {"db", "whole"}};
    return notFoundError("secret " + name + " not found");
  }
  StatusOr<std::map<std::string, secretstores::Secret>> bulkGet(
      const std::map<std::string, std::string>&) override {
    return std::map<std::string, secretstores::Secret>{};
  }
};

class ProcessorTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ComponentFactory<state::Store> fake;
    fake.type = "state.fake";
    fake.blocking = false;
    MetadataField host;
    host.name = "host";
    host.required = true;
    MetadataField port;
    port.name = "port";
    port.type = FieldType::kInt;
    port.default_value = "6379";
    fake.fields = {host, port};
    fake.create = [] { return std::make_unique<FakeStore>(); };
    ASSERT_TRUE(registry_.state.add(fake).ok());
    ComponentFactory<state::Store> hanging = fake;
    hanging.type = "state.hanging";
    hanging.fields = {};
    hanging.create = [] { return std::make_unique<HangingStore>(); };
    ASSERT_TRUE(registry_.state.add(hanging).ok());
    ComponentFactory<secretstores::SecretStore> secrets;
    secrets.type = "secretstores.fake";
    secrets.blocking = false;
    secrets.create = [] { return std::make_unique<FakeSecretStore>(); };
    ASSERT_TRUE(registry_.secretstores.add(secrets).ok());
  }

  static ComponentSpec spec(const std::string& name, const std::string& type,
                            std::vector<MetadataItem> metadata = {}) {
    ComponentSpec s;
    s.source = "/res/components.yaml";
    s.name = name;
    s.type = type;
    s.version = "v1";
    s.metadata = std::move(metadata);
    return s;
  }
  static MetadataItem value(const std::string& name, const std::string& v) {
    MetadataItem m;
    m.name = name;
    m.value = v;
    return m;
  }
  static MetadataItem secretRef(const std::string& name, const std::string& secret,
                                const std::string& key) {
    MetadataItem m;
    m.name = name;
    m.secret_name = secret;
    m.secret_key = key;
    return m;
  }
  static MetadataItem envRef(const std::string& name, const std::string& var) {
    MetadataItem m;
    m.name = name;
    m.env_ref = var;
    return m;
  }

  // The status is an error whose message holds every needle.
  static void expectError(const Status& st, const std::vector<std::string>& needles) {
    ASSERT_FALSE(st.ok());
    for (const auto& n : needles) {
      EXPECT_NE(st.message().find(n), std::string::npos)
          << "'" << n << "' not in: " << st.message();
    }
  }

  Registry registry_;
  CompStore store_;
  Processor processor_{registry_, store_, ProcessorOptions{"app1", "", 1, 16, nullptr}};
};

TEST_F(ProcessorTest, LoadsAComponentWithValidatedMetadata) {
  ASSERT_TRUE(processor_.initOne(spec("db", "state.fake", {value("host", "h1")})).ok());
  auto inst = store_.state.get("db");
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(inst->properties.get("host"), "h1");
  EXPECT_EQ(inst->properties.getInt("port"), 6379);  // the default
  EXPECT_EQ(inst->key_prefix, "appid");
  EXPECT_EQ(inst->capabilities, std::vector<std::string>{"ETAG"});
  EXPECT_EQ(inst->executor, nullptr);  // not blocking: runs inline
}

TEST_F(ProcessorTest, UnknownTypeNamesFileComponentAndField) {
  Status st = processor_.initOne(spec("db", "state.nope"));
  expectError(st, {"/res/components.yaml", "component 'db'", "spec.type", "state.nope"});
  EXPECT_EQ(store_.state.get("db"), nullptr);
}

TEST_F(ProcessorTest, UnknownVersionIsAnError) {
  ComponentSpec s = spec("db", "state.fake", {value("host", "h")});
  s.version = "v9";
  expectError(processor_.initOne(s), {"component 'db'", "state.fake/v9"});
}

TEST_F(ProcessorTest, MissingRequiredMetadataNamesFileComponentAndField) {
  Status st = processor_.initOne(spec("db", "state.fake"));
  EXPECT_EQ(st.code(), StatusCode::kInvalidArgument);
  expectError(st, {"/res/components.yaml", "component 'db'", "'host'", "required"});
  st = processor_.initOne(spec("db", "state.fake", {value("host", "h"), value("port", "http")}));
  expectError(st, {"/res/components.yaml", "component 'db'", "'port'", "http"});
}

TEST_F(ProcessorTest, InitFailureIsReported) {
  Status st =
      processor_.initOne(spec("db", "state.fake", {value("host", "h"), value("failInit", "1")}));
  expectError(st, {"component 'db'", "init failed", "backend down"});
}

TEST_F(ProcessorTest, InitTimeoutBoundsAHangingBackend) {
  std::promise<void> release;
  HangingStore::release = release.get_future().share();
  ComponentSpec s = spec("slow", "state.hanging");
  s.init_timeout_ms = 50;
  Status st = processor_.initOne(s);
  release.set_value();  // lets the detached init thread finish
  // ...and waits for it, so it does not outlive the test's statics.
  for (int i = 0; i < 500 && HangingStore::alive > 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  EXPECT_EQ(HangingStore::alive, 0);
  EXPECT_EQ(st.code(), StatusCode::kDeadlineExceeded) << st.message();
  expectError(st, {"component 'slow'", "init"});
  EXPECT_EQ(store_.state.get("slow"), nullptr);
}

TEST_F(ProcessorTest, IgnoreErrorsSkipsTheBadComponentOnly) {
  ComponentSpec bad = spec("bad", "state.fake");  // host missing
  bad.ignore_errors = true;
  ComponentSpec good = spec("good", "state.fake", {value("host", "h")});
  ASSERT_TRUE(processor_.initAll({bad, good}).ok());
  EXPECT_NE(store_.state.get("good"), nullptr);
  EXPECT_EQ(store_.state.get("bad"), nullptr);
  EXPECT_EQ(processor_.failed(), std::vector<std::string>{"bad"});
  ASSERT_EQ(store_.errors.count("bad"), 1u);
  EXPECT_NE(store_.errors["bad"].find("'host'"), std::string::npos);

  bad.ignore_errors = false;
  CompStore other;
  Processor strict(registry_, other, ProcessorOptions{"app1", "", 1, 16, nullptr});
  expectError(strict.initAll({good, bad}), {"component 'bad'", "'host'"});
}

TEST_F(ProcessorTest, EnvRefReadsTheEnvironmentWhenNoValueIsGiven) {
  ::setenv("OUTRIGGER_TEST_HOST", "from-env", 1);
  ASSERT_TRUE(
      processor_.initOne(spec("db", "state.fake", {envRef("host", "OUTRIGGER_TEST_HOST")})).ok());
  EXPECT_EQ(store_.state.get("db")->properties.get("host"), "from-env");
  MetadataItem both = envRef("host", "OUTRIGGER_TEST_HOST");
  both.value = "literal";  // a value wins over envRef
  ASSERT_TRUE(processor_.initOne(spec("db2", "state.fake", {both})).ok());
  EXPECT_EQ(store_.state.get("db2")->properties.get("host"), "literal");
  ::unsetenv("OUTRIGGER_TEST_HOST");
  // The sidecar's own secrets are never handed to components.
  ::setenv("DAPR_API_TOKEN", "secret", 1);
  Status st = processor_.initOne(spec("db3", "state.fake", {envRef("host", "DAPR_API_TOKEN")}));
  ::unsetenv("DAPR_API_TOKEN");
  expectError(st, {"component 'db3'", "'host'", "DAPR_API_TOKEN"});
}

TEST_F(ProcessorTest, SecretKeyRefResolvesThroughTheNamedSecretStore) {
  ComponentSpec db = spec("db", "state.fake",
                          {value("host", "h"), secretRef("password", "db", "password"),
                           secretRef("whole", "db", "db")});
  db.secret_store = "vault";
  // The secret store is listed last: initAll loads secret stores first.
  ASSERT_TRUE(processor_.initAll({db, spec("vault", "secretstores.fake")}).ok());
  auto inst = store_.state.get("db");
  ASSERT_NE(inst, nullptr);
  EXPECT_EQ(inst->properties.get("password"), "p4ss");
  EXPECT_EQ(inst->properties.get("whole"), "whole");
}

TEST_F(ProcessorTest, SecretKeyRefErrorsNameTheField) {
  ASSERT_TRUE(processor_.initOne(spec("vault", "secretstores.fake")).ok());
  ComponentSpec s = spec("db", "state.fake", {value("host", "h"), secretRef("pw", "db", "nokey")});
  s.secret_store = "vault";
  expectError(processor_.initOne(s), {"component 'db'", "'pw'", "nokey"});
  s.metadata[1] = secretRef("pw", "missing", "missing");
  expectError(processor_.initOne(s), {"component 'db'", "'pw'", "missing"});
  s.secret_store = "nostore";
  expectError(processor_.initOne(s), {"component 'db'", "'pw'", "nostore"});
  s.secret_store = "";
  expectError(processor_.initOne(s), {"component 'db'", "'pw'", "auth.secretStore"});
  EXPECT_EQ(store_.state.get("db"), nullptr);
}

TEST_F(ProcessorTest, KeyPrefixMayNotHoldTheSeparator) {
  expectError(processor_.initOne(
                  spec("db", "state.fake", {value("host", "h"), value("keyPrefix", "a||b")})),
              {"component 'db'", "keyPrefix", "||"});
  ASSERT_TRUE(
      processor_.initOne(spec("db", "state.fake", {value("host", "h"), value("keyPrefix", "name")}))
          .ok());
  EXPECT_EQ(store_.state.get("db")->key_prefix, "name");
}

TEST_F(ProcessorTest, KeyPrefixFormsAreChecked) {
  for (const char* bad : {"", "my prefix", "{appid}", "tab\there"}) {
    expectError(
        processor_.initOne(spec("db", "state.fake", {value("host", "h"), value("keyPrefix", bad)})),
        {"component 'db'", "metadata field 'keyPrefix'", std::string("'") + bad + "'"});
    EXPECT_EQ(store_.state.get("db"), nullptr) << bad;
  }
  // The strategies ignore case, and a literal is lowercased, as daprd does.
  for (auto [given, kept] :
       {std::pair{"AppID", "appid"}, std::pair{"NAME", "name"}, std::pair{"Namespace", "namespace"},
        std::pair{"None", "none"}, std::pair{"Team-42.orders", "team-42.orders"},
        std::pair{"caf\xc3\xa9", "caf\xc3\xa9"}}) {
    ASSERT_TRUE(
        processor_
            .initOne(spec("db", "state.fake", {value("host", "h"), value("keyPrefix", given)}))
            .ok())
        << given;
    EXPECT_EQ(store_.state.get("db")->key_prefix, kept);
  }
  // Case-insensitive field name, as Dapr reads it.
  expectError(
      processor_.initOne(spec("db", "state.fake", {value("host", "h"), value("KEYPREFIX", "a b")})),
      {"component 'db'", "keyPrefix", "'a b'"});
}

TEST_F(ProcessorTest, ActorStateStoreMustBeABoolean) {
  for (const char* bad : {"maybe", "", "2", "yes please"}) {
    expectError(
        processor_.initOne(
            spec("db", "state.fake", {value("host", "h"), value("actorStateStore", bad)})),
        {"component 'db'", "metadata field 'actorStateStore'", std::string("'") + bad + "'"});
    EXPECT_EQ(store_.state.get("db"), nullptr) << bad;
  }
  ASSERT_TRUE(
      processor_
          .initOne(spec("db", "state.fake", {value("host", "h"), value("actorStateStore", "true")}))
          .ok());
  auto caps = store_.state.get("db")->capabilities;
  EXPECT_NE(std::find(caps.begin(), caps.end(), "ACTOR"), caps.end());
  ASSERT_TRUE(processor_
                  .initOne(spec("db", "state.fake",
                                {value("host", "h"), value("actorStateStore", "false")}))
                  .ok());
  caps = store_.state.get("db")->capabilities;
  EXPECT_EQ(std::find(caps.begin(), caps.end(), "ACTOR"), caps.end());
}

TEST_F(ProcessorTest, ReloadReplacesAndRemoveDrops) {
  ASSERT_TRUE(processor_.initOne(spec("db", "state.fake", {value("host", "h1")})).ok());
  ASSERT_TRUE(processor_.initOne(spec("db", "state.fake", {value("host", "h2")})).ok());
  EXPECT_EQ(store_.state.size(), 1u);
  EXPECT_EQ(store_.state.get("db")->properties.get("host"), "h2");
  EXPECT_TRUE(processor_.remove("db"));
  EXPECT_FALSE(processor_.remove("db"));
  EXPECT_EQ(store_.state.size(), 0u);
}

}  // namespace
}  // namespace outrigger::sidecar::runtime
