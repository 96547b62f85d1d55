#include "cli/cli.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <thread>

#include "common/http/client.h"

namespace outrigger::cli {

namespace fs = std::filesystem;

namespace {

constexpr const char* kVersion = "0.1.0";
constexpr int kGraceSeconds = 5;
int g_signal_pipe[2] = {-1, -1};

void onSignal(int sig) {
  char c = static_cast<char>(sig);
  (void)!::write(g_signal_pipe[1], &c, 1);
}

void usage(std::ostream& out) {
  out << "Usage:\n"
         "  outrigger run --app-id ID [--app-port PORT] [--dapr-http-port PORT]\n"
         "                [--resources-path DIR]... [--config FILE] [--log-level LEVEL]\n"
         "                [--sidecar-arg ARG]... -- COMMAND [ARGS...]\n"
         "  outrigger version\n\n"
         "Runs COMMAND beside an outriggerd sidecar, with DAPR_HTTP_PORT set, prefixing both "
         "logs.\n"
         "Without --resources-path, embedded defaults are used (SQLite state store 'statestore',\n"
         "in-memory pub/sub 'pubsub') from ~/.outrigger/components.\n"
         "The sidecar listens on 127.0.0.1 only; to open it to other hosts pass, for example,\n"
         "--sidecar-arg=--dapr-listen-addresses=0.0.0.0 (and --metrics-listen-address,\n"
         "--dapr-internal-grpc-listen-address likewise).\n";
}

bool portFree(int port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  bool ok = ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) == 0;
  ::close(fd);
  return ok;
}

int freePort() {
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

std::string findSidecar() {
  if (const char* env = std::getenv("OUTRIGGER_SIDECAR")) return env;
  std::error_code ec;
  fs::path self = fs::read_symlink("/proc/self/exe", ec);
  for (const fs::path& candidate : {self.parent_path() / "outriggerd",
                                    self.parent_path().parent_path() / "sidecar" / "outriggerd"}) {
    if (!ec && fs::exists(candidate)) return candidate.string();
  }
  if (const char* path = std::getenv("PATH")) {
    std::string p = path;
    size_t start = 0;
    while (start <= p.size()) {
      size_t end = p.find(':', start);
      if (end == std::string::npos) end = p.size();
      fs::path c = fs::path(p.substr(start, end - start)) / "outriggerd";
      if (fs::exists(c)) return c.string();
      start = end + 1;
    }
  }
  return "";
}

struct Child {
  pid_t pid = -1;
  int out = -1;  // read end of its stdout+stderr
  std::string prefix;
  std::string pending;
  bool exited = false;
  int status = 0;
};

Child spawn(const std::vector<std::string>& argv,
            const std::vector<std::pair<std::string, std::string>>& env,
            const std::string& prefix) {
  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return {};
  pid_t parent = ::getpid();
  pid_t pid = ::fork();
  if (pid == 0) {
    ::setpgid(0, 0);  // its own group: Ctrl-C reaches it through us, once
    // If we are killed outright, it is told to stop rather than left behind.
    ::prctl(PR_SET_PDEATHSIG, SIGTERM);
    if (::getppid() != parent) ::_exit(1);
    ::dup2(p[1], 1);
    ::dup2(p[1], 2);
    for (const auto& [k, v] : env) ::setenv(k.c_str(), v.c_str(), 1);
    std::vector<char*> args;
    for (const auto& a : argv) args.push_back(const_cast<char*>(a.c_str()));
    args.push_back(nullptr);
    ::execvp(args[0], args.data());
    std::fprintf(stderr, "cannot run %s: %s\n", args[0], std::strerror(errno));
    ::_exit(127);
  }
  ::close(p[1]);
  if (pid > 0) ::setpgid(pid, pid);  // also here: a signal sent right away finds the group
  Child c;
  c.pid = pid;
  c.out = p[0];
  c.prefix = prefix;
  return c;
}

// Copies complete lines from the child's output to ours, prefixed.
void pump(Child& c, bool flush_all) {
  char buf[4096];
  ssize_t n = ::read(c.out, buf, sizeof(buf));
  if (n < 0 && (errno == EINTR || errno == EAGAIN)) return;  // a signal arrived meanwhile
  if (n <= 0) {
    ::close(c.out);
    c.out = -1;
    flush_all = true;
  } else {
    c.pending.append(buf, static_cast<size_t>(n));
  }
  size_t nl;
  while ((nl = c.pending.find('\n')) != std::string::npos) {
    std::cout << c.prefix << c.pending.substr(0, nl) << "\n";
    c.pending.erase(0, nl + 1);
  }
  // A very long line without a newline is printed in pieces rather than held without bound.
  if ((flush_all || c.pending.size() > 64 * 1024) && !c.pending.empty()) {
    std::cout << c.prefix << c.pending << "\n";
    c.pending.clear();
  }
  std::cout.flush();
}

// Reads what is left of the child's output; bounded, since a process it left behind may hold
// the pipe open.
void drain(Child& c, std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (c.out >= 0 && std::chrono::steady_clock::now() < deadline) {
    pollfd p{c.out, POLLIN, 0};
    if (::poll(&p, 1, 50) > 0) pump(c, false);
  }
  if (c.out >= 0) {
    if (!c.pending.empty()) std::cout << c.prefix << c.pending << std::endl;
    c.pending.clear();
    ::close(c.out);
    c.out = -1;
  }
}

bool reap(Child& c) {
  if (c.exited || c.pid <= 0) return c.exited;
  int status;
  if (::waitpid(c.pid, &status, WNOHANG) == c.pid) {
    c.exited = true;
    c.status = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  }
  return c.exited;
}

// SIGTERM to its whole process group (a shell wrapper's children too), then SIGKILL after the
// grace period.
void stop(Child& c, int grace_seconds, std::vector<Child*> all) {
  if (c.pid <= 0 || reap(c)) return;
  ::kill(-c.pid, SIGTERM);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(grace_seconds);
  while (!reap(c) && std::chrono::steady_clock::now() < deadline) {
    for (Child* o : all) {
      if (o->out >= 0) {
        pollfd p{o->out, POLLIN, 0};
        if (::poll(&p, 1, 0) > 0) pump(*o, false);
      }
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  if (!reap(c)) {
    ::kill(-c.pid, SIGKILL);
    int status;
    ::waitpid(c.pid, &status, 0);
    c.exited = true;
    c.status = 137;
  }
}

bool sidecarReady(int port) {
  return http::canConnect("127.0.0.1", static_cast<uint16_t>(port), std::chrono::milliseconds(200));
}

int runCommand(const RunOptions& o) {
  std::string sidecar = findSidecar();
  if (sidecar.empty()) {
    std::cerr << "outrigger: cannot find outriggerd (set OUTRIGGER_SIDECAR or put it on PATH)\n";
    return 1;
  }
  std::vector<std::string> resources = o.resources_paths;
  if (resources.empty()) {
    const char* home = std::getenv("HOME");
    std::string base = std::string(home ? home : "/tmp") + "/.outrigger";
    resources.push_back(writeDefaultComponents(base + "/components", base));
  }
  int http_port = o.dapr_http_port;
  if (http_port == 0) http_port = portFree(3500) ? 3500 : freePort();
  int metrics_port = portFree(9090) ? 9090 : freePort();

  std::vector<std::string> args = {sidecar,
                                   "--app-id",
                                   o.app_id,
                                   "--dapr-http-port",
                                   std::to_string(http_port),
                                   "--metrics-port",
                                   std::to_string(metrics_port),
                                   "--log-level",
                                   o.log_level};
  if (o.app_port > 0) args.insert(args.end(), {"--app-port", std::to_string(o.app_port)});
  for (const auto& r : resources) args.insert(args.end(), {"--resources-path", r});
  for (const auto& c : o.config) args.insert(args.end(), {"--config", c});
  args.insert(args.end(), o.sidecar_args.begin(), o.sidecar_args.end());

  if (::pipe2(g_signal_pipe, O_CLOEXEC | O_NONBLOCK) != 0) return 1;
  struct sigaction sa {};
  sa.sa_handler = onSignal;
  ::sigaction(SIGINT, &sa, nullptr);
  ::sigaction(SIGTERM, &sa, nullptr);

  Child side = spawn(args, {}, "== SIDECAR == ");
  std::vector<Child*> all = {&side};
  // The app starts once the sidecar's API accepts connections (bounded wait).
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (!sidecarReady(http_port)) {
    if (side.out >= 0) {
      pollfd p{side.out, POLLIN, 0};
      if (::poll(&p, 1, 20) > 0) pump(side, false);
    }
    if (reap(side)) {
      drain(side, std::chrono::seconds(2));
      std::cerr << "outrigger: outriggerd exited with code " << side.status << "\n";
      return 1;
    }
    if (std::chrono::steady_clock::now() > deadline) {
      std::cerr << "outrigger: outriggerd did not open port " << http_port << " in time\n";
      stop(side, kGraceSeconds, all);
      return 1;
    }
  }
  std::vector<std::pair<std::string, std::string>> env = {
      {"DAPR_HTTP_PORT", std::to_string(http_port)},
      {"DAPR_GRPC_PORT", "50001"},
      {"APP_ID", o.app_id}};
  if (o.app_port > 0) env.emplace_back("APP_PORT", std::to_string(o.app_port));
  Child app = spawn(o.command, env, "== APP == ");
  all.push_back(&app);
  std::cout << "outrigger: app '" << o.app_id
            << "' running with its sidecar on http://127.0.0.1:" << http_port << std::endl;

  int exit_code = 0;
  while (true) {
    std::vector<pollfd> fds;
    fds.push_back({g_signal_pipe[0], POLLIN, 0});
    for (Child* c : all) {
      if (c->out >= 0) fds.push_back({c->out, POLLIN, 0});
    }
    ::poll(fds.data(), fds.size(), 100);
    for (Child* c : all) {
      if (c->out < 0) continue;
      pollfd p{c->out, POLLIN, 0};
      if (::poll(&p, 1, 0) > 0) pump(*c, false);
    }
    char sig;
    if (::read(g_signal_pipe[0], &sig, 1) == 1) {
      std::cout << "outrigger: stopping" << std::endl;
      stop(app, kGraceSeconds, all);
      stop(side, kGraceSeconds + 2, all);
      // The app's own code when it stopped on the signal (128 + signal if it died of it).
      exit_code = app.status;
      break;
    }
    if (reap(app)) {
      drain(app, std::chrono::seconds(2));
      std::cout << "outrigger: app exited with code " << app.status << std::endl;
      stop(side, kGraceSeconds + 2, all);
      exit_code = app.status;
      break;
    }
    if (reap(side)) {
      std::cerr << "outrigger: outriggerd exited with code " << side.status
                << "; stopping the app\n";
      stop(app, kGraceSeconds, all);
      exit_code = 1;
      break;
    }
  }
  for (Child* c : all) drain(*c, std::chrono::seconds(2));
  return exit_code;
}

}  // namespace

std::string writeDefaultComponents(const std::string& dir, const std::string& data_dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  auto write = [&](const std::string& name, const std::string& text) {
    fs::path p = fs::path(dir) / name;
    if (!fs::exists(p)) std::ofstream(p) << text;
  };
  write("statestore.yaml",
        "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: statestore\nspec:\n"
        "  type: state.sqlite\n  version: v1\n  metadata:\n  - name: connectionString\n"
        "    value: " +
            data_dir + "/state.db\n");
  write("pubsub.yaml",
        "apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: pubsub\nspec:\n"
        "  type: pubsub.in-memory\n  version: v1\n  metadata: []\n");
  return dir;
}

bool parseRunOptions(const std::vector<std::string>& args, RunOptions* o, std::string* error) {
  for (size_t i = 0; i < args.size(); ++i) {
    std::string a = args[i];
    if (a == "--") {
      o->command.assign(args.begin() + static_cast<long>(i) + 1, args.end());
      break;
    }
    if (a.size() > 2 && a[0] == '-' && a[1] != '-') a = "-" + a;
    std::string value;
    auto eq = a.find('=');
    if (eq != std::string::npos) {
      value = a.substr(eq + 1);
      a = a.substr(0, eq);
    } else if (a.rfind("--", 0) == 0) {
      if (i + 1 >= args.size()) {
        *error = "flag " + a + " needs a value";
        return false;
      }
      value = args[++i];
    }
    auto number = [&](int* out) {
      char* end = nullptr;
      long v = std::strtol(value.c_str(), &end, 10);
      if (value.empty() || *end != '\0' || v <= 0 || v > 65535) {
        *error = "invalid value '" + value + "' for flag " + a + ": expected a port";
        return false;
      }
      *out = static_cast<int>(v);
      return true;
    };
    if (a == "--app-id")
      o->app_id = value;
    else if (a == "--app-port") {
      if (!number(&o->app_port)) return false;
    } else if (a == "--dapr-http-port") {
      if (!number(&o->dapr_http_port)) return false;
    } else if (a == "--resources-path" || a == "--components-path")
      o->resources_paths.push_back(value);
    else if (a == "--config")
      o->config.push_back(value);
    else if (a == "--log-level")
      o->log_level = value;
    else if (a == "--sidecar-arg")
      o->sidecar_args.push_back(value);
    else {
      // Only exact names count: a prefix such as --app-i is not --app-id.
      *error = "unknown flag " + a;
      return false;
    }
  }
  if (o->app_id.empty()) {
    *error = "--app-id is required";
    return false;
  }
  if (o->command.empty()) {
    *error = "no command to run: give it after --";
    return false;
  }
  return true;
}

int run(int argc, char** argv) {
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.empty() || args[0] == "--help" || args[0] == "-h" || args[0] == "help") {
    usage(args.empty() ? std::cerr : std::cout);
    return args.empty() ? 1 : 0;
  }
  if (args[0] == "version" || args[0] == "--version") {
    std::cout << "outrigger " << kVersion << std::endl;
    return 0;
  }
  if (args[0] != "run") {
    std::cerr << "outrigger: unknown command '" << args[0] << "'\n\n";
    usage(std::cerr);
    return 1;
  }
  if (args.size() > 1 && (args[1] == "--help" || args[1] == "-h")) {
    usage(std::cout);
    return 0;
  }
  RunOptions o;
  std::string error;
  if (!parseRunOptions(std::vector<std::string>(args.begin() + 1, args.end()), &o, &error)) {
    std::cerr << "outrigger run: " << error << "\n\n";
    usage(std::cerr);
    return 1;
  }
  return runCommand(o);
}

}  // namespace outrigger::cli
