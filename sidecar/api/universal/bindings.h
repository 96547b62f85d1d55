#pragma once

// Output bindings, transport-neutral.

#include <string>

#include "sidecar/api/universal/async.h"
#include "sidecar/components/bindings/binding.h"
#include "sidecar/runtime/context.h"

namespace outrigger::sidecar::api::universal {

class BindingsApi {
 public:
  explicit BindingsApi(runtime::Context& context) : context_(context) {}
  void invoke(const std::string& name, components::bindings::InvokeRequest request,
              Callback<components::bindings::InvokeResponse> done);

 private:
  runtime::Context& context_;
};

}  // namespace outrigger::sidecar::api::universal
