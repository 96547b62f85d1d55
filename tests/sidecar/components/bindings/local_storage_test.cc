#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <set>

#include "common/json/json.h"
#include "sidecar/components/bindings/localstorage/local_storage_binding.h"

namespace outrigger::sidecar::components::bindings::localstorage {
namespace {

class LocalStorageTest : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = std::filesystem::temp_directory_path() /
            ("outrigger-ls-" + std::to_string(::getpid()) + "-" +
             ::testing::UnitTest::GetInstance()->current_test_info()->name());
    runtime::Properties p;
    p.set("rootPath", root_.string());
    ASSERT_TRUE(binding_.init(p).ok());
  }
  void TearDown() override { std::filesystem::remove_all(root_); }
  StatusOr<InvokeResponse> call(const std::string& op, const std::string& file,
                                const std::string& data = "") {
    InvokeRequest r;
    r.operation = op;
    r.data = data;
    if (!file.empty()) r.metadata["fileName"] = file;
    return binding_.invoke(r);
  }
  std::filesystem::path root_;
  LocalStorageBinding binding_;
};

TEST_F(LocalStorageTest, CreateGetListDelete) {
  ASSERT_TRUE(call("create", "dir/a.txt", "\"hello\"").ok());
  auto got = call("get", "dir/a.txt");
  ASSERT_TRUE(got.ok());
  EXPECT_EQ(got->data, "hello");
  auto list = call("list", "");
  ASSERT_TRUE(list.ok());
  EXPECT_EQ(list->data, "[\"dir/a.txt\"]");
  EXPECT_TRUE(call("delete", "dir/a.txt").ok());
  EXPECT_EQ(call("get", "dir/a.txt").status().code(), StatusCode::kNotFound);
}

TEST_F(LocalStorageTest, RefusesPathsOutsideRoot) {
  for (const char* bad : {"../escape.txt", "/etc/passwd", "a/../../escape"}) {
    auto r = call("create", bad, "\"x\"");
    EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied) << bad;
  }
  EXPECT_FALSE(std::filesystem::exists(root_.parent_path() / "escape.txt"));
}

// fileName is echoed in the metadata.fileName response header: CR LF there would split the
// response, and a NUL would end the name as a C path.
TEST_F(LocalStorageTest, RefusesControlBytesInFileNames) {
  for (const std::string bad : {std::string("a.txt\r\nSet-Cookie: x"), std::string("a\nb"),
                                std::string("a\0b", 3), std::string("tab\there")}) {
    for (const char* op : {"create", "get", "delete"}) {
      auto r = call(op, bad, "\"x\"");
      ASSERT_FALSE(r.ok()) << op << " " << ::testing::PrintToString(bad);
      EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument) << r.status().toString();
      EXPECT_EQ(r.status().httpStatus(), 400) << r.status().toString();
    }
  }
  EXPECT_TRUE(std::filesystem::is_empty(root_));
}

class LocalStorageLinksTest : public LocalStorageTest {
 protected:
  void SetUp() override {
    LocalStorageTest::SetUp();
    outside_ = root_.string() + "-outside";
    std::filesystem::create_directories(outside_);
    std::ofstream(outside_ / "secret.txt") << "outside";
    std::ofstream(root_ / "inside.txt") << "inside";
    std::filesystem::create_symlink(root_ / "inside.txt", root_ / "alias.txt");
    std::filesystem::create_symlink(outside_ / "secret.txt", root_ / "out.txt");
    std::filesystem::create_symlink(outside_, root_ / "outdir");
    std::filesystem::create_symlink(outside_ / "new.txt", root_ / "dangling.txt");
  }
  void TearDown() override {
    std::filesystem::remove_all(outside_);
    LocalStorageTest::TearDown();
  }
  std::filesystem::path outside_;
};

TEST_F(LocalStorageLinksTest, ListNamesLinksAsTheDirectoryDoesAndHidesWhatLeavesRoot) {
  auto list = call("list", "");
  ASSERT_TRUE(list.ok()) << list.status().toString();
  auto doc = json::parse(list->data);
  ASSERT_TRUE(doc.ok() && doc->IsArray()) << list->data;
  std::set<std::string> names;
  for (const auto& v : doc->GetArray()) names.insert(v.GetString());
  EXPECT_EQ(names, (std::set<std::string>{"alias.txt", "inside.txt"})) << list->data;
  EXPECT_EQ(list->data.find("outside"), std::string::npos) << list->data;
  EXPECT_EQ(list->data.find(".."), std::string::npos) << list->data;
}

TEST_F(LocalStorageLinksTest, LinksOutOfRootCannotBeReadWrittenOrFollowed) {
  auto alias = call("get", "alias.txt");
  ASSERT_TRUE(alias.ok()) << alias.status().toString();
  EXPECT_EQ(alias->data, "inside");
  for (const char* name : {"out.txt", "outdir/secret.txt", "outdir/new.txt", "dangling.txt"}) {
    for (const char* op : {"get", "create", "delete"}) {
      auto r = call(op, name, "\"written\"");
      EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied)
          << op << " " << name << ": " << r.status().toString();
    }
  }
  // Nothing outside changed: no file created through the dangling link, the secret intact.
  EXPECT_FALSE(std::filesystem::exists(outside_ / "new.txt"));
  std::ifstream in(outside_ / "secret.txt");
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(text, "outside");
}

TEST_F(LocalStorageTest, CreateWithoutNameMakesOne) {
  auto r = call("create", "", "{\"a\":1}");
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->metadata.count("fileName"));
  auto got = call("get", r->metadata["fileName"]);
  EXPECT_EQ(got->data, "{\"a\":1}");
}

}  // namespace
}  // namespace outrigger::sidecar::components::bindings::localstorage
