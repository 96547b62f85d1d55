#include "sidecar/pubsub/subscriber.h"

#include <strings.h>

#include <algorithm>
#include <chrono>
#include <ctime>
#include <future>

#include "common/logging/log.h"
#include "sidecar/pubsub/cloudevent.h"
#include "sidecar/pubsub/scopes.h"
#include "sidecar/runtime/app_call.h"

namespace outrigger::sidecar::pubsub {

namespace bhttp = outrigger::http::bhttp;
namespace ps = components::pubsub;

namespace {

bool expired(const json::Value& event) {
  const json::Value* exp = json::find(event, "expiration");
  if (!exp || !exp->IsString()) return false;
  std::tm tm{};
  if (!strptime(exp->GetString(), "%Y-%m-%dT%H:%M:%S", &tm)) return false;
  return timegm(&tm) < std::time(nullptr);
}

}  // namespace

Subscriber::Subscriber(runtime::Context& context, std::shared_ptr<invoke::AppChannel> app,
                       InboundPolicy policy)
    : context_(context), app_(std::move(app)), policy_(std::move(policy)) {}

StatusOr<std::vector<Subscription>> Subscriber::fetchProgrammatic() {
  outrigger::http::Request req{bhttp::verb::get, "/dapr/subscribe", 11};
  req.set(bhttp::field::content_type, "application/json");
  ASSIGN_OR_RETURN(auto res, runtime::callAppBlocking(context_, *app_, std::move(req)));
  if (res.result_int() == 404) return std::vector<Subscription>{};
  if (res.result_int() != 200) {
    return unavailableError("GET /dapr/subscribe answered " + std::to_string(res.result_int()));
  }
  return parseProgrammatic(res.body());
}

void Subscriber::setDeclarative(std::vector<Subscription> subscriptions) {
  std::lock_guard<std::mutex> lock(mutex_);
  declarative_ = std::move(subscriptions);
}

void Subscriber::start(std::vector<Subscription> programmatic) {
  std::lock_guard<std::mutex> lock(mutex_);
  programmatic_ = std::move(programmatic);
  started_ = true;
  for (const auto* list : {&declarative_, &programmatic_}) {
    for (const auto& s : *list) subscribeOne(s);
  }
}

void Subscriber::resubscribe(const std::string& pubsub) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!started_) return;
  active_.erase(std::remove_if(active_.begin(), active_.end(),
                               [&](const auto& sub) { return sub->pubsub == pubsub; }),
                active_.end());
  {
    std::lock_guard<std::mutex> info_lock(context_.subscriptions_mutex);
    auto& infos = context_.subscriptions;
    infos.erase(std::remove_if(infos.begin(), infos.end(),
                               [&](const auto& info) { return info.pubsub == pubsub; }),
                infos.end());
  }
  for (const auto* list : {&declarative_, &programmatic_}) {
    for (const auto& s : *list) {
      if (s.pubsub == pubsub) subscribeOne(s);
    }
  }
}

void Subscriber::subscribeOne(const Subscription& s) {
  const std::string& app_id = context_.options.app_id;
  if (!s.scopes.empty() && std::find(s.scopes.begin(), s.scopes.end(), app_id) == s.scopes.end()) {
    return;
  }
  auto inst = context_.compstore.pubsub.get(s.pubsub);
  if (!inst) {
    LOG_WARN << "subscription to topic " << s.topic << ": pubsub '" << s.pubsub
             << "' is not loaded";
    return;
  }
  if (!topicAllowed(inst->properties, app_id, s.topic, TopicOperation::kSubscribe)) {
    LOG_WARN << "subscription to topic " << s.topic << " on " << s.pubsub
             << " is not allowed for app " << app_id;
    return;
  }
  auto sub = std::make_shared<const Subscription>(s);
  Status st =
      inst->component->subscribe(ps::SubscribeRequest{s.topic, s.metadata},
                                 [this, sub](const ps::Message& m) { return handle(*sub, m); });
  if (!st.ok()) {
    LOG_ERROR << "failed to subscribe to topic " << s.topic << " on " << s.pubsub << ": "
              << st.message();
    return;
  }
  active_.push_back(sub);
  runtime::SubscriptionInfo info{s.pubsub, s.topic, s.dead_letter_topic, s.type, {}, s.metadata};
  for (const auto& r : s.rules) info.rules.emplace_back(r.match ? r.match->text() : "", r.path);
  std::lock_guard<std::mutex> lock(context_.subscriptions_mutex);
  context_.subscriptions.push_back(std::move(info));
  LOG_INFO << "subscribed to topic " << s.topic << " on pubsub " << s.pubsub;
}

Status Subscriber::deadLetter(const Subscription& sub, const ps::Message& message) {
  auto inst = context_.compstore.pubsub.get(sub.pubsub);
  if (!inst) return unavailableError("pubsub " + sub.pubsub + " is gone");
  Status st = inst->component->publish(ps::PublishRequest{sub.dead_letter_topic, message.data,
                                                          message.content_type, message.metadata});
  if (!st.ok()) {
    LOG_ERROR << "failed to publish to dead-letter topic " << sub.dead_letter_topic << ": "
              << st.message();
    return st;
  }
  return okStatus();
}

