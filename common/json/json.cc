#include "common/json/json.h"

#include <rapidjson/encodedstream.h>
#include <rapidjson/error/en.h>
#include <rapidjson/memorystream.h>
#include <rapidjson/reader.h>
#include <strings.h>

#include <algorithm>

namespace outrigger::json {

namespace {

constexpr std::string_view kTooDeep = "JSON nested deeper than ";

// Forwards the reader's events to the document being built and stops the parse at the first
// array or object past the maximum depth.
class DepthLimitedHandler {
 public:
  DepthLimitedHandler(Document& doc, int max_depth) : doc_(doc), max_depth_(max_depth) {}
  bool tooDeep() const { return too_deep_; }

  bool Null() { return doc_.Null(); }
  bool Bool(bool b) { return doc_.Bool(b); }
  bool Int(int i) { return doc_.Int(i); }
  bool Uint(unsigned u) { return doc_.Uint(u); }
  bool Int64(int64_t i) { return doc_.Int64(i); }
  bool Uint64(uint64_t u) { return doc_.Uint64(u); }
  bool Double(double d) { return doc_.Double(d); }
  bool RawNumber(const char* s, rapidjson::SizeType n, bool copy) {
    return doc_.RawNumber(s, n, copy);
  }
  bool String(const char* s, rapidjson::SizeType n, bool copy) { return doc_.String(s, n, copy); }
  bool Key(const char* s, rapidjson::SizeType n, bool copy) { return doc_.Key(s, n, copy); }
  bool StartObject() { return enter() && doc_.StartObject(); }
  bool EndObject(rapidjson::SizeType members) {
    --depth_;
    return doc_.EndObject(members);
  }
  bool StartArray() { return enter() && doc_.StartArray(); }
  bool EndArray(rapidjson::SizeType elements) {
    --depth_;
    return doc_.EndArray(elements);
  }

 private:
  bool enter() {
    too_deep_ = ++depth_ > max_depth_;
    return !too_deep_;
  }

  Document& doc_;
  const int max_depth_;
  int depth_ = 0;
  bool too_deep_ = false;
};

template <unsigned kFlags>
StatusOr<Document> parseWith(std::string_view text, int max_depth) {
  // Iterative: the reader keeps its own stack on the heap instead of recursing per level.
  constexpr unsigned kAllFlags = kFlags | rapidjson::kParseIterativeFlag;
  rapidjson::MemoryStream bytes(text.data(), text.size());
  rapidjson::EncodedInputStream<rapidjson::UTF8<>, rapidjson::MemoryStream> in(bytes);
  rapidjson::Reader reader;
  rapidjson::ParseResult result;
  bool too_deep = false;
  auto generate = [&](Document& doc) {
    DepthLimitedHandler handler(doc, max_depth);
    result = reader.Parse<kAllFlags>(in, handler);
    too_deep = handler.tooDeep();
    return !result.IsError();
  };
  Document doc;
  doc.Populate(generate);
  if (too_deep) {
    return invalidArgumentError(std::string(kTooDeep) + std::to_string(max_depth) +
                                " levels at offset " + std::to_string(result.Offset()));
  }
  if (result.IsError()) {
    return invalidArgumentError("invalid JSON at offset " + std::to_string(result.Offset()) + ": " +
                                rapidjson::GetParseError_En(result.Code()));
  }
  return doc;
}

}  // namespace

StatusOr<Document> parse(std::string_view text, ParseOptions options) {
  int max_depth = std::min(options.max_depth, kMaxDepth);
  if (options.numbers_as_strings) {
    return parseWith<rapidjson::kParseNumbersAsStringsFlag>(text, max_depth);
  }
  return parseWith<rapidjson::kParseDefaultFlags>(text, max_depth);
}

bool isTooDeep(const Status& status) {
  return status.code() == StatusCode::kInvalidArgument &&
         std::string_view(status.message()).substr(0, kTooDeep.size()) == kTooDeep;
}

std::string serialize(const Value& value) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
}

std::string unquoted(std::string_view text) {
  auto doc = parse(text);
  if (doc.ok() && doc->IsString()) return std::string(doc->GetString(), doc->GetStringLength());
  return std::string(text);
}

const Value* find(const Value& object, const char* name) {
  if (!object.IsObject()) return nullptr;
  auto it = object.FindMember(name);
  return it == object.MemberEnd() ? nullptr : &it->value;
}

const Value* findCaseInsensitive(const Value& object, std::string_view name) {
  if (!object.IsObject()) return nullptr;
  for (auto it = object.MemberBegin(); it != object.MemberEnd(); ++it) {
    std::string_view key(it->name.GetString(), it->name.GetStringLength());
    if (key.size() == name.size() && strncasecmp(key.data(), name.data(), key.size()) == 0) {
      return &it->value;
    }
  }
  return nullptr;
}

std::string scalarToString(const Value& value) {
  if (value.IsString()) return std::string(value.GetString(), value.GetStringLength());
  return serialize(value);
}

}  // namespace outrigger::json
