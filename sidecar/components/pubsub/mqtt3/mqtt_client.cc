#include "sidecar/components/pubsub/mqtt3/mqtt_client.h"

#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "common/logging/log.h"

namespace outrigger::sidecar::components::pubsub::mqtt3 {

namespace {

constexpr int kSliceMs = 250;             // the longest a wait goes without looking at close()
constexpr size_t kMaxInFlight = 1000;     // publishes waiting for the broker's acknowledgement
constexpr size_t kMaxPacket = 268435455;  // the protocol's largest remaining length
constexpr uint8_t kConnect = 0x10, kConnack = 2, kPublish = 3, kPuback = 4, kPubrec = 5,
                  kPubrel = 6, kPubcomp = 7, kSubscribe = 0x82, kSuback = 9, kUnsuback = 11,
                  kPingreq = 0xc0, kPingresp = 13, kDisconnect = 0xe0;

int64_t nowMs() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::steady_clock::now().time_since_epoch())
      .count();
}

void putU16(std::string& s, size_t v) {
  s += static_cast<char>((v >> 8) & 0xff);
  s += static_cast<char>(v & 0xff);
}

void putString(std::string& s, const std::string& v) {
  putU16(s, v.size());
  s += v;
}

uint16_t getU16(const std::string& s, size_t at) {
  return static_cast<uint16_t>((static_cast<uint8_t>(s[at]) << 8) |
                               static_cast<uint8_t>(s[at + 1]));
}

// Fixed header, remaining length, body.
std::string packet(uint8_t header, const std::string& body) {
  std::string out(1, static_cast<char>(header));
  size_t len = body.size();
  do {
    uint8_t b = len % 128;
    len /= 128;
    if (len) b |= 0x80;
    out += static_cast<char>(b);
  } while (len);
  return out + body;
}

std::string idPacket(uint8_t header, uint16_t mid) {
  std::string body;
  putU16(body, mid);
  return packet(header, body);
}

// Takes the first complete packet off buf. False when none is complete yet, or (with *bad) when
// its length is malformed.
bool nextPacket(std::string& buf, uint8_t* header, std::string* body, bool* bad) {
  size_t len = 0, multiplier = 1, at = 1;
  for (;; ++at) {
    if (at >= buf.size()) return false;
    if (at > 4) {
      *bad = true;
      return false;
    }
    uint8_t b = static_cast<uint8_t>(buf[at]);
    len += (b & 0x7f) * multiplier;
    multiplier *= 128;
    if (!(b & 0x80)) break;
  }
  if (len > kMaxPacket) {
    *bad = true;
    return false;
  }
  if (buf.size() < at + 1 + len) return false;
  *header = static_cast<uint8_t>(buf[0]);
  body->assign(buf, at + 1, len);
  buf.erase(0, at + 1 + len);
  return true;
}

std::string connackReason(int rc) {
  switch (rc) {
    case 1: return "unacceptable protocol version";
    case 2: return "client identifier rejected";
    case 3: return "server unavailable";
    case 4: return "bad user name or password";
    case 5: return "not authorised";
  }
  return "refused (code " + std::to_string(rc) + ")";
}

std::string publishPacket(uint16_t mid, const std::string& topic, const std::string& payload,
                          int qos, bool retain, bool dup) {
  std::string body;
  putString(body, topic);
  if (qos > 0) putU16(body, mid);
  body += payload;
  uint8_t header =
      static_cast<uint8_t>(kPublish << 4 | (dup ? 0x08 : 0) | qos << 1 | (retain ? 1 : 0));
  return packet(header, body);
}

std::string subscribePacket(uint16_t mid, const std::string& filter, int qos) {
  std::string body;
  putU16(body, mid);
  putString(body, filter);
  body += static_cast<char>(qos);
  return packet(kSubscribe, body);
}

}  // namespace

