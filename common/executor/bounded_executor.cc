#include "common/executor/bounded_executor.h"

#include <algorithm>

namespace outrigger {

// Shared with the threads, so that a worker left behind by shutdown() keeps what it touches.
struct BoundedExecutor::State {
  size_t max_queue;
  size_t thread_count;
  std::mutex mutex;
  std::condition_variable work_cv;    // workers: a task or stopping
  std::condition_variable timer_cv;   // timer: an earlier deadline or stopping
  std::condition_variable exited_cv;  // shutdown: a worker exited
  std::deque<Task> queue;
  std::vector<std::thread> workers;
  std::thread timer;
  size_t running = 0;  // workers not yet exited
  size_t idle = 0;     // workers waiting for a task
  // What the timer sleeps until; a submission with an earlier deadline wakes it.
  Clock::time_point timer_target = Clock::time_point::max();
  bool stopping = false;
  bool timer_stop = false;
  bool shut_down = false;
  bool all_joined = true;
};

namespace {

// Joins, except a thread that is the caller (the last reference to an executor dropped by one of
// its own tasks): that one can only be detached.
void joinOrDetach(std::thread& t, bool join) {
  if (!t.joinable()) return;
  if (join && t.get_id() != std::this_thread::get_id()) {
    t.join();
  } else {
    t.detach();
  }
}

}  // namespace

BoundedExecutor::BoundedExecutor(std::string name, size_t threads, size_t max_queue)
    : name_(std::move(name)), state_(std::make_shared<State>()) {
  state_->max_queue = max_queue;
  state_->thread_count = threads == 0 ? 1 : threads;
}

BoundedExecutor::~BoundedExecutor() { shutdown(); }

bool BoundedExecutor::trySubmit(std::function<void()> fn) {
  return submit(Task{std::move(fn), Clock::time_point::max(), nullptr});
}

bool BoundedExecutor::trySubmit(std::function<void()> fn, Clock::time_point deadline,
                                std::function<void()> expired) {
  return submit(Task{std::move(fn), deadline, std::move(expired)});
}

bool BoundedExecutor::submit(Task task) {
  State& s = *state_;
  bool wake_timer = false;
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    if (s.stopping || s.queue.size() >= s.max_queue) return false;
    bool has_deadline = static_cast<bool>(task.expired);
    s.queue.push_back(std::move(task));
    if (has_deadline) {
      // The timer starts with the first task that has a deadline. It is woken only for a task
      // that may wait (more queued than idle workers): one per call would cost a context switch
      // on the fast path. A task an idle worker is about to take needs no timer.
      if (!s.timer.joinable()) s.timer = std::thread([st = state_] { expireLoop(st); });
      wake_timer = s.queue.back().deadline < s.timer_target && s.queue.size() > s.idle;
    }
    // Threads start on first use so an idle component costs no stacks.
    if (s.workers.size() < s.thread_count) {
      s.workers.emplace_back([st = state_] { work(st); });
      s.running++;
    }
  }
  s.work_cv.notify_one();
  if (wake_timer) s.timer_cv.notify_one();
  return true;
}

void BoundedExecutor::work(const std::shared_ptr<State>& state) {
  State& s = *state;
  for (;;) {
    Task task;
    {
      std::unique_lock<std::mutex> lock(s.mutex);
      s.idle++;
      s.work_cv.wait(lock, [&] { return s.stopping || !s.queue.empty(); });
      s.idle--;
      if (s.queue.empty()) {
        s.running--;
        s.exited_cv.notify_all();
        return;
      }
      task = std::move(s.queue.front());
      s.queue.pop_front();
    }
    // Taken just as its deadline passed (before the timer got to it): expired all the same.
    if (task.expired && Clock::now() >= task.deadline) {
      task.expired();
    } else {
      task.fn();
    }
  }
}

void BoundedExecutor::expireLoop(const std::shared_ptr<State>& state) {
  State& s = *state;
  std::unique_lock<std::mutex> lock(s.mutex);
  while (!s.timer_stop) {
    auto now = Clock::now();
    std::vector<Task> due;
    Clock::time_point next = Clock::time_point::max();
    for (auto it = s.queue.begin(); it != s.queue.end();) {
      if (it->expired && it->deadline <= now) {
        due.push_back(std::move(*it));
        it = s.queue.erase(it);
      } else {
        if (it->expired) next = std::min(next, it->deadline);
        ++it;
      }
    }
    if (!due.empty()) {
      lock.unlock();
      for (auto& t : due) t.expired();
      due.clear();  // the callbacks' captures go outside the lock too
      lock.lock();
      continue;
    }
    s.timer_target = next;
    // A max time_point would overflow the clock conversion of wait_until: wait without one.
    if (next == Clock::time_point::max()) {
      s.timer_cv.wait(lock);
    } else {
      s.timer_cv.wait_until(lock, next);
    }
    s.timer_target = Clock::time_point::max();
  }
}

bool BoundedExecutor::shutdown(Clock::time_point deadline) {
  State& s = *state_;
  std::deque<Task> left;
  std::vector<std::thread> workers;
  std::thread timer;
  bool all_joined;
  {
    std::unique_lock<std::mutex> lock(s.mutex);
    if (s.shut_down) return s.all_joined;
    s.stopping = true;
    s.work_cv.notify_all();
    // Called from one of our own workers (its task held the last reference to the executor):
    // that worker cannot exit while it waits here.
    size_t self = 0;
    for (const auto& t : s.workers) self += t.get_id() == std::this_thread::get_id() ? 1 : 0;
    auto exited = [&] { return s.running == self; };
    if (deadline == Clock::time_point::max()) {
      s.exited_cv.wait(lock, exited);
    } else {
      s.exited_cv.wait_until(lock, deadline, exited);
    }
    all_joined = s.running == self;
    left.swap(s.queue);  // empty unless the deadline came first
    workers.swap(s.workers);
    timer.swap(s.timer);
    s.timer_stop = true;
    s.shut_down = true;
    s.all_joined = all_joined;
  }
  s.timer_cv.notify_all();
  for (auto& t : left) {
    if (t.expired) t.expired();
  }
  left.clear();
  joinOrDetach(timer, true);
  for (auto& t : workers) joinOrDetach(t, all_joined);
  return all_joined;
}

size_t BoundedExecutor::queued() const {
  std::lock_guard<std::mutex> lock(state_->mutex);
  return state_->queue.size();
}

}  // namespace outrigger
