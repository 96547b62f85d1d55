// The "app" of the sidecar benchmarks: answers every HTTP/1.1 request with the same 1 KB body.
// Deliberately a bare epoll loop (no Beast, no allocation per request) so that the app costs far
// less than anything measured in front of it.
//
// Usage: bench_echo_app <port> [threads]   (port 0: pick one; the port is printed on stdout)

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

namespace {

constexpr size_t kBodyBytes = 1024;
constexpr size_t kMaxRequestBytes = 1 << 20;  // bounds what one connection may buffer

std::string makeResponse() {
  std::string body(kBodyBytes, 'x');
  return "HTTP/1.1 200 OK\r\nContent-Type: application/octet-stream\r\nContent-Length: " +
         std::to_string(body.size()) + "\r\n\r\n" + body;
}

struct Conn {
  std::string in;
  std::string out;
};

// Length of the first complete request in buf, 0 if incomplete, -1 if unparseable.
long requestLength(const std::string& buf) {
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
  return static_cast<long>(headers + content_length);
}

void serve(int listen_fd, const std::string& response) {
  int ep = epoll_create1(0);
  epoll_event ev{};
  ev.events = EPOLLIN | EPOLLEXCLUSIVE;
  ev.data.fd = listen_fd;
  epoll_ctl(ep, EPOLL_CTL_ADD, listen_fd, &ev);
  std::unordered_map<int, Conn> conns;
  std::vector<epoll_event> events(256);
  char buf[16384];
  auto close_conn = [&](int fd) {
    epoll_ctl(ep, EPOLL_CTL_DEL, fd, nullptr);
    close(fd);
    conns.erase(fd);
  };
  for (;;) {
    int n = epoll_wait(ep, events.data(), static_cast<int>(events.size()), -1);
    for (int i = 0; i < n; ++i) {
      int fd = events[i].data.fd;
      if (fd == listen_fd) {
        for (;;) {
          int c = accept4(listen_fd, nullptr, nullptr, SOCK_NONBLOCK);
          if (c < 0) break;
          int one = 1;
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
          long len = requestLength(conn.in);
          if (len < 0) dead = true;
          if (len <= 0) break;
          conn.in.erase(0, static_cast<size_t>(len));
          conn.out += response;
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
      epoll_event mev{};
      mev.events = EPOLLIN | EPOLLRDHUP | (conn.out.empty() ? 0u : EPOLLOUT);
      mev.data.fd = fd;
      if (dead || (events[i].events & (EPOLLERR | EPOLLHUP))) {
        close_conn(fd);
      } else {
        epoll_ctl(ep, EPOLL_CTL_MOD, fd, &mev);
      }
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  int port = argc > 1 ? std::atoi(argv[1]) : 0;
  int threads = argc > 2 ? std::atoi(argv[2]) : 1;
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0 || listen(fd, 1024) != 0) {
    std::perror("bench_echo_app: bind/listen");
    return 1;
  }
  socklen_t alen = sizeof(addr);
  getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &alen);
  std::printf("%d\n", ntohs(addr.sin_port));
  std::fflush(stdout);
  const std::string response = makeResponse();
  std::vector<std::thread> workers;
  for (int i = 1; i < threads; ++i) workers.emplace_back([fd, &response] { serve(fd, response); });
  serve(fd, response);
}
