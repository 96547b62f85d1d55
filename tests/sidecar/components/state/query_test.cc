// Dapr's state query language: what parseQuery accepts and refuses, and what QueryEvaluator
// selects, orders and pages.

#include "sidecar/components/state/query.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

namespace outrigger::sidecar::components::state {
namespace {

Query parsed(const std::string& text) {
  auto q = parseQuery(text);
  EXPECT_TRUE(q.ok()) << text << ": " << q.status().message();
  return q.ok() ? std::move(*q) : Query{};
}

// The keys the query selects from items {key: value}, in the order it answers them.
struct Page {
  std::vector<std::string> keys;
  std::string token;
};
Page run(const Query& q, const std::vector<std::pair<std::string, std::string>>& items) {
  QueryEvaluator e(q);
  for (const auto& [k, v] : items) e.add(QueryItem{k, v, "etag-" + k});
  auto r = e.finish();
  EXPECT_TRUE(r.ok()) << r.status().message();
  Page p;
  if (!r.ok()) return p;
  for (const auto& item : r->results) {
    EXPECT_EQ(item.etag, "etag-" + item.key);
    p.keys.push_back(item.key);
  }
  p.token = r->token;
  return p;
}

const std::vector<std::pair<std::string, std::string>> kPeople = {
    {"p1", R"({"name":"ann","state":"CA","age":31,"person":{"org":"Dev Ops","id":1036}})"},
    {"p2", R"({"name":"bob","state":"WA","age":25,"person":{"org":"Finance","id":1071}})"},
    {"p3", R"({"name":"cid","state":"CA","age":47,"person":{"org":"Finance","id":1100}})"},
    {"p4", R"({"name":"dee","state":"TX","age":25.0,"person":{"org":"Dev Ops","id":1200}})"},
    {"p5", R"("just a string")"},
    {"p6", "not json at all"},
};

TEST(StateQueryTest, ParsesEveryPart) {
  Query q = parsed(R"({"filter":{"AND":[{"EQ":{"state":"CA"}},{"IN":{"person.org":["a","b"]}}]},
                      "sort":[{"key":"age","order":"DESC"},{"key":"name"}],
                      "page":{"limit":2,"token":"4"}})");
  ASSERT_TRUE(q.filter.has_value());
  EXPECT_EQ(q.filter->op, QueryFilter::Op::kAnd);
  ASSERT_EQ(q.filter->children.size(), 2u);
  EXPECT_EQ(q.filter->children[0].op, QueryFilter::Op::kEq);
  EXPECT_EQ(q.filter->children[0].key, "state");
  EXPECT_EQ(q.filter->children[1].op, QueryFilter::Op::kIn);
  EXPECT_EQ(q.filter->children[1].key, "person.org");
  EXPECT_EQ(q.filter->children[1].values->Size(), 2u);
  ASSERT_EQ(q.sort.size(), 2u);
  EXPECT_TRUE(q.sort[0].descending);
  EXPECT_FALSE(q.sort[1].descending);
  EXPECT_EQ(q.limit, 2);
  EXPECT_EQ(q.token, "4");
  // Nothing at all, or an empty filter, selects everything.
  EXPECT_FALSE(parsed("{}").filter.has_value());
  EXPECT_FALSE(parsed(R"({"filter":{}})").filter.has_value());
}

TEST(StateQueryTest, RejectsWhatDaprRejects) {
  for (const char* bad :
       {"", "[]", "not json", R"({"filter":[]})",
        R"({"filter":{"EQ":{"a":1},"IN":{"b":[1]}}})",  // two units in one
        R"({"filter":{"LIKE":{"a":"x"}}})",             // unsupported operator
        R"({"filter":{"EQ":{"a":1,"b":2}}})",           // EQ takes one pair
        R"({"filter":{"EQ":"a"}})", R"({"filter":{"IN":{"a":"x"}}})",
        R"({"filter":{"AND":[{"EQ":{"a":1}}]}})",  // AND needs two entries
        R"({"filter":{"OR":{"EQ":{"a":1}}}})", R"({"filter":{"OR":[{"EQ":{"a":1}},{"NOPE":1}]}})",
        R"({"sort":{"key":"a"}})", R"({"sort":[{"order":"ASC"}]})",
        R"({"sort":[{"key":"a","order":"UP"}]})", R"({"page":[]})", R"({"page":{"limit":"2"}})",
        R"({"page":{"limit":-1}})", R"({"page":{"token":3}})"}) {
    auto q = parseQuery(bad);
    EXPECT_FALSE(q.ok()) << bad;
    if (!q.ok()) EXPECT_EQ(q.status().code(), StatusCode::kInvalidArgument) << bad;
  }
  auto q = parseQuery(R"({"filter":{"OR":[{"EQ":{"a":1}},{"NOPE":1}]}})");
  ASSERT_FALSE(q.ok());
  EXPECT_NE(q.status().message().find("NOPE"), std::string::npos) << q.status().message();
}

TEST(StateQueryTest, FiltersOnPathsIntoTheValue) {
  EXPECT_EQ(run(parsed(R"({"filter":{"EQ":{"state":"CA"}}})"), kPeople).keys,
            (std::vector<std::string>{"p1", "p3"}));
  EXPECT_EQ(run(parsed(R"({"filter":{"EQ":{"person.org":"Dev Ops"}}})"), kPeople).keys,
            (std::vector<std::string>{"p1", "p4"}));
  // Numbers compare by value (25 and 25.0 are equal); a string is not a number.
  EXPECT_EQ(run(parsed(R"({"filter":{"EQ":{"age":25}}})"), kPeople).keys,
            (std::vector<std::string>{"p2", "p4"}));
  EXPECT_TRUE(run(parsed(R"({"filter":{"EQ":{"age":"25"}}})"), kPeople).keys.empty());
  EXPECT_EQ(run(parsed(R"({"filter":{"IN":{"state":["WA","TX"]}}})"), kPeople).keys,
            (std::vector<std::string>{"p2", "p4"}));
  EXPECT_TRUE(run(parsed(R"({"filter":{"IN":{"state":[]}}})"), kPeople).keys.empty());
  EXPECT_EQ(
      run(parsed(R"({"filter":{"AND":[{"EQ":{"state":"CA"}},{"EQ":{"person.org":"Finance"}}]}})"),
          kPeople)
          .keys,
      (std::vector<std::string>{"p3"}));
  EXPECT_EQ(
      run(parsed(
              R"({"filter":{"OR":[{"EQ":{"state":"WA"}},{"AND":[{"EQ":{"state":"CA"}},{"IN":{"age":[31]}}]}]}})"),
          kPeople)
          .keys,
      (std::vector<std::string>{"p1", "p2"}));
  // A path through a non-object, or to nothing, matches nothing.
  EXPECT_TRUE(run(parsed(R"({"filter":{"EQ":{"name.first":"ann"}}})"), kPeople).keys.empty());
  EXPECT_TRUE(run(parsed(R"({"filter":{"EQ":{"missing":null}}})"), kPeople).keys.empty());
  // Without a filter every item is listed, JSON or not, in key order.
  EXPECT_EQ(run(parsed("{}"), kPeople).keys,
            (std::vector<std::string>{"p1", "p2", "p3", "p4", "p5", "p6"}));
}

TEST(StateQueryTest, SortsByOneOrMoreKeys) {
  Query q = parsed(R"({"filter":{"IN":{"state":["CA","WA","TX"]}},"sort":[{"key":"age"}]})");
  EXPECT_EQ(run(q, kPeople).keys, (std::vector<std::string>{"p2", "p4", "p1", "p3"}));
  q = parsed(R"({"filter":{"IN":{"state":["CA","WA","TX"]}},
                 "sort":[{"key":"age","order":"DESC"},{"key":"name","order":"DESC"}]})");
  EXPECT_EQ(run(q, kPeople).keys, (std::vector<std::string>{"p3", "p1", "p4", "p2"}));
  q = parsed(R"({"sort":[{"key":"person.org"},{"key":"person.id","order":"DESC"}]})");
  // Items without the field come first in ascending order.
  EXPECT_EQ(run(q, kPeople).keys, (std::vector<std::string>{"p5", "p6", "p4", "p1", "p3", "p2"}));
}

