// Reading --resources-path directories: documents, kinds, scopes, namespaces, and errors that
// name the file and the field.

#include "sidecar/runtime/resources.h"

#include <gtest/gtest.h>
#include <unistd.h>

#include <filesystem>
#include <fstream>

namespace outrigger::sidecar::runtime {
namespace {

namespace fs = std::filesystem;

class ResourcesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "outrigger-resources-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
  }
  void TearDown() override {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  void write(const std::string& name, const std::string& text) {
    fs::create_directories((fs::path(dir_) / name).parent_path());
    std::ofstream(fs::path(dir_) / name) << text;
  }
  StatusOr<Resources> load(const std::string& app_id = "app1", const std::string& ns = "") {
    return loadResources({dir_}, app_id, ns);
  }
  // Loading fails with InvalidArgument and a message holding every needle.
  void expectError(const std::vector<std::string>& needles) {
    auto r = load();
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
    for (const auto& n : needles) {
      EXPECT_NE(r.status().message().find(n), std::string::npos)
          << "'" << n << "' not in: " << r.status().message();
    }
  }
  std::string dir_;
};

std::string component(const std::string& name, const std::string& extra = "",
                      const std::string& type = "state.in-memory") {
  return "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: " + name +
         "\nspec:\n  type: " + type + "\n  version: v1\n  metadata: []\n" + extra;
}

TEST_F(ResourcesTest, MultiDocumentFilesYieldEveryComponent) {
  write("all.yaml", component("one") + "---\n" + component("two") + "---\n");
  auto r = load();
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->components.size(), 2u);
  EXPECT_EQ(r->components[0].name, "one");
  EXPECT_EQ(r->components[1].name, "two");
  EXPECT_NE(r->components[1].source.find("all.yaml (document 2)"), std::string::npos)
      << r->components[1].source;
}

TEST_F(ResourcesTest, OnlyYamlFilesOfTheDirectoryItselfAreRead) {
  write("a.yml", component("yml"));
  write("b.yaml", component("yaml"));
  write("notes.txt", "not: [yaml");
  write("nested/c.yaml", component("nested"));
  auto r = load();
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->components.size(), 2u);
  EXPECT_EQ(r->components[0].name, "yml");
  EXPECT_EQ(r->components[1].name, "yaml");
}

TEST_F(ResourcesTest, OtherKindsAreSkippedOrKept) {
  write("mixed.yaml",
        "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: cm}\n---\n"
        "apiVersion: dapr.io/v1alpha1\nkind: Mystery\nmetadata: {name: m}\n---\n"
        "apiVersion: dapr.io/v2alpha1\nkind: Subscription\nmetadata: {name: sub}\n"
        "spec: {pubsubname: p, topic: t}\n---\n"
        "apiVersion: dapr.io/v1alpha1\nkind: Resiliency\nmetadata: {name: res}\nspec: {}\n---\n" +
            component("store"));
  auto r = load();
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->components.size(), 1u);
  EXPECT_EQ(r->components[0].name, "store");
  ASSERT_EQ(r->others.size(), 2u);
  EXPECT_EQ(r->others[0].kind, "Subscription");
  EXPECT_EQ(r->others[0].name, "sub");
  EXPECT_EQ(r->others[1].kind, "Resiliency");
}

TEST_F(ResourcesTest, ScopesLeaveOutOtherApps) {
  write("s.yaml", component("mine", "scopes: [app1, app2]\n") + "---\n" +
                      component("theirs", "scopes: [app3]\n") + "---\n" + component("everyone"));
  auto r = load("app1");
  ASSERT_TRUE(r.ok()) << r.status().message();
  std::vector<std::string> names;
  for (const auto& c : r->components) names.push_back(c.name);
  EXPECT_EQ(names, (std::vector<std::string>{"mine", "everyone"}));
  r = load("app3");
  ASSERT_TRUE(r.ok());
  ASSERT_EQ(r->components.size(), 2u);
  EXPECT_EQ(r->components[0].name, "theirs");
}

