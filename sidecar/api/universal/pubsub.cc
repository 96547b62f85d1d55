#include "sidecar/api/universal/pubsub.h"

#include "sidecar/api/universal/validate.h"
#include "sidecar/pubsub/cloudevent.h"
#include "sidecar/pubsub/scopes.h"

namespace outrigger::sidecar::api::universal {

namespace ps = components::pubsub;

StatusOr<std::shared_ptr<const runtime::PubSubInstance>> PubSubApi::find(
    const std::string& pubsub, const std::string& topic) const {
  RETURN_IF_ERROR(checkNoNul("pubsub name", pubsub, "ERR_MALFORMED_REQUEST"));
  RETURN_IF_ERROR(checkNoNul("topic", topic, "ERR_MALFORMED_REQUEST"));
  if (context_.compstore.pubsub.size() == 0) {
    return failedPreconditionError("no pubsub is configured")
        .withErrorCode("ERR_PUBSUB_NOT_CONFIGURED", 400);
  }
  if (pubsub.empty())
    return notFoundError("pubsub name is empty").withErrorCode("ERR_PUBSUB_EMPTY", 404);
  auto inst = context_.compstore.pubsub.get(pubsub);
  if (!inst) {
    return notFoundError("pubsub " + pubsub + " not found")
        .withErrorCode("ERR_PUBSUB_NOT_FOUND", 404);
  }
  if (topic.empty()) {
    return notFoundError("topic is empty in pubsub " + pubsub)
        .withErrorCode("ERR_TOPIC_NAME_EMPTY", 404);
  }
  if (!pubsub::topicAllowed(inst->properties, context_.options.app_id, topic,
                            pubsub::TopicOperation::kPublish)) {
    return permissionDeniedError("topic " + topic + " is not allowed for app id " +
                                 context_.options.app_id)
        .withErrorCode("ERR_PUBSUB_FORBIDDEN", 403);
  }
  return inst;
}

StatusOr<std::string> envelopeFor(const runtime::Context& context, const PublishRequest& r,
                                  std::string* content_type) {
  RETURN_IF_ERROR(checkMetadataNoNul(r.metadata, "ERR_PUBSUB_REQUEST_METADATA"));
  bool raw = false;
  if (auto it = r.metadata.find("rawPayload"); it != r.metadata.end()) {
    if (!runtime::parseBool(it->second, &raw)) {
      return invalidArgumentError("metadata.rawPayload must be true or false, got '" + it->second +
                                  "'")
          .withErrorCode("ERR_PUBSUB_REQUEST_METADATA", 400);
    }
  }
  // Checked for raw payloads too: the broker may still apply it natively (pubsub.rabbitmq).
  if (auto ttl = pubsub::ttlInSeconds(r.metadata); !ttl.ok()) return ttl.status();
  if (raw) {
    *content_type = r.content_type.empty() ? "application/octet-stream" : r.content_type;
    return r.data;
  }
  pubsub::EnvelopeRequest env;
  env.app_id = context.options.app_id;
  env.pubsub_name = r.pubsub;
  env.topic = r.topic;
  env.content_type = r.content_type;
  env.data = r.data;
  env.metadata = r.metadata;
  env.traceparent = r.traceparent;
  env.tracestate = r.tracestate;
  *content_type = "application/cloudevents+json";
  std::string media = r.content_type.substr(0, r.content_type.find(';'));
  auto out = media == "application/cloudevents+json" ? pubsub::completeCallerEnvelope(env)
                                                     : pubsub::newEnvelope(env);
  if (!out.ok() && out.status().errorCode().empty()) {
    return Status(out.status().code(), out.status().message())
        .withErrorCode("ERR_PUBSUB_CLOUD_EVENTS_SER", 500);
  }
  return out;
}

void PubSubApi::publish(PublishRequest request, StatusCallback done) {
  auto inst = find(request.pubsub, request.topic);
  if (!inst.ok()) return done(inst.status());
  std::string content_type;
  auto data = envelopeFor(context_, request, &content_type);
  if (!data.ok()) return done(data.status());
  ps::PublishRequest req{request.topic, std::move(*data), content_type,
                         std::move(request.metadata)};
  auto i = *inst;
  // A broker that can take the message at once does so here, without a hop to its workers.
  if (auto fast = i->component->tryPublish(req); fast && fast->ok()) return done(okStatus());
  runOnComponent<Status>(
      i->executor,
      [i, req = std::move(req)]() -> Status {
        Status st = i->component->publish(req);
        if (!st.ok()) {
          return Status(st.code(), "error when publish to topic " + req.topic + " in pubsub " +
                                       i->spec.name + ": " + st.message())
              .withErrorCode("ERR_PUBSUB_PUBLISH_MESSAGE", 500);
        }
        return okStatus();
      },
      std::move(done), i->outbound);
}

void PubSubApi::bulkPublish(BulkPublishRequest request, Callback<std::vector<FailedEntry>> done) {
  auto inst = find(request.pubsub, request.topic);
  if (!inst.ok()) return done(inst.status());
  std::vector<std::pair<std::string, ps::PublishRequest>> reqs;
  for (auto& e : request.entries) {
    PublishRequest one;
    one.pubsub = request.pubsub;
    one.topic = request.topic;
    one.data = std::move(e.event);
    one.content_type = e.content_type;
    one.metadata = request.metadata;
    for (auto& [k, v] : e.metadata) one.metadata[k] = v;  // entry metadata wins
    one.traceparent = request.traceparent;
    std::string content_type;
    auto data = envelopeFor(context_, one, &content_type);
    if (!data.ok()) return done(data.status());
    reqs.emplace_back(e.entry_id, ps::PublishRequest{request.topic, std::move(*data), content_type,
                                                     std::move(one.metadata)});
  }
  auto i = *inst;
  runOnComponent<StatusOr<std::vector<FailedEntry>>>(
      i->executor,
      [i, reqs = std::move(reqs)]() -> StatusOr<std::vector<FailedEntry>> {
        std::vector<FailedEntry> failed;
        for (const auto& [id, req] : reqs) {
          Status st = i->component->publish(req);
          if (!st.ok()) failed.push_back(FailedEntry{id, st.message()});
        }
        return failed;
      },
      std::move(done), i->outbound);
}

}  // namespace outrigger::sidecar::api::universal
