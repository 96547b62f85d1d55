#include "sidecar/api/universal/bindings.h"

#include <algorithm>

#include "sidecar/api/universal/validate.h"

namespace outrigger::sidecar::api::universal {

namespace b = components::bindings;

void BindingsApi::invoke(const std::string& name, b::InvokeRequest request,
                         Callback<b::InvokeResponse> done) {
  // Metadata are commands here (a file name, a key, SQL) that components pass on as C strings.
  if (Status st = checkNoNul("binding name", name, "ERR_INVOKE_OUTPUT_BINDING"); !st.ok())
    return done(st);
  if (Status st = checkMetadataNoNul(request.metadata, "ERR_INVOKE_OUTPUT_BINDING"); !st.ok())
    return done(st);
  auto inst = context_.compstore.bindings.get(name);
  if (!inst || !inst->component->output()) {
    return done(notFoundError("couldn't find output binding " + name)
                    .withErrorCode("ERR_INVOKE_OUTPUT_BINDING", 500));
  }
  auto ops = inst->component->output()->operations();
  if (std::find(ops.begin(), ops.end(), request.operation) == ops.end()) {
    std::string list;
    for (const auto& o : ops) list += (list.empty() ? "" : ", ") + o;
    return done(invalidArgumentError("binding " + name + " does not support operation '" +
                                     request.operation + "' (supported: " + list + ")")
                    .withErrorCode("ERR_INVOKE_OUTPUT_BINDING", 500));
  }
  runOnComponent<StatusOr<b::InvokeResponse>>(
      inst->executor,
      [inst, name, request = std::move(request)]() -> StatusOr<b::InvokeResponse> {
        auto r = inst->component->output()->invoke(request);
        if (!r.ok()) {
          // 500 as in Dapr, unless the component said the request was the caller's fault (a
          // metadata value it cannot write into an HTTP head): then its status, 400.
          int http = r.status().httpStatus() != 0 ? r.status().httpStatus() : 500;
          return Status(r.status().code(),
                        "error invoking output binding " + name + ": " + r.status().message())
              .withErrorCode("ERR_INVOKE_OUTPUT_BINDING", http);
        }
        return r;
      },
      mapFailures<StatusOr<b::InvokeResponse>>(
          std::move(done),
          [name](const Status& st) {
            return Status(st.code(), "error invoking output binding " + name + ": " + st.message())
                .withErrorCode("ERR_INVOKE_OUTPUT_BINDING", 500);
          }),
      inst->outbound);
}

}  // namespace outrigger::sidecar::api::universal
