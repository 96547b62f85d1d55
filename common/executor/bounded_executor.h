#pragma once

// A fixed pool of worker threads with a bounded queue. Blocking client libraries (hiredis, libpq,
// sqlite) run here, one executor per component, so a slow backend cannot stall the I/O threads
// or requests to other components, and its backlog cannot grow without bound.

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace outrigger {

class BoundedExecutor {
 public:
  BoundedExecutor(std::string name, size_t threads, size_t max_queue);
  ~BoundedExecutor();
  BoundedExecutor(const BoundedExecutor&) = delete;
  BoundedExecutor& operator=(const BoundedExecutor&) = delete;

  // Queues fn; false (and fn not run) when the queue is full or the executor is stopping.
  bool trySubmit(std::function<void()> fn);
  // Runs what is queued, then joins the workers.
  void shutdown();
  size_t queued() const;

 private:
  void work();
  std::string name_;
  size_t max_queue_;
  mutable std::mutex mutex_;
  std::condition_variable cv_;
  std::deque<std::function<void()>> queue_;
  std::vector<std::thread> threads_;
  size_t thread_count_;
  bool stopping_ = false;
};

}  // namespace outrigger
