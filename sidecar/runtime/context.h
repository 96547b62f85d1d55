#pragma once

// What the API layers share at run time: options, the live components and readiness.

#include <atomic>
#include <map>
#include <mutex>
#include <string>

#include "sidecar/options.h"
#include "sidecar/runtime/compstore.h"

namespace outrigger::sidecar::runtime {

struct Context {
  Options options;
  std::string namespace_name;  // $NAMESPACE
  CompStore compstore;
  std::vector<std::string> failed_components;

  std::atomic<bool> outbound_ready{false};  // components loaded, API up
  std::atomic<bool> app_connected{false};   // the app port answered (or there is none)
  std::atomic<bool> shutting_down{false};

  std::mutex extended_mutex;
  std::map<std::string, std::string> extended_metadata;  // PUT /v1.0/metadata/{key}
};

}  // namespace outrigger::sidecar::runtime
