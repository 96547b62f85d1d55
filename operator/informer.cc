#include "operator/informer.h"

#include <chrono>

#include "common/logging/log.h"

namespace outrigger::operator_ {

void Informer::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
}

void Informer::run() {
  std::string rv;
  int backoff_ms = 100;
  auto sleep = [&](int ms) {
    for (int waited = 0; waited < ms && !stop_; waited += 50) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  };
  while (!stop_) {
    if (rv.empty()) {
      auto list = client_.get(path_);
      if (!list.ok()) {
        LOG_WARN << "list " << path_ << ": " << list.status().message() << "; retrying in "
                 << backoff_ms << " ms";
        sleep(backoff_ms);
        backoff_ms = std::min(backoff_ms * 2, 5000);
        continue;
      }
      const json::Value* items = json::find(*list, "items");
      json::Value empty(rapidjson::kArrayType);
      handlers_.on_list(items && items->IsArray() ? *items : empty);
      const json::Value* meta = json::find(*list, "metadata");
      const json::Value* v = meta ? json::find(*meta, "resourceVersion") : nullptr;
      rv = v && v->IsString() ? v->GetString() : "";
      synced_ = true;
    }
    Status st = client_.watch(
        path_, rv,
        [&](const std::string& type, const json::Value& object) {
          const json::Value* meta = json::find(object, "metadata");
          const json::Value* v = meta ? json::find(*meta, "resourceVersion") : nullptr;
          if (v && v->IsString()) rv = v->GetString();
          if (type != "BOOKMARK") handlers_.on_event(type, object);
          backoff_ms = 100;
        },
        stop_);
    if (stop_) break;
    if (st.code() == StatusCode::kOutOfRange) {
      LOG_INFO << "watch " << path_ << ": resourceVersion " << rv << " is gone; relisting";
      rv.clear();
      relists_++;
      continue;
    }
    if (!st.ok()) {
      LOG_WARN << "watch " << path_ << ": " << st.message() << "; reconnecting in " << backoff_ms
               << " ms";
      sleep(backoff_ms);
      backoff_ms = std::min(backoff_ms * 2, 5000);
    }
  }
}

}  // namespace outrigger::operator_
