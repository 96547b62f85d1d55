// CloudEvents both ways: the envelopes the sidecar builds around what an app publishes (JSON,
// text, binary, or the app's own CloudEvent), and a message as it arrives from a broker, which any
// publisher controls: parsed, checked and routed through subscription rules as the subscriber
// does.

#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "common/json/json.h"
#include "sidecar/pubsub/cloudevent.h"
#include "sidecar/pubsub/subscriptions.h"
#include "tests/fuzz/repeat_mutator.h"

namespace {

namespace pubsub = outrigger::sidecar::pubsub;

// Routing rules of the kinds apps declare: on type, on data fields, and a default.
const pubsub::Subscription& subscription() {
  static const pubsub::Subscription* sub = [] {
    auto subs = pubsub::parseProgrammatic(R"json([{
      "pubsubname": "pubsub", "topic": "orders",
      "routes": {
        "rules": [
          {"match": "event.type == \"order.created\" && event.data.total > 100", "path": "/big"},
          {"match": "event.data.customer.name.startsWith(\"a\") || !(event.source == \"x\")",
           "path": "/a"},
          {"match": "event.data['kind'].endsWith('gift') && event.data.ok == true",
           "path": "/gifts"}
        ],
        "default": "/orders"
      }
    }])json");
    if (!subs.ok() || subs->size() != 1) std::abort();
    return new pubsub::Subscription(subs->at(0));
  }();
  return *sub;
}

// What the subscriber does with a message body: a JSON object, then its route.
void deliver(const std::string& body) {
  auto event = outrigger::json::parse(body);
  if (!event.ok() || !event->IsObject()) return;
  (void)subscription().route(*event);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string payload(reinterpret_cast<const char*>(data), size);
  deliver(payload);

  pubsub::EnvelopeRequest request;
  request.app_id = "publisher";
  request.pubsub_name = "pubsub";
  request.topic = "orders";
  request.data = payload;
  request.traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
  for (const char* content_type :
       {"application/json", "text/plain", "application/octet-stream", "application/xml"}) {
    request.content_type = content_type;
    if (auto envelope = pubsub::newEnvelope(request); envelope.ok()) deliver(*envelope);
  }
  request.content_type = "application/cloudevents+json";
  if (auto envelope = pubsub::completeCallerEnvelope(request); envelope.ok()) deliver(*envelope);
  deliver(pubsub::rawEnvelope("pubsub", "orders", payload));
  return 0;
}
