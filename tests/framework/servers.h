#pragma once

// Real servers from Debian's packages for tests: redis-server and PostgreSQL on free loopback
// ports in temporary directories, started and stopped by the test. A missing binary is a test
// failure with a clear message, never a silent skip. Servers die with the test process even when
// it crashes (PR_SET_PDEATHSIG), and their directories are removed when the object goes.

#include <sys/types.h>

#include <string>
#include <vector>

namespace outrigger::testing {

// One server process in its own process group, in a temporary directory that outlives restarts.
class ServerProcess {
 public:
  virtual ~ServerProcess();
  // Empty on success, else why it could not start (with the tail of the server's log).
  virtual std::string start() = 0;
  // Orderly stop, bounded; SIGKILL when the server does not go.
  void stop();
  // Simulated crash: the server goes at once, without a clean shutdown.
  void kill();
  // SIGSTOP / SIGCONT: a server that accepts connections but never answers.
  bool pause();
  bool resume();
  bool running() const { return pid_ > 0; }
  int port() const { return port_; }
  const std::string& dir() const { return dir_; }
  std::string logTail(size_t bytes = 2000) const;

 protected:
  // Forks and execs args with output to the log, as run_as (empty: the current user).
  pid_t spawn(const std::vector<std::string>& args, const std::string& run_as) const;
  void terminate(int signal);
  std::string ensureDir(const std::string& prefix, const std::string& owner);
  bool exited();

  pid_t pid_ = -1;
  int port_ = 0;
  int stop_signal_ = 15;  // SIGTERM
  int crash_signal_ = 9;  // SIGKILL
  std::string dir_;
  std::string log_;
};

class RedisServer : public ServerProcess {
 public:
  ~RedisServer() override { stop(); }
  std::string start() override;  // the same port on every start
  // Append-only file with fsync on every write: what a broker restart must not lose.
  bool persistent = false;
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
};

class PostgresServer : public ServerProcess {
 public:
  PostgresServer();
  ~PostgresServer() override { stop(); }
  std::string start() override;  // initdb on first start; a restart keeps the data and the port
  std::string connectionString() const;

 private:
  std::string user_;  // who runs PostgreSQL: it refuses root
};

// A loopback TCP port nobody listens on right now (bind to port 0, read it back).
int freeTcpPort();
// True once something accepts TCP connections on the loopback port, within timeout_ms.
bool waitForPort(int port, int timeout_ms);

}  // namespace outrigger::testing
