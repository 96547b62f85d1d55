#include "sidecar/components/bindings/kafka/kafka_binding.h"

#include "common/json/json.h"
#include "common/logging/log.h"

namespace outrigger::sidecar::components::bindings::kafka {

namespace client = components::common::kafka;

namespace {

// Comma-separated names, blanks around them dropped, empty ones skipped.
std::vector<std::string> splitList(const std::string& text) {
  std::vector<std::string> out;
  size_t start = 0;
  while (start <= text.size()) {
    size_t comma = text.find(',', start);
    if (comma == std::string::npos) comma = text.size();
    std::string item = text.substr(start, comma - start);
    size_t b = item.find_first_not_of(" \t");
    size_t e = item.find_last_not_of(" \t");
    if (b != std::string::npos) out.push_back(item.substr(b, e - b + 1));
    start = comma + 1;
  }
  return out;
}

// A header the app's HTTP request can carry as it is: a token for a name, no control bytes.
bool headerSafe(const std::string& s, bool name) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f || (name && (c == ':' || c == ' ' || c >= 0x80))) return false;
  }
  return !(name && s.empty());
}

}  // namespace

KafkaBinding::~KafkaBinding() { close(); }

Status KafkaBinding::init(const runtime::Properties& p) {
  ASSIGN_OR_RETURN(config_, client::parseConfig(p, "bindings.kafka"));
  publish_topic_ = p.get("publishTopic");
  topics_ = splitList(p.get("topics"));
  config_.group = p.get("consumerGroup");
  if (!topics_.empty() && config_.group.empty()) {
    return invalidArgumentError(
        "metadata field 'consumerGroup' is required with 'topics': it names the consumer group "
        "the input binding reads in");
  }
  escape_headers_ = p.getBool("escapeHeaders", false);
  ASSIGN_OR_RETURN(producer_, client::Producer::open(config_));
  return okStatus();
}

StatusOr<InvokeResponse> KafkaBinding::invoke(const InvokeRequest& request) {
  if (request.operation != "create")
    return invalidArgumentError("unsupported operation " + request.operation);
  if (publish_topic_.empty()) {
    return failedPreconditionError(
        "metadata field 'publishTopic' is not set: the binding has no topic to create records in");
  }
  // A JSON string is sent as its contents, anything else as its JSON text.
  std::string value = json::unquoted(request.data);
  std::optional<std::string> key;
  for (const char* name : {"partitionKey", "__key"}) {
    if (auto it = request.metadata.find(name); !key && it != request.metadata.end())
      key = it->second;
  }
  std::vector<std::pair<std::string, std::string>> headers(request.metadata.begin(),
                                                           request.metadata.end());
  RETURN_IF_ERROR(producer_->send(publish_topic_, value, key, headers));
  return InvokeResponse{};
}

Status KafkaBinding::read(InputHandler handler) {
  if (topics_.empty()) {
    LOG_WARN << "bindings.kafka: no topics in the metadata: the input binding reads nothing";
    return okStatus();
  }
  bool escape = escape_headers_;
  auto deliver = [handler = std::move(handler), escape](const client::Record& r) -> Status {
    InputEvent event;
    event.data = r.value;
    auto put = [&](const std::string& k, const std::string& v) {
      bool raw = !escape && headerSafe(k, true) && headerSafe(v, false);
      event.metadata[raw ? k : queryEscape(k)] = raw ? v : queryEscape(v);
    };
    for (const auto& [k, v] : r.headers) put(k, v);
    if (r.key) put("__key", *r.key);
    event.metadata["__topic"] = r.topic;
    event.metadata["__partition"] = std::to_string(r.partition);
    event.metadata["__offset"] = std::to_string(r.offset);
    if (r.timestamp_ms >= 0) event.metadata["__timestamp"] = std::to_string(r.timestamp_ms);
    auto answered = handler(event);
    return answered.ok() ? okStatus() : answered.status();  // status() of a value is not OK
  };
  client::Consumer* raw;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return unavailableError("kafka: the component is closed");
    if (consumer_) return failedPreconditionError("bindings.kafka: already reading");
    ASSIGN_OR_RETURN(consumer_, client::Consumer::start(config_, topics_, std::move(deliver)));
    raw = consumer_.get();
  }
  // Reading once the group assigned this member its partitions (bounded).
  return raw->waitAssigned();
}

void KafkaBinding::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (closed_) return;
    closed_ = true;
  }
  if (consumer_) consumer_->stop();
  if (producer_) producer_->close();
}

void registerComponent(runtime::Registry& registry) {
  using runtime::FieldType;
  runtime::ComponentFactory<Binding> factory;
  factory.type = "bindings.kafka";
  factory.fields = {
      {"brokers", FieldType::kString, true, std::nullopt, {}},
      {"authType", FieldType::kString, false, std::nullopt, {}},
      {"authRequired", FieldType::kBool, false, std::nullopt, {}},
      {"topics", FieldType::kString, false, std::nullopt, {}},
      {"consumerGroup", FieldType::kString, false, std::nullopt, {}},
      {"publishTopic", FieldType::kString, false, std::nullopt, {}},
      {"clientID", FieldType::kString, false, std::nullopt, {}},
      {"initialOffset", FieldType::kString, false, "newest", {"newest", "oldest"}},
      {"consumeRetryInterval", FieldType::kDuration, false, "100ms", {}},
      {"sessionTimeout", FieldType::kDuration, false, "10s", {}},
      {"heartbeatInterval", FieldType::kDuration, false, "3s", {}},
      {"maxMessageBytes", FieldType::kInt, false, std::nullopt, {}},
      {"escapeHeaders", FieldType::kBool, false, "false", {}},
  };
  factory.create = [] { return std::make_unique<KafkaBinding>(); };
  (void)registry.bindings.add(std::move(factory));
}

}  // namespace outrigger::sidecar::components::bindings::kafka
