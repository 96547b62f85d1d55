#pragma once

// Turns ComponentSpecs into live instances: resolves secretKeyRef and envRef, validates metadata
// against the component's declared fields, creates and initialises it within initTimeout.

#include <chrono>
#include <string>
#include <vector>

#include "common/status/status.h"
#include "sidecar/resiliency/resiliency.h"
#include "sidecar/runtime/compstore.h"
#include "sidecar/runtime/registry.h"
#include "sidecar/runtime/resources.h"

namespace outrigger::sidecar::runtime {

struct ProcessorOptions {
  std::string app_id;
  std::string namespace_name;
  size_t workers_per_component = 4;
  size_t queue_per_component = 1024;
  std::shared_ptr<resiliency::Resiliency> resiliency;  // may be null
};

class Processor {
 public:
  Processor(Registry& registry, CompStore& store, ProcessorOptions options)
      : registry_(registry), store_(store), options_(std::move(options)) {}

  // Initialises every component (secret stores first). A failing component is fatal unless its
  // spec says ignoreErrors, in which case it is logged and left out.
  Status initAll(const std::vector<ComponentSpec>& specs);
  // Initialises one component and puts it in the store, replacing any of the same name.
  Status initOne(const ComponentSpec& spec);
  // Closes and removes a component by name; false if none.
  bool remove(const std::string& name);
  // Stops every component: its executor by deadline (BoundedExecutor::shutdown), then close().
  // False when a worker stuck in a call was left behind; what it uses must then outlive it.
  bool closeAll(std::chrono::steady_clock::time_point deadline =
                    std::chrono::steady_clock::time_point::max());

  std::vector<std::string> failed() const { return failed_; }
  void recordFailure(const std::string& name, const std::string& error);
  void clearFailure(const std::string& name);

 private:
  StatusOr<std::map<std::string, std::string>> resolveMetadata(const ComponentSpec& spec);
  Registry& registry_;
  CompStore& store_;
  ProcessorOptions options_;
  std::vector<std::string> failed_;
};

}  // namespace outrigger::sidecar::runtime
