// The internal port's proof of a calling sidecar (issue 12 §3): the installation token file, the
// constant-time check, and the caller app id that only an authenticated sidecar may state.

#include "sidecar/invoke/internal_auth.h"

#include <gtest/gtest.h>
#include <sys/stat.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

namespace outrigger::sidecar::invoke {
namespace {

namespace fs = std::filesystem;
using outrigger::http::Request;
using outrigger::http::bhttp::verb;

std::string tempDir() {
  std::string templ = (fs::temp_directory_path() / "outrigger-auth-XXXXXX").string();
  return ::mkdtemp(templ.data());
}

Request spoofed() {
  Request req{verb::post, "/transfer", 11};
  req.set("dapr-caller-app-id", "payments-admin");
  req.set(kCallerAppIdHeader, "payments-admin");
  return req;
}

TEST(InternalAuthTest, TheTokenFileIsCreatedOncePrivateAndSharedBySidecarsStartingTogether) {
  std::string dir = tempDir() + "/nameresolution";  // not there yet
  std::string path = dir + "/" + kInternalTokenFile;
  std::vector<std::string> tokens(8);
  std::vector<std::thread> starters;
  for (auto& t : tokens) {
    starters.emplace_back([&t, &path] {
      auto token = loadOrCreateTokenFile(path);
      if (token.ok()) t = *token;
    });
  }
  for (auto& s : starters) s.join();
  EXPECT_GE(tokens[0].size(), 32u);
  for (const auto& t : tokens) EXPECT_EQ(t, tokens[0]);
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  EXPECT_EQ(std::distance(fs::directory_iterator(dir), fs::directory_iterator()), 1);  // no tmp
  EXPECT_EQ(*loadOrCreateTokenFile(path), tokens[0]);

  // A token others can read is not a secret any more.
  ::chmod(path.c_str(), 0644);
  EXPECT_EQ(loadOrCreateTokenFile(path).status().code(), StatusCode::kPermissionDenied);
  ::chmod(path.c_str(), 0600);
  std::ofstream(path, std::ios::trunc) << "short\n";
  EXPECT_FALSE(loadOrCreateTokenFile(path).ok());
}

TEST(InternalAuthTest, WithoutTheTokenACallIsUnauthenticated) {
  InternalAuth auth(std::string(64, 'k'));
  for (const std::string& given : std::vector<std::string>{
           "", "wrong", std::string(64, 'j'), std::string(63, 'k'), std::string(65, 'k')}) {
    Request req = spoofed();
    if (!given.empty()) req.set(kInternalTokenHeader, given);
    Status s = auth.admit(req);
    EXPECT_EQ(s.code(), StatusCode::kUnauthenticated) << given;
    EXPECT_EQ(s.errorCode(), "ERR_DIRECT_INVOKE");
  }
}

TEST(InternalAuthTest, AnAuthenticatedSidecarStatesTheCallerAndNothingInternalReachesTheApp) {
  InternalAuth caller(std::string(64, 'k')), callee(std::string(64, 'k'));
  Request req = spoofed();
  caller.stamp(req, "orders");
  EXPECT_EQ(req["dapr-caller-app-id"], "");  // the callee sets it
  ASSERT_TRUE(callee.admit(req).ok());
  EXPECT_EQ(req["dapr-caller-app-id"], "orders");
  EXPECT_EQ(req.count(kInternalTokenHeader), 0u);
  EXPECT_EQ(req.count(kCallerAppIdHeader), 0u);
  EXPECT_EQ(req.count("dapr-caller-app-id"), 1u);
}

TEST(InternalAuthTest, WithoutATokenCallsAreLetInButNoCallerIsBelieved) {
  InternalAuth open;  // Kubernetes mode without OUTRIGGER_INTERNAL_TOKEN
  EXPECT_FALSE(open.required());
  Request req = spoofed();
  req.set(kInternalTokenHeader, "anything");
  ASSERT_TRUE(open.admit(req).ok());
  EXPECT_EQ(req.count("dapr-caller-app-id"), 0u);
  EXPECT_EQ(req.count(kCallerAppIdHeader), 0u);
  EXPECT_EQ(req.count(kInternalTokenHeader), 0u);
}

TEST(InternalAuthTest, TheInstallationTokenComesFromTheEnvironmentOrTheStandaloneFile) {
  std::string dir = tempDir();
  ::unsetenv(kInternalTokenEnv);
  InternalAuth standalone = InternalAuth::forInstallation("standalone", dir);
  EXPECT_TRUE(standalone.required());
  EXPECT_TRUE(fs::exists(dir + "/" + kInternalTokenFile));
  EXPECT_FALSE(InternalAuth::forInstallation("kubernetes", dir).required());

  ::setenv(kInternalTokenEnv, "installation-wide-token-value", 1);
  InternalAuth k8s = InternalAuth::forInstallation("kubernetes", dir);
  ::unsetenv(kInternalTokenEnv);
  Request req = spoofed();
  req.set(kInternalTokenHeader, "installation-wide-token-value");
  EXPECT_TRUE(k8s.admit(req).ok());
  EXPECT_EQ(req["dapr-caller-app-id"], "payments-admin");  // stated by an authenticated sidecar

  // A directory no token can be kept in: closed to every caller rather than open.
  std::string blocked = dir + "/file";
  std::ofstream(blocked) << "x";
  InternalAuth closed = InternalAuth::forInstallation("standalone", blocked + "/nr");
  EXPECT_TRUE(closed.required());
  Request guess = spoofed();
  EXPECT_FALSE(closed.admit(guess).ok());
}

TEST(InternalAuthTest, ClientsCannotStateTheCaller) {
  Request req = spoofed();
  req.set(kInternalTokenHeader, "leaked?");
  stripCallerClaims(req);
  EXPECT_EQ(req.count("dapr-caller-app-id"), 0u);
  EXPECT_EQ(req.count(kCallerAppIdHeader), 0u);
  EXPECT_EQ(req.count(kInternalTokenHeader), 0u);
}

}  // namespace
}  // namespace outrigger::sidecar::invoke
