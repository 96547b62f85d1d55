#pragma once

#include <condition_variable>
#include <mutex>
#include <optional>
#include <thread>

#include "sidecar/components/bindings/binding.h"
#include "sidecar/components/bindings/cron/cron_schedule.h"
#include "sidecar/runtime/registry.h"

namespace outrigger::sidecar::components::bindings::cron {

// bindings.cron: an input binding that calls the app on a schedule.
class CronBinding : public Binding, public InputBinding {
 public:
  ~CronBinding() override;
  Status init(const runtime::Properties& properties) override;
  InputBinding* input() override { return this; }
  Status read(InputHandler handler) override;
  void close() override;

 private:
  void loop(InputHandler handler);
  std::optional<CronSchedule> schedule_;
  std::string schedule_text_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool closed_ = false;
  std::thread thread_;
};

void registerComponent(runtime::Registry& registry);

}  // namespace outrigger::sidecar::components::bindings::cron
