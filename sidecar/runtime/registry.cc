#include "sidecar/runtime/registry.h"

namespace outrigger::sidecar::runtime {

std::string Registry::blockOf(const std::string& type) const {
  if (state.has(type)) return "state";
  if (secretstores.has(type)) return "secretstores";
  if (pubsub.has(type)) return "pubsub";
  if (bindings.has(type)) return "bindings";
  return {};
}

}  // namespace outrigger::sidecar::runtime