StatusOr<Subscriber::Outcome> Subscriber::post(const Subscription& sub, const std::string& path,
                                               const std::string& body,
                                               const ps::Message& message) {
  outrigger::http::Request req{bhttp::verb::post, path, 11};
  for (const auto& [k, v] : message.metadata) {
    if (k.empty() || strcasecmp(k.c_str(), "content-length") == 0) continue;
    req.set(k, v);
  }
  req.set("pubsubname", sub.pubsub);
  std::string entry_id;
  if (sub.bulk_enabled) {
    // Bulk subscribe: the app gets Dapr's bulk envelope. The delivery contract hands us one
    // message at a time, so a batch holds one entry.
    entry_id = newUuid();
    json::Document bulk;
    bulk.SetObject();
    auto& a = bulk.GetAllocator();
    auto str = [&](const std::string& v) {
      return json::Value(v.c_str(), static_cast<rapidjson::SizeType>(v.size()), a);
    };
    bulk.AddMember("id", str(newUuid()), a);
    bulk.AddMember("type", "com.dapr.event.sent.bulk", a);
    bulk.AddMember("topic", str(message.topic), a);
    bulk.AddMember("pubsubname", str(sub.pubsub), a);
    bulk.AddMember("metadata", json::Value(rapidjson::kObjectType), a);
    json::Value entry(rapidjson::kObjectType);
    entry.AddMember("entryId", str(entry_id), a);
    json::Document event(&a);
    event.Parse(body.data(), body.size());
    entry.AddMember("event", json::Value(event, a), a);
    entry.AddMember("metadata", json::Value(rapidjson::kObjectType), a);
    entry.AddMember("contentType", "application/cloudevents+json", a);
    json::Value entries(rapidjson::kArrayType);
    entries.PushBack(entry, a);
    bulk.AddMember("entries", entries, a);
    req.set(bhttp::field::content_type, "application/json");
    req.body() = json::serialize(bulk);
  } else {
    req.set(bhttp::field::content_type, "application/cloudevents+json");
    req.body() = body;
  }
  ASSIGN_OR_RETURN(auto res, runtime::callAppBlocking(context_, *app_, std::move(req)));
  unsigned code = res.result_int();
  if (code == 404) return Outcome::kNotFound;
  if (code < 200 || code > 299) return unavailableError("the app answered " + std::to_string(code));
  auto doc = json::parse(res.body());
  if (sub.bulk_enabled) {
    // An entry the app does not mention is to be retried.
    const json::Value* statuses = doc.ok() ? json::find(*doc, "statuses") : nullptr;
    if (!statuses || !statuses->IsArray()) return Outcome::kRetry;
    for (const auto& st : statuses->GetArray()) {
      const json::Value* id = json::find(st, "entryId");
      const json::Value* status = json::find(st, "status");
      if (!id || !id->IsString() || id->GetString() != entry_id || !status || !status->IsString())
        continue;
      std::string v = status->GetString();
      if (v == "SUCCESS") return Outcome::kSuccess;
      if (v == "DROP") return Outcome::kDrop;
      return Outcome::kRetry;
    }
    return Outcome::kRetry;
  }
  if (!doc.ok() || !doc->IsObject()) return Outcome::kSuccess;
  const json::Value* status = json::find(*doc, "status");
  if (!status) return Outcome::kSuccess;
  std::string s = status->IsString() ? status->GetString() : "";
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (s == "SUCCESS" || s.empty()) return Outcome::kSuccess;
  if (s == "DROP") return Outcome::kDrop;
  return Outcome::kRetry;
}

Status Subscriber::handle(const Subscription& sub, const ps::Message& message) {
  std::string body =
      sub.rawPayload() ? rawEnvelope(sub.pubsub, message.topic, message.data) : message.data;
  json::Document event;
  event.Parse(body.data(), body.size());
  auto fail = [&](const Status& st) -> Status {
    if (!sub.dead_letter_topic.empty()) return deadLetter(sub, message);
    return st;
  };
  if (event.HasParseError() || !event.IsObject()) {
    LOG_WARN << "message on topic " << message.topic << " is not a CloudEvent JSON object";
    return fail(invalidArgumentError("the message is not a CloudEvent"));
  }
  if (expired(event)) {
    LOG_WARN << "dropping expired message on topic " << message.topic;
    return sub.dead_letter_topic.empty() ? okStatus() : deadLetter(sub, message);
  }
  std::string path = sub.route(event);
  if (path.empty()) {
    // No rule matched: acknowledged, as Dapr does.
    return sub.dead_letter_topic.empty() ? okStatus() : deadLetter(sub, message);
  }
  Outcome outcome = Outcome::kSuccess;
  auto attempt = [&]() -> Status {
    auto r = post(sub, path, body, message);
    if (!r.ok()) return r.status();
    outcome = *r;
    if (outcome == Outcome::kRetry) return unavailableError("the app asked to retry");
    return okStatus();
  };
  Status st = policy_ ? policy_(sub.pubsub, attempt) : attempt();
  if (!st.ok()) {
    if (context_.shutting_down) return st;  // never dead-letter because we are stopping
    LOG_WARN << "delivery of a message on topic " << message.topic << " to " << path
             << " failed: " << st.message();
    return fail(st);
  }
  if (outcome == Outcome::kNotFound) {
    LOG_WARN << "the app answered 404 for topic " << message.topic << " at " << path
             << ": message dropped";
    return okStatus();
  }
  if (outcome == Outcome::kDrop) {
    LOG_WARN << "the app dropped a message on topic " << message.topic;
    return sub.dead_letter_topic.empty() ? okStatus() : deadLetter(sub, message);
  }
  return okStatus();
}

}  // namespace outrigger::sidecar::pubsub
