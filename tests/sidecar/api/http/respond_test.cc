// Response headers built from bytes the sidecar does not own: nothing that could end a header
// line or the head is ever written.

#include "sidecar/api/http/respond.h"

#include <gtest/gtest.h>

namespace outrigger::sidecar::api::http {
namespace {

namespace bhttp = outrigger::http::bhttp;

TEST(SetMetadataHeaders, WritesValidEntriesAndLeavesOutTheRest) {
  Response out = emptyResponse(204);
  setMetadataHeaders(out,
                     {{"fileName", "a.txt"},
                      {"tabbed", "a\tb"},
                      {"split", "a.txt\r\nSet-Cookie: x=1"},
                      {"lf", "a\nb"},
                      {"nul", std::string("a\0b", 3)},
                      {"bad name", "v"},
                      {"x\r\nSet-Cookie", "v"}},
                     "test");
  EXPECT_EQ(out["metadata.fileName"], "a.txt");
  EXPECT_EQ(out["metadata.tabbed"], "a\tb");
  for (const char* left_out :
       {"metadata.split", "metadata.lf", "metadata.nul", "metadata.bad name"}) {
    EXPECT_EQ(out.find(left_out), out.end()) << left_out;
  }
  EXPECT_EQ(out.find(bhttp::field::set_cookie), out.end());
  EXPECT_EQ(std::distance(out.begin(), out.end()), 2);
}

TEST(SetHeaderIfValid, RefusesControlBytes) {
  Response out = emptyResponse(200);
  EXPECT_TRUE(setHeaderIfValid(out, bhttp::field::etag, "\"1\"", "test"));
  EXPECT_EQ(out[bhttp::field::etag], "\"1\"");
  Response bad = emptyResponse(200);
  EXPECT_FALSE(setHeaderIfValid(bad, bhttp::field::etag, "1\r\nSet-Cookie: x", "test"));
  EXPECT_FALSE(setHeaderIfValid(bad, bhttp::field::content_type, "text/plain\n", "test"));
  EXPECT_EQ(bad.find(bhttp::field::etag), bad.end());
  EXPECT_EQ(bad.find(bhttp::field::set_cookie), bad.end());
}

}  // namespace
}  // namespace outrigger::sidecar::api::http
