// Cron schedules of bindings.cron (spec.metadata schedule): 5 or 6 fields, names, descriptors and
// @every <duration>; a schedule that parses is asked for its next firings.

#include <cstdint>
#include <string>

#include "sidecar/components/bindings/cron/cron_schedule.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using outrigger::sidecar::components::bindings::cron::CronSchedule;
  auto schedule = CronSchedule::parse(std::string(reinterpret_cast<const char*>(data), size));
  if (!schedule.ok()) return 0;
  // 2024-02-28T23:59:59Z: a leap day and a month end ahead.
  int64_t t = 1709164799;
  for (int i = 0; i < 3 && t >= 0; ++i) t = schedule->next(t);
  return 0;
}
