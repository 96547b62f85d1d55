// Subscription routing rules (the CEL subset of sidecar/pubsub/expr.cc), as an app declares them
// in /dapr/subscribe or a Subscription resource: compiled, then matched against a few events.

#include <cstdint>
#include <string>

#include "common/json/json.h"
#include "sidecar/pubsub/expr.h"
#include "tests/fuzz/repeat_mutator.h"

namespace {

const outrigger::json::Document& event(int which) {
  static const outrigger::json::Document* events[] = {
      [] {
        auto* d = new outrigger::json::Document();
        d->Parse(R"({"id":"1","type":"order.created","source":"shop","specversion":"1.0",
                     "data":{"total":250,"kind":"gift","ok":true,"customer":{"name":"ann"},
                             "tags":["a","b"],"ratio":0.5,"none":null}})");
        return d;
      }(),
      [] {
        auto* d = new outrigger::json::Document();
        d->Parse(R"({"type":"x","data":"a string payload"})");
        return d;
      }(),
  };
  return *events[which];
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string text(reinterpret_cast<const char*>(data), size);
  auto expression = outrigger::sidecar::pubsub::RoutingExpression::compile(text);
  if (!expression.ok()) return 0;
  for (int i = 0; i < 2; ++i) (void)(*expression)->matches(event(i));
  return 0;
}
