#include "common/http/wire.h"

namespace outrigger::http {

namespace {

template <typename Fields>
void appendFields(const Fields& fields, std::string* out) {
  for (const auto& f : fields) {
    out->append(f.name_string());
    out->append(": ");
    out->append(f.value());
    out->append("\r\n");
  }
  out->append("\r\n");
}

}  // namespace

std::string serializeHead(const Request& msg) {
  std::string out;
  out.reserve(256);
  out.append(msg.method_string());
  out.push_back(' ');
  out.append(msg.target());
  out.append(msg.version() == 10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
  appendFields(msg.base(), &out);
  return out;
}

std::string serializeHead(const Response& msg) {
  std::string out;
  out.reserve(256);
  out.append(msg.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  out.append(std::to_string(msg.result_int()));
  out.push_back(' ');
  std::string_view reason = msg.reason();
  out.append(reason.empty() ? bhttp::obsolete_reason(msg.result()) : reason);
  out.append("\r\n");
  appendFields(msg.base(), &out);
  return out;
}

}  // namespace outrigger::http
