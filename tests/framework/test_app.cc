#include "tests/framework/test_app.h"

#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>

#include "common/http/client.h"

namespace outrigger::testing {

using namespace std::chrono_literals;

uint16_t freePort() {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = 0;
  ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr));
  socklen_t len = sizeof(addr);
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len);
  ::close(fd);
  return ntohs(addr.sin_port);
}

std::string makeTempDir(const std::string& prefix) {
  std::string tmpl = "/tmp/" + prefix + "-XXXXXX";
  std::vector<char> buf(tmpl.begin(), tmpl.end());
  buf.push_back('\0');
  return ::mkdtemp(buf.data());
}

void writeFile(const std::string& path, const std::string& text) { std::ofstream(path) << text; }

namespace {
constexpr int kThreads = 8;  // connections served at once
}  // namespace

TestApp::TestApp() {
  http::ServerOptions opts;
  opts.addresses = {"127.0.0.1"};
  std::vector<boost::asio::io_context*> iocs;
  for (int i = 0; i < kThreads; ++i) {
    iocs_.push_back(std::make_unique<boost::asio::io_context>(1));
    iocs.push_back(iocs_.back().get());
  }
  server_ = std::make_unique<http::Server>(
      iocs, opts, [this](http::Request&& req, http::Responder respond) {
        Received r;
        r.method = std::string(req.method_string());
        r.target = std::string(req.target());
        r.content_type = std::string(req[http::bhttp::field::content_type]);
        r.body = req.body();
        for (const auto& h : req) r.headers[std::string(h.name_string())] = std::string(h.value());
        Behaviour b;
        {
          std::lock_guard<std::mutex> lock(mutex_);
          received_.push_back(r);
          b = behaviour_;
        }
        respond(b ? b(req) : http::makeResponse(200));
      });
  (void)server_->start();
  for (auto& ioc : iocs_) {
    threads_.emplace_back([ctx = ioc.get()] {
      auto guard = boost::asio::make_work_guard(*ctx);
      ctx->run();
    });
  }
}

TestApp::~TestApp() {
  for (auto& ioc : iocs_) ioc->stop();
  for (auto& t : threads_) t.join();
  server_.reset();
  // The acceptor's context (the first) goes first: its pending accept holds a socket of the next
  // context, which must still exist when that operation is abandoned.
  for (auto& ioc : iocs_) ioc.reset();
}

void TestApp::setBehaviour(Behaviour b) {
  std::lock_guard<std::mutex> lock(mutex_);
  behaviour_ = std::move(b);
}

std::vector<Received> TestApp::received() {
  std::lock_guard<std::mutex> lock(mutex_);
  return received_;
}

bool TestApp::waitFor(const std::function<bool(const std::vector<Received>&)>& pred,
                      int timeout_ms) {
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (std::chrono::steady_clock::now() < deadline) {
    if (pred(received())) return true;
    std::this_thread::sleep_for(20ms);
  }
  return pred(received());
}

namespace {

int spawn(const std::vector<std::string>& args, const std::string& log_path) {
  int pid = ::fork();
  if (pid == 0) {
    int fd = ::open(log_path.c_str(), O_WRONLY | O_CREAT | O_TRUNC, 0644);
    ::dup2(fd, 1);
    ::dup2(fd, 2);
    std::vector<char*> argv;
    argv.push_back(const_cast<char*>(OUTRIGGERD_PATH));
    for (const auto& a : args) argv.push_back(const_cast<char*>(a.c_str()));
    argv.push_back(nullptr);
    ::execv(OUTRIGGERD_PATH, argv.data());
    ::_exit(127);
  }
  return pid;
}

}  // namespace

SidecarProcess::~SidecarProcess() { stop(9); }

bool SidecarProcess::start(std::vector<std::string> args, bool wait_healthy) {
  // A port freePort() found free can be taken by another test before the sidecar binds it: a
  // sidecar that exits for that reason is started again on other ports.
  for (int attempt = 0;; ++attempt) {
    if (startOnce(args, wait_healthy)) return true;
    if (attempt == 2 || pid_ != -1 || log().find("Address already in use") == std::string::npos) {
      return false;
    }
  }
}

