#include "sidecar/components/bindings/cron/cron_schedule.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <sstream>
#include <vector>

#include "sidecar/runtime/metadata.h"

namespace outrigger::sidecar::components::bindings::cron {

namespace {

const char* kMonths[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN",
                         "JUL", "AUG", "SEP", "OCT", "NOV", "DEC"};
const char* kDays[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT"};

bool parseNumber(std::string s, int lo, const char* const* names, int names_base, int* out) {
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (names) {
    for (int i = 0; i < (names == kMonths ? 12 : 7); ++i) {
      if (s == names[i]) {
        *out = i + names_base;
        return true;
      }
    }
  }
  int64_t v;
  // Within int, so that 4294967297 is not taken for 1.
  if (!runtime::parseInt(s, &v) || v < INT_MIN || v > INT_MAX) return false;
  *out = static_cast<int>(v);
  (void)lo;
  return true;
}

// Sets bits lo..hi of one field ("*", "*/n", "a-b/n", "a,b", names).
template <size_t N>
Status parseField(const std::string& field, int lo, int hi, const char* const* names,
                  int names_base, const char* what, std::bitset<N>* bits, bool* star) {
  if (star) *star = field == "*" || field == "?";
  std::stringstream ss(field);
  std::string part;
  while (std::getline(ss, part, ',')) {
    int step = 1;
    auto slash = part.find('/');
    if (slash != std::string::npos) {
      int64_t s;
      if (!runtime::parseInt(part.substr(slash + 1), &s) || s <= 0) {
        return invalidArgumentError(std::string("bad step in the ") + what + " field: '" + part +
                                    "'");
      }
      // A step beyond the range fires once; as an int, */3333333331 was a negative step that
      // walked out of the field (found by cron_fuzz).
      step = static_cast<int>(std::min<int64_t>(s, hi - lo + 1));
      part = part.substr(0, slash);
    }
    int a = lo, b = hi;
    if (part != "*" && part != "?") {
      auto dash = part.find('-');
      if (dash == std::string::npos) {
        if (!parseNumber(part, lo, names, names_base, &a)) {
          return invalidArgumentError(std::string("bad value in the ") + what + " field: '" + part +
                                      "'");
        }
        b = slash == std::string::npos ? a : hi;
      } else if (!parseNumber(part.substr(0, dash), lo, names, names_base, &a) ||
                 !parseNumber(part.substr(dash + 1), lo, names, names_base, &b)) {
        return invalidArgumentError(std::string("bad range in the ") + what + " field: '" + part +
                                    "'");
      }
    }
    if (a < lo || b > hi || a > b) {
      return invalidArgumentError(std::string("value out of range in the ") + what + " field: '" +
                                  field + "'");
    }
    for (int v = a; v <= b; v += step) bits->set(static_cast<size_t>(v));
  }
  return okStatus();
}

}  // namespace

StatusOr<CronSchedule> CronSchedule::parse(const std::string& text) {
  CronSchedule s;
  std::string t = text;
  if (t.rfind("@every ", 0) == 0) {
    int64_t ms;
    if (!runtime::parseDurationMs(t.substr(7), &ms) || ms < 1000) {
      return invalidArgumentError("bad @every duration in '" + text + "' (at least 1s)");
    }
    s.every_seconds_ = ms / 1000;
    return s;
  }
  if (t == "@yearly" || t == "@annually")
    t = "0 0 0 1 1 *";
  else if (t == "@monthly")
    t = "0 0 0 1 * *";
  else if (t == "@weekly")
    t = "0 0 0 * * 0";
  else if (t == "@daily" || t == "@midnight")
    t = "0 0 0 * * *";
  else if (t == "@hourly")
    t = "0 0 * * * *";
  else if (!t.empty() && t[0] == '@')
    return invalidArgumentError("unknown descriptor '" + text + "'");
  std::vector<std::string> f;
  std::stringstream ss(t);
  for (std::string x; ss >> x;) f.push_back(x);
  if (f.size() == 5) f.insert(f.begin(), "0");
  if (f.size() != 6) {
    return invalidArgumentError("schedule '" + text +
                                "' must have 5 or 6 fields or be a descriptor");
  }
  RETURN_IF_ERROR(parseField(f[0], 0, 59, nullptr, 0, "seconds", &s.seconds_, nullptr));
  RETURN_IF_ERROR(parseField(f[1], 0, 59, nullptr, 0, "minutes", &s.minutes_, nullptr));
  RETURN_IF_ERROR(parseField(f[2], 0, 23, nullptr, 0, "hours", &s.hours_, nullptr));
  RETURN_IF_ERROR(parseField(f[3], 1, 31, nullptr, 0, "day-of-month", &s.dom_, &s.dom_star_));
  RETURN_IF_ERROR(parseField(f[4], 1, 12, kMonths, 1, "month", &s.months_, nullptr));
  std::bitset<8> dow;
  RETURN_IF_ERROR(parseField(f[5], 0, 7, kDays, 0, "day-of-week", &dow, &s.dow_star_));
  for (int i = 0; i < 7; ++i) s.dow_[i] = dow[i];
  if (dow[7]) s.dow_[0] = true;  // 7 is Sunday too
  return s;
}

int64_t CronSchedule::next(int64_t after) const {
  if (every_seconds_ > 0) return after + every_seconds_;
  int64_t t = after + 1;
  const int64_t limit = after + 5LL * 366 * 24 * 3600;
  while (t <= limit) {
    std::time_t tt = static_cast<std::time_t>(t);
    std::tm tm{};
    gmtime_r(&tt, &tm);
    bool dom_ok = dom_[tm.tm_mday], dow_ok = dow_[tm.tm_wday];
    bool day_ok = (dom_star_ || dow_star_) ? (dom_ok && dow_ok) : (dom_ok || dow_ok);
    if (!months_[tm.tm_mon + 1] || !day_ok) {
      // Skip to the next day.
      t += (24 - tm.tm_hour) * 3600 - tm.tm_min * 60 - tm.tm_sec;
      continue;
    }
    if (!hours_[tm.tm_hour]) {
      t += 3600 - tm.tm_min * 60 - tm.tm_sec;
      continue;
    }
    if (!minutes_[tm.tm_min]) {
      t += 60 - tm.tm_sec;
      continue;
    }
    if (!seconds_[tm.tm_sec]) {
      t += 1;
      continue;
    }
    return t;
  }
  return -1;
}

}  // namespace outrigger::sidecar::components::bindings::cron
