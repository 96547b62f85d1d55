#include "common/http/router.h"

#include <gtest/gtest.h>

namespace outrigger::http {
namespace {

RouteHandler noop() {
  return [](Request&&, RouteParams&&, Responder) {};
}

TEST(RouterTest, MatchesParamsAndWildcard) {
  Router r;
  r.add({bhttp::verb::get}, "/v1.0/state/{storeName}/{key}", noop());
  r.add({}, "/v1.0/invoke/{id}/method/*", noop());
  RouteParams p;
  bool bad = false;
  const Route* route = r.match(bhttp::verb::get, "/v1.0/state/store1/k%20ey", &p, &bad);
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(p.get("storeName"), "store1");
  EXPECT_EQ(p.get("key"), "k ey");
  route = r.match(bhttp::verb::patch, "/v1.0/invoke/app/method/a/b/c", &p, &bad);
  ASSERT_NE(route, nullptr);
  EXPECT_EQ(p.get("id"), "app");
  EXPECT_EQ(p.rest, "a/b/c");
}

TEST(RouterTest, MethodMismatchFallsThrough) {
  Router r;
  r.add({bhttp::verb::get}, "/v1.0/healthz", noop());
  RouteParams p;
  bool bad = false;
  EXPECT_EQ(r.match(bhttp::verb::post, "/v1.0/healthz", &p, &bad), nullptr);
  EXPECT_FALSE(bad);
}

TEST(RouterTest, BadEscapeIsReported) {
  Router r;
  r.add({bhttp::verb::get}, "/v1.0/state/{storeName}/{key}", noop());
  RouteParams p;
  bool bad = false;
  EXPECT_EQ(r.match(bhttp::verb::get, "/v1.0/state/s/%zz", &p, &bad), nullptr);
  EXPECT_TRUE(bad);
}

TEST(RouterTest, CleanPath) {
  EXPECT_EQ(cleanPath("//v1.0//state/./s/../t"), "/v1.0/state/t");
  EXPECT_EQ(cleanPath(""), "/");
  EXPECT_EQ(cleanPath("/a/b/"), "/a/b/");
}

TEST(RouterTest, ParseQuery) {
  auto q = parseQuery("metadata.a=1&b=x%20y&c");
  ASSERT_EQ(q.size(), 3u);
  EXPECT_EQ(q[0].first, "metadata.a");
  EXPECT_EQ(q[1].second, "x y");
  EXPECT_EQ(q[2].second, "");
}

}  // namespace
}  // namespace outrigger::http
