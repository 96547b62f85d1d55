#include "tests/framework/broker_servers.h"

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <fcntl.h>
#include <pwd.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

namespace outrigger::testing {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

namespace {

// Debian's /usr/sbin/rabbitmq-server su's to the rabbitmq user with fixed paths; the script under
// it honours the RABBITMQ_* variables.
const char* kRabbitServer = "/usr/lib/rabbitmq/bin/rabbitmq-server";

std::string epmdBinary() {
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator("/usr/lib/erlang", ec)) {
    fs::path p = entry.path() / "bin" / "epmd";
    if (entry.path().filename().string().rfind("erts-", 0) == 0 && fs::exists(p)) return p;
  }
  return "";
}

// True once guest can log in over AMQP: the broker is up, not only listening.
bool amqpLoginWorks(int port) {
  amqp_connection_state_t conn = amqp_new_connection();
  amqp_socket_t* socket = amqp_tcp_socket_new(conn);
  timeval tv{1, 0};
  bool ok = false;
  if (socket && amqp_socket_open_noblock(socket, "127.0.0.1", port, &tv) == AMQP_STATUS_OK) {
    amqp_set_handshake_timeout(conn, &tv);
    amqp_set_rpc_timeout(conn, &tv);
    amqp_rpc_reply_t r =
        amqp_login(conn, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest");
    ok = r.reply_type == AMQP_RESPONSE_NORMAL;
    if (ok) amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
  }
  amqp_destroy_connection(conn);
  return ok;
}

std::string currentUser() {
  passwd* pw = ::getpwuid(::geteuid());
  return pw ? pw->pw_name : "root";
}

}  // namespace

// ---- RabbitMQ ----

RabbitMqServer::~RabbitMqServer() {
  stop();
  // The private epmd daemonizes out of the server's process group: ask it to go.
  if (epmd_port_ > 0) {
    std::string epmd = epmdBinary();
    if (!epmd.empty()) {
      pid_t pid = ::fork();
      if (pid == 0) {
        ::setenv("ERL_EPMD_PORT", std::to_string(epmd_port_).c_str(), 1);
        int null = ::open("/dev/null", O_WRONLY);
        if (null >= 0) {
          ::dup2(null, 1);
          ::dup2(null, 2);
        }
        ::execl(epmd.c_str(), epmd.c_str(), "-kill", static_cast<char*>(nullptr));
        ::_exit(127);
      }
      int status;
      if (pid > 0) ::waitpid(pid, &status, 0);
    }
  }
}

std::string RabbitMqServer::url() const {
  return "amqp://guest:guest@127.0.0.1:" + std::to_string(port_) + "/";
}

std::string RabbitMqServer::startOnFreshPorts(int attempts) {
  std::string err;
  for (int i = 0; i < attempts; ++i) {
    err = start();
    if (err.empty()) return err;
    port_ = dist_port_ = epmd_port_ = 0;
  }
  return err;
}

std::string RabbitMqServer::start() {
  if (!fs::exists(kRabbitServer) || epmdBinary().empty()) {
    return std::string(kRabbitServer) +
           " or Erlang's epmd is missing: install Debian's rabbitmq-server "
           "(scripts/install-deps.sh)";
  }
  if (running()) return "";
  if (std::string err = ensureDir("outrigger-rabbitmq", ""); !err.empty()) return err;
  if (port_ == 0) {
    port_ = freeTcpPort();
    dist_port_ = freeTcpPort();
    epmd_port_ = freeTcpPort();
    std::ofstream(dir_ + "/enabled_plugins") << "[].\n";
  }
  std::string p = std::to_string(port_);
  // env(1) carries the variables: spawn() execs with the test's own environment otherwise.
  pid_ = spawn(
      {"/usr/bin/env", "HOME=" + dir_, "RABBITMQ_NODE_IP_ADDRESS=127.0.0.1",
       "RABBITMQ_NODE_PORT=" + p, "RABBITMQ_NODENAME=rabbit-" + p + "@localhost",
       "RABBITMQ_DIST_PORT=" + std::to_string(dist_port_),
       "ERL_EPMD_PORT=" + std::to_string(epmd_port_), "RABBITMQ_MNESIA_BASE=" + dir_ + "/mnesia",
       "RABBITMQ_LOG_BASE=" + dir_ + "/log", "RABBITMQ_PID_FILE=" + dir_ + "/rabbit.pid",
       "RABBITMQ_ENABLED_PLUGINS_FILE=" + dir_ + "/enabled_plugins",
       "RABBITMQ_CONFIG_FILE=" + dir_ + "/rabbitmq",
       "RABBITMQ_FEATURE_FLAGS_FILE=" + dir_ + "/feature_flags", "RABBITMQ_LOGS=-", kRabbitServer},
      "");
  if (pid_ < 0) return std::string("cannot start ") + kRabbitServer;
  // Boot takes a few seconds (more on a busy machine): bounded.
  auto deadline = Clock::now() + std::chrono::seconds(120);
  while (Clock::now() < deadline) {
    if (exited()) return "rabbitmq-server exited during start-up:\n" + logTail();
    if (amqpLoginWorks(port_)) return "";
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  return "rabbitmq-server did not accept an AMQP login on port " + p + ":\n" + logTail();
}

// ---- Mosquitto ----

std::string MosquittoServer::start() {
  const std::string bin = "/usr/sbin/mosquitto";
  if (!fs::exists(bin)) {
    return bin + " is missing: install Debian's mosquitto (scripts/install-deps.sh)";
  }
  if (running()) return "";
  if (std::string err = ensureDir("outrigger-mosquitto", ""); !err.empty()) return err;
  if (port_ == 0) port_ = freeTcpPort();
  {
    std::ofstream conf(dir_ + "/mosquitto.conf");
    conf << "listener " << port_ << " 127.0.0.1\n"
         << "allow_anonymous true\n"
         << "persistence true\n"
         << "persistence_location " << dir_
         << "/\n"
         // Run as the test's user (as root it would switch to "mosquitto", who cannot write here).
         << "user " << currentUser() << "\n"
         << "max_queued_messages 100000\n";
  }
  pid_ = spawn({bin, "-c", dir_ + "/mosquitto.conf"}, "");
  if (pid_ < 0) return "cannot start " + bin;
  auto deadline = Clock::now() + std::chrono::seconds(20);
  while (Clock::now() < deadline) {
    if (exited()) return "mosquitto exited during start-up:\n" + logTail();
    if (waitForPort(port_, 200)) return "";
  }
  return "mosquitto did not listen on port " + std::to_string(port_) + ":\n" + logTail();
}

}  // namespace outrigger::testing
