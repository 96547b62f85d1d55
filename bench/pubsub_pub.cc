// The publisher of bench/pubsub.sh: POSTs JSON events to the sidecar's publish API over N
// keep-alive connections, at a fixed rate or as fast as the answers come back. Each body is
// {"sent_ns":<CLOCK_MONOTONIC ns taken just before the write>,"seq":n,"pad":"aaa..."} so that
// bench_pubsub_sink can compute publish -> delivery latency.
//
// Usage: bench_pubsub_pub <port> <path> <rate/s, 0 = max> <count> <connections> <max_seconds>
//                         [data_bytes]
// Prints "sent ok failed elapsed_s publish_p50_ms publish_p99_ms first_failure_status".
// One request in flight per connection (no pipelining); a fixed rate is a schedule (event i is
// due at start + i/rate) that an idle connection picks up, so a slow answer delays it.

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

namespace {

int64_t nowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

struct Conn {
  int fd = -1;
  bool busy = false;
  int64_t sent_at = 0;
  std::string in;
  std::string out;
};

int connectTo(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    close(fd);
    return -1;
  }
  int one = 1;
  setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
  fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
  return fd;
}

// Status code of the first complete response in buf and its length; 0 length if incomplete.
size_t responseLength(const std::string& buf, int* status) {
  size_t end = buf.find("\r\n\r\n");
  if (end == std::string::npos) return 0;
  *status = std::atoi(buf.c_str() + 9);  // "HTTP/1.1 204 ..."
  size_t content_length = 0;
  size_t pos = buf.find("\r\n");
  while (pos < end) {
    size_t next = buf.find("\r\n", pos + 2);
    const char* line = buf.data() + pos + 2;
    size_t len = next - pos - 2;
    if (len > 15 && strncasecmp(line, "content-length:", 15) == 0) {
      content_length = std::strtoul(std::string(line + 15, len - 15).c_str(), nullptr, 10);
    }
    pos = next;
  }
  if (buf.size() < end + 4 + content_length) return 0;
  return end + 4 + content_length;
}

double pct(std::vector<int64_t>& v, double p) {
  if (v.empty()) return 0;
  size_t i = static_cast<size_t>(static_cast<double>(v.size()) * p + 0.999999);
  i = std::clamp<size_t>(i, 1, v.size());
  return static_cast<double>(v[i - 1]) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 7) {
    std::fprintf(stderr,
                 "usage: bench_pubsub_pub <port> <path> <rate> <count> <conns> <max_s> "
                 "[data_bytes]\n");
    return 2;
  }
  int port = std::atoi(argv[1]);
  std::string path = argv[2];
  double rate = std::atof(argv[3]);
  int64_t count = std::atoll(argv[4]);
  int nconns = std::max(1, std::atoi(argv[5]));
  int64_t max_ns = static_cast<int64_t>(std::atof(argv[6]) * 1e9);
  size_t data_bytes = argc > 7 ? std::strtoul(argv[7], nullptr, 10) : 1024;
  const std::string pad(data_bytes > 60 ? data_bytes - 60 : 1, 'a');
  const std::string head = "POST " + path +
                           " HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n"
                           "Content-Length: ";

  int ep = epoll_create1(0);
  std::vector<Conn> conns(static_cast<size_t>(nconns));
  for (size_t i = 0; i < conns.size(); ++i) {
    conns[i].fd = connectTo(port);
    if (conns[i].fd < 0) {
      std::perror("bench_pubsub_pub: connect");
      return 1;
    }
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = i;
    epoll_ctl(ep, EPOLL_CTL_ADD, conns[i].fd, &ev);
  }

  std::vector<int64_t> latencies;
  latencies.reserve(static_cast<size_t>(std::min<int64_t>(count, 10'000'000)));
  int64_t sent = 0, ok = 0, failed = 0, inflight = 0;
  int first_failure = 0;
  const int64_t start = nowNs();
  const int64_t deadline = start + max_ns;
  std::vector<epoll_event> events(static_cast<size_t>(nconns));
  char buf[16384];
  for (;;) {
    int64_t now = nowNs();
    bool sending = sent < count && now < deadline;
    if (!sending && inflight == 0) break;
    if (!sending && now > deadline + 5'000'000'000) break;  // answers that never come
    // Hand every due event to an idle connection.
    for (auto& c : conns) {
      if (!sending) break;
      if (c.busy) continue;
      int64_t due =
          rate > 0 ? start + static_cast<int64_t>(static_cast<double>(sent) * 1e9 / rate) : now;
      if (due > now) break;
      now = nowNs();
      std::string body = "{\"sent_ns\":" + std::to_string(now) +
                         ",\"seq\":" + std::to_string(sent) + ",\"pad\":\"" + pad + "\"}";
      c.out = head + std::to_string(body.size()) + "\r\n\r\n" + body;
      ssize_t w = write(c.fd, c.out.data(), c.out.size());
      if (w < static_cast<ssize_t>(c.out.size())) {
        // Loopback with a 1 KB body: a short write means the peer is gone.
        std::fprintf(stderr, "bench_pubsub_pub: short write\n");
        return 1;
      }
      c.busy = true;
      c.sent_at = now;
      ++sent;
      ++inflight;
      sending = sent < count && now < deadline;
    }
    int timeout_ms = 100;
    if (sending && rate > 0) {
      int64_t due = start + static_cast<int64_t>(static_cast<double>(sent) * 1e9 / rate);
      timeout_ms = static_cast<int>(std::clamp<int64_t>((due - nowNs()) / 1'000'000, 0, 100));
    }
    int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), timeout_ms);
    for (int i = 0; i < n; ++i) {
      Conn& c = conns[events[i].data.u64];
      for (;;) {
        ssize_t r = read(c.fd, buf, sizeof(buf));
        if (r > 0) {
          c.in.append(buf, static_cast<size_t>(r));
          continue;
        }
        if (r == 0 || errno != EAGAIN) {
          std::fprintf(stderr, "bench_pubsub_pub: the server closed a connection\n");
          return 1;
        }
        break;
      }
      int status = 0;
      size_t len;
      while ((len = responseLength(c.in, &status)) > 0) {
        c.in.erase(0, len);
        if (!c.busy) continue;
        c.busy = false;
        --inflight;
        if (status >= 200 && status < 300) {
          ++ok;
          latencies.push_back(nowNs() - c.sent_at);
        } else {
          ++failed;
          if (!first_failure) first_failure = status;
        }
      }
    }
  }
  double elapsed = static_cast<double>(nowNs() - start) / 1e9;
  std::sort(latencies.begin(), latencies.end());
  std::printf("%lld %lld %lld %.3f %.3f %.3f %d\n", static_cast<long long>(sent),
              static_cast<long long>(ok), static_cast<long long>(failed), elapsed,
              pct(latencies, 0.50), pct(latencies, 0.99), first_failure);
  return 0;
}
