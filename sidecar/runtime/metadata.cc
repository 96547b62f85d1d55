#include "sidecar/runtime/metadata.h"

#include <strings.h>

#include <algorithm>
#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace outrigger::sidecar::runtime {

bool CaseInsensitiveLess::operator()(std::string_view a, std::string_view b) const {
  size_t n = std::min(a.size(), b.size());
  int c = strncasecmp(a.data(), b.data(), n);
  if (c != 0) return c < 0;
  return a.size() < b.size();
}

std::string Properties::get(std::string_view key, std::string fallback) const {
  auto it = values_.find(key);
  return it == values_.end() ? fallback : it->second;
}

int64_t Properties::getInt(std::string_view key, int64_t fallback) const {
  int64_t v;
  auto it = values_.find(key);
  return it != values_.end() && parseInt(it->second, &v) ? v : fallback;
}

bool Properties::getBool(std::string_view key, bool fallback) const {
  bool v;
  auto it = values_.find(key);
  return it != values_.end() && parseBool(it->second, &v) ? v : fallback;
}

int64_t Properties::getDurationMs(std::string_view key, int64_t fallback_ms) const {
  int64_t v;
  auto it = values_.find(key);
  return it != values_.end() && parseDurationMs(it->second, &v) ? v : fallback_ms;
}

bool parseBool(std::string_view text, bool* out) {
  std::string t(text);
  std::transform(t.begin(), t.end(), t.begin(), ::tolower);
  if (t == "true" || t == "1" || t == "yes" || t == "y" || t == "on") {
    *out = true;
  } else if (t == "false" || t == "0" || t == "no" || t == "n" || t == "off") {
    *out = false;
  } else {
    return false;
  }
  return true;
}

bool parseInt(std::string_view text, int64_t* out) {
  if (text.empty()) return false;
  std::string t(text);
  char* end = nullptr;
  errno = 0;
  long long v = std::strtoll(t.c_str(), &end, 10);
  if (errno != 0 || end == t.c_str() || *end != '\0') return false;
  *out = v;
  return true;
}

bool parseDurationMs(std::string_view text, int64_t* out) {
  if (text.empty()) return false;
  int64_t plain;
  // Beyond int64 milliseconds (292 million years) is an error, as Go's ParseDuration overflows:
  // 9223372036854775807 seconds was an overflowing multiplication (found by duration_fuzz).
  constexpr int64_t kMaxMs = std::numeric_limits<int64_t>::max();
  if (parseInt(text, &plain)) {
    if (plain < 0 || plain > kMaxMs / 1000) return false;
    *out = plain * 1000;
    return true;
  }
  double total_ms = 0;
  size_t i = 0;
  while (i < text.size()) {
    size_t start = i;
    int dots = 0, digits = 0;
    for (; i < text.size(); ++i) {
      if (text[i] == '.') {
        ++dots;
      } else if (std::isdigit(static_cast<unsigned char>(text[i]))) {
        ++digits;
      } else {
        break;
      }
    }
    if (digits == 0 || dots > 1) return false;  // "1.2.3s" is no number
    double number = std::atof(std::string(text.substr(start, i - start)).c_str());
    size_t unit_start = i;
    while (i < text.size() && std::isalpha(static_cast<unsigned char>(text[i]))) ++i;
    std::string_view unit = text.substr(unit_start, i - unit_start);
    double scale;
    if (unit == "h")
      scale = 3600000;
    else if (unit == "m")
      scale = 60000;
    else if (unit == "s")
      scale = 1000;
    else if (unit == "ms")
      scale = 1;
    else if (unit == "us" || unit == "µs")
      scale = 0.001;
    else if (unit == "ns")
      scale = 0.000001;
    else
      return false;
    total_ms += number * scale;
  }
  if (!(total_ms < static_cast<double>(kMaxMs))) return false;
  *out = static_cast<int64_t>(std::llround(total_ms));
  return true;
}

StatusOr<Properties> validateMetadata(const std::vector<MetadataField>& fields,
                                      const std::map<std::string, std::string>& raw) {
  Properties props;
  for (const auto& [k, v] : raw) props.set(k, v);
  for (const auto& field : fields) {
    if (!props.has(field.name) || props.get(field.name).empty()) {
      if (field.default_value) {
        props.set(field.name, *field.default_value);
        continue;
      }
      if (field.required) {
        return invalidArgumentError("metadata field '" + field.name + "' is required");
      }
      continue;
    }
    std::string value = props.get(field.name);
    bool ok = true;
    const char* expected = "";
    switch (field.type) {
      case FieldType::kString: break;
      case FieldType::kInt: {
        int64_t v;
        ok = parseInt(value, &v);
        expected = "an integer";
        break;
      }
      case FieldType::kBool: {
        bool v;
        ok = parseBool(value, &v);
        expected = "a boolean";
        break;
      }
      case FieldType::kDuration: {
        int64_t v;
        ok = parseDurationMs(value, &v);
        expected = "a duration such as 5s or 100ms";
        break;
      }
    }
    if (!ok) {
      return invalidArgumentError("metadata field '" + field.name + "' has value '" + value +
                                  "', expected " + expected);
    }
    if (!field.allowed.empty()) {
      bool found = std::any_of(
          field.allowed.begin(), field.allowed.end(),
          [&](const std::string& a) { return strcasecmp(a.c_str(), value.c_str()) == 0; });
      if (!found) {
        std::string list;
        for (const auto& a : field.allowed) list += (list.empty() ? "" : ", ") + a;
        return invalidArgumentError("metadata field '" + field.name + "' has value '" + value +
                                    "', expected one of: " + list);
      }
    }
  }
  return props;
}

}  // namespace outrigger::sidecar::runtime
