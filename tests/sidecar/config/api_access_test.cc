// The Configuration's API allow and deny lists as daprd matches them against routes.

#include "sidecar/config/api_access.h"

#include <gtest/gtest.h>

namespace outrigger::sidecar::config {
namespace {

ApiAccess access(std::vector<ApiRule> allowed, std::vector<ApiRule> denied,
                 const std::string& protocol = "http") {
  Configuration c;
  c.api_allowed = std::move(allowed);
  c.api_denied = std::move(denied);
  return ApiAccess(c, protocol);
}

TEST(ApiAccessTest, NoRulesAllowEverything) {
  ApiAccess a = access({}, {});
  EXPECT_FALSE(a.restricts());
  EXPECT_TRUE(a.allows("/v1.0/state/{storeName}"));
  EXPECT_TRUE(ApiAccess().allows("/v1.0/secrets/{secretStoreName}/{key}"));
}

TEST(ApiAccessTest, AnAllowListAllowsOnlyItsGroups) {
  // Both the group version (v1) and the URL version (v1.0) name the state API.
  for (const char* version : {"v1", "v1.0"}) {
    ApiAccess a = access({{"state", version, "http"}}, {});
    EXPECT_TRUE(a.allows("/v1.0/state/{storeName}/{key}")) << version;
    EXPECT_TRUE(a.allows("/v1.0/state/{storeName}/transaction")) << version;
    EXPECT_FALSE(a.allows("/v1.0/secrets/{secretStoreName}/{key}")) << version;
    EXPECT_FALSE(a.allows("/v1.0/invoke/{id}/method/*")) << version;
    EXPECT_FALSE(a.allows("/v1.0/metadata")) << version;
    // Health is always served.
    EXPECT_TRUE(a.allows("/v1.0/healthz")) << version;
    EXPECT_TRUE(a.allows("/v1.0/healthz/outbound")) << version;
  }
}

TEST(ApiAccessTest, VersionsAreDistinct) {
  ApiAccess a = access({{"publish", "v1alpha1", "http"}}, {});
  EXPECT_TRUE(a.allows("/v1.0-alpha1/publish/bulk/{pubsubname}/*"));
  EXPECT_FALSE(a.allows("/v1.0/publish/{pubsubname}/*"));
  a = access({{"publish", "v1.0-alpha1", "http"}}, {});
  EXPECT_TRUE(a.allows("/v1.0-alpha1/publish/bulk/{pubsubname}/*"));
  EXPECT_FALSE(a.allows("/v1.0/publish/{pubsubname}/*"));
}

TEST(ApiAccessTest, DeniedRulesWinOverAllowedOnes) {
  ApiAccess a =
      access({{"state", "v1", "http"}, {"secrets", "v1", "http"}}, {{"secrets", "v1.0", "http"}});
  EXPECT_TRUE(a.allows("/v1.0/state/{storeName}"));
  EXPECT_FALSE(a.allows("/v1.0/secrets/{secretStoreName}/bulk"));
  a = access({}, {{"invoke", "v1", "http"}});
  EXPECT_FALSE(a.allows("/v1.0/invoke/{id}/method/*"));
  EXPECT_TRUE(a.allows("/v1.0/state/{storeName}"));
  // Deny cannot take health away either.
  a = access({}, {{"healthz", "v1", "http"}});
  EXPECT_TRUE(a.allows("/v1.0/healthz"));
}

TEST(ApiAccessTest, RulesOfOtherProtocolsDoNotApply) {
  // A gRPC allow list does not restrict HTTP; a rule without protocol applies to neither.
  ApiAccess a = access({{"state", "v1", "grpc"}}, {{"secrets", "v1", ""}});
  EXPECT_FALSE(a.restricts());
  EXPECT_TRUE(a.allows("/v1.0/secrets/{secretStoreName}/{key}"));
  EXPECT_TRUE(access({{"state", "v1", "grpc"}}, {}, "grpc").restricts());
}

TEST(ApiAccessTest, LegacyRulesMatchByPathPrefix) {
  // daprd also matches "<version>/<name>" as a prefix of "<version>/<route>".
  ApiAccess a = access({{"state/{storeName}/transaction", "v1.0", "http"}}, {});
  EXPECT_TRUE(a.allows("/v1.0/state/{storeName}/transaction"));
  EXPECT_FALSE(a.allows("/v1.0/state/{storeName}/{key}"));
}

}  // namespace
}  // namespace outrigger::sidecar::config
