#include "common/metrics/metrics.h"

#include <prometheus/text_serializer.h>

namespace outrigger::metrics {

std::string renderText(const prometheus::Registry& registry) {
  prometheus::TextSerializer serializer;
  return serializer.Serialize(registry.Collect());
}

}  // namespace outrigger::metrics
