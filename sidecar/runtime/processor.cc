#include "sidecar/runtime/processor.h"

#include <strings.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdlib>
#include <future>
#include <random>
#include <thread>

#include "common/logging/log.h"

namespace outrigger::sidecar::runtime {

namespace {

// Dapr lowercases keyPrefix: "AppID" is the appid strategy, "Team" the literal prefix "team".
std::string lowered(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string describe(const ComponentSpec& spec) {
  return spec.source + ": component '" + spec.name + "' (" + spec.type + "/" + spec.version + ")";
}

// Runs init on its own thread so a backend that hangs cannot hang start-up past initTimeout.
template <typename T>
Status initWithTimeout(std::shared_ptr<T> component, const Properties& props, int64_t timeout_ms) {
  auto promise = std::make_shared<std::promise<Status>>();
  auto future = promise->get_future();
  std::thread([component, props, promise] { promise->set_value(component->init(props)); }).detach();
  if (future.wait_for(std::chrono::milliseconds(timeout_ms)) != std::future_status::ready) {
    return deadlineExceededError("init did not finish within " + std::to_string(timeout_ms) +
                                 " ms");
  }
  return future.get();
}

bool envRefAllowed(const std::string& name) {
  if (name.rfind("DAPR_", 0) == 0 || name == "APP_API_TOKEN" ||
      name.find(' ') != std::string::npos) {
    return false;
  }
  if (const char* allow = std::getenv("DAPR_ENV_KEYS")) {
    std::string list = std::string(" ") + allow + " ";
    return list.find(" " + name + " ") != std::string::npos;
  }
  return true;
}

template <typename T>
StatusOr<std::shared_ptr<Instance<T>>> build(const FactoryRegistry<T>& factories,
                                             const ComponentSpec& spec,
                                             const std::map<std::string, std::string>& raw,
                                             const ProcessorOptions& options) {
  ASSIGN_OR_RETURN(const ComponentFactory<T>* factory, factories.find(spec.type, spec.version));
  auto props = validateMetadata(factory->fields, raw);
  if (!props.ok()) return invalidArgumentError(props.status().message());
  std::shared_ptr<T> component = factory->create();
  Status st = initWithTimeout(component, *props, spec.init_timeout_ms);
  if (!st.ok()) return Status(st.code(), "init failed: " + st.message());
  auto instance = std::make_shared<Instance<T>>();
  instance->spec = spec;
  instance->component = std::move(component);
  instance->capabilities = instance->component->features();
  instance->properties = *props;
  if (options.resiliency) {
    std::string block = std::is_same_v<T, components::state::Store>        ? "state"
                        : std::is_same_v<T, components::pubsub::PubSub>    ? "pubsub"
                        : std::is_same_v<T, components::bindings::Binding> ? "bindings"
                                                                           : "secretstores";
    instance->outbound = options.resiliency->componentOutbound(spec.name, block);
  }
  // Retries sleep between attempts: never on an I/O thread.
  if (factory->blocking || instance->outbound) {
    instance->executor = std::make_shared<BoundedExecutor>(spec.name, options.workers_per_component,
                                                           options.queue_per_component);
  }
  if constexpr (std::is_same_v<T, components::bindings::Binding>) {
    if (instance->component->input()) instance->capabilities.push_back("INPUT_BINDING");
    if (instance->component->output()) instance->capabilities.push_back("OUTPUT_BINDING");
  }
  if constexpr (std::is_same_v<T, components::state::Store>) {
    instance->key_prefix = lowered(props->get("keyPrefix", "appid"));
    if (props->getBool("actorStateStore")) instance->capabilities.push_back("ACTOR");
  }
  return instance;
}

// consumerID defaults to the app id and may use Dapr's templates.
void applyConsumerId(std::map<std::string, std::string>* raw, const ProcessorOptions& options) {
  std::string* value = nullptr;
  for (auto& [k, v] : *raw) {
    if (strcasecmp(k.c_str(), "consumerID") == 0) value = &v;
  }
  if (!value) value = &(*raw)["consumerID"];
  if (value->empty()) *value = options.app_id;
  auto replace = [value](const std::string& from, const std::string& to) {
    for (size_t pos; (pos = value->find(from)) != std::string::npos;)
      value->replace(pos, from.size(), to);
  };
  const char* pod = std::getenv("POD_NAME");
  replace("{appID}", options.app_id);
  replace("{podName}", pod ? pod : "");
  replace("{namespace}", options.namespace_name);
  replace("{uuid}",
          std::to_string(std::random_device{}()) + std::to_string(std::random_device{}()));
}

// keyPrefix and actorStateStore belong to the runtime, not to one store, so no component declares
// them: they are checked here, with the same kind of message as the declared fields.
Status checkStateRuntimeFields(const std::map<std::string, std::string>& raw) {
  for (const auto& [name, value] : raw) {
    if (strcasecmp(name.c_str(), "actorStateStore") == 0) {
      bool b;
      if (!parseBool(value, &b)) {
        return invalidArgumentError("metadata field 'actorStateStore' has value '" + value +
                                    "', expected true or false");
      }
    } else if (strcasecmp(name.c_str(), "keyPrefix") == 0) {
      if (value.find("||") != std::string::npos) {
        return invalidArgumentError("metadata field 'keyPrefix' may not contain '||'");
      }
      std::string mode = lowered(value);
      if (mode == "appid" || mode == "name" || mode == "namespace" || mode == "none") continue;
      // Anything else is a literal prefix: no spaces or control characters, and no template braces
      // (outriggerd does not expand "{appid}"-like forms, so they are a mistake, not a prefix).
      bool literal = !value.empty() && value.size() <= 256 &&
                     std::all_of(value.begin(), value.end(), [](char c) {
                       auto u = static_cast<unsigned char>(c);
                       return u > ' ' && u != 0x7f && c != '{' && c != '}';
                     });
      if (!literal) {
        return invalidArgumentError(
            "metadata field 'keyPrefix' has value '" + value +
            "', expected appid, name, namespace, none or a literal prefix (no spaces, control "
            "characters, braces or '||')");
      }
    }
  }
  return okStatus();
}

}  // namespace

StatusOr<std::map<std::string, std::string>> Processor::resolveMetadata(const ComponentSpec& spec) {
  std::map<std::string, std::string> raw;
  for (const auto& item : spec.metadata) {
    std::string value = item.value;
    if (!item.secret_name.empty()) {
      std::string store_name = spec.secret_store;
      if (store_name.empty()) {
        return invalidArgumentError(
            "metadata field '" + item.name +
            "': secretKeyRef needs auth.secretStore to name a secret store");
      }
      auto store = store_.secretstores.get(store_name);
      if (!store) {
        return invalidArgumentError("metadata field '" + item.name + "': secret store '" +
                                    store_name + "' (auth.secretStore) is not loaded");
      }
      auto secret = store->component->get(item.secret_name, {});
      if (!secret.ok()) {
        return invalidArgumentError("metadata field '" + item.name + "': secret '" +
                                    item.secret_name + "' from store '" + store_name +
                                    "': " + secret.status().message());
      }
      auto it = secret->find(item.secret_key);
      if (it == secret->end()) {
        return invalidArgumentError("metadata field '" + item.name + "': secret '" +
                                    item.secret_name + "' has no key '" + item.secret_key + "'");
      }
      value = it->second;
    } else if (value.empty() && !item.env_ref.empty()) {
      if (!envRefAllowed(item.env_ref)) {
        return invalidArgumentError("metadata field '" + item.name + "': envRef '" + item.env_ref +
                                    "' may not be read");
      }
      const char* env = std::getenv(item.env_ref.c_str());
      value = env ? env : "";
    }
    raw[item.name] = value;
  }
  return raw;
}

Status Processor::initOne(const ComponentSpec& spec) {
  std::string block = registry_.blockOf(spec.type);
  if (Status loaded = registry_.loadModuleFor(spec.type); !loaded.ok()) {
    return Status(loaded.code(), describe(spec) + ": " + loaded.message());
  }
  if (block.empty()) {
    return invalidArgumentError(describe(spec) + ": field spec.type: unknown component type '" +
                                spec.type + "'");
  }
  auto raw = resolveMetadata(spec);
  if (!raw.ok()) return invalidArgumentError(describe(spec) + ": " + raw.status().message());
  if (block == "state") {
    if (Status st = checkStateRuntimeFields(*raw); !st.ok()) {
      return invalidArgumentError(describe(spec) + ": " + st.message());
    }
    auto instance = build(registry_.state, spec, *raw, options_);
    if (!instance.ok())
      return Status(instance.status().code(), describe(spec) + ": " + instance.status().message());
    if (auto old = store_.state.remove(spec.name)) old->component->close();
    store_.state.put(*instance);
  } else if (block == "pubsub") {
    applyConsumerId(&*raw, options_);
    auto instance = build(registry_.pubsub, spec, *raw, options_);
    if (!instance.ok()) {
      return Status(instance.status().code(), describe(spec) + ": " + instance.status().message());
    }
    if (auto old = store_.pubsub.remove(spec.name)) old->component->close();
    store_.pubsub.put(*instance);
  } else if (block == "bindings") {
    auto instance = build(registry_.bindings, spec, *raw, options_);
    if (!instance.ok()) {
      return Status(instance.status().code(), describe(spec) + ": " + instance.status().message());
    }
    if (auto old = store_.bindings.remove(spec.name)) old->component->close();
    store_.bindings.put(*instance);
  } else if (block == "secretstores") {
    auto instance = build(registry_.secretstores, spec, *raw, options_);
    if (!instance.ok())
      return Status(instance.status().code(), describe(spec) + ": " + instance.status().message());
    if (auto old = store_.secretstores.remove(spec.name)) old->component->close();
    store_.secretstores.put(*instance);
  }
  LOG_INFO << "component loaded: " << spec.name << " (" << spec.type << "/" << spec.version << ")";
  return okStatus();
}

Status Processor::initAll(const std::vector<ComponentSpec>& specs) {
  // Secret stores first: other components may take secrets from them.
  std::vector<const ComponentSpec*> ordered;
  for (const auto& s : specs) {
    if (registry_.blockOf(s.type) == "secretstores") ordered.push_back(&s);
  }
  for (const auto& s : specs) {
    if (registry_.blockOf(s.type) != "secretstores") ordered.push_back(&s);
  }
  for (const ComponentSpec* spec : ordered) {
    Status st = initOne(*spec);
    if (st.ok()) continue;
    if (spec->ignore_errors) {
      LOG_WARN << st.message() << " (ignored: spec.ignoreErrors is true)";
      failed_.push_back(spec->name);
      recordFailure(spec->name, st.message());
      continue;
    }
    return st;
  }
  return okStatus();
}

void Processor::recordFailure(const std::string& name, const std::string& error) {
  std::lock_guard<std::mutex> lock(store_.errors_mutex);
  store_.errors[name] = error;
}

void Processor::clearFailure(const std::string& name) {
  std::lock_guard<std::mutex> lock(store_.errors_mutex);
  store_.errors.erase(name);
}

bool Processor::remove(const std::string& name) {
  if (auto s = store_.state.remove(name)) {
    s->component->close();
    return true;
  }
  if (auto s = store_.secretstores.remove(name)) {
    s->component->close();
    return true;
  }
  if (auto s = store_.pubsub.remove(name)) {
    s->component->close();
    return true;
  }
  if (auto s = store_.bindings.remove(name)) {
    s->component->close();
    return true;
  }
  return false;
}

bool Processor::closeAll(std::chrono::steady_clock::time_point deadline) {
  bool all_stopped = true;
  auto close = [&](const auto& instances) {
    for (const auto& s : instances.all()) {
      if (s->executor && !s->executor->shutdown(deadline)) all_stopped = false;
      s->component->close();  // safe beside a call still running: hot reload does the same
    }
  };
  close(store_.state);
  close(store_.secretstores);
  close(store_.pubsub);
  close(store_.bindings);
  return all_stopped;
}

}  // namespace outrigger::sidecar::runtime
