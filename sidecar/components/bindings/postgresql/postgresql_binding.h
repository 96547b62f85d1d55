#pragma once

#include <libpq-fe.h>

#include <mutex>
#include <string>

#include "sidecar/components/bindings/binding.h"
#include "sidecar/runtime/registry.h"

namespace outrigger::sidecar::components::bindings::postgresql {

// bindings.postgresql: exec, query and close over one libpq connection (metadata `sql`, optional
// `params` as a JSON array for $1, $2, ...). Reconnects after a failure.
class PostgresBinding : public Binding, public OutputBinding {
 public:
  ~PostgresBinding() override;
  Status init(const runtime::Properties& properties) override;
  OutputBinding* output() override { return this; }
  std::vector<std::string> operations() const override;
  StatusOr<InvokeResponse> invoke(const InvokeRequest& request) override;
  void close() override;

 private:
  Status connect();
  std::mutex mutex_;
  PGconn* conn_ = nullptr;
  std::string connection_string_;
};

void registerComponent(runtime::Registry& registry);

}  // namespace outrigger::sidecar::components::bindings::postgresql