bool topicMatches(const std::string& filter, const std::string& topic) {
  if (!filter.empty() && (filter[0] == '+' || filter[0] == '#') && !topic.empty() &&
      topic[0] == '$') {
    return false;
  }
  size_t f = 0, t = 0;
  for (;;) {
    size_t f_end = filter.find('/', f);
    std::string level = filter.substr(f, f_end == std::string::npos ? f_end : f_end - f);
    if (level == "#") return true;
    if (t == std::string::npos) return false;  // the topic ran out first
    size_t t_end = topic.find('/', t);
    if (level != "+" && level != topic.substr(t, t_end == std::string::npos ? t_end : t_end - t))
      return false;
    if (f_end == std::string::npos) return t_end == std::string::npos;
    f = f_end + 1;
    t = t_end == std::string::npos ? std::string::npos : t_end + 1;
    // "a/#" matches "a" too: the filter's remaining "#" is checked on the next turn.
  }
}

// ---- Ack ----

void Ack::release() {
  if (--holders_ == 0 && qos_ > 0) client_->acknowledge(connection_, mid_, qos_);
}

bool Ack::stale() const {
  return qos_ > 0 && !client_->options_.clean_session && client_->connection_ != connection_;
}

// ---- Client ----

Client::Client(ClientOptions options, OnMessage on_message)
    : options_(std::move(options)), on_message_(std::move(on_message)) {}

Client::~Client() { close(); }

Status Client::start() {
  thread_ = std::thread([this] { run(); });
  std::unique_lock<std::mutex> lock(mutex_);
  // A connection attempt is bounded by timeout_ms for the TCP connect and again for CONNACK.
  bool started = cv_.wait_for(lock, std::chrono::milliseconds(2 * options_.timeout_ms + 1000),
                              [this] { return started_; });
  std::string why = started ? first_error_ : "no answer in time";
  if (why.empty()) return okStatus();
  lock.unlock();
  close();
  return unavailableError("mqtt3: " + why);
}

void Client::close() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    closed_ = true;
  }
  cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

uint16_t Client::nextMid() {
  do {
    ++last_mid_;
  } while (last_mid_ == 0 || outgoing_.count(last_mid_) || subscribing_.count(last_mid_));
  return last_mid_;
}

bool Client::write(uint64_t connection, const std::string& bytes) {
  std::lock_guard<std::mutex> write_lock(write_mutex_);
  int fd;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (!connected_ || connection_ != connection) return false;
    fd = fd_;
  }
  for (size_t off = 0; off < bytes.size();) {
    ssize_t n = ::send(fd, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      ::shutdown(fd, SHUT_RDWR);  // the reader sees the socket fail and reconnects
      return false;
    }
    off += static_cast<size_t>(n);
  }
  last_write_ms_ = nowMs();
  return true;
}

void Client::acknowledge(uint64_t connection, uint16_t mid, int qos) {
  write(connection, idPacket(qos == 1 ? kPuback << 4 : kPubrec << 4, mid));
}

