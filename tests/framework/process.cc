#include "tests/framework/process.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/framework/test_app.h"

namespace outrigger::testing {

namespace asio = boost::asio;
namespace beast = boost::beast;
using namespace std::chrono_literals;

namespace {

int exitCode(int status) {
  if (WIFEXITED(status)) return WEXITSTATUS(status);
  if (WIFSIGNALED(status)) return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

Process::~Process() {
  if (pid_ > 0 && !exit_code_) stop(SIGKILL, 5s);
}

Status Process::start(ProcessOptions options) {
  if (pid_ > 0) return failedPreconditionError("process already started");
  log_path_ =
      options.log_path.empty() ? makeTempDir("outrigger-proc") + "/output.log" : options.log_path;
  int fd = ::open(log_path_.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return unavailableError("cannot open " + log_path_ + ": " + std::strerror(errno));
  // Everything the child needs is prepared before fork: only async-signal-safe calls after it.
  std::vector<std::string> argv_s = {options.binary};
  argv_s.insert(argv_s.end(), options.args.begin(), options.args.end());
  std::vector<char*> argv;
  for (auto& a : argv_s) argv.push_back(a.data());
  argv.push_back(nullptr);
  std::map<std::string, std::string> env;
  for (char** e = environ; *e; ++e) {
    std::string kv = *e;
    auto eq = kv.find('=');
    if (eq != std::string::npos) env[kv.substr(0, eq)] = kv.substr(eq + 1);
  }
  for (const auto& name : options.unset_env) env.erase(name);
  for (const auto& [k, v] : options.env) env[k] = v;
  std::vector<std::string> env_s;
  for (const auto& [k, v] : env) env_s.push_back(k + "=" + v);
  std::vector<char*> envp;
  for (auto& e : env_s) envp.push_back(e.data());
  envp.push_back(nullptr);
  pid_t parent = ::getpid();

  pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fd);
    return unavailableError(std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    // Dies with the test binary, even when that one is killed.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(127);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, 0);
    // Nothing else of the test's: an inherited listening socket would swallow connections meant
    // for a server the test has stopped.
    ::close_range(3, ~0U, 0);
    ::execve(argv[0], argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(fd);
  pid_ = pid;
  exit_code_.reset();
  return okStatus();
}

bool Process::running() {
  if (pid_ <= 0 || exit_code_) return false;
  int status = 0;
  if (::waitpid(pid_, &status, WNOHANG) == pid_) {
    exit_code_ = exitCode(status);
    return false;
  }
  return true;
}

std::optional<int> Process::waitExit(std::chrono::milliseconds timeout) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (running()) {
    if (std::chrono::steady_clock::now() >= deadline) return std::nullopt;
    std::this_thread::sleep_for(10ms);
  }
  return exit_code_;
}

int Process::stop(int sig, std::chrono::milliseconds grace) {
  if (pid_ <= 0) return -1;
  if (running()) {
    ::kill(pid_, sig);
    if (!waitExit(grace)) {
      ::kill(pid_, SIGKILL);
      int status = 0;
      ::waitpid(pid_, &status, 0);
      exit_code_ = exitCode(status);
    }
  }
  return exit_code_.value_or(-1);
}

std::string Process::output() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void writeTextFile(const std::string& path, const std::string& text) {
  std::ofstream(path, std::ios::trunc) << text;
}

http::Response httpCall(uint16_t port, http::Request req, std::chrono::milliseconds timeout) {
  asio::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::flat_buffer buffer;
  http::bhttp::response_parser<http::bhttp::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  // A HEAD response has no body whatever its Content-Length says.
  if (req.method() == http::bhttp::verb::head) parser.skip(true);
  beast::error_code result;
  if (!req.count(http::bhttp::field::host)) {
    req.set(http::bhttp::field::host, "127.0.0.1:" + std::to_string(port));
  }
  req.keep_alive(false);
  req.prepare_payload();
  stream.expires_after(timeout);
  asio::ip::tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
  stream.async_connect(ep, [&](beast::error_code ec) {
    if (ec) {
      result = ec;
      return;
    }
    http::bhttp::async_write(stream, req, [&](beast::error_code ec2, size_t) {
      if (ec2) {
        result = ec2;
        return;
      }
      http::bhttp::async_read(stream, buffer, parser,
                              [&](beast::error_code ec3, size_t) { result = ec3; });
    });
  });
  ioc.run();
  beast::error_code ignored;
  stream.socket().close(ignored);
  if (result) return http::makeResponse(599, result.message(), "text/plain");
  return parser.release();
}

http::Response httpCall(uint16_t port, http::bhttp::verb verb, const std::string& target,
                        const std::string& body, const std::string& content_type) {
  http::Request req{verb, target, 11};
  if (!body.empty()) {
    req.set(http::bhttp::field::content_type, content_type);
    req.body() = body;
  }
  return httpCall(port, std::move(req));
}

bool waitForHttp(uint16_t port, const std::string& target, unsigned status,
                 std::chrono::milliseconds timeout, Process* process) {
  auto deadline = std::chrono::steady_clock::now() + timeout;
  while (std::chrono::steady_clock::now() < deadline) {
    if (process && !process->running()) return false;
    if (httpCall(port, http::Request{http::bhttp::verb::get, target, 11}, 2s).result_int() ==
        status) {
      return true;
    }
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

}  // namespace outrigger::testing
