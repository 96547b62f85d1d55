#include "sidecar/components/common/redis/redis_client.h"

#include <cerrno>

namespace outrigger::sidecar::components::common::redis {

namespace {

timeval toTimeval(int64_t ms) {
  return timeval{static_cast<time_t>(ms / 1000), static_cast<suseconds_t>((ms % 1000) * 1000)};
}

struct Argv {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  explicit Argv(const std::vector<std::string>& args) {
    for (const auto& a : args) {
      argv.push_back(a.c_str());
      lens.push_back(a.size());
    }
  }
  int size() const { return static_cast<int>(argv.size()); }
};

}  // namespace

StatusOr<Address> parseAddress(const runtime::Properties& p) {
  Address a;
  std::string host = p.get("redisHost");
  auto colon = host.rfind(':');
  // A colon inside "[...]" belongs to an IPv6 address, not to a port.
  if (colon != std::string::npos && host.find(']', colon) == std::string::npos) {
    int64_t port;
    if (!runtime::parseInt(host.substr(colon + 1), &port) || port <= 0 || port > 65535) {
      return invalidArgumentError("metadata field 'redisHost': bad port in '" + host + "'");
    }
    a.port = static_cast<int>(port);
    a.host = host.substr(0, colon);
  } else {
    a.host = host;
  }
  // hiredis wants an IPv6 address without its brackets.
  if (a.host.size() > 2 && a.host.front() == '[' && a.host.back() == ']') {
    a.host = a.host.substr(1, a.host.size() - 2);
  }
  if (a.host.empty()) return invalidArgumentError("metadata field 'redisHost': no host given");
  if (p.getBool("enableTLS")) {
    return unimplementedError("metadata field 'enableTLS': TLS to Redis is not supported yet");
  }
  a.username = p.get("redisUsername");
  a.password = p.get("redisPassword");
  a.db = p.getInt("redisDB", 0);
  return a;
}

StatusOr<redisContext*> connect(const Address& address, int64_t dial_timeout_ms,
                                int64_t io_timeout_ms) {
  redisContext* ctx =
      redisConnectWithTimeout(address.host.c_str(), address.port, toTimeval(dial_timeout_ms));
  if (!ctx || ctx->err) {
    std::string err = ctx ? ctx->errstr : "out of memory";
    if (ctx) redisFree(ctx);
    return unavailableError("cannot connect to redis at " + address.host + ":" +
                            std::to_string(address.port) + ": " + err);
  }
  redisSetTimeout(ctx, toTimeval(io_timeout_ms));
  auto setup = [&](const std::vector<std::string>& args) -> Status {
    auto r = command(ctx, args);
    if (r.ok()) return okStatus();
    // A refused AUTH or SELECT is a configuration error, not an outage.
    if (r.status().code() == StatusCode::kInternal)
      return unauthenticatedError(r.status().message());
    return r.status();
  };
  Status st;
  if (!address.password.empty()) {
    st = address.username.empty() ? setup({"AUTH", address.password})
                                  : setup({"AUTH", address.username, address.password});
  }
  if (st.ok() && address.db != 0) st = setup({"SELECT", std::to_string(address.db)});
  if (!st.ok()) {
    redisFree(ctx);
    return st;
  }
  return ctx;
}

StatusOr<ReplyPtr> command(redisContext* ctx, const std::vector<std::string>& args) {
  Argv a(args);
  errno = 0;
  auto* r = static_cast<redisReply*>(redisCommandArgv(ctx, a.size(), a.argv.data(), a.lens.data()));
  if (!r) {
    // hiredis reports a timeout as an I/O error with EAGAIN.
    bool timed_out = ctx->err == REDIS_ERR_IO && (errno == EAGAIN || errno == EWOULDBLOCK);
    std::string err = std::string("redis: ") + ctx->errstr;
    return timed_out ? deadlineExceededError(err + " (timed out)") : unavailableError(err);
  }
  ReplyPtr reply(r, freeReplyObject);
  if (reply->type == REDIS_REPLY_ERROR) {
    return internalError("redis: " + std::string(r->str, r->len));
  }
  return reply;
}

void append(redisContext* ctx, const std::vector<std::string>& args) {
  Argv a(args);
  redisAppendCommandArgv(ctx, a.size(), a.argv.data(), a.lens.data());
}

}  // namespace outrigger::sidecar::components::common::redis
