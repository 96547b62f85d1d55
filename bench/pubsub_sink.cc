// The subscriber "app" of bench/pubsub.sh, and its baseline endpoint. A bare epoll loop like
// echo_app.cc, so that it costs far less than the sidecar delivering to it.
//
//   GET  /dapr/subscribe  -> 200 []            (subscriptions are declarative in the bench)
//   POST /baseline        -> 204, nothing recorded (what the publish-latency baseline hits)
//   POST /_flush          -> body is a file path: appends every recorded latency (ns, one per
//                            line) to it, answers "count span_ns" and forgets them. span_ns is
//                            last delivery minus earliest send, for throughput.
//   GET  /_count          -> "count"
//   POST anything else    -> 200 with no body (the sidecar acks on 2xx); if the body holds
//                            "sent_ns":<CLOCK_MONOTONIC ns> the delivery latency is recorded.
//
// Usage: bench_pubsub_sink <port>   (port 0: pick one; the port is printed on stdout)

#include <arpa/inet.h>
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
#include <unordered_map>
#include <vector>

namespace {

constexpr size_t kMaxRequestBytes = 1 << 22;  // bounds what one connection may buffer
constexpr size_t kMaxSamples = 10'000'000;    // bounds memory if nobody ever flushes

int64_t nowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

struct Conn {
  std::string in;
  std::string out;
};

struct Stats {
  std::vector<int64_t> latencies;
  int64_t min_sent = INT64_MAX;
  int64_t max_recv = 0;
};

// Length of the first complete request in buf, 0 if incomplete, -1 if unparseable.
long requestLength(const std::string& buf, size_t* header_len) {
  size_t end = buf.find("\r\n\r\n");
  if (end == std::string::npos) return buf.size() > 64 * 1024 ? -1 : 0;
  size_t headers = end + 4;
  size_t content_length = 0;
  size_t pos = buf.find("\r\n");
  while (pos < end) {
    size_t next = buf.find("\r\n", pos + 2);
    const char* line = buf.data() + pos + 2;
    size_t len = next - pos - 2;
    if (len > 15 && strncasecmp(line, "content-length:", 15) == 0) {
      content_length = std::strtoul(std::string(line + 15, len - 15).c_str(), nullptr, 10);
    } else if (len > 18 && strncasecmp(line, "transfer-encoding:", 18) == 0) {
      return -1;  // never sent by the clients of this benchmark
    }
    pos = next;
  }
  if (buf.size() < headers + content_length) return 0;
  *header_len = headers;
  return static_cast<long>(headers + content_length);
}

std::string response(int code, const std::string& body) {
  const char* reason = code == 200 ? "OK" : code == 204 ? "No Content" : "Not Found";
  std::string r = "HTTP/1.1 " + std::to_string(code) + " " + reason + "\r\n";
  if (code != 204) r += "Content-Length: " + std::to_string(body.size()) + "\r\n";
  return r + "\r\n" + (code == 204 ? "" : body);
}

std::string handle(const std::string& req, size_t header_len, Stats& stats) {
  int64_t now = nowNs();
  size_t sp1 = req.find(' ');
  size_t sp2 = req.find(' ', sp1 + 1);
  std::string method = req.substr(0, sp1);
  std::string path = req.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string body = req.substr(header_len);
  if (method == "GET") {
    if (path == "/dapr/subscribe") return response(200, "[]");
    if (path == "/_count") return response(200, std::to_string(stats.latencies.size()) + "\n");
    return response(404, "");
  }
  if (path == "/baseline") return response(204, "");
  if (path == "/_flush") {
    FILE* f = std::fopen(body.c_str(), "a");
    if (!f) return response(404, "cannot open " + body + "\n");
    for (int64_t l : stats.latencies) std::fprintf(f, "%lld\n", static_cast<long long>(l));
    std::fclose(f);
    int64_t span = stats.latencies.empty() ? 0 : stats.max_recv - stats.min_sent;
    std::string answer = std::to_string(stats.latencies.size()) + " " + std::to_string(span) + "\n";
    stats = Stats{};
    return response(200, answer);
  }
  size_t at = body.find("\"sent_ns\":");
  if (at != std::string::npos && stats.latencies.size() < kMaxSamples) {
    int64_t sent = std::strtoll(body.c_str() + at + 10, nullptr, 10);
    if (sent > 0) {
      stats.latencies.push_back(now - sent);
      stats.min_sent = std::min(stats.min_sent, sent);
      stats.max_recv = std::max(stats.max_recv, now);
    }
  }
  return response(200, "");
}

}  // namespace

int main(int argc, char** argv) {
  int port = argc > 1 ? std::atoi(argv[1]) : 0;
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (bind(lfd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(lfd, 1024) != 0) {
    std::perror("bench_pubsub_sink: bind/listen");
    return 1;
  }
  socklen_t alen = sizeof(addr);
  getsockname(lfd, reinterpret_cast<sockaddr*>(&addr), &alen);
  std::printf("%d\n", ntohs(addr.sin_port));
  std::fflush(stdout);

  int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.fd = lfd;
  epoll_ctl(ep, EPOLL_CTL_ADD, lfd, &ev);
  std::unordered_map<int, Conn> conns;
  std::vector<epoll_event> events(256);
  Stats stats;
  stats.latencies.reserve(1 << 20);
  char buf[65536];
  for (;;) {
    int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), -1);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == lfd) {
        for (;;) {
          int c = accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK);
          if (c < 0) break;
          setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
          epoll_event cev{};
          cev.events = EPOLLIN | EPOLLRDHUP;
          cev.data.fd = c;
          epoll_ctl(ep, EPOLL_CTL_ADD, c, &cev);
          conns[c];
        }
        continue;
      }
      Conn& conn = conns[fd];
      bool dead = false;
      if (events[i].events & EPOLLIN) {
        for (;;) {
          ssize_t r = read(fd, buf, sizeof(buf));
          if (r > 0) {
            conn.in.append(buf, static_cast<size_t>(r));
            if (conn.in.size() > kMaxRequestBytes) dead = true;
            continue;
          }
          if (r == 0 || errno != EAGAIN) dead = true;
          break;
        }
        for (;;) {
          size_t header_len = 0;
          long len = requestLength(conn.in, &header_len);
          if (len < 0) dead = true;
          if (len <= 0) break;
          conn.out += handle(conn.in.substr(0, static_cast<size_t>(len)), header_len, stats);
          conn.in.erase(0, static_cast<size_t>(len));
        }
      }
      while (!conn.out.empty()) {
        ssize_t w = write(fd, conn.out.data(), conn.out.size());
        if (w <= 0) {
          if (w < 0 && errno != EAGAIN) dead = true;
          break;
        }
        conn.out.erase(0, static_cast<size_t>(w));
      }
      if (dead || (events[i].events & (EPOLLERR | EPOLLHUP))) {
        epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
        close(fd);
        conns.erase(fd);
        continue;
      }
      epoll_event mev{};
      mev.events = EPOLLIN | EPOLLRDHUP | (conn.out.empty() ? 0u : EPOLLOUT);
      mev.data.fd = fd;
      epoll_ctl(ep, EPOLL_CTL_MOD, fd, &mev);
    }
  }
}
