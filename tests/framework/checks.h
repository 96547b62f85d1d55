#pragma once

// Checks integration tests of outriggerd share: Dapr error answers and start-up log lines.

#include <gtest/gtest.h>

#include <algorithm>
#include <sstream>
#include <string>
#include <vector>

#include "common/http/types.h"
#include "common/json/json.h"

namespace outrigger::testing {

// The answer has this status and a JSON body whose errorCode is `code`.
inline void expectErrorCode(const http::Response& res, unsigned status, const std::string& code) {
  EXPECT_EQ(res.result_int(), status) << res.body();
  auto doc = json::parse(res.body());
  ASSERT_TRUE(doc.ok()) << res.body();
  const json::Value* error_code = json::find(*doc, "errorCode");
  ASSERT_NE(error_code, nullptr) << res.body();
  EXPECT_EQ(json::scalarToString(*error_code), code) << res.body();
}

// Some single line of the log holds every needle (one message names file, resource and field).
inline bool oneLineHasAll(const std::string& log, const std::vector<std::string>& needles) {
  std::istringstream in(log);
  for (std::string line; std::getline(in, line);) {
    if (std::all_of(needles.begin(), needles.end(),
                    [&](const std::string& n) { return line.find(n) != std::string::npos; })) {
      return true;
    }
  }
  return false;
}

}  // namespace outrigger::testing
