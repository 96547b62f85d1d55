// Component metadata validation: required fields, defaults, types, allowed values, durations.

#include "sidecar/runtime/metadata.h"

#include <gtest/gtest.h>

namespace outrigger::sidecar::runtime {
namespace {

MetadataField field(std::string name, FieldType type = FieldType::kString, bool required = false,
                    std::optional<std::string> def = std::nullopt,
                    std::vector<std::string> allowed = {}) {
  MetadataField f;
  f.name = std::move(name);
  f.type = type;
  f.required = required;
  f.default_value = std::move(def);
  f.allowed = std::move(allowed);
  return f;
}

void expectFieldError(const StatusOr<Properties>& p, const std::string& name) {
  ASSERT_FALSE(p.ok());
  EXPECT_EQ(p.status().code(), StatusCode::kInvalidArgument);
  EXPECT_NE(p.status().message().find("'" + name + "'"), std::string::npos) << p.status().message();
}

TEST(ValidateMetadataTest, RequiredFieldsMustBePresentAndNonEmpty) {
  std::vector<MetadataField> fields = {field("redisHost", FieldType::kString, true)};
  expectFieldError(validateMetadata(fields, {}), "redisHost");
  expectFieldError(validateMetadata(fields, {{"redisHost", ""}}), "redisHost");
  auto ok = validateMetadata(fields, {{"redisHost", "localhost:6379"}});
  ASSERT_TRUE(ok.ok()) << ok.status().message();
  EXPECT_EQ(ok->get("redisHost"), "localhost:6379");
}

TEST(ValidateMetadataTest, NamesMatchWithoutRegardToCase) {
  std::vector<MetadataField> fields = {field("redisHost", FieldType::kString, true),
                                       field("maxRetries", FieldType::kInt)};
  auto p = validateMetadata(fields, {{"REDISHOST", "h"}, {"maxretries", "x"}});
  expectFieldError(p, "maxRetries");  // found despite the case, then type-checked
  p = validateMetadata(fields, {{"REDISHOST", "h"}});
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->get("redishost"), "h");
  EXPECT_TRUE(p->has("RedisHost"));
}

TEST(ValidateMetadataTest, DefaultsFillMissingAndEmptyValues) {
  std::vector<MetadataField> fields = {field("poolSize", FieldType::kInt, true, "10"),
                                       field("mode", FieldType::kString, false, "fast")};
  auto p = validateMetadata(fields, {{"mode", ""}});
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->getInt("poolSize"), 10);
  EXPECT_EQ(p->get("mode"), "fast");
  p = validateMetadata(fields, {{"poolSize", "3"}});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->getInt("poolSize"), 3);
}

TEST(ValidateMetadataTest, TypesAreChecked) {
  std::vector<MetadataField> fields = {field("n", FieldType::kInt), field("b", FieldType::kBool),
                                       field("d", FieldType::kDuration)};
  expectFieldError(validateMetadata(fields, {{"n", "ten"}}), "n");
  expectFieldError(validateMetadata(fields, {{"n", "1.5"}}), "n");
  expectFieldError(validateMetadata(fields, {{"n", "12abc"}}), "n");
  expectFieldError(validateMetadata(fields, {{"b", "perhaps"}}), "b");
  expectFieldError(validateMetadata(fields, {{"d", "soon"}}), "d");
  expectFieldError(validateMetadata(fields, {{"d", "5x"}}), "d");
  auto bad = validateMetadata(fields, {{"n", "ten"}});
  EXPECT_NE(bad.status().message().find("ten"), std::string::npos) << bad.status().message();
  auto p = validateMetadata(fields, {{"n", "-3"}, {"b", "TRUE"}, {"d", "1m30s"}});
  ASSERT_TRUE(p.ok()) << p.status().message();
  EXPECT_EQ(p->getInt("n"), -3);
  EXPECT_TRUE(p->getBool("b"));
  EXPECT_EQ(p->getDurationMs("d"), 90000);
}

TEST(ValidateMetadataTest, AllowedValuesIgnoreCaseAndAreListedOnError) {
  std::vector<MetadataField> fields = {
      field("redisType", FieldType::kString, false, std::nullopt, {"node", "cluster"})};
  EXPECT_TRUE(validateMetadata(fields, {{"redisType", "Cluster"}}).ok());
  auto p = validateMetadata(fields, {{"redisType", "sentinel"}});
  expectFieldError(p, "redisType");
  EXPECT_NE(p.status().message().find("node, cluster"), std::string::npos) << p.status().message();
}

TEST(ValidateMetadataTest, UndeclaredKeysPassThrough) {
  auto p = validateMetadata({field("a")}, {{"keyPrefix", "name"}, {"actorStateStore", "true"}});
  ASSERT_TRUE(p.ok());
  EXPECT_EQ(p->get("keyPrefix"), "name");
  EXPECT_TRUE(p->getBool("actorStateStore"));
  EXPECT_FALSE(p->has("a"));
}

TEST(PropertiesTest, GettersFallBackOnMissingOrUnparsable) {
  Properties p;
  p.set("n", "x");
  p.set("d", "250ms");
  EXPECT_EQ(p.get("missing", "fb"), "fb");
  EXPECT_EQ(p.getInt("n", 7), 7);
  EXPECT_EQ(p.getInt("missing", 8), 8);
  EXPECT_TRUE(p.getBool("n", true));
  EXPECT_EQ(p.getDurationMs("d", 1), 250);
  EXPECT_EQ(p.getDurationMs("n", 1), 1);
}

TEST(MetadataParseTest, Durations) {
  struct Case {
    const char* text;
    int64_t ms;
  } cases[] = {{"5s", 5000},   {"100ms", 100}, {"1m30s", 90000},      {"1h", 3600000},
               {"1.5s", 1500}, {".5s", 500},   {"1h2m3.5s", 3723500}, {"10", 10000},
               {"0", 0},       {"0s", 0},      {"2000us", 2},         {"1000000ns", 1}};
  for (const auto& c : cases) {
    int64_t ms = -1;
    EXPECT_TRUE(parseDurationMs(c.text, &ms)) << c.text;
    EXPECT_EQ(ms, c.ms) << c.text;
  }
  // Beyond int64 milliseconds: an error, not an overflow.
  for (const char* bad : {"", "s", "-5s", "-1", "5x", "5 s", "abc", "1d", "1.2.3s", ".s", "5s.",
                          "9223372036854775807", "9223372036854776", "9999999999999999999h"}) {
    int64_t ms = 0;
    EXPECT_FALSE(parseDurationMs(bad, &ms)) << bad;
  }
}

TEST(MetadataParseTest, BoolsAndInts) {
  bool b = false;
  for (const char* t : {"true", "True", "1", "yes", "on", "Y"}) {
    EXPECT_TRUE(parseBool(t, &b)) << t;
    EXPECT_TRUE(b) << t;
  }
  for (const char* f : {"false", "FALSE", "0", "no", "off", "n"}) {
    EXPECT_TRUE(parseBool(f, &b)) << f;
    EXPECT_FALSE(b) << f;
  }
  EXPECT_FALSE(parseBool("", &b));
  EXPECT_FALSE(parseBool("2", &b));
  int64_t n = 0;
  EXPECT_TRUE(parseInt("-42", &n));
  EXPECT_EQ(n, -42);
  EXPECT_FALSE(parseInt("", &n));
  EXPECT_FALSE(parseInt("4 2", &n));
  EXPECT_FALSE(parseInt("99999999999999999999", &n));
}

}  // namespace
}  // namespace outrigger::sidecar::runtime
