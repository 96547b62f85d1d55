#include <gtest/gtest.h>

#include <filesystem>

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

TEST_F(LocalStorageTest, CreateWithoutNameMakesOne) {
  auto r = call("create", "", "{\"a\":1}");
  ASSERT_TRUE(r.ok());
  ASSERT_TRUE(r->metadata.count("fileName"));
  auto got = call("get", r->metadata["fileName"]);
  EXPECT_EQ(got->data, "{\"a\":1}");
}

}  // namespace
}  // namespace outrigger::sidecar::components::bindings::localstorage
