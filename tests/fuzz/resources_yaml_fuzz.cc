// Resource YAML as the sidecar reads it from --resources-path, --config or the operator:
// Components, Configuration, Resiliency, Subscription and HTTPEndpoint documents. The input is
// written to a file and goes through the same loaders as at start-up and on hot reload.

#include <unistd.h>

#include <cstdint>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "common/logging/log.h"
#include "sidecar/config/configuration.h"
#include "sidecar/pubsub/subscriptions.h"
#include "sidecar/resiliency/resiliency.h"
#include "sidecar/runtime/compstore.h"
#include "sidecar/runtime/http_endpoints.h"
#include "sidecar/runtime/resources.h"
#include "tests/fuzz/repeat_mutator.h"

namespace {

namespace fs = std::filesystem;
namespace runtime = outrigger::sidecar::runtime;

struct Files {
  fs::path dir;
  fs::path file;
  Files() {
    outrigger::logging::setLevel(outrigger::logging::Level::kFatal);
    dir = fs::temp_directory_path() / ("outrigger-fuzz-resources-" + std::to_string(getpid()));
    fs::create_directories(dir);
    file = dir / "resources.yaml";
  }
};

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static Files* files = new Files();
  {
    std::ofstream out(files->file, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  // Standalone --config: environment expansion and merging, then the Configuration schema.
  (void)outrigger::sidecar::config::loadConfigurationFiles({files->file.string()});

  auto resources = runtime::loadResources({files->dir.string()}, "fuzzapp", "default");
  if (!resources.ok()) return 0;
  runtime::CompStore compstore;
  for (const auto& r : resources->others) {
    if (r.kind == "Configuration") {
      (void)outrigger::sidecar::config::findConfiguration(resources->others, r.name);
    } else if (r.kind == "Subscription") {
      (void)outrigger::sidecar::pubsub::parseDeclarative(r);
    } else if (r.kind == "HTTPEndpoint") {
      (void)runtime::parseHttpEndpoint(r, compstore);
    }
  }
  if (auto resiliency =
          outrigger::sidecar::resiliency::Resiliency::load(resources->others, "fuzzapp");
      resiliency.ok()) {
    for (const char* block : {"state", "pubsub", "bindings"}) {
      (void)(*resiliency)->componentOutbound("statestore", block);
      (void)(*resiliency)->componentInbound("pubsub", block);
    }
    (void)(*resiliency)->app("orders");
  }
  return 0;
}
