#include "sidecar/pubsub/cloudevent.h"

#include <algorithm>
#include <boost/beast/core/detail/base64.hpp>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <random>
#include <stdexcept>

namespace outrigger::sidecar::pubsub {

namespace {

std::string base64(const std::string& in) {
  std::string out(boost::beast::detail::base64::encoded_size(in.size()), '\0');
  out.resize(boost::beast::detail::base64::encode(out.data(), in.data(), in.size()));
  return out;
}

std::string metaOr(const std::map<std::string, std::string>& m, const std::string& key,
                   const std::string& fallback) {
  auto it = m.find(key);
  return it == m.end() ? fallback : it->second;
}

void setString(json::Document& doc, const char* key, const std::string& value) {
  auto& a = doc.GetAllocator();
  json::Value v(value.c_str(), static_cast<rapidjson::SizeType>(value.size()), a);
  auto it = doc.FindMember(key);
  if (it != doc.MemberEnd()) {
    it->value = v;
  } else {
    doc.AddMember(json::Value(key, a), v, a);
  }
}

void setIfAbsent(json::Document& doc, const char* key, const std::string& value) {
  if (!doc.HasMember(key)) setString(doc, key, value);
}

// A body the client sent that cannot be made into a CloudEvent: the client's error (Dapr answers
// 500 here).
Status cloudEventError(const std::string& message) {
  return invalidArgumentError(message).withErrorCode("ERR_PUBSUB_CLOUD_EVENTS_SER", 400);
}

std::string mediaType(const std::string& content_type) {
  std::string t = content_type.substr(0, content_type.find(';'));
  while (!t.empty() && t.back() == ' ') t.pop_back();
  for (auto& c : t) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return t;
}

}  // namespace

std::string newUuid() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  uint64_t a = rng(), b = rng();
  a = (a & 0xffffffffffff0fffULL) | 0x0000000000004000ULL;  // version 4
  b = (b & 0x3fffffffffffffffULL) | 0x8000000000000000ULL;  // variant 1
  char buf[37];
  std::snprintf(buf, sizeof(buf), "%08x-%04x-%04x-%04x-%012llx", static_cast<unsigned>(a >> 32),
                static_cast<unsigned>((a >> 16) & 0xffff), static_cast<unsigned>(a & 0xffff),
                static_cast<unsigned>(b >> 48),
                static_cast<unsigned long long>(b & 0xffffffffffffULL));
  return buf;
}

std::string rfc3339Now() { return rfc3339(std::chrono::system_clock::now()); }