Status Client::connectOnce(std::string* buffer) {
  std::string where = options_.host + ":" + std::to_string(options_.port);
  auto deadline = nowMs() + options_.timeout_ms;
  // Waits for events on fd until the deadline, in slices so that close() is not held up.
  auto wait = [&](int fd, short events) {
    for (;;) {
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (closed_) return false;
      }
      int64_t left = deadline - nowMs();
      if (left <= 0) return false;
      pollfd p{fd, events, 0};
      int r = ::poll(&p, 1, static_cast<int>(std::min<int64_t>(left, kSliceMs)));
      if (r > 0) return true;
      if (r < 0 && errno != EINTR) return false;
    }
  };
  addrinfo hints{};
  hints.ai_family = AF_UNSPEC;
  hints.ai_socktype = SOCK_STREAM;
  addrinfo* addrs = nullptr;
  int gai =
      ::getaddrinfo(options_.host.c_str(), std::to_string(options_.port).c_str(), &hints, &addrs);
  if (gai != 0) return unavailableError("cannot resolve " + where + ": " + gai_strerror(gai));
  int fd = -1;
  std::string why = "no address";
  for (addrinfo* a = addrs; a && fd < 0; a = a->ai_next) {
    fd = ::socket(a->ai_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) continue;
    int err = 0;
    if (::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
      err = errno;
      if (err == EINPROGRESS) {
        err = ETIMEDOUT;
        socklen_t len = sizeof(err);
        if (wait(fd, POLLOUT)) ::getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
      }
    }
    if (err != 0) {
      why = std::strerror(err);
      ::close(fd);
      fd = -1;
    }
  }
  ::freeaddrinfo(addrs);
  if (fd < 0) return unavailableError("cannot connect to " + where + ": " + why);
  ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  timeval tv{static_cast<time_t>(options_.timeout_ms / 1000),
             static_cast<suseconds_t>(options_.timeout_ms % 1000 * 1000)};
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  auto fail = [&](const std::string& what) {
    ::close(fd);
    return unavailableError(what);
  };

  std::string body;
  putString(body, "MQTT");
  body += static_cast<char>(4);  // protocol level: 3.1.1
  uint8_t flags = options_.clean_session ? 0x02 : 0;
  if (!options_.user.empty()) flags |= 0x80 | (options_.password.empty() ? 0 : 0x40);
  body += static_cast<char>(flags);
  putU16(body, static_cast<size_t>(options_.keepalive_seconds));
  putString(body, options_.client_id);
  if (!options_.user.empty()) {
    putString(body, options_.user);
    if (!options_.password.empty()) putString(body, options_.password);
  }
  std::string connect = packet(kConnect, body);
  if (::send(fd, connect.data(), connect.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(connect.size())) {
    return fail("cannot write to " + where + ": " + std::strerror(errno));
  }
  // The broker may send queued messages right behind CONNACK: they stay in buffer.
  uint8_t header = 0;
  std::string connack;
  bool bad = false;
  while (!nextPacket(*buffer, &header, &connack, &bad)) {
    if (bad) return fail("malformed answer from " + where);
    if (!wait(fd, POLLIN)) return fail("no CONNACK from " + where + " in time");
    char chunk[4096];
    ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return fail(where + " closed the connection before CONNACK");
    buffer->append(chunk, static_cast<size_t>(n));
  }
  if (header >> 4 != kConnack || connack.size() < 2)
    return fail(where + " did not answer CONNECT with CONNACK");
  if (connack[1] != 0) {
    return fail("the broker at " + where +
                " refused the connection: " + connackReason(static_cast<uint8_t>(connack[1])));
  }
  std::lock_guard<std::mutex> write_lock(write_mutex_);
  std::lock_guard<std::mutex> lock(mutex_);
  fd_ = fd;
  connected_ = true;
  ++connection_;
  last_write_ms_ = nowMs();
  return okStatus();
}

void Client::afterConnect() {
  std::vector<std::string> packets;
  uint64_t connection;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    connection = connection_;
    subscribing_.clear();
    // A broker that lost the session (or a clean session) no longer knows the subscriptions.
    for (const auto& sub : subscriptions_) {
      uint16_t mid = nextMid();
      subscribing_[mid] = {sub.filter};
      packets.push_back(subscribePacket(mid, sub.filter, sub.qos));
    }
    for (const auto& [mid, o] : outgoing_) {
      packets.push_back(o.released ? idPacket(kPubrel << 4 | 2, mid)
                                   : publishPacket(mid, o.topic, o.payload, o.qos, o.retain, true));
    }
  }
  cv_.notify_all();  // publishes waiting for a connection
  for (const auto& p : packets) {
    if (!write(connection, p)) return;
  }
}

void Client::drop(const std::string& why) {
  bool closing;
  {
    std::lock_guard<std::mutex> write_lock(write_mutex_);
    std::lock_guard<std::mutex> lock(mutex_);
    if (fd_ < 0) return;
    ::close(fd_);
    fd_ = -1;
    connected_ = false;
    ++connection_;
    subscribing_.clear();
    closing = closed_;
  }
  cv_.notify_all();
  if (!closing) {
    LOG_WARN << options_.who << ": connection to " << options_.host << ":" << options_.port
             << " lost (" << why << "); reconnecting";
  }
}

