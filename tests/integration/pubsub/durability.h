#pragma once

// The at-least-once scenario every broker goes through (issue #3 §6): numbered events published
// through the real sidecar's HTTP API (a 204 is an acknowledgement), an app that refuses
// deliveries for a while (500 and {"status":"RETRY"}), the sidecar killed with SIGKILL
// mid-stream and started again, and the broker restarted mid-stream. Every acknowledged number
// must reach the app; duplicates are allowed. Every wait is bounded.

#include <functional>
#include <string>
#include <utility>
#include <vector>

namespace outrigger::testing {

struct DurabilityCase {
  std::string type;  // of the component named "pubsub", e.g. "pubsub.redis"
  std::vector<std::pair<std::string, std::string>> metadata;
  std::string topic = "orders";
  // Restarts the broker; "" or why it failed. Called while the app refuses deliveries, so that
  // acknowledged messages wait at the broker.
  std::function<std::string()> restart_broker;
  int per_phase = 10;  // events published in each of the three phases
  // For expectDeadLettering: the subscription's deadLetterTopic.
  std::string dead_letter_topic = "orders-dead";
  // For expectBoundedWhenAppIsSlow: how many messages the broker has handed to the sidecar and
  // not had acknowledged, as the broker sees it, given how many were published and not yet taken
  // by the app (-1: could not tell). Null when the broker cannot tell: the sidecar's resident
  // memory is checked instead.
  std::function<long(long outstanding)> held_by_sidecar;
  long max_held = 0;  // the bound held_by_sidecar must stay within
  // For expectBoundedWhenAppIsSlow: how many 64 KiB events wait behind the one the app holds
  // (librdkafka's mock cluster keeps only 5 MiB per partition).
  int backpressure_events = 200;
};

// Runs the scenario with gtest assertions (ADD_FAILURE / EXPECT).
void expectNothingAcknowledgedIsLost(const DurabilityCase& c);

// Dead-lettering through the real sidecar: with a Resiliency inbound retry policy (2 retries) on
// the component, an event the app DROPs, and one it keeps failing (500) past the policy, arrive on
// dead_letter_topic (delivered to the app by a second subscription); one it takes does not.
void expectDeadLettering(const DurabilityCase& c);

// Backpressure: the app takes the first event and holds it; many large events published behind
// it wait at the broker, not in the sidecar (held_by_sidecar stays within max_held, or the
// sidecar's memory grows by far less than what was published); once the app goes on, all arrive.
void expectBoundedWhenAppIsSlow(const DurabilityCase& c);

// Bulk subscribe (maxMessagesCount 10): 20 events published at once reach the app in bulk
// envelopes of at most 10 entries, at least one holding several, all of them in order.
void expectBulkEnvelopes(const DurabilityCase& c);

// Concurrent delivery (the component's metadata allows `concurrency` messages at once): the app
// holds each event until several are in its hands; more than one is, never more than
// concurrency, and all arrive.
void expectConcurrentDelivery(const DurabilityCase& c, int concurrency);

}  // namespace outrigger::testing