TEST(StateQueryTest, PagesWithATokenUntilTheEnd) {
  std::vector<std::pair<std::string, std::string>> items;
  for (int i = 0; i < 7; ++i) {
    items.push_back({"k" + std::to_string(i), "{\"n\":" + std::to_string(i) + "}"});
  }
  Query q = parsed(R"({"sort":[{"key":"n","order":"DESC"}],"page":{"limit":3}})");
  std::vector<std::string> seen;
  int pages = 0;
  while (true) {
    Page p = run(q, items);
    ++pages;
    EXPECT_LE(p.keys.size(), 3u);
    seen.insert(seen.end(), p.keys.begin(), p.keys.end());
    if (p.token.empty()) break;
    ASSERT_LT(pages, 10);
    q.token = p.token;
  }
  EXPECT_EQ(pages, 3);
  EXPECT_EQ(seen, (std::vector<std::string>{"k6", "k5", "k4", "k3", "k2", "k1", "k0"}));
  // A token past the end is an empty page; one this did not hand out is refused.
  q.token = "100";
  EXPECT_TRUE(run(q, items).keys.empty());
  for (const char* bad : {"x", "-1", "1.5", "99999999999999999999"}) {
    q.token = bad;
    QueryEvaluator e(q);
    e.add(QueryItem{"a", "{}", "1"});
    auto r = e.finish();
    EXPECT_FALSE(r.ok()) << bad;
    if (!r.ok()) EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);
  }
}

TEST(StateQueryTest, APageNeverHoldsMoreThanTheBound) {
  std::vector<std::pair<std::string, std::string>> items;
  for (int64_t i = 0; i < kMaxQueryResults + 5; ++i) items.push_back({std::to_string(i), "{}"});
  for (const char* text : {"{}", R"({"page":{"limit":0}})", R"({"page":{"limit":1000000}})"}) {
    Page p = run(parsed(text), items);
    EXPECT_EQ(p.keys.size(), static_cast<size_t>(kMaxQueryResults)) << text;
    EXPECT_EQ(p.token, std::to_string(kMaxQueryResults)) << text;
  }
  Query rest = parsed("{}");
  rest.token = std::to_string(kMaxQueryResults);
  Page p = run(rest, items);
  EXPECT_EQ(p.keys.size(), 5u);
  EXPECT_EQ(p.token, "");
}

}  // namespace
}  // namespace outrigger::sidecar::components::state
