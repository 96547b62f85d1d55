#pragma once

// Topic scoping from a pub/sub component's metadata: publishingScopes, subscriptionScopes
// ("app1=t1,t2;app2=t3"), allowedTopics and protectedTopics ("t1,t2").

#include <string>

#include "sidecar/runtime/metadata.h"

namespace outrigger::sidecar::pubsub {

enum class TopicOperation { kPublish, kSubscribe };

bool topicAllowed(const runtime::Properties& properties, const std::string& app_id,
                  const std::string& topic, TopicOperation operation);

}  // namespace outrigger::sidecar::pubsub
