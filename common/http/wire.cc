#include "common/http/wire.h"

#include <boost/system/error_code.hpp>
#include <new>
#include <stdexcept>

namespace outrigger::http {

namespace beast = boost::beast;

namespace {

bool isTchar(unsigned char c) {
  if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9')) return true;
  switch (c) {
    case '!':
    case '#':
    case '$':
    case '%':
    case '&':
    case '\'':
    case '*':
    case '+':
    case '-':
    case '.':
    case '^':
    case '_':
    case '`':
    case '|':
    case '~': return true;
    default: return false;
  }
}

template <typename Fields>
Status appendFields(const Fields& fields, std::string* out) {
  for (const auto& f : fields) {
    std::string_view name = f.name_string(), value = f.value();
    if (!validHeaderName(name)) {
      return invalidArgumentError("invalid HTTP header name '" + std::string(name) + "'");
    }
    if (!validHeaderValue(value)) {
      return invalidArgumentError("invalid value of HTTP header '" + std::string(name) +
                                  "' (control characters)");
    }
    out->append(name);
    out->append(": ");
    out->append(value);
    out->append("\r\n");
  }
  out->append("\r\n");
  return okStatus();
}

}  // namespace

bool validToken(std::string_view s) {
  if (s.empty()) return false;
  for (char c : s) {
    if (!isTchar(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

bool validHeaderName(std::string_view name) { return validToken(name); }

bool validHeaderValue(std::string_view value) {
  for (char ch : value) {
    auto c = static_cast<unsigned char>(ch);
    if ((c < 0x20 && c != '\t') || c == 0x7f) return false;
  }
  return true;
}

bool validTarget(std::string_view target) {
  if (target.empty()) return false;
  for (char ch : target) {
    auto c = static_cast<unsigned char>(ch);
    if (c <= 0x20 || c == 0x7f) return false;
  }
  return true;
}

StatusOr<std::string> serializeHead(const Request& msg) {
  std::string_view method = msg.method_string(), target = msg.target();
  if (!validToken(method)) {
    return invalidArgumentError("invalid HTTP method '" + std::string(method) + "'");
  }
  if (!validTarget(target)) {
    return invalidArgumentError(
        "invalid HTTP request target (empty, spaces or control characters)");
  }
  std::string out;
  out.reserve(256);
  out.append(method);
  out.push_back(' ');
  out.append(target);
  out.append(msg.version() == 10 ? " HTTP/1.0\r\n" : " HTTP/1.1\r\n");
  RETURN_IF_ERROR(appendFields(msg.base(), &out));
  return out;
}

StatusOr<std::string> serializeHead(const Response& msg) {
  std::string_view reason = msg.reason();
  if (reason.empty()) reason = bhttp::obsolete_reason(msg.result());
  if (!validHeaderValue(reason)) return invalidArgumentError("invalid HTTP reason phrase");
  std::string out;
  out.reserve(256);
  out.append(msg.version() == 10 ? "HTTP/1.0 " : "HTTP/1.1 ");
  out.append(std::to_string(msg.result_int()));
  out.push_back(' ');
  out.append(reason);
  out.append("\r\n");
  RETURN_IF_ERROR(appendFields(msg.base(), &out));
  return out;
}

namespace {

// The bytes of a message's fields as written (name: value CRLF).
template <typename Fields>
size_t fieldBytes(const Fields& fields) {
  size_t n = 0;
  for (const auto& f : fields) n += f.name_string().size() + f.value().size() + 4;
  return n;
}

template <typename Parser>
beast::error_code parseBufferedImpl(Parser& parser, beast::flat_buffer& buffer,
                                    size_t max_unparsed) {
  beast::error_code ec;
  try {
    buffer.consume(parser.put(buffer.data(), ec));
  } catch (const std::length_error&) {
    // basic_fields holds a name or value of at most 65533 bytes.
    return bhttp::error::header_limit;
  } catch (const std::bad_alloc&) {
    return boost::system::errc::make_error_code(boost::system::errc::not_enough_memory);
  } catch (const std::exception&) {
    return bhttp::error::bad_value;
  }
  // A body part was taken and the rest is still to come.
  if (!ec && !parser.is_done()) ec = bhttp::error::need_more;
  // Beast bounds the header by header_limit, but not a chunk line nor the trailer.
  if (ec == bhttp::error::need_more && buffer.size() >= max_unparsed) {
    ec = bhttp::error::header_limit;
  }
  // A trailer that came whole in one read: its fields joined the header's, the limit is theirs.
  if (!ec && parser.chunked() && fieldBytes(parser.get().base()) >= max_unparsed) {
    ec = bhttp::error::header_limit;
  }
  return ec;
}

template <typename Parser>
beast::error_code parseAfterReadImpl(Parser& parser, beast::flat_buffer& buffer,
                                     beast::error_code ec, size_t max_unparsed) {
  if (!ec) return parseBufferedImpl(parser, buffer, max_unparsed);
  if (ec != boost::asio::error::eof) return ec;
  if (!parser.got_some()) return bhttp::error::end_of_stream;
  // A response delimited by the end of the connection ends here; anything else is cut short.
  try {
    parser.put_eof(ec);
  } catch (const std::exception&) {
    return bhttp::error::partial_message;
  }
  if (!ec && !parser.is_done()) ec = bhttp::error::partial_message;
  return ec;
}

}  // namespace

beast::error_code parseBuffered(RequestParser& parser, beast::flat_buffer& buffer,
                                size_t max_unparsed) {
  return parseBufferedImpl(parser, buffer, max_unparsed);
}
beast::error_code parseBuffered(ResponseParser& parser, beast::flat_buffer& buffer,
                                size_t max_unparsed) {
  return parseBufferedImpl(parser, buffer, max_unparsed);
}
beast::error_code parseAfterRead(RequestParser& parser, beast::flat_buffer& buffer,
                                 beast::error_code ec, size_t max_unparsed) {
  return parseAfterReadImpl(parser, buffer, ec, max_unparsed);
}
beast::error_code parseAfterRead(ResponseParser& parser, beast::flat_buffer& buffer,
                                 beast::error_code ec, size_t max_unparsed) {
  return parseAfterReadImpl(parser, buffer, ec, max_unparsed);
}

}  // namespace outrigger::http
