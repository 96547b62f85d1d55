#pragma once

// The HTTP/1.1 wire for the server and the client, around Beast's parser and in place of its
// serializer:
// - Heads are written by one validating writer (serializeHead): a method, target, field name or
//   value that could end a line or a message (CR, LF, NUL, other controls) is refused, so no
//   caller can split a message or smuggle a second one. The checks are exported for code that
//   wants to refuse such input early (valid*).
// - A whole message goes out as two buffers (head, then body) in one gather write. Beast's
//   serializer walks a variant of buffer sequences for every field; the profile of a proxied call
//   showed that walk at about 5 % of the sidecar's CPU. The message must have been prepared
//   (prepare_payload): only Content-Length framing is written.
// - Messages are read with our own loop over Beast's parser (parseBuffered, asyncReadSome) rather
//   than http::async_read: the parser throws std::length_error for a field of 64 KiB or more, and
//   bounds neither chunk lines nor trailers; here both become header_limit, and the caller sees
//   each stage of the message (first byte, header done) to set deadlines and answer 100-continue.

#include <array>
#include <boost/asio/buffer.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <string>
#include <string_view>

#include "common/http/types.h"
#include "common/status/status.h"

namespace outrigger::http {

// A TCP stream bound to one io_context's executor: every connection lives on one I/O thread, so
// the type-erased executor of beast::tcp_stream only costs (its copies showed in the profile).
using IoStream =
    boost::beast::basic_stream<boost::asio::ip::tcp, boost::asio::io_context::executor_type,
                               boost::beast::unlimited_rate_policy>;
using IoSocket = IoStream::socket_type;

// RFC 9110 token: a method or a field name (no space, control, separator; not empty).
bool validToken(std::string_view s);
bool validHeaderName(std::string_view name);
// A field value (or reason phrase): no CR, LF, NUL, nor any control but HTAB (obs-text allowed).
bool validHeaderValue(std::string_view value);
// A request target: not empty, no space, no control character.
bool validTarget(std::string_view target);

// Start line and fields of msg, ending with the blank line; InvalidArgument (nothing written)
// when its method, target, reason or a field would not survive the trip as one message.
StatusOr<std::string> serializeHead(const Request& msg);
StatusOr<std::string> serializeHead(const Response& msg);

// Writes head and msg.body(); `head` and `msg` must stay alive until the handler runs.
template <typename Stream, typename Message, typename Handler>
void asyncWriteMessage(Stream& stream, const std::string& head, const Message& msg,
                       Handler&& handler) {
  std::array<boost::asio::const_buffer, 2> buffers{boost::asio::buffer(head),
                                                   boost::asio::buffer(msg.body())};
  boost::asio::async_write(stream, buffers, std::forward<Handler>(handler));
}

using RequestParser = bhttp::request_parser<bhttp::string_body>;
using ResponseParser = bhttp::response_parser<bhttp::string_body>;

// Feeds what `buffer` holds to `parser` (which should be eager) and consumes what it used.
// Returns need_more when the message needs more bytes, {} when it is complete, else why it
// failed. Never throws. header_limit: a field Beast cannot hold (64 KiB), a pending element
// (header, chunk line, trailer) of max_unparsed bytes or more, or a chunked message whose header
// and trailer fields together reach max_unparsed (Beast bounds neither chunk lines nor trailers).
boost::beast::error_code parseBuffered(RequestParser& parser, boost::beast::flat_buffer& buffer,
                                       size_t max_unparsed);
boost::beast::error_code parseBuffered(ResponseParser& parser, boost::beast::flat_buffer& buffer,
                                       size_t max_unparsed);

// After a read that ended with `ec`: what parseBuffered says, the end of a message delimited by
// the connection's end, end_of_stream for a clean close between messages, or ec.
boost::beast::error_code parseAfterRead(RequestParser& parser, boost::beast::flat_buffer& buffer,
                                        boost::beast::error_code ec, size_t max_unparsed);
boost::beast::error_code parseAfterRead(ResponseParser& parser, boost::beast::flat_buffer& buffer,
                                        boost::beast::error_code ec, size_t max_unparsed);

// One read from stream into buffer, then parseAfterRead; handler(error_code) must keep stream,
// buffer and parser alive. Reads what Beast would: the buffer's free room, 512 B to 64 KiB.
template <typename Stream, typename Parser, typename Handler>
void asyncReadSome(Stream& stream, boost::beast::flat_buffer& buffer, Parser& parser,
                   size_t max_unparsed, Handler&& handler) {
  size_t room = buffer.capacity() - buffer.size();
  size_t size = std::min<size_t>(65536, std::max<size_t>(512, room));
  stream.async_read_some(buffer.prepare(size),
                         [&buffer, &parser, max_unparsed, handler = std::forward<Handler>(handler)](
                             boost::beast::error_code ec, std::size_t n) mutable {
                           buffer.commit(n);
                           handler(parseAfterRead(parser, buffer, ec, max_unparsed));
                         });
}

}  // namespace outrigger::http