std::string rfc3339(std::chrono::system_clock::time_point when) {
  std::time_t t = std::chrono::system_clock::to_time_t(when);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

bool isJsonContentType(const std::string& content_type) {
  std::string m = mediaType(content_type);
  return m == "application/json" || (m.size() > 5 && m.compare(m.size() - 5, 5, "+json") == 0);
}

StatusOr<std::optional<int64_t>> ttlInSeconds(const std::map<std::string, std::string>& metadata) {
  auto it = metadata.find("ttlInSeconds");
  if (it == metadata.end() || it->second.empty()) return std::optional<int64_t>();
  const std::string& v = it->second;
  size_t used = 0;
  long long n = 0;
  try {
    n = std::stoll(v, &used, 10);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used != v.size() || std::isspace(static_cast<unsigned char>(v[0]))) {
    return invalidArgumentError("ttlInSeconds value must be a valid integer: actual is '" + v + "'")
        .withErrorCode("ERR_PUBSUB_REQUEST_METADATA", 400);
  }
  if (n <= 0) {
    return invalidArgumentError("ttlInSeconds value must be higher than zero: actual is " + v)
        .withErrorCode("ERR_PUBSUB_REQUEST_METADATA", 400);
  }
  return std::optional<int64_t>(n);
}

namespace {

// Sets `expiration` when the request carries a TTL.
Status applyTtl(json::Document& doc, const EnvelopeRequest& r) {
  ASSIGN_OR_RETURN(auto ttl, ttlInSeconds(r.metadata));
  if (!ttl) return okStatus();
  // Capped at 100 years, so that the time point cannot overflow.
  int64_t seconds = std::min<int64_t>(*ttl, int64_t{100} * 366 * 24 * 3600);
  setString(doc, "expiration",
            rfc3339(std::chrono::system_clock::now() + std::chrono::seconds(seconds)));
  return okStatus();
}

}  // namespace

StatusOr<std::string> newEnvelope(const EnvelopeRequest& r) {
  json::Document doc;
  doc.SetObject();
  auto& a = doc.GetAllocator();
  std::string content_type = r.content_type.empty() ? "text/plain" : r.content_type;
  setString(doc, "id", metaOr(r.metadata, "cloudevent.id", newUuid()));
  setString(doc, "specversion", "1.0");
  setString(doc, "source", metaOr(r.metadata, "cloudevent.source", r.app_id));
  setString(doc, "type", metaOr(r.metadata, "cloudevent.type", "com.dapr.event.sent"));
  setString(doc, "datacontenttype", content_type);
  std::string media = mediaType(content_type);
  if (media == "application/json") {
    // The envelope is one level more, and must parse where it is delivered.
    auto data = json::parse(r.data, {.max_depth = json::kMaxDepth - 1});
    if (data.ok()) {
      doc.AddMember("data", json::Value(*data, a), a);
    } else if (json::isTooDeep(data.status())) {
      // Data that does not parse goes as a string, as in Dapr; JSON nested too deep is refused.
      return cloudEventError("the data is not usable JSON: " + data.status().message());
    } else {
      doc.AddMember("data",
                    json::Value(r.data.c_str(), static_cast<rapidjson::SizeType>(r.data.size()), a),
                    a);
    }
  } else if (media == "application/octet-stream") {
    setString(doc, "data_base64", base64(r.data));
  } else {
    doc.AddMember(
        "data", json::Value(r.data.c_str(), static_cast<rapidjson::SizeType>(r.data.size()), a), a);
  }
  setString(doc, "topic", r.topic);
  setString(doc, "pubsubname", r.pubsub_name);
  std::string traceparent = metaOr(r.metadata, "cloudevent.traceparent", r.traceparent);
  setString(doc, "traceid", metaOr(r.metadata, "cloudevent.traceid", traceparent));
  setString(doc, "traceparent", traceparent);
  setString(doc, "tracestate", metaOr(r.metadata, "cloudevent.tracestate", r.tracestate));
  setString(doc, "time", rfc3339Now());
  RETURN_IF_ERROR(applyTtl(doc, r));
  return json::serialize(doc);
}

StatusOr<std::string> completeCallerEnvelope(const EnvelopeRequest& r) {
  auto parsed = json::parse(r.data);
  if (!parsed.ok()) return cloudEventError("the body is not JSON: " + parsed.status().message());
  json::Document& doc = *parsed;
  if (!doc.IsObject()) return cloudEventError("the body is not a JSON CloudEvent object");
  setString(doc, "topic", r.topic);
  setString(doc, "pubsubname", r.pubsub_name);
  setIfAbsent(doc, "id", newUuid());
  setIfAbsent(doc, "source", "Dapr");
  setIfAbsent(doc, "type", "com.dapr.event.sent");
  setIfAbsent(doc, "specversion", "1.0");
  setIfAbsent(doc, "traceid", r.traceparent);
  setIfAbsent(doc, "traceparent", r.traceparent);
  setIfAbsent(doc, "tracestate", r.tracestate);
  setIfAbsent(doc, "time", rfc3339Now());
  RETURN_IF_ERROR(applyTtl(doc, r));
  return json::serialize(doc);
}

std::string rawEnvelope(const std::string& pubsub_name, const std::string& topic,
                        const std::string& data) {
  json::Document doc;
  doc.SetObject();
  setString(doc, "id", newUuid());
  setString(doc, "specversion", "1.0");
  setString(doc, "datacontenttype", "application/octet-stream");
  setString(doc, "source", "Dapr");
  setString(doc, "type", "com.dapr.event.sent");
  setString(doc, "topic", topic);
  setString(doc, "pubsubname", pubsub_name);
  setString(doc, "data_base64", base64(data));
  return json::serialize(doc);
}

}  // namespace outrigger::sidecar::pubsub
