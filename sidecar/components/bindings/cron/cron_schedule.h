#pragma once

// Cron schedules as Dapr's cron binding reads them: 5 or 6 fields (seconds optional), names for
// months and weekdays, and the descriptors @yearly, @monthly, @weekly, @daily, @midnight,
// @hourly and @every <duration>. Times are UTC.

#include <bitset>
#include <ctime>
#include <string>

#include "common/status/status.h"

namespace outrigger::sidecar::components::bindings::cron {

class CronSchedule {
 public:
  static StatusOr<CronSchedule> parse(const std::string& text);
  // The first firing time strictly after `after` (seconds since the epoch); -1 if none within
  // five years (an impossible date such as 30 February).
  int64_t next(int64_t after) const;

 private:
  int64_t every_seconds_ = 0;  // @every
  std::bitset<60> seconds_, minutes_;
  std::bitset<24> hours_;
  std::bitset<32> dom_;
  std::bitset<13> months_;
  std::bitset<7> dow_;
  bool dom_star_ = false, dow_star_ = false;
};

}  // namespace outrigger::sidecar::components::bindings::cron
