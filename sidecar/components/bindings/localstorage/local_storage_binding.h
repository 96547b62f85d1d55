#pragma once

#include <string>

#include "sidecar/components/bindings/binding.h"
#include "sidecar/runtime/registry.h"

namespace outrigger::sidecar::components::bindings::localstorage {

// bindings.localstorage: files under rootPath (create, get, list, delete). A fileName that
// would leave rootPath, itself or through a symbolic link, is refused.
class LocalStorageBinding : public Binding, public OutputBinding {
 public:
  Status init(const runtime::Properties& properties) override;
  OutputBinding* output() override { return this; }
  std::vector<std::string> operations() const override;
  StatusOr<InvokeResponse> invoke(const InvokeRequest& request) override;

 private:
  // The file a fileName names, inside rootPath after links are followed; errors otherwise.
  StatusOr<std::string> pathFor(const std::string& file_name) const;
  bool underRoot(const std::string& path) const;
  std::string root_;
};

void registerComponent(runtime::Registry& registry);

}  // namespace outrigger::sidecar::components::bindings::localstorage
