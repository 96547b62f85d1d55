// GET /v1.0/metadata and PUT /v1.0/metadata/{key}.

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "sidecar/api/http/endpoints.h"
#include "sidecar/api/http/respond.h"
#include "sidecar/options.h"

namespace outrigger::sidecar::api::http {

namespace bhttp = outrigger::http::bhttp;

namespace {

using JsonWriter = rapidjson::Writer<rapidjson::StringBuffer>;

// Bounds of the extended metadata (PUT /v1.0/metadata/{key}).
constexpr size_t kMaxExtendedMetadataKeys = 1000;
constexpr size_t kMaxExtendedMetadataKeyBytes = 256;
constexpr size_t kMaxExtendedMetadataValueBytes = 4 * 1024;
constexpr size_t kMaxExtendedMetadataTotalBytes = 64 * 1024;

void writeString(JsonWriter& w, const std::string& s) { w.String(s.data(), s.size()); }

template <typename Instances>
void writeComponents(JsonWriter& w, const Instances& instances) {
  for (const auto& inst : instances) {
    w.StartObject();
    w.Key("name");
    writeString(w, inst->spec.name);
    w.Key("type");
    writeString(w, inst->spec.type);
    w.Key("version");
    writeString(w, inst->spec.version);
    if (!inst->capabilities.empty()) {
      w.Key("capabilities");
      w.StartArray();
      for (const auto& c : inst->capabilities) writeString(w, c);
      w.EndArray();
    }
    w.EndObject();
  }
}

std::string renderMetadata(runtime::Context& ctx, const config::Configuration* configuration) {
  const Options& o = ctx.options;
  rapidjson::StringBuffer buffer;
  JsonWriter w(buffer);
  w.StartObject();
  w.Key("id");
  writeString(w, o.app_id);
  w.Key("runtimeVersion");
  w.String(kRuntimeVersion);
  w.Key("enabledFeatures");
  w.StartArray();
  if (configuration) {
    for (const auto& feature : configuration->enabledFeatures()) writeString(w, feature);
  }
  w.EndArray();
  w.Key("actors");
  w.StartArray();
  w.EndArray();
  w.Key("components");
  w.StartArray();
  writeComponents(w, ctx.compstore.state.all());
  writeComponents(w, ctx.compstore.secretstores.all());
  writeComponents(w, ctx.compstore.pubsub.all());
  writeComponents(w, ctx.compstore.bindings.all());
  w.EndArray();
  w.Key("extended");
  w.StartObject();
  {
    std::lock_guard<std::mutex> lock(ctx.extended_mutex);
    for (const auto& [k, v] : ctx.extended_metadata) {
      if (k == "daprRuntimeVersion") continue;  // the runtime's own key wins, once, as in daprd
      writeString(w, k);
      writeString(w, v);
    }
  }
  w.Key("daprRuntimeVersion");
  w.String(kRuntimeVersion);
  w.EndObject();
  w.Key("subscriptions");
  w.StartArray();
  {
    std::lock_guard<std::mutex> lock(ctx.subscriptions_mutex);
    for (const auto& sub : ctx.subscriptions) {
      w.StartObject();
      w.Key("pubsubname");
      writeString(w, sub.pubsub);
      w.Key("topic");
      writeString(w, sub.topic);
      if (!sub.metadata.empty()) {
        w.Key("metadata");
        w.StartObject();
        for (const auto& [k, v] : sub.metadata) {
          writeString(w, k);
          writeString(w, v);
        }
        w.EndObject();
      }
      w.Key("rules");
      w.StartArray();
      for (const auto& [match, path] : sub.rules) {
        w.StartObject();
        if (!match.empty()) {
          w.Key("match");
          writeString(w, match);
        }
        w.Key("path");
        writeString(w, path);
        w.EndObject();
      }
      w.EndArray();
      w.Key("deadLetterTopic");
      writeString(w, sub.dead_letter_topic);
      w.Key("type");
      writeString(w, sub.type);
      w.EndObject();
    }
  }
  w.EndArray();
  w.Key("httpEndpoints");
  w.StartArray();
  for (const auto& name : ctx.http_endpoints.names()) {
    w.StartObject();
    w.Key("name");
    writeString(w, name);
    w.EndObject();
  }
  w.EndArray();
  if (o.app_port > 0) {
    w.Key("appConnectionProperties");
    w.StartObject();
    w.Key("port");
    w.Int(o.app_port);
    w.Key("protocol");
    writeString(w, o.app_protocol);
    w.Key("channelAddress");
    writeString(w, o.app_channel_address);
    if (o.app_max_concurrency > 0) {
      w.Key("maxConcurrency");
      w.Int(o.app_max_concurrency);
    }
    w.EndObject();
  }
  {
    std::lock_guard<std::mutex> lock(ctx.compstore.errors_mutex);
    if (!ctx.compstore.errors.empty()) {
      // Not in Dapr's schema; clients ignore unknown fields, operators get to see what failed.
      w.Key("componentErrors");
      w.StartArray();
      for (const auto& [name, error] : ctx.compstore.errors) {
        w.StartObject();
        w.Key("name");
        writeString(w, name);
        w.Key("error");
        writeString(w, error);
        w.EndObject();
      }
      w.EndArray();
    }
  }
  w.Key("actorRuntime");
  w.StartObject();
  w.Key("runtimeStatus");
  w.String("DISABLED");
  w.Key("hostReady");
  w.Bool(false);
  w.EndObject();
  w.EndObject();
  return std::string(buffer.GetString(), buffer.GetSize());
}

// PUT /v1.0/metadata/{key} keeps what any caller sends in the sidecar's memory, and GET copies
// all of it into one body: Dapr apps store small labels here, so each key, each value and the sum
// are bounded. A value replacing an existing one counts only once.
Response putExtended(runtime::Context& ctx, std::string key, std::string value) {
  auto tooLarge = [](const std::string& what) {
    return errorResponse(400, "ERR_BAD_REQUEST", "extended metadata: " + what);
  };
  if (key.size() > kMaxExtendedMetadataKeyBytes) {
    return tooLarge("the key is longer than " + std::to_string(kMaxExtendedMetadataKeyBytes) +
                    " bytes");
  }
  if (value.size() > kMaxExtendedMetadataValueBytes) {
    return tooLarge("the value of " + key + " is larger than " +
                    std::to_string(kMaxExtendedMetadataValueBytes) + " bytes");
  }
  std::lock_guard<std::mutex> lock(ctx.extended_mutex);
  auto& extended = ctx.extended_metadata;
  auto existing = extended.find(key);
  if (existing == extended.end() && extended.size() >= kMaxExtendedMetadataKeys) {
    return tooLarge("too many keys (at most " + std::to_string(kMaxExtendedMetadataKeys) + ")");
  }
  size_t total = key.size() + value.size();
  for (const auto& [k, v] : extended) {
    if (k != key) total += k.size() + v.size();
  }
  if (total > kMaxExtendedMetadataTotalBytes) {
    return tooLarge("keys and values would take more than " +
                    std::to_string(kMaxExtendedMetadataTotalBytes) + " bytes in all");
  }
  extended[std::move(key)] = std::move(value);
  return emptyResponse(204);
}

}  // namespace

void addMetadataEndpoints(outrigger::http::Router& router, Apis& apis) {
  Apis* a = &apis;
  router.add({bhttp::verb::get}, "/v1.0/metadata",
             [a](Request&&, RouteParams&&, Responder respond) {
               respond(jsonResponse(200, renderMetadata(*a->context, a->configuration)));
             });
  router.add({bhttp::verb::put}, "/v1.0/metadata/{key}",
             [a](Request&& req, RouteParams&& params, Responder respond) {
               respond(putExtended(*a->context, std::string(params.get("key")), req.body()));
             });
}

}  // namespace outrigger::sidecar::api::http