TEST_F(ResourcesTest, NamespacesFilterOnlyWhenOneIsGiven) {
  auto in = [](const std::string& name, const std::string& ns) {
    return "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: " + name +
           ", namespace: " + ns + "}\nspec: {type: state.in-memory, version: v1}\n";
  };
  write("n.yaml",
        in("prod-store", "prod") + "---\n" + in("dev-store", "dev") + "---\n" + component("plain"));
  auto r = load("app1", "prod");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->components.size(), 2u);
  EXPECT_EQ(r->components[0].name, "prod-store");
  EXPECT_EQ(r->components[0].namespace_name, "prod");
  EXPECT_EQ(r->components[1].name, "plain");
  r = load("app1", "");
  ASSERT_TRUE(r.ok());
  EXPECT_EQ(r->components.size(), 3u);
}

TEST_F(ResourcesTest, DuplicateNamesAreAnError) {
  write("a.yaml", component("same"));
  write("b.yaml", component("same"));
  expectError({"b.yaml", "component 'same'", "metadata.name", "duplicate"});
}

TEST_F(ResourcesTest, SameNameScopedAwayIsNoDuplicate) {
  write("a.yaml", component("same", "scopes: [other]\n"));
  write("b.yaml", component("same"));
  auto r = load();
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_EQ(r->components.size(), 1u);
}

TEST_F(ResourcesTest, MalformedYamlNamesTheFile) {
  write("good.yaml", component("fine"));
  write("broken.yaml", "apiVersion: dapr.io/v1alpha1\nkind: Component\nspec: [unclosed\n");
  expectError({"broken.yaml", "invalid YAML"});
}

// yaml-cpp's parser recurses per level; its own guard (500 levels in Debian's 0.7) turns deep
// nesting into an error, which must name the file like any malformed YAML, never a crash.
TEST_F(ResourcesTest, DeeplyNestedYamlIsAnErrorNotACrash) {
  std::string block =
      "apiVersion: dapr.io/v1alpha1\nkind: Resiliency\nmetadata: {name: r}\nspec:\n";
  for (int i = 1; i < 3000; ++i) block += std::string(i, ' ') + "a:\n";
  const std::vector<std::string> texts = {
      component("flow", "  x: " + std::string(100000, '[') + std::string(100000, ']') + "\n"),
      component("open", "  x: " + std::string(200000, '{') + "\n"),
      block,
  };
  for (const auto& text : texts) {
    write("deep.yaml", text);
    expectError({"deep.yaml", "invalid YAML"});
  }
}

// yaml-cpp's LoadAll alone never returns on this file: empty documents without end.
TEST_F(ResourcesTest, EndlessDocumentStreamIsAnError) {
  write("endless.yaml", ",n\n:");
  expectError({"endless.yaml", "invalid YAML", "more than 1000 documents"});
}

TEST_F(ResourcesTest, MissingFieldsAreNamed) {
  struct Case {
    std::string text;
    std::string field;
  } cases[] = {
      {"apiVersion: dapr.io/v1alpha1\nkind: Component\nspec: {type: state.x, version: v1}\n",
       "metadata"},
      {"apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {namespace: x}\n"
       "spec: {type: state.x, version: v1}\n",
       "metadata.name"},
      {"apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: c}\nspec: {version: v1}\n",
       "spec.type"},
      {"apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: c}\nspec: {type: "
       "state.x}\n",
       "spec.version"},
      {"apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: c}\n", "spec"},
      {"apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: c}\n"
       "spec: {type: state.x, version: v1, metadata: [{value: v}]}\n",
       "spec.metadata[0].name"},
      {"apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: c}\n"
       "spec: {type: state.x, version: v1, metadata: [{name: a, value: 1}, {name: A, value: 2}]}\n",
       "duplicate"},
      {"apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: c}\n"
       "spec: {type: state.x, version: v1, metadata: {a: b}}\n",
       "spec.metadata"},
      {"apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: c}\n"
       "spec: {type: state.x, version: v1, metadata: [{name: p, secretKeyRef: {key: k}}]}\n",
       "secretKeyRef.name"},
      {"apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: c}\n"
       "spec: {type: state.x, version: v1, initTimeout: later}\n",
       "spec.initTimeout"},
      {"apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: c}\n"
       "spec: {type: state.x, version: v1, ignoreErrors: sometimes}\n",
       "spec.ignoreErrors"},
      {"apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: 'bad name!'}\n"
       "spec: {type: state.x, version: v1}\n",
       "metadata.name"},
      {"apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: c}\n"
       "spec: {type: state.x, version: v1}\nscopes: app1\n",
       "scopes"},
      {"apiVersion: dapr.io/v2\nkind: Component\nmetadata: {name: c}\n"
       "spec: {type: state.x, version: v1}\n",
       "apiVersion"},
      {"apiVersion: dapr.io/v1alpha1\nkind: Subscription\nmetadata: {}\nspec: {}\n",
       "metadata.name"},
      {"- just\n- a list\n", "expected a YAML map"},
  };
  for (const auto& c : cases) {
    SCOPED_TRACE(c.text);
    write("comp.yaml", c.text);
    expectError({"comp.yaml", c.field});
  }
}

