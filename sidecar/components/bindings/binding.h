#pragma once

// The bindings interfaces. A binding component may be an output binding (the app calls it), an
// input binding (it calls the app), or both; the runtime asks through input()/output().

#include <functional>
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include "common/status/status.h"
#include "sidecar/runtime/metadata.h"

namespace outrigger::sidecar::components::bindings {

using Metadata = std::map<std::string, std::string>;

struct InvokeRequest {
  std::string operation;
  std::string data;  // JSON text of the request's "data" (a JSON string keeps its quotes)
  Metadata metadata;
};

struct InvokeResponse {
  bool has_data = false;
  std::string data;
  std::string content_type;
  Metadata metadata;
};

class OutputBinding {
 public:
  virtual ~OutputBinding() = default;
  virtual std::vector<std::string> operations() const = 0;
  virtual StatusOr<InvokeResponse> invoke(const InvokeRequest& request) = 0;
};

struct InputEvent {
  std::string data;
  Metadata metadata;  // sent to the app as HTTP headers
};

// A name or value escaped as a URL query component (Go's url.QueryEscape, which Dapr's brokers
// apply to message headers), so that a broker's bytes cannot break the HTTP request to the app.
inline std::string queryEscape(std::string_view s) {
  static const char* kHex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    bool alnum = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
    if (alnum || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else if (c == ' ') {
      out += '+';
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// Delivers one event to the app; OK with the app's reply body, or an error when the app did
// not take it (the component then retries or nacks as its backend allows).
using InputHandler = std::function<StatusOr<std::string>(const InputEvent&)>;

class InputBinding {
 public:
  virtual ~InputBinding() = default;
  // Starts reading on the component's own thread(s); returns once reading has started.
  virtual Status read(InputHandler handler) = 0;
};

class Binding {
 public:
  virtual ~Binding() = default;
  virtual Status init(const runtime::Properties& properties) = 0;
  virtual std::vector<std::string> features() const { return {}; }
  virtual OutputBinding* output() { return nullptr; }
  virtual InputBinding* input() { return nullptr; }
  // Stops input reading (waiting for a handler in progress) and releases resources.
  virtual void close() {}
};

}  // namespace outrigger::sidecar::components::bindings
