// Measures how long outriggerd takes from exec to answering GET /v1.0/healthz with 204.
// Polls over a raw socket every 0.5 ms: forking curl in a loop would cost more than what is
// measured.
//
// Usage: bench_startup_probe <runs> <http-port> <outriggerd> [outriggerd args...]
// Prints one line per run (ms) and then "median_ms min_ms max_ms".

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// True once the sidecar answers the health check with 204.
bool healthy(int port) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return false;
  timeval tv{0, 200000};  // bounded: a half-started server must not hang the probe
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = false;
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0) {
    const char req[] = "GET /v1.0/healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n";
    if (write(fd, req, sizeof(req) - 1) == static_cast<ssize_t>(sizeof(req) - 1)) {
      char buf[64] = {};
      ssize_t n = read(fd, buf, sizeof(buf) - 1);
      ok = n >= 12 && std::strncmp(buf, "HTTP/1.1 204", 12) == 0;
    }
  }
  close(fd);
  return ok;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 4) {
    std::fprintf(stderr, "usage: %s <runs> <http-port> <outriggerd> [args...]\n", argv[0]);
    return 2;
  }
  int runs = std::atoi(argv[1]);
  int port = std::atoi(argv[2]);
  std::vector<double> times;
  for (int r = 0; r < runs; ++r) {
    auto start = Clock::now();
    pid_t pid = fork();
    if (pid == 0) {
      int devnull = open("/dev/null", O_WRONLY);
      dup2(devnull, 1);
      dup2(devnull, 2);
      execv(argv[3], argv + 3);
      _exit(127);
    }
    bool ok = false;
    auto deadline = start + std::chrono::seconds(5);
    while (Clock::now() < deadline) {
      if (healthy(port)) {
        ok = true;
        break;
      }
      int status;
      if (waitpid(pid, &status, WNOHANG) == pid) {
        pid = -1;
        break;
      }
      std::this_thread::sleep_for(std::chrono::microseconds(500));
    }
    double ms = std::chrono::duration<double, std::milli>(Clock::now() - start).count();
    if (pid > 0) {
      kill(pid, SIGTERM);
      waitpid(pid, nullptr, 0);
    }
    if (!ok) {
      std::fprintf(stderr, "run %d: no 204 from /v1.0/healthz within 5 s\n", r);
      return 1;
    }
    std::printf("%.2f\n", ms);
    times.push_back(ms);
  }
  std::sort(times.begin(), times.end());
  size_t n = times.size();
  double median = n % 2 ? times[n / 2] : (times[n / 2 - 1] + times[n / 2]) / 2;
  std::printf("%.2f %.2f %.2f\n", median, times.front(), times.back());
  return 0;
}