TEST_F(ResourcesTest, ComponentFieldsAreRead) {
  write("c.yaml",
        "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata: {name: db}\n"
        "spec:\n  type: state.redis\n  version: v1\n  ignoreErrors: true\n  initTimeout: 2s\n"
        "  metadata:\n"
        "  - {name: host, value: localhost}\n"
        "  - {name: password, secretKeyRef: {name: redis-secret, key: pw}}\n"
        "  - {name: token, secretKeyRef: {name: token-secret}}\n"
        "  - {name: user, envRef: REDIS_USER}\n"
        "  - {name: port, value: 6379}\n"
        "  - {name: nested, value: {a: 1}}\n"
        "  - {name: empty}\n"
        "auth: {secretStore: vault}\n");
  auto r = load();
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->components.size(), 1u);
  const ComponentSpec& c = r->components[0];
  EXPECT_EQ(c.type, "state.redis");
  EXPECT_EQ(c.version, "v1");
  EXPECT_TRUE(c.ignore_errors);
  EXPECT_EQ(c.init_timeout_ms, 2000);
  EXPECT_EQ(c.secret_store, "vault");
  ASSERT_EQ(c.metadata.size(), 7u);
  EXPECT_EQ(c.metadata[0].value, "localhost");
  EXPECT_EQ(c.metadata[1].secret_name, "redis-secret");
  EXPECT_EQ(c.metadata[1].secret_key, "pw");
  EXPECT_EQ(c.metadata[2].secret_key, "token-secret");  // the key defaults to the secret's name
  EXPECT_EQ(c.metadata[3].env_ref, "REDIS_USER");
  EXPECT_EQ(c.metadata[4].value, "6379");
  EXPECT_NE(c.metadata[5].value.find("\"a\""), std::string::npos) << c.metadata[5].value;
  EXPECT_EQ(c.metadata[6].value, "");
}

TEST_F(ResourcesTest, EmptyDocumentsAndMissingDirectories) {
  write("empty.yaml", "---\n---\n");
  auto r = load();
  ASSERT_TRUE(r.ok()) << r.status().message();
  EXPECT_TRUE(r->components.empty());
  auto missing = loadResources({dir_ + "/nope"}, "app1", "");
  ASSERT_FALSE(missing.ok());
  EXPECT_NE(missing.status().message().find(dir_ + "/nope"), std::string::npos);
}

TEST_F(ResourcesTest, SeveralDirectoriesShareOneNameSpace) {
  write("one/a.yaml", component("first"));
  write("two/b.yaml", component("second"));
  auto r = loadResources({dir_ + "/one", dir_ + "/two"}, "app1", "");
  ASSERT_TRUE(r.ok()) << r.status().message();
  ASSERT_EQ(r->components.size(), 2u);
  write("two/c.yaml", component("first"));
  EXPECT_FALSE(loadResources({dir_ + "/one", dir_ + "/two"}, "app1", "").ok());
}

}  // namespace
}  // namespace outrigger::sidecar::runtime
