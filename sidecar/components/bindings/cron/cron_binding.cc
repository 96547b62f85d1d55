#include "sidecar/components/bindings/cron/cron_binding.h"

#include <chrono>

#include "common/logging/log.h"

namespace outrigger::sidecar::components::bindings::cron {

CronBinding::~CronBinding() { close(); }

Status CronBinding::init(const runtime::Properties& properties) {
  schedule_text_ = properties.get("schedule");
  auto s = CronSchedule::parse(schedule_text_);
  if (!s.ok()) return invalidArgumentError("metadata field 'schedule': " + s.status().message());
  schedule_ = *s;
  return okStatus();
}

Status CronBinding::read(InputHandler handler) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (thread_.joinable()) return failedPreconditionError("already reading");
  thread_ = std::thread([this, handler = std::move(handler)] { loop(handler); });
  return okStatus();
}

void CronBinding::loop(InputHandler handler) {
  using clock = std::chrono::system_clock;
  int64_t now =
      std::chrono::duration_cast<std::chrono::seconds>(clock::now().time_since_epoch()).count();
  int64_t next = schedule_->next(now);
  std::unique_lock<std::mutex> lock(mutex_);
  while (!closed_ && next >= 0) {
    auto when = clock::time_point(std::chrono::seconds(next));
    if (cv_.wait_until(lock, when, [this] { return closed_; })) return;
    lock.unlock();
    InputEvent event;
    event.metadata["timeZone"] = "UTC";
    auto ts = std::chrono::system_clock::to_time_t(clock::now());
    std::tm tm{};
    gmtime_r(&ts, &tm);
    char buf[32];
    std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
    event.metadata["readTimeUTC"] = buf;
    auto r = handler(event);
    if (!r.ok()) {
      LOG_WARN << "cron binding: the app did not take the event: " << r.status().message();
    }
    lock.lock();
    now = std::chrono::duration_cast<std::chrono::seconds>(clock::now().time_since_epoch()).count();
    next = schedule_->next(std::max(now, next));
  }
}

void CronBinding::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void registerComponent(runtime::Registry& registry) {
  runtime::ComponentFactory<Binding> factory;
  factory.type = "bindings.cron";
  factory.blocking = false;
  factory.fields = {{"schedule", runtime::FieldType::kString, true, std::nullopt, {}}};
  factory.create = [] { return std::make_unique<CronBinding>(); };
  (void)registry.bindings.add(std::move(factory));
}

}  // namespace outrigger::sidecar::components::bindings::cron
