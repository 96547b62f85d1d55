#pragma once

// A fixed pool of worker threads with a bounded queue. Blocking client libraries (hiredis, libpq,
// sqlite) run here, one executor per component, so a slow backend cannot stall the I/O threads
// or requests to other components, and its backlog cannot grow without bound.
//
// A task may carry a deadline for its time in the queue: when it passes before a worker takes the
// task (every worker stuck on a hung backend), the task is dropped and its `expired` callback runs
// instead, at the deadline, on the executor's timer thread. So a caller's wait for a worker is
// bounded even when no worker ever comes free.

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace outrigger {

class BoundedExecutor {
 public:
  using Clock = std::chrono::steady_clock;

  BoundedExecutor(std::string name, size_t threads, size_t max_queue);
  ~BoundedExecutor();
  BoundedExecutor(const BoundedExecutor&) = delete;
  BoundedExecutor& operator=(const BoundedExecutor&) = delete;

  // Queues fn; false (and fn not run) when the queue is full or the executor is stopping.
  bool trySubmit(std::function<void()> fn);
  // Queues fn to start before deadline; if no worker takes it by then, fn is dropped and expired
  // runs instead (exactly one of the two runs). expired must not block. false (neither runs)
  // when the queue is full or the executor is stopping.
  bool trySubmit(std::function<void()> fn, Clock::time_point deadline,
                 std::function<void()> expired);
  // Stops taking tasks and runs what is queued, then joins the workers; all of it by deadline.
  // When the deadline comes first, tasks still queued are expired (or dropped, without a
  // deadline) and workers still busy are left to finish on their own: they hold the executor's
  // state, not the executor, so it may be destroyed. Whatever their task uses must stay alive
  // until they do (the caller's job: see sidecar/app.cc). False when a worker was left behind.
  bool shutdown(Clock::time_point deadline = Clock::time_point::max());
  size_t queued() const;

 private:
  struct Task {
    std::function<void()> fn;
    Clock::time_point deadline;
    std::function<void()> expired;
  };
  struct State;
  static void work(const std::shared_ptr<State>& state);
  static void expireLoop(const std::shared_ptr<State>& state);
  bool submit(Task task);

  std::string name_;
  std::shared_ptr<State> state_;
};

}  // namespace outrigger
