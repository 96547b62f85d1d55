#include "tests/framework/servers.h"

#include <fcntl.h>
#include <grp.h>
#include <hiredis/hiredis.h>
#include <libpq-fe.h>
#include <netinet/in.h>
#include <pwd.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <thread>

namespace outrigger::testing {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

int freeTcpPort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  if (fd < 0) return 0;
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(addr);
  int port = 0;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0 &&
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) == 0) {
    port = ntohs(addr.sin_port);
  }
  ::close(fd);
  return port;
}

bool waitForPort(int port, int timeout_ms) {
  auto deadline = Clock::now() + std::chrono::milliseconds(timeout_ms);
  while (Clock::now() < deadline) {
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

ServerProcess::~ServerProcess() {
  // Subclasses stop the server; here only the directory remains to go.
  if (!dir_.empty()) {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
}

std::string ServerProcess::ensureDir(const std::string& prefix, const std::string& owner) {
  if (!dir_.empty()) return "";
  std::string tmpl = (fs::temp_directory_path() / (prefix + "-XXXXXX")).string();
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  if (!::mkdtemp(buf.data())) return "cannot create a temporary directory from " + tmpl;
  dir_ = buf.data();
  log_ = dir_ + "/server.log";
  if (!owner.empty()) {
    passwd* pw = ::getpwnam(owner.c_str());
    if (!pw || ::chown(dir_.c_str(), pw->pw_uid, pw->pw_gid) != 0) {
      return "cannot hand " + dir_ + " to user " + owner;
    }
  }
  return "";
}

pid_t ServerProcess::spawn(const std::vector<std::string>& args, const std::string& run_as) const {
  // Everything the child needs is prepared before fork: after it, only async-signal-safe calls.
  std::vector<char*> argv;
  for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  uid_t uid = 0;
  gid_t gid = 0;
  bool switch_user = false;
  if (!run_as.empty()) {
    passwd* pw = ::getpwnam(run_as.c_str());
    if (!pw) return -1;
    uid = pw->pw_uid;
    gid = pw->pw_gid;
    switch_user = true;
  }
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid != 0) return pid;
  ::setpgid(0, 0);
  if (switch_user && (::setgroups(0, nullptr) != 0 || ::setgid(gid) != 0 || ::setuid(uid) != 0)) {
    ::_exit(126);
  }
  // After the uid change, which clears it: the server dies with the test, even on a crash.
  ::prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (::getppid() != parent) ::_exit(125);
  if (::chdir(dir_.c_str()) != 0) ::_exit(124);
  int in = ::open("/dev/null", O_RDONLY);
  int out = ::open(log_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0644);
  if (in >= 0) ::dup2(in, 0);
  if (out >= 0) {
    ::dup2(out, 1);
    ::dup2(out, 2);
  }
  ::close_range(3, ~0U, 0);  // the test's own sockets stay with the test
  ::execv(argv[0], argv.data());
  ::_exit(127);
}

bool ServerProcess::exited() {
  if (pid_ <= 0) return true;
  int status;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    pid_ = -1;
    return true;
  }
  return false;
}

namespace {
bool signalTree(pid_t root, int signal);
}  // namespace

void ServerProcess::terminate(int signal) {
  if (pid_ <= 0) return;
  signalTree(pid_, SIGCONT);  // a paused server cannot act on the signal
  ::kill(-pid_, signal);
  auto deadline = Clock::now() + std::chrono::seconds(15);
  while (!exited() && Clock::now() < deadline) {
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (pid_ > 0) {
    ::kill(-pid_, SIGKILL);
    int status;
    ::waitpid(pid_, &status, 0);
    pid_ = -1;
  }
}

void ServerProcess::stop() { terminate(stop_signal_); }
void ServerProcess::kill() { terminate(crash_signal_); }
namespace {

// The server and every process under it: PostgreSQL's backends leave its process group (setsid),
// so a signal to the group would miss the processes that hold the connections.
std::vector<pid_t> processTree(pid_t root) {
  std::map<pid_t, std::vector<pid_t>> children;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/proc", ec)) {
    std::string name = entry.path().filename().string();
    if (name.empty() || !std::all_of(name.begin(), name.end(), ::isdigit)) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat;
    std::getline(in, stat);
    // "pid (comm) state ppid ...": comm may hold spaces, so read after the last ')'.
    auto close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    std::string state;
    pid_t ppid = 0;
    rest >> state >> ppid;
    children[ppid].push_back(static_cast<pid_t>(std::stoi(name)));
  }
  std::vector<pid_t> out = {root};
  for (size_t i = 0; i < out.size(); ++i) {
    for (pid_t child : children[out[i]]) out.push_back(child);
  }
  return out;
}

bool signalTree(pid_t root, int signal) {
  if (root <= 0) return false;
  bool ok = true;
  for (pid_t pid : processTree(root)) ok = ::kill(pid, signal) == 0 && ok;
  return ok;
}

}  // namespace

bool ServerProcess::pause() { return signalTree(pid_, SIGSTOP); }
bool ServerProcess::resume() { return signalTree(pid_, SIGCONT); }

std::string ServerProcess::logTail(size_t bytes) const {
  std::ifstream in(log_, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  std::string text = ss.str();
  if (text.size() > bytes) text = "..." + text.substr(text.size() - bytes);
  return text;
}

// ---- redis-server ----

std::string RedisServer::start() {
  const std::string bin = "/usr/bin/redis-server";
  if (!fs::exists(bin)) {
    return bin + " is missing: install Debian's redis-server (scripts/install-deps.sh)";
  }
  if (running()) return "";
  if (std::string err = ensureDir("outrigger-redis", ""); !err.empty()) return err;
  if (port_ == 0) port_ = freeTcpPort();
  std::vector<std::string> args = {
      bin, "--port", std::to_string(port_), "--bind", "127.0.0.1", "--save", "", "--dir", dir_};
  if (persistent) {
    args.insert(args.end(), {"--appendonly", "yes", "--appendfsync", "always"});
  } else {
    args.insert(args.end(), {"--appendonly", "no"});
  }
  pid_ = spawn(args, "");
  if (pid_ < 0) return "cannot start " + bin;
  // Ready once it answers PING (bounded).
  auto deadline = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < deadline) {
    if (exited()) return "redis-server exited during start-up:\n" + logTail();
    timeval tv{1, 0};
    redisContext* c = redisConnectWithTimeout("127.0.0.1", port_, tv);
    if (c && !c->err) {
      redisSetTimeout(c, tv);
      auto* r = static_cast<redisReply*>(redisCommand(c, "PING"));
      bool ok = r && r->type == REDIS_REPLY_STATUS;
      if (r) freeReplyObject(r);
      redisFree(c);
      if (ok) return "";
    } else if (c) {
      redisFree(c);
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return "redis-server did not answer PING on port " + std::to_string(port_) + ":\n" + logTail();
}

// ---- PostgreSQL ----

namespace {

// Debian installs each major version under /usr/lib/postgresql/<n>/bin; take the newest.
std::string postgresBinDir() {
  if (const char* env = std::getenv("OUTRIGGER_PG_BINDIR")) return env;
  std::string best;
  int best_version = -1;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/postgresql", ec)) {
    int version = std::atoi(entry.path().filename().c_str());
    if (version > best_version && fs::exists(entry.path() / "bin" / "postgres")) {
      best_version = version;
      best = (entry.path() / "bin").string();
    }
  }
  return best.empty() ? "/usr/lib/postgresql/15/bin" : best;
}

}  // namespace

PostgresServer::PostgresServer() {
  stop_signal_ = SIGINT;    // "fast" shutdown: does not wait for clients to leave
  crash_signal_ = SIGQUIT;  // "immediate" shutdown: no checkpoint, crash recovery on restart
  // PostgreSQL refuses to run as root; as root, use the package's user, else nobody.
  if (::geteuid() == 0) user_ = ::getpwnam("postgres") ? "postgres" : "nobody";
}

std::string PostgresServer::start() {
  std::string bindir = postgresBinDir();
  std::string postgres = bindir + "/postgres";
  std::string initdb = bindir + "/initdb";
  if (!fs::exists(postgres) || !fs::exists(initdb)) {
    return postgres + " or " + initdb +
           " is missing: install Debian's postgresql (scripts/install-deps.sh)";
  }
  if (running()) return "";
  bool fresh = dir_.empty();
  if (std::string err = ensureDir("outrigger-pg", user_); !err.empty()) return err;
  if (fresh) {
    pid_t pid = spawn({initdb, "-D", dir_ + "/data", "-A", "trust", "-U", "postgres", "-E", "UTF8",
                       "--locale=C", "--no-sync"},
                      user_);
    int status = 0;
    if (pid < 0 || ::waitpid(pid, &status, 0) != pid || !WIFEXITED(status) ||
        WEXITSTATUS(status) != 0) {
      return "initdb failed in " + dir_ + ":\n" + logTail();
    }
  }
  if (port_ == 0) port_ = freeTcpPort();
  pid_ = spawn({postgres, "-D", dir_ + "/data", "-p", std::to_string(port_), "-k", dir_, "-c",
                "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off", "-c",
                "max_connections=60"},
               user_);
  if (pid_ < 0) return "cannot start " + postgres;
  // Ready once it accepts a session (bounded; crash recovery after kill() takes a moment).
  std::string conninfo = connectionString() + " connect_timeout=2";
  auto deadline = Clock::now() + std::chrono::seconds(60);
  while (Clock::now() < deadline) {
    if (exited()) return "postgres exited during start-up:\n" + logTail();
    if (PQping(conninfo.c_str()) == PQPING_OK) return "";
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return "postgres did not accept connections on port " + std::to_string(port_) + ":\n" + logTail();
}

std::string PostgresServer::connectionString() const {
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=postgres dbname=postgres";
}

}  // namespace outrigger::testing
