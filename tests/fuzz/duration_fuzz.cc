// Durations and sizes as remote parties write them: Go durations in component metadata and
// Resiliency policies (runtime::parseDurationMs), circuit-breaker trip expressions, and the
// injector's checks of pod annotations (durations, quantities, byte sizes).

#include <cstdint>
#include <string>
#include <string_view>

#include "injector/patcher/values.h"
#include "sidecar/resiliency/policy.h"
#include "sidecar/runtime/metadata.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  int64_t ms = 0;
  (void)outrigger::sidecar::runtime::parseDurationMs(text, &ms);
  outrigger::sidecar::runtime::Properties properties;
  properties.set("timeout", std::string(text));
  (void)properties.getDurationMs("timeout", 1000);
  (void)properties.getInt("timeout");

  namespace patcher = outrigger::injector::patcher;
  (void)patcher::isDuration(text);
  (void)patcher::isByteSize(text);
  long double quantity = 0;
  (void)patcher::parseQuantity(text, &quantity);
  (void)patcher::parseInt("dapr.io/app-port", text, 1, 65535, "a port");

  using outrigger::sidecar::resiliency::TripExpression;
  if (auto trip = TripExpression::parse(std::string(text)); trip.ok()) {
    TripExpression::Counts counts;
    counts.requests = 10;
    counts.total_failures = counts.consecutive_failures = 6;
    (void)trip->evaluate(counts);
  }
  return 0;
}
