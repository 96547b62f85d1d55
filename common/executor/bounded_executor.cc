#include "common/executor/bounded_executor.h"

namespace outrigger {

BoundedExecutor::BoundedExecutor(std::string name, size_t threads, size_t max_queue)
    : name_(std::move(name)), max_queue_(max_queue), thread_count_(threads == 0 ? 1 : threads) {}

BoundedExecutor::~BoundedExecutor() { shutdown(); }

bool BoundedExecutor::trySubmit(std::function<void()> fn) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (stopping_ || queue_.size() >= max_queue_) return false;
    queue_.push_back(std::move(fn));
    // Threads start on first use so an idle component costs no stacks.
    if (threads_.size() < thread_count_) threads_.emplace_back([this] { work(); });
  }
  cv_.notify_one();
  return true;
}

void BoundedExecutor::work() {
  for (;;) {
    std::function<void()> fn;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      cv_.wait(lock, [this] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;
      fn = std::move(queue_.front());
      queue_.pop_front();
    }
    fn();
  }
}

void BoundedExecutor::shutdown() {
  std::vector<std::thread> threads;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
    threads.swap(threads_);
  }
  cv_.notify_all();
  for (auto& t : threads) t.join();
}

size_t BoundedExecutor::queued() const {
  std::lock_guard<std::mutex> lock(mutex_);
  return queue_.size();
}

}  // namespace outrigger
