#pragma once

// RapidJSON helpers: parsing into a Status, serialising, and typed field access.

#include <rapidjson/document.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include <string>
#include <string_view>

#include "common/status/status.h"

namespace outrigger::json {

using Document = rapidjson::Document;
using Value = rapidjson::Value;
using Writer = rapidjson::Writer<rapidjson::StringBuffer>;

// Parses text; an InvalidArgument status names the offset and reason on failure.
StatusOr<Document> parse(std::string_view text);
std::string serialize(const Value& value);

// Member lookup that tolerates non-objects; nullptr when absent.
const Value* find(const Value& object, const char* name);
// Case-insensitive member lookup (Dapr's JSON decoding matches keys so).
const Value* findCaseInsensitive(const Value& object, std::string_view name);

// Writes a string value, or the raw JSON of any other value, as text (e.g. metadata values).
std::string scalarToString(const Value& value);

}  // namespace outrigger::json