bool Client::handle(uint8_t header, const std::string& body) {
  uint8_t type = header >> 4;
  if (type == kPingresp) return true;  // any packet shows the broker is alive
  if (type != kPublish && body.size() < 2) return false;
  switch (type) {
    case kPublish: {
      int qos = (header >> 1) & 3;
      if (qos == 3 || body.size() < 2) return false;
      size_t topic_len = getU16(body, 0);
      size_t at = 2 + topic_len + (qos > 0 ? 2 : 0);
      if (body.size() < at) return false;
      Incoming in;
      in.topic = body.substr(2, topic_len);
      in.payload = body.substr(at);
      in.qos = qos;
      in.retain = header & 1;
      uint16_t mid = qos > 0 ? getU16(body, 2 + topic_len) : 0;
      auto ack = std::make_shared<Ack>(this, connection_.load(), mid, qos);
      on_message_(in, ack);
      ack->release();
      return true;
    }
    case kPuback:
    case kPubcomp: {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = outgoing_.find(getU16(body, 0));
      if (it != outgoing_.end()) {
        it->second.done = true;
        if (!it->second.waited) outgoing_.erase(it);
      }
      cv_.notify_all();
      return true;
    }
    case kPubrec: {
      uint16_t mid = getU16(body, 0);
      uint64_t connection;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        auto it = outgoing_.find(mid);
        if (it != outgoing_.end()) it->second.released = true;
        connection = connection_;
      }
      write(connection, idPacket(kPubrel << 4 | 2, mid));
      return true;
    }
    case kPubrel: write(connection_, idPacket(kPubcomp << 4, getU16(body, 0))); return true;
    case kSuback: {
      std::lock_guard<std::mutex> lock(mutex_);
      auto it = subscribing_.find(getU16(body, 0));
      if (it == subscribing_.end()) return true;
      for (size_t i = 0; i < it->second.size(); ++i) {
        bool granted = 2 + i < body.size() && static_cast<uint8_t>(body[2 + i]) != 0x80;
        for (auto& sub : subscriptions_) {
          if (sub.filter == it->second[i]) sub.state = granted ? 1 : 2;
        }
      }
      subscribing_.erase(it);
      cv_.notify_all();
      return true;
    }
    case kUnsuback: return true;
  }
  return false;
}

void Client::run() {
  std::string buffer;
  int64_t backoff = options_.reconnect_min_ms;
  int64_t ping_sent = 0;  // when the outstanding PINGREQ went; 0: none
  std::string last_error;
  bool first = true;
  for (;;) {
    int fd;
    uint64_t connection;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      if (closed_) break;
      fd = fd_;
      connection = connection_;
    }
    if (fd < 0) {
      buffer.clear();
      Status st = connectOnce(&buffer);
      if (first) {
        std::lock_guard<std::mutex> lock(mutex_);
        first = false;
        started_ = true;
        if (!st.ok()) first_error_ = st.message();
        cv_.notify_all();
        if (!st.ok()) break;  // start() reports it
      }
      if (!st.ok()) {
        if (st.message() != last_error) {
          LOG_WARN << options_.who << ": " << st.message() << "; retrying";
        }
        last_error = st.message();
        std::unique_lock<std::mutex> lock(mutex_);
        cv_.wait_for(lock, std::chrono::milliseconds(backoff), [this] { return closed_; });
        backoff = std::min(backoff * 2, options_.reconnect_max_ms);
        continue;
      }
      if (!last_error.empty()) {
        LOG_INFO << options_.who << ": connected to " << options_.host << ":" << options_.port;
      }
      last_error.clear();
      backoff = options_.reconnect_min_ms;
      ping_sent = 0;
      afterConnect();
      continue;
    }
    // What arrived so far (the first turn after connecting: what came with CONNACK).
    uint8_t header;
    std::string body;
    bool bad = false;
    bool ok = true;
    while (ok && nextPacket(buffer, &header, &body, &bad)) {
      if (header >> 4 == kPingresp) ping_sent = 0;
      ok = handle(header, body);
    }
    if (!ok || bad) {
      drop("protocol error");
      continue;
    }
    int64_t keepalive_ms = options_.keepalive_seconds * 1000LL;
    if (keepalive_ms > 0) {
      int64_t now = nowMs();
      if (ping_sent > 0 && now - ping_sent > keepalive_ms) {
        drop("no PINGRESP");
        continue;
      }
      if (ping_sent == 0 && now - last_write_ms_ >= keepalive_ms) {
        write(connection, std::string{static_cast<char>(kPingreq), 0});
        ping_sent = now;
      }
    }
    pollfd p{fd, POLLIN, 0};
    int r = ::poll(&p, 1, kSliceMs);
    if (r < 0 && errno != EINTR) {
      drop(std::strerror(errno));
    } else if (r > 0) {
      char chunk[65536];
      ssize_t n = ::recv(fd, chunk, sizeof(chunk), 0);
      if (n > 0) {
        buffer.append(chunk, static_cast<size_t>(n));
      } else if (n == 0 || (errno != EINTR && errno != EAGAIN)) {
        drop(n == 0 ? "closed by the broker" : std::strerror(errno));
      }
    }
  }
  uint64_t connection = connection_;
  write(connection, std::string{static_cast<char>(kDisconnect), 0});
  drop("closed");
}

