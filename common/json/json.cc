#include "common/json/json.h"

#include <rapidjson/error/en.h>
#include <strings.h>

namespace outrigger::json {

StatusOr<Document> parse(std::string_view text) {
  Document doc;
  doc.Parse(text.data(), text.size());
  if (doc.HasParseError()) {
    return invalidArgumentError(std::string("invalid JSON at offset ") +
                                std::to_string(doc.GetErrorOffset()) + ": " +
                                rapidjson::GetParseError_En(doc.GetParseError()));
  }
  return doc;
}

std::string serialize(const Value& value) {
  rapidjson::StringBuffer buffer;
  Writer writer(buffer);
  value.Accept(writer);
  return std::string(buffer.GetString(), buffer.GetSize());
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
