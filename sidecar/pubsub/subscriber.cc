#include "sidecar/pubsub/subscriber.h"

#include <strings.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <ctime>
#include <future>
#include <map>

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
  ps::SubscribeRequest request{s.topic, s.metadata};
  int concurrency = inst->component->concurrency();
  if (context_.options.app_max_concurrency > 0)
    concurrency = std::min(concurrency, context_.options.app_max_concurrency);
  Status st;
  if (s.bulk_enabled) {
    st = inst->component->bulkSubscribe(
        request, ps::BulkOptions{s.bulk_max_messages, s.bulk_max_await_ms},
        [this, sub](const std::vector<ps::Message>& batch) { return handleBulk(*sub, batch); });
  } else if (concurrency > 1) {
    // What the broker already holds, up to `concurrency` messages, goes to the app at once.
    auto workers = std::make_shared<BoundedExecutor>("delivery-" + s.topic, concurrency - 1,
                                                     static_cast<size_t>(concurrency));
    st =
        inst->component->bulkSubscribe(request, ps::BulkOptions{concurrency, 0},
                                       [this, sub, workers](const std::vector<ps::Message>& batch) {
                                         return handleConcurrently(*sub, *workers, batch);
                                       });
  } else {
    st = inst->component->subscribe(request,
                                    [this, sub](const ps::Message& m) { return handle(*sub, m); });
  }
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

