#include "sidecar/bindings/input_bindings.h"

#include "common/logging/log.h"
#include "sidecar/runtime/app_call.h"

namespace outrigger::sidecar::bindings {

namespace bhttp = outrigger::http::bhttp;
namespace b = components::bindings;

bool InputBindings::appListens(const std::string& route) {
  outrigger::http::Request req{bhttp::verb::options, route, 11};
  req.set(bhttp::field::content_type, "application/json");
  auto res = runtime::callAppBlocking(context_, *app_, std::move(req));
  if (!res.ok()) return false;
  unsigned code = res->result_int();
  return (code >= 200 && code < 300) || code == 405;
}

void InputBindings::start() {
  std::lock_guard<std::mutex> lock(mutex_);
  started_ = true;
  for (const auto& inst : context_.compstore.bindings.all()) startOne(inst);
}

void InputBindings::restart(const std::string& name) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (!started_) return;
  if (auto inst = context_.compstore.bindings.get(name)) startOne(inst);
}

void InputBindings::startOne(const std::shared_ptr<const runtime::BindingInstance>& inst) {
  {
    b::InputBinding* input = inst->component->input();
    if (!input) return;
    std::string direction = inst->properties.get("direction");
    if (!direction.empty() && direction.find("input") == std::string::npos) return;
    std::string route = inst->properties.get("route", "/" + inst->spec.name);
    if (route.empty() || route.front() != '/') route.insert(route.begin(), '/');
    if (direction.find("input") == std::string::npos && !appListens(route)) {
      LOG_INFO << "app does not listen on " << route << ": input binding " << inst->spec.name
               << " not read";
      return;
    }
    std::string name = inst->spec.name;
    Status st =
        input->read([this, route, name](const b::InputEvent& event) -> StatusOr<std::string> {
          std::string reply;
          auto attempt = [&]() -> Status {
            outrigger::http::Request req{bhttp::verb::post, route, 11};
            runtime::setMetadataHeaders("input binding " + name, event.metadata, req);
            req.set(bhttp::field::content_type, "application/json");
            req.body() = event.data;
            auto res = runtime::callAppBlocking(context_, *app_, std::move(req));
            if (!res.ok()) return res.status();
            if (res->result_int() < 200 || res->result_int() > 299) {
              return unavailableError("the app answered " + std::to_string(res->result_int()));
            }
            reply = res->body();
            return okStatus();
          };
          Status s = policy_ ? policy_(name, attempt) : attempt();
          if (!s.ok()) {
            LOG_WARN << "input binding " << name << ": delivery to " << route
                     << " failed: " << s.message();
            return s;
          }
          return reply;
        });
    if (!st.ok()) {
      LOG_ERROR << "input binding " << inst->spec.name << " failed to start: " << st.message();
      return;
    }
    LOG_INFO << "input binding " << inst->spec.name << " delivers to " << route;
  }
}

}  // namespace outrigger::sidecar::bindings
