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

}  // namespace
}  // namespace outrigger::sidecar::pubsub