Subscriber::Outcome Subscriber::outcomeOf(const json::Value* status) {
  std::string s = status->IsString() ? status->GetString() : "";
  for (auto& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (s == "SUCCESS" || s.empty()) return Outcome::kSuccess;
  if (s == "DROP") return Outcome::kDrop;
  return Outcome::kRetry;
}

StatusOr<Subscriber::Outcome> Subscriber::post(const Subscription& sub, const std::string& path,
                                               const std::string& body,
                                               const ps::Message& message) {
  outrigger::http::Request req{bhttp::verb::post, path, 11};
  runtime::setMetadataHeaders("pubsub " + sub.pubsub + ", topic " + message.topic, message.metadata,
                              req);
  req.set("pubsubname", sub.pubsub);
  req.set(bhttp::field::content_type, "application/cloudevents+json");
  req.body() = body;
  ASSIGN_OR_RETURN(auto res, runtime::callAppBlocking(context_, *app_, std::move(req)));
  unsigned code = res.result_int();
  if (code == 404) return Outcome::kNotFound;
  if (code < 200 || code > 299) return unavailableError("the app answered " + std::to_string(code));
  auto doc = json::parse(res.body());
  if (!doc.ok() || !doc->IsObject()) return Outcome::kSuccess;
  const json::Value* status = json::find(*doc, "status");
  if (!status) return Outcome::kSuccess;
  return outcomeOf(status);
}

StatusOr<std::vector<Subscriber::Outcome>> Subscriber::postBulk(
    const Subscription& sub, const std::string& path, const std::vector<ps::Message>& messages,
    const std::vector<std::string>& bodies, const std::vector<std::string>& ids,
    const std::vector<size_t>& pending) {
  json::Document bulk;
  bulk.SetObject();
  auto& a = bulk.GetAllocator();
  auto str = [&](const std::string& v) {
    return json::Value(v.c_str(), static_cast<rapidjson::SizeType>(v.size()), a);
  };
  bulk.AddMember("id", str(newUuid()), a);
  bulk.AddMember("type", "com.dapr.event.sent.bulk", a);
  bulk.AddMember("topic", str(messages[pending[0]].topic), a);
  bulk.AddMember("pubsubname", str(sub.pubsub), a);
  bulk.AddMember("metadata", json::Value(rapidjson::kObjectType), a);
  json::Value entries(rapidjson::kArrayType);
  for (size_t i : pending) {
    json::Value entry(rapidjson::kObjectType);
    entry.AddMember("entryId", str(ids[i]), a);
    // Every body here parsed when it was routed (one that did not was settled there).
    auto event = json::parse(bodies[i]);
    entry.AddMember("event", event.ok() ? json::Value(*event, a) : json::Value(), a);
    json::Value metadata(rapidjson::kObjectType);
    for (const auto& [k, v] : messages[i].metadata) metadata.AddMember(str(k), str(v), a);
    entry.AddMember("metadata", metadata, a);
    entry.AddMember("contentType", "application/cloudevents+json", a);
    entries.PushBack(entry, a);
  }
  bulk.AddMember("entries", entries, a);
  outrigger::http::Request req{bhttp::verb::post, path, 11};
  req.set("pubsubname", sub.pubsub);
  req.set(bhttp::field::content_type, "application/json");
  req.body() = json::serialize(bulk);
  ASSIGN_OR_RETURN(auto res, runtime::callAppBlocking(context_, *app_, std::move(req)));
  unsigned code = res.result_int();
  if (code == 404) return std::vector<Outcome>(pending.size(), Outcome::kNotFound);
  if (code < 200 || code > 299) return unavailableError("the app answered " + std::to_string(code));
  // An entry the app does not mention is to be retried.
  std::map<std::string, Outcome> by_id;
  auto doc = json::parse(res.body());
  const json::Value* statuses = doc.ok() ? json::find(*doc, "statuses") : nullptr;
  if (statuses && statuses->IsArray()) {
    for (const auto& st : statuses->GetArray()) {
      const json::Value* id = json::find(st, "entryId");
      const json::Value* status = json::find(st, "status");
      if (id && id->IsString() && status && status->IsString())
        by_id[id->GetString()] = outcomeOf(status);
    }
  }
  std::vector<Outcome> out;
  for (size_t i : pending) {
    auto it = by_id.find(ids[i]);
    out.push_back(it == by_id.end() ? Outcome::kRetry : it->second);
  }
  return out;
}

Status Subscriber::fail(const Subscription& sub, const ps::Message& message, const Status& st) {
  return sub.dead_letter_topic.empty() ? st : deadLetter(sub, message);
}

Subscriber::Routed Subscriber::route(const Subscription& sub, const ps::Message& message) {
  Routed r;
  r.body = sub.rawPayload() ? rawEnvelope(sub.pubsub, message.topic, message.data) : message.data;
  auto parsed = json::parse(r.body);
  if (!parsed.ok() || !parsed->IsObject()) {
    LOG_WARN << "message on topic " << message.topic << " is not a CloudEvent JSON object"
             << (parsed.ok() ? "" : ": " + parsed.status().message());
    r.settled = fail(sub, message, invalidArgumentError("the message is not a CloudEvent"));
    return r;
  }
  const json::Document& event = *parsed;
  if (expired(event)) {
    LOG_WARN << "dropping expired message on topic " << message.topic;
    r.settled = sub.dead_letter_topic.empty() ? okStatus() : deadLetter(sub, message);
    return r;
  }
  r.path = sub.route(event);
  if (r.path.empty()) {
    // No rule matched: acknowledged, as Dapr does.
    r.settled = sub.dead_letter_topic.empty() ? okStatus() : deadLetter(sub, message);
  }
  return r;
}

Status Subscriber::finish(const Subscription& sub, const ps::Message& message,
                          const std::string& path, const Status& st, Outcome outcome) {
  if (!st.ok()) {
    if (context_.shutting_down) return st;  // never dead-letter because we are stopping
    LOG_WARN << "delivery of a message on topic " << message.topic << " to " << path
             << " failed: " << st.message();
    return fail(sub, message, st);
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

Status Subscriber::handle(const Subscription& sub, const ps::Message& message) {
  if (sub.bulk_enabled) return handleBulk(sub, {message})[0];
  Routed r = route(sub, message);
  if (r.settled) return *r.settled;
  Outcome outcome = Outcome::kSuccess;
  auto attempt = [&]() -> Status {
    auto res = post(sub, r.path, r.body, message);
    if (!res.ok()) return res.status();
    outcome = *res;
    if (outcome == Outcome::kRetry) return unavailableError("the app asked to retry");
    return okStatus();
  };
  Status st = policy_ ? policy_(sub.pubsub, attempt) : attempt();
  return finish(sub, message, r.path, st, outcome);
}

std::vector<Status> Subscriber::handleConcurrently(const Subscription& sub,
                                                   BoundedExecutor& workers,
                                                   const std::vector<ps::Message>& messages) {
  std::vector<Status> out(messages.size(), okStatus());
  std::mutex mutex;
  std::condition_variable done;
  size_t left = messages.size();
  auto deliver = [&](size_t i) {
    Status st = handle(sub, messages[i]);
    std::lock_guard<std::mutex> lock(mutex);
    out[i] = std::move(st);
    if (--left == 0) done.notify_all();
  };
  // The first message on this thread, the others on the workers (or here, when they are
  // stopping); every handle() is bounded by the app channel's and the policy's timeouts.
  for (size_t i = 1; i < messages.size(); ++i) {
    if (!workers.trySubmit([&deliver, i] { deliver(i); })) deliver(i);
  }
  if (!messages.empty()) deliver(0);
  std::unique_lock<std::mutex> lock(mutex);
  done.wait(lock, [&] { return left == 0; });
  return out;
}

std::vector<Status> Subscriber::handleBulk(const Subscription& sub,
                                           const std::vector<ps::Message>& messages) {
  size_t n = messages.size();
  std::vector<Status> out(n, okStatus());
  std::vector<std::string> bodies(n), ids(n);
  std::map<std::string, std::vector<size_t>> by_path;  // one envelope per route
  for (size_t i = 0; i < n; ++i) {
    Routed r = route(sub, messages[i]);
    if (r.settled) {
      out[i] = *r.settled;
      continue;
    }
    bodies[i] = std::move(r.body);
    ids[i] = newUuid();
    by_path[r.path].push_back(i);
  }
  for (const auto& [path, members] : by_path) {
    std::map<size_t, Outcome> outcomes;
    for (size_t i : members) outcomes[i] = Outcome::kRetry;
    // A retry (resiliency policy) sends again only what the app has not settled.
    auto attempt = [&, &path = path, &members = members]() -> Status {
      std::vector<size_t> pending;
      for (size_t i : members) {
        if (outcomes[i] == Outcome::kRetry) pending.push_back(i);
      }
      ASSIGN_OR_RETURN(auto got, postBulk(sub, path, messages, bodies, ids, pending));
      size_t retry = 0;
      for (size_t k = 0; k < pending.size(); ++k) {
        outcomes[pending[k]] = got[k];
        if (got[k] == Outcome::kRetry) retry++;
      }
      if (retry == 0) return okStatus();
      return unavailableError("the app asked to retry " + std::to_string(retry) + " of " +
                              std::to_string(pending.size()) + " entries");
    };
    Status st = policy_ ? policy_(sub.pubsub, attempt) : attempt();
    for (size_t i : members) {
      bool settled = outcomes[i] != Outcome::kRetry;
      Status why = st.ok() ? unavailableError("the app asked to retry") : st;
      out[i] = finish(sub, messages[i], path, settled ? okStatus() : why, outcomes[i]);
    }
  }
  return out;
}

}  // namespace outrigger::sidecar::pubsub