bool SidecarProcess::startOnce(std::vector<std::string> args, bool wait_healthy) {
  http_port_ = freePort();
  args.insert(args.end(), {"--dapr-http-port", std::to_string(http_port_), "--metrics-port",
                           std::to_string(freePort()), "--dapr-internal-grpc-port",
                           std::to_string(freePort()), "--dapr-listen-addresses", "127.0.0.1"});
  log_path_ = makeTempDir("outriggerd-log") + "/sidecar.log";
  // A private name-resolution directory per test process, unless the test chose one.
  if (!::getenv("OUTRIGGER_NAMERESOLUTION_DIR")) {
    ::setenv("OUTRIGGER_NAMERESOLUTION_DIR", makeTempDir("outrigger-nr").c_str(), 1);
  }
  pid_ = spawn(args, log_path_);
  auto deadline = std::chrono::steady_clock::now() + 20s;
  while (std::chrono::steady_clock::now() < deadline) {
    int status;
    if (::waitpid(pid_, &status, WNOHANG) == pid_) {
      pid_ = -1;
      return false;
    }
    if (http::canConnect("127.0.0.1", static_cast<uint16_t>(http_port_), 200ms)) {
      if (!wait_healthy) return true;
      auto res = request(http::bhttp::verb::get, "/v1.0/healthz");
      if (res.result_int() == 204) return true;
    }
    std::this_thread::sleep_for(20ms);
  }
  return false;
}

int SidecarProcess::runToExit(std::vector<std::string> args, std::string* output, int timeout_ms) {
  std::string log = makeTempDir("outriggerd-log") + "/sidecar.log";
  args.insert(args.end(), {"--dapr-http-port", std::to_string(freePort()), "--metrics-port",
                           std::to_string(freePort())});
  int pid = spawn(args, log);
  auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  int status = 0;
  while (::waitpid(pid, &status, WNOHANG) != pid) {
    if (std::chrono::steady_clock::now() > deadline) {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, &status, 0);
      return -1;
    }
    std::this_thread::sleep_for(20ms);
  }
  std::ifstream in(log);
  std::stringstream ss;
  ss << in.rdbuf();
  *output = ss.str();
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

std::string SidecarProcess::log() const {
  std::ifstream in(log_path_);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

int SidecarProcess::stop(int signal) {
  if (pid_ <= 0) return -1;
  ::kill(pid_, signal);
  int status = 0;
  for (int i = 0; i < 1000 && ::waitpid(pid_, &status, WNOHANG) != pid_; ++i)
    std::this_thread::sleep_for(20ms);
  if (::waitpid(pid_, &status, WNOHANG) == 0) {
    ::kill(pid_, SIGKILL);
    ::waitpid(pid_, &status, 0);
  }
  pid_ = -1;
  return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

http::Response SidecarProcess::request(http::bhttp::verb verb, const std::string& target,
                                       const std::string& body, const std::string& content_type) {
  // One client for the whole test binary, kept for its lifetime.
  struct Client {
    boost::asio::io_context ioc;
    std::shared_ptr<http::ClientPool> pool = http::ClientPool::create(ioc, http::ClientOptions{});
    Client() {
      std::thread([this] {
        auto guard = boost::asio::make_work_guard(ioc);
        ioc.run();
      }).detach();
    }
  };
  static Client* client = new Client();
  http::Request req{verb, target, 11};
  if (!body.empty()) {
    req.set(http::bhttp::field::content_type, content_type);
    req.body() = body;
  }
  auto res = client->pool->sendSync("127.0.0.1", static_cast<uint16_t>(http_port_), std::move(req));
  return res.ok() ? std::move(*res) : http::makeResponse(599, res.status().message());
}

}  // namespace outrigger::testing
