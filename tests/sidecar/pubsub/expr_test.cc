#include "sidecar/pubsub/expr.h"

#include <gtest/gtest.h>

namespace outrigger::sidecar::pubsub {
namespace {

json::Document event(const char* text) {
  json::Document d;
  d.Parse(text);
  return d;
}

bool eval(const std::string& expr, const char* ev) {
  auto e = RoutingExpression::compile(expr);
  EXPECT_TRUE(e.ok()) << e.status().message();
  if (!e.ok()) return false;
  return (*e)->matches(event(ev));
}

TEST(RoutingExpressionTest, ComparesFields) {
  const char* ev = R"({"type":"order","data":{"n":5,"kind":"big","ok":true}})";
  EXPECT_TRUE(eval("event.type == \"order\"", ev));
  EXPECT_FALSE(eval("event.type != 'order'", ev));
  EXPECT_TRUE(eval("event.data.n > 4 && event.data.n < 6", ev));
  EXPECT_TRUE(eval("event.data.n >= 5 && event.data.n <= 5", ev));
  EXPECT_TRUE(eval("event.data.kind == 'small' || event.data.ok == true", ev));
  EXPECT_TRUE(eval("!(event.data.kind == 'small')", ev));
  EXPECT_TRUE(eval("event.data['kind'] == 'big'", ev));
}

TEST(RoutingExpressionTest, StringMethods) {
  const char* ev = R"({"type":"com.example.order.created"})";
  EXPECT_TRUE(eval("event.type.startsWith('com.example')", ev));
  EXPECT_TRUE(eval("event.type.endsWith(\"created\")", ev));
  EXPECT_TRUE(eval("event.type.contains('order')", ev));
  EXPECT_FALSE(eval("event.type.contains('invoice')", ev));
}

TEST(RoutingExpressionTest, MissingFieldsDoNotMatch) {
  EXPECT_FALSE(eval("event.data.missing == 'x'", R"({"data":{}})"));
  EXPECT_FALSE(eval("event.data.missing.deeper > 1", R"({"data":{}})"));
}

TEST(RoutingExpressionTest, RejectsWhatItDoesNotSupport) {
  for (const char* bad :
       {"size(event.data) > 1", "event.type in ['a']", "event.n + 1 == 2",
        "event.type.matches('x')", "foo == 1", "event.type == ", "'unterminated"}) {
    auto e = RoutingExpression::compile(bad);
    EXPECT_FALSE(e.ok()) << bad;
    if (!e.ok()) {
      EXPECT_NE(e.status().message().find(bad), std::string::npos) << e.status().message();
    }
  }
}

// Parsing, evaluating and freeing recurse on the depth: 5000 parentheses overflowed the stack.
TEST(RoutingExpressionTest, NestingAndLengthAreBounded) {
  auto nested = [](int n, const std::string& open, const std::string& close) {
    std::string s;
    for (int i = 0; i < n; ++i) s += open;
    s += "event.type == 'x'";
    for (int i = 0; i < n; ++i) s += close;
    return s;
  };
  EXPECT_TRUE(eval(nested(60, "(", ")"), R"({"type":"x"})"));
  EXPECT_TRUE(eval(nested(20, "!!(", ")"), R"({"type":"x"})"));
  for (const std::string& deep :
       {nested(100, "(", ")"), nested(100, "!", ""), nested(100, "event.type.contains(", ")")}) {
    auto e = RoutingExpression::compile(deep);
    ASSERT_FALSE(e.ok());
    EXPECT_NE(e.status().message().find("nests deeper than 64 levels"), std::string::npos)
        << e.status().message().substr(e.status().message().size() - 100);
  }
  EXPECT_FALSE(RoutingExpression::compile(nested(5000, "(", ")")).ok());
  std::string chain = "event.type == 'a'";
  for (int i = 0; i < 5000; ++i) chain += " || event.type == 'a'";
  auto e = RoutingExpression::compile(chain);
  ASSERT_FALSE(e.ok());
  EXPECT_NE(e.status().message().find("longer than 1024 elements"), std::string::npos);
}

}  // namespace
}  // namespace outrigger::sidecar::pubsub
