#pragma once

#include <hiredis/hiredis.h>

#include <cstdint>
#include <memory>
#include <string>
#include <vector>

#include "common/status/status.h"
#include "sidecar/runtime/metadata.h"

namespace outrigger::sidecar::components::common::redis {

// Where and as whom to connect, from Dapr's Redis metadata fields.
struct Address {
  std::string host;
  int port = 6379;
  std::string username;
  std::string password;
  int64_t db = 0;
};

// Reads redisHost ("host", "host:port", "[v6]:port"), redisUsername, redisPassword and redisDB;
// an error names the field. TLS is refused: hiredis is built here without it.
StatusOr<Address> parseAddress(const runtime::Properties& p);

// Connects within dial_timeout_ms, gives every later command io_timeout_ms, then authenticates
// and selects the database. The caller owns the context (redisFree).
StatusOr<redisContext*> connect(const Address& address, int64_t dial_timeout_ms,
                                int64_t io_timeout_ms);

using ReplyPtr = std::unique_ptr<redisReply, decltype(&freeReplyObject)>;

// Sends one command and waits for its reply. An error reply is Internal; a timeout is
// DeadlineExceeded (the server may still apply the command: do not blindly repeat it); a broken
// connection is Unavailable.
StatusOr<ReplyPtr> command(redisContext* ctx, const std::vector<std::string>& args);

// Queues one command without waiting (pipelining); replies come from redisGetReply.
void append(redisContext* ctx, const std::vector<std::string>& args);

}  // namespace outrigger::sidecar::components::common::redis
