// json::parse: nesting past kMaxDepth is refused with an error naming the limit, however long the
// text (RapidJSON recursed once per level and a few hundred KB of '[' overflowed the stack), and
// everything up to the limit parses, serialises and copies as before.

#include "common/json/json.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>

namespace outrigger::json {
namespace {

using ::testing::HasSubstr;

std::string nestedArrays(int depth) { return std::string(depth, '[') + std::string(depth, ']'); }

std::string nestedObjects(int depth) {
  std::string text;
  for (int i = 0; i < depth; ++i) text += "{\"a\":";
  text += "1";
  return text + std::string(depth, '}');
}

// Alternates objects and arrays: {"a":[{"a":[...]}]}.
std::string nestedMixed(int depth) {
  std::string open, close;
  for (int i = 0; i < depth; ++i) {
    open += i % 2 == 0 ? "{\"a\":" : "[";
    close = (i % 2 == 0 ? "}" : "]") + close;
  }
  return open + "true" + close;
}

void expectTooDeep(const std::string& text) {
  auto doc = parse(text);
  ASSERT_FALSE(doc.ok()) << text.substr(0, 40);
  EXPECT_EQ(doc.status().code(), StatusCode::kInvalidArgument);
  EXPECT_THAT(doc.status().message(), HasSubstr(std::to_string(kMaxDepth)));
  EXPECT_TRUE(isTooDeep(doc.status()));
}

TEST(JsonParse, EveryKindOfNestingUpToTheLimitParsesAndRoundTrips) {
  for (const std::string& text :
       {nestedArrays(kMaxDepth), nestedObjects(kMaxDepth), nestedMixed(kMaxDepth)}) {
    auto doc = parse(text);
    ASSERT_TRUE(doc.ok()) << doc.status().message();
    EXPECT_EQ(serialize(*doc), text);
    Document copy;
    copy.CopyFrom(*doc, copy.GetAllocator());
    EXPECT_TRUE(copy == *doc);
  }
}

TEST(JsonParse, OneLevelPastTheLimitIsRefused) {
  expectTooDeep(nestedArrays(kMaxDepth + 1));
  expectTooDeep(nestedObjects(kMaxDepth + 1));
  expectTooDeep(nestedMixed(kMaxDepth + 1));
}

TEST(JsonParse, MegabytesOfOpeningBracketsAreRefusedNotACrash) {
  expectTooDeep(std::string(4 << 20, '['));
  std::string objects;
  for (int i = 0; i < 400000; ++i) objects += "{\"a\":";
  expectTooDeep(objects);
  std::string mixed;
  for (int i = 0; i < 200000; ++i) mixed += "[{\"a\":";
  expectTooDeep(mixed);
}

TEST(JsonParse, TheLimitIsOnDepthNotOnTheNumberOfContainers) {
  // Many siblings, each nested to just under the limit inside the outer array.
  std::string text = "[";
  for (int i = 0; i < 50; ++i) text += (i ? "," : "") + nestedArrays(kMaxDepth - 1);
  text += "]";
  auto doc = parse(text);
  ASSERT_TRUE(doc.ok()) << doc.status().message();
  EXPECT_EQ(doc->Size(), 50u);
}

TEST(JsonParse, MalformedTextNamesTheOffsetAndIsNotTooDeep) {
  for (const char* text : {"", "{", "[1,]", "{\"a\" 1}", "[1] x", "nul"}) {
    auto doc = parse(text);
    ASSERT_FALSE(doc.ok()) << text;
    EXPECT_THAT(doc.status().message(), HasSubstr("invalid JSON at offset")) << text;
    EXPECT_FALSE(isTooDeep(doc.status())) << text;
  }
  EXPECT_FALSE(isTooDeep(invalidArgumentError("something else")));
}

TEST(JsonParse, ScalarsStringsAndNumbers) {
  auto doc = parse(R"({"s":"a\u00e9\n","i":-3,"u":4000000000,"d":1.5,"b":true,"n":null})");
  ASSERT_TRUE(doc.ok()) << doc.status().message();
  EXPECT_STREQ((*doc)["s"].GetString(), "a\xc3\xa9\n");
  EXPECT_EQ((*doc)["i"].GetInt(), -3);
  EXPECT_EQ((*doc)["u"].GetUint64(), 4000000000u);
  EXPECT_EQ((*doc)["d"].GetDouble(), 1.5);
  EXPECT_TRUE((*doc)["b"].GetBool());
  EXPECT_TRUE((*doc)["n"].IsNull());
  // An escaped NUL stays in the string (its length counts it).
  auto escaped = parse(R"("a\u0000b")");
  ASSERT_TRUE(escaped.ok());
  EXPECT_EQ(escaped->GetStringLength(), 3u);
}

TEST(JsonParse, NumbersAsStringsKeepTheDigitsWrittenAndTheLimit) {
  auto doc = parse(R"({"port":5432,"price":1.50,"big":12345678901234567890})",
                   ParseOptions{.numbers_as_strings = true});
  ASSERT_TRUE(doc.ok()) << doc.status().message();
  EXPECT_STREQ((*doc)["port"].GetString(), "5432");
  EXPECT_STREQ((*doc)["price"].GetString(), "1.50");
  EXPECT_STREQ((*doc)["big"].GetString(), "12345678901234567890");
  auto deep = parse(std::string(1 << 20, '['), ParseOptions{.numbers_as_strings = true});
  ASSERT_FALSE(deep.ok());
  EXPECT_TRUE(isTooDeep(deep.status()));
}

TEST(JsonUnquoted, AJsonStringGivesItsContentsAnythingElseItself) {
  EXPECT_EQ(unquoted(R"("a\nb")"), "a\nb");
  EXPECT_EQ(unquoted(R"({"a":1})"), R"({"a":1})");
  EXPECT_EQ(unquoted("not json"), "not json");
  std::string deep(100000, '[');
  EXPECT_EQ(unquoted(deep), deep);
}

}  // namespace
}  // namespace outrigger::json
