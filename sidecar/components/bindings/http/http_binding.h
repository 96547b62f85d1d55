#pragma once

#include <cstdint>
#include <string>

#include "sidecar/components/bindings/binding.h"
#include "sidecar/runtime/registry.h"

namespace outrigger::sidecar::components::bindings::http {

// bindings.http: an output binding that sends an HTTP request to `url` (+ metadata `path`),
// request metadata as headers; the response status and headers come back as metadata.
class HttpBinding : public Binding, public OutputBinding {
 public:
  Status init(const runtime::Properties& properties) override;
  OutputBinding* output() override { return this; }
  std::vector<std::string> operations() const override;
  StatusOr<InvokeResponse> invoke(const InvokeRequest& request) override;

 private:
  std::string host_;
  uint16_t port_ = 80;
  std::string base_path_;
  int64_t timeout_ms_ = 60000;
  bool error_if_not_2xx_ = true;
};

void registerComponent(runtime::Registry& registry);

}  // namespace outrigger::sidecar::components::bindings::http
