// The state layer's shared checks: the etag format of the stores (a version number) and Dapr's
// bounds for ttlInSeconds, which every store applies before it writes anything.

#include "sidecar/components/state/store.h"

#include <gtest/gtest.h>

#include <limits>

namespace outrigger::sidecar::components::state {
namespace {

TEST(VersionEtagTest, ParsesDecimalVersionsOnly) {
  auto v = parseVersionEtag("42");
  ASSERT_TRUE(v.ok());
  EXPECT_EQ(*v, 42);
  for (const char* bad : {"", "abc", "12abc", " 1", "1 ", "+1", "0x10", "99999999999999999999"}) {
    SCOPED_TRACE(std::string("'") + bad + "'");
    auto r = parseVersionEtag(bad);
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(TtlTest, DaprsBounds) {
  auto absent = parseTtl({});
  ASSERT_TRUE(absent.ok());
  EXPECT_FALSE(absent->has_value());
  auto empty = parseTtl({{"ttlInSeconds", ""}});
  ASSERT_TRUE(empty.ok());
  EXPECT_FALSE(empty->has_value());
  for (const char* good : {"-1", "0", "30", "2147483647"}) {
    SCOPED_TRACE(good);
    auto r = parseTtl({{"ttlInSeconds", good}});
    ASSERT_TRUE(r.ok()) << r.status().message();
    EXPECT_EQ(**r, std::stoll(good));
  }
  for (const char* bad : {"-2", "2147483648", "9223372036", "9223372036854775807",
                          "99999999999999999999", "soon", "1.5"}) {
    SCOPED_TRACE(bad);
    auto r = parseTtl({{"ttlInSeconds", bad}});
    ASSERT_FALSE(r.ok());
    EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  }
  EXPECT_TRUE(checkTtl(std::nullopt).ok());
  EXPECT_TRUE(checkTtl(kMaxTtlSeconds).ok());
  EXPECT_FALSE(checkTtl(std::numeric_limits<int64_t>::max()).ok());
  EXPECT_FALSE(checkTtl(std::numeric_limits<int64_t>::min()).ok());
}

TEST(CheckOperationsTest, ALaterBadOperationFailsTheWholeList) {
  Operation good;
  good.set.key = "a";
  good.set.ttl_seconds = 10;
  Operation big_ttl;
  big_ttl.set.key = "b";
  big_ttl.set.ttl_seconds = std::numeric_limits<int64_t>::max();
  Operation bad_etag;
  bad_etag.kind = Operation::Kind::kDelete;
  bad_etag.del.key = "c";
  bad_etag.del.etag = "abc";
  EXPECT_TRUE(checkOperations({good, good}, true).ok());
  EXPECT_EQ(checkOperations({good, big_ttl}, true).code(), StatusCode::kInvalidArgument);
  EXPECT_EQ(checkOperations({good, bad_etag}, true).code(), StatusCode::kInvalidArgument);
  EXPECT_TRUE(checkOperations({good, bad_etag}, false).ok());  // etags without a format
}

}  // namespace
}  // namespace outrigger::sidecar::components::state
