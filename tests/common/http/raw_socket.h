#pragma once

// Blocking loopback sockets for the HTTP tests: a client that writes raw bytes and reads what
// comes back, and a scripted server, so that a test can send (or answer) what no well-behaved
// peer would. Every read has a timeout: no test hangs on a silent peer.

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <thread>
#include <vector>

namespace outrigger::http::testing {

inline int connectLoopback(uint16_t port, int timeout_s = 10) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(port);
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{timeout_s, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  ::setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
  return fd;
}

inline bool sendAll(int fd, const std::string& data) {
  size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::send(fd, data.data() + off, data.size() - off, MSG_NOSIGNAL);
    if (n <= 0) return false;
    off += static_cast<size_t>(n);
  }
  return true;
}

// Reads until `done(received)` holds, the peer closes, or a read times out.
inline std::string recvUntil(int fd, const std::function<bool(const std::string&)>& done) {
  std::string out;
  char buf[16384];
  while (!done(out)) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n <= 0) break;
    out.append(buf, static_cast<size_t>(n));
  }
  return out;
}

// Reads one response with a Content-Length (or none), or until the peer closes.
inline std::string recvResponse(int fd) {
  return recvUntil(fd, [](const std::string& s) {
    size_t end = s.find("\r\n\r\n");
    if (end == std::string::npos) return false;
    size_t cl = s.find("Content-Length: ");
    if (cl == std::string::npos || cl > end) return true;
    return s.size() >= end + 4 + std::stoul(s.substr(cl + 16));
  });
}

// True when the peer closes the connection (EOF or reset) before a read times out.
inline bool closedByPeer(int fd) {
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd, buf, sizeof(buf), 0);
    if (n == 0) return true;
    if (n < 0) return errno == ECONNRESET;
  }
}

// Accepts connections on loopback and runs `script(fd)` for each, one after the other, on its
// own thread.
class ScriptedServer {
 public:
  explicit ScriptedServer(std::function<void(int fd)> script) : script_(std::move(script)) {
    listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    int one = 1;
    ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
    ::listen(listen_fd_, 16);
    socklen_t len = sizeof(addr);
    ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
    port_ = ntohs(addr.sin_port);
    thread_ = std::thread([this] {
      while (!stop_) {
        pollfd p{listen_fd_, POLLIN, 0};
        if (::poll(&p, 1, 100) <= 0) continue;
        int fd = ::accept(listen_fd_, nullptr, nullptr);
        if (fd < 0) continue;
        timeval tv{10, 0};
        ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
        accepted_++;
        script_(fd);
        ::close(fd);
      }
    });
  }
  ~ScriptedServer() {
    stop_ = true;
    thread_.join();
    ::close(listen_fd_);
  }
  uint16_t port() const { return port_; }
  int accepted() const { return accepted_; }

 private:
  std::function<void(int)> script_;
  int listen_fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

// Reads one request head (and a Content-Length body) from fd.
inline std::string recvRequest(int fd) { return recvResponse(fd); }

}  // namespace outrigger::http::testing
