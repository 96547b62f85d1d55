#include "tests/framework/servers.h"

#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <thread>
#include <vector>

namespace outrigger::testing {

namespace fs = std::filesystem;

int freeTcpPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

bool waitForPort(int port, int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    int fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    bool ok = ::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
    ::close(fd);
    if (ok) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return false;
}

namespace {

int spawn(const std::vector<std::string>& args, const std::string& log) {
  int pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);
    FILE* f = std::freopen(log.c_str(), "a", stdout);
    (void)f;
    ::dup2(1, 2);
    std::vector<char*> argv;
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  return pid;
}

// Signals the whole process group (runuser and the server under it).
void terminate(int* pid, int sig = SIGTERM) {
  if (*pid <= 0) return;
  ::kill(-*pid, sig);
  int status;
  for (int i = 0; i < 200 && ::waitpid(*pid, &status, WNOHANG) == 0; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  if (::waitpid(*pid, &status, WNOHANG) == 0) {
    ::kill(-*pid, SIGKILL);
    ::waitpid(*pid, &status, 0);
  }
  *pid = -1;
}

std::string tempDir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  return ::mkdtemp(buf.data());
}

// PostgreSQL refuses to run as root: as root, run its tools as the postgres user (Debian's
// package creates it), with the data directory owned by it.
std::vector<std::string> asPostgresUser(std::vector<std::string> args) {
  if (::geteuid() != 0) return args;
  args.insert(args.begin(), {"/usr/sbin/runuser", "-u", "postgres", "--"});
  return args;
}

const char* kPgBin = "/usr/lib/postgresql/15/bin";

}  // namespace

std::string RedisServer::start() {
  const std::string bin = "/usr/bin/redis-server";
  if (!fs::exists(bin)) return bin + " is missing: run scripts/install-deps.sh";
  if (dir_.empty()) dir_ = tempDir("outrigger-redis");
  if (port_ == 0) port_ = freeTcpPort();
  pid_ = spawn({bin, "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "",
                "--appendonly", "no", "--dir", dir_},
               dir_ + "/redis.log");
  if (!waitForPort(port_, 10000)) return "redis-server did not open port " + std::to_string(port_);
  return "";
}

void RedisServer::stop() { terminate(&pid_); }

std::string PostgresServer::start() {
  std::string bin = std::string(kPgBin) + "/postgres";
  if (!fs::exists(bin)) return bin + " is missing: run scripts/install-deps.sh";
  if (dir_.empty()) {
    dir_ = tempDir("outrigger-pg");
    if (::geteuid() == 0) {
      passwd* pw = ::getpwnam("postgres");
      if (!pw) return "user postgres is missing (Debian's postgresql package creates it)";
      ::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid);
    }
    int pid = spawn(asPostgresUser({std::string(kPgBin) + "/initdb", "-D", dir_ + "/data", "-A",
                                    "trust", "-U", "postgres"}),
                    "/dev/null");
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) return "initdb failed in " + dir_;
  }
  if (port_ == 0) port_ = freeTcpPort();
  pid_ = spawn(asPostgresUser({bin, "-D", dir_ + "/data", "-p", std::to_string(port_), "-k", dir_,
                               "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off"}),
               "/dev/null");
  if (!waitForPort(port_, 20000)) return "postgres did not open port " + std::to_string(port_);
  // Accepting TCP is not yet accepting queries: ask pg_isready until it says so (bounded).
  for (int i = 0; i < 100; ++i) {
    int pid = spawn(
        {std::string(kPgBin) + "/pg_isready", "-q", "-h", "127.0.0.1", "-p", std::to_string(port_)},
        "/dev/null");
    int status = 0;
    ::waitpid(pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return "";
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return "postgres did not become ready on port " + std::to_string(port_);
}

// SIGINT is PostgreSQL's fast shutdown; SIGTERM would wait for every client to leave.
void PostgresServer::stop() { terminate(&pid_, SIGINT); }

std::string PostgresServer::connectionString() const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=postgres";
}

}  // namespace outrigger::testing
