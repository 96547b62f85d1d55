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

// The deepest nesting of arrays and objects parse() accepts. Parsing itself does not recurse, but
// RapidJSON's writer (serialize), deep copy and comparison do, once per level: bounding every
// parsed value bounds them too. Dapr apps' documents are nowhere near it.
inline constexpr int kMaxDepth = 1000;

struct ParseOptions {
  // Numbers are kept as strings holding the digits written (rapidjson::kParseNumbersAsStringsFlag).
  bool numbers_as_strings = false;
  // Lower for a text embedded in a document that must parse too (a CloudEvent's data); a value
  // above kMaxDepth is taken as kMaxDepth.
  int max_depth = kMaxDepth;
};

// Parses text; an InvalidArgument status names the offset and reason on failure, and the limit
// when the text nests deeper than options.max_depth. The only way the binaries parse JSON.
StatusOr<Document> parse(std::string_view text, ParseOptions options = {});
// Whether a status from parse() is the depth limit (callers that take malformed JSON as text must
// still refuse JSON too deep to hold).
bool isTooDeep(const Status& status);

std::string serialize(const Value& value);

// The contents of text when it is a JSON string, else text itself (how bindings take their data).
std::string unquoted(std::string_view text);

// Member lookup that tolerates non-objects; nullptr when absent.
const Value* find(const Value& object, const char* name);
// Case-insensitive member lookup (Dapr's JSON decoding matches keys so).
const Value* findCaseInsensitive(const Value& object, std::string_view name);

// Writes a string value, or the raw JSON of any other value, as text (e.g. metadata values).
std::string scalarToString(const Value& value);

}  // namespace outrigger::json
