#pragma once

// Component metadata: the name/value pairs of a Component's spec.metadata, checked against the
// fields a component declares before the component ever sees them.

#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/status/status.h"

namespace outrigger::sidecar::runtime {

struct CaseInsensitiveLess {
  bool operator()(std::string_view a, std::string_view b) const;
  using is_transparent = void;
};

// Validated properties; lookups ignore case, as Dapr's do.
class Properties {
 public:
  void set(std::string key, std::string value) { values_[std::move(key)] = std::move(value); }
  bool has(std::string_view key) const { return values_.find(key) != values_.end(); }
  std::string get(std::string_view key, std::string fallback = {}) const;
  int64_t getInt(std::string_view key, int64_t fallback = 0) const;
  bool getBool(std::string_view key, bool fallback = false) const;
  // Milliseconds for a duration field ("5s", "100ms", "1m", or a plain number of seconds).
  int64_t getDurationMs(std::string_view key, int64_t fallback_ms = 0) const;
  const std::map<std::string, std::string, CaseInsensitiveLess>& all() const { return values_; }

 private:
  std::map<std::string, std::string, CaseInsensitiveLess> values_;
};

enum class FieldType { kString, kInt, kBool, kDuration };

struct MetadataField {
  std::string name;
  FieldType type = FieldType::kString;
  bool required = false;
  std::optional<std::string> default_value;
  std::vector<std::string> allowed;  // non-empty: the value must be one of these (case-insensitive)
};

// Checks raw values against fields: required present, types parse, allowed values, defaults
// applied. Errors name the field. Keys no field declares are kept (runtime-level keys such as
// keyPrefix or actorStateStore pass through).
StatusOr<Properties> validateMetadata(const std::vector<MetadataField>& fields,
                                      const std::map<std::string, std::string>& raw);

bool parseBool(std::string_view text, bool* out);
bool parseInt(std::string_view text, int64_t* out);
// Go-style durations ("1h2m3.5s", "250ms") or plain seconds; milliseconds out.
bool parseDurationMs(std::string_view text, int64_t* out);

}  // namespace outrigger::sidecar::runtime