Status Client::publish(const std::string& topic, const std::string& payload, int qos, bool retain) {
  if (qos < 0 || qos > 2) return invalidArgumentError("mqtt3: qos must be 0, 1 or 2");
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.timeout_ms);
  std::string timeout = "mqtt3: no acknowledgement of a publish to '" + topic + "' within " +
                        std::to_string(options_.timeout_ms) + " ms";
  std::unique_lock<std::mutex> lock(mutex_);
  if (closed_) return unavailableError("mqtt3: the component is closed");
  if (qos == 0) {
    // At most once: written on the current connection, or the next one within the timeout.
    if (!cv_.wait_until(lock, deadline, [this] { return connected_ || closed_; }) || closed_)
      return unavailableError("mqtt3: not connected to the broker");
    uint64_t connection = connection_;
    lock.unlock();
    if (!write(connection, publishPacket(0, topic, payload, 0, retain, false)))
      return unavailableError("mqtt3: the connection to the broker failed");
    return okStatus();
  }
  if (outgoing_.size() >= kMaxInFlight)
    return unavailableError("mqtt3: too many publishes waiting for the broker");
  uint16_t mid = nextMid();
  Outgoing& o = outgoing_[mid];
  o.topic = topic;
  o.payload = payload;
  o.qos = qos;
  o.retain = retain;
  // Without a connection, the next one sends it (afterConnect).
  if (connected_) {
    uint64_t connection = connection_;
    lock.unlock();
    write(connection, publishPacket(mid, topic, payload, qos, retain, false));
    lock.lock();
  }
  cv_.wait_until(lock, deadline, [&] { return outgoing_.at(mid).done || closed_; });
  auto it = outgoing_.find(mid);
  if (it->second.done) {
    outgoing_.erase(it);
    return okStatus();
  }
  if (closed_) {
    outgoing_.erase(it);
    return unavailableError("mqtt3: the component is closed");
  }
  if (qos == 2) {
    // The broker may hold it under this id (waiting for PUBREL): finish it in the background
    // rather than reuse the id, which the broker would take for a duplicate.
    it->second.waited = false;
  } else {
    outgoing_.erase(it);
  }
  return deadlineExceededError(timeout);
}

Status Client::subscribe(const std::string& filter, int qos) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(options_.timeout_ms);
  std::unique_lock<std::mutex> lock(mutex_);
  if (closed_) return unavailableError("mqtt3: the component is closed");
  auto find = [&]() -> Subscription* {
    for (auto& s : subscriptions_) {
      if (s.filter == filter) return &s;
    }
    return nullptr;
  };
  if (Subscription* s = find(); s && s->state == 1) return okStatus();
  if (!find()) subscriptions_.push_back(Subscription{filter, qos, 0});
  // Without a connection, the next one subscribes (afterConnect).
  if (connected_) {
    uint16_t mid = nextMid();
    subscribing_[mid] = {filter};
    uint64_t connection = connection_;
    lock.unlock();
    write(connection, subscribePacket(mid, filter, qos));
    lock.lock();
  }
  cv_.wait_until(lock, deadline, [&] { return find()->state != 0 || closed_; });
  int state = find()->state;
  if (state == 1) return okStatus();
  if (state == 2) {
    subscriptions_.erase(subscriptions_.begin() + (find() - subscriptions_.data()));
    return permissionDeniedError("mqtt3: the broker refused the subscription to '" + filter + "'");
  }
  if (closed_) return unavailableError("mqtt3: the component is closed");
  return deadlineExceededError("mqtt3: no SUBACK for '" + filter + "' within " +
                               std::to_string(options_.timeout_ms) + " ms");
}

}  // namespace outrigger::sidecar::components::pubsub::mqtt3
