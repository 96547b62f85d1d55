// BoundedExecutor: tasks run on at most `threads` workers, a full queue refuses at once (and the
// task is not run), a task no worker took by its deadline is expired instead of run, and shutdown
// runs what was queued before joining, or by its deadline leaves a stuck worker behind.
// Waits below only guard against a hang (a failing test ends instead of blocking the suite);
// no assertion depends on how long anything takes.

#include "common/executor/bounded_executor.h"

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

namespace outrigger {
namespace {

constexpr auto kHangGuard = std::chrono::seconds(30);

// A gate tasks wait at until the test opens it, counting who is waiting.
class Gate {
 public:
  void pass() {
    std::unique_lock<std::mutex> lock(mutex_);
    ++waiting_;
    max_waiting_ = std::max(max_waiting_, waiting_);
    cv_.notify_all();
    cv_.wait(lock, [this] { return open_; });
    --waiting_;
  }
  void open() {
    std::lock_guard<std::mutex> lock(mutex_);
    open_ = true;
    cv_.notify_all();
  }
  // True once n tasks wait at the gate (false if that never happens).
  bool waitForWaiting(int n) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, kHangGuard, [&] { return waiting_ >= n; });
  }
  int maxWaiting() {
    std::lock_guard<std::mutex> lock(mutex_);
    return max_waiting_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int waiting_ = 0;
  int max_waiting_ = 0;
  bool open_ = false;
};

// Counts finished tasks; waits until a number of them finished.
class Done {
 public:
  void add() {
    std::lock_guard<std::mutex> lock(mutex_);
    ++count_;
    cv_.notify_all();
  }
  bool waitFor(int n) {
    std::unique_lock<std::mutex> lock(mutex_);
    return cv_.wait_for(lock, kHangGuard, [&] { return count_ >= n; });
  }
  int count() {
    std::lock_guard<std::mutex> lock(mutex_);
    return count_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  int count_ = 0;
};

TEST(BoundedExecutorTest, RunsEveryAcceptedTaskOffTheCallingThread) {
  BoundedExecutor executor("test", 3, 100);
  Done done;
  std::mutex mutex;
  std::vector<std::thread::id> ran_on;
  for (int i = 0; i < 50; ++i) {
    ASSERT_TRUE(executor.trySubmit([&] {
      {
        std::lock_guard<std::mutex> lock(mutex);
        ran_on.push_back(std::this_thread::get_id());
      }
      done.add();
    }));
  }
  ASSERT_TRUE(done.waitFor(50));
  std::lock_guard<std::mutex> lock(mutex);
  EXPECT_EQ(ran_on.size(), 50u);
  for (auto id : ran_on) EXPECT_NE(id, std::this_thread::get_id());
}

TEST(BoundedExecutorTest, AFullQueueRefusesAtOnceAndDropsTheTask) {
  BoundedExecutor executor("test", 1, 2);
  Gate gate;
  Done done;
  std::atomic<bool> refused_ran{false};
  ASSERT_TRUE(executor.trySubmit([&] {
    gate.pass();
    done.add();
  }));
  ASSERT_TRUE(gate.waitForWaiting(1));  // the only worker is busy; the queue is empty
  EXPECT_EQ(executor.queued(), 0u);
  EXPECT_TRUE(executor.trySubmit([&] { done.add(); }));
  EXPECT_TRUE(executor.trySubmit([&] { done.add(); }));
  EXPECT_EQ(executor.queued(), 2u);
  // Full: refused, returning to the caller while the worker is still blocked.
  EXPECT_FALSE(executor.trySubmit([&] { refused_ran = true; }));
  EXPECT_EQ(executor.queued(), 2u);
  EXPECT_EQ(done.count(), 0);
  gate.open();
  ASSERT_TRUE(done.waitFor(3));
  // Room again once the queue drained.
  EXPECT_TRUE(executor.trySubmit([&] { done.add(); }));
  ASSERT_TRUE(done.waitFor(4));
  executor.shutdown();
  EXPECT_FALSE(refused_ran);
  EXPECT_EQ(done.count(), 4);
}

TEST(BoundedExecutorTest, NoMoreThanThreadsTasksRunAtOnce) {
  BoundedExecutor executor("test", 2, 10);
  Gate gate;
  Done done;
  for (int i = 0; i < 6; ++i) {
    ASSERT_TRUE(executor.trySubmit([&] {
      gate.pass();
      done.add();
    }));
  }
  ASSERT_TRUE(gate.waitForWaiting(2));
  // Two run (blocked at the gate); the other four wait in the queue, not on a third thread.
  EXPECT_EQ(executor.queued(), 4u);
  gate.open();
  ASSERT_TRUE(done.waitFor(6));
  EXPECT_EQ(gate.maxWaiting(), 2);
}

TEST(BoundedExecutorTest, ZeroThreadsMeansOne) {
  BoundedExecutor executor("test", 0, 4);
  Done done;
  ASSERT_TRUE(executor.trySubmit([&] { done.add(); }));
  ASSERT_TRUE(done.waitFor(1));
}

TEST(BoundedExecutorTest, ShutdownRunsWhatIsQueuedThenJoinsAndRefusesMore) {
  auto executor = std::make_unique<BoundedExecutor>("test", 1, 1000000);
  Gate gate;
  Done done;
  ASSERT_TRUE(executor->trySubmit([&] {
    gate.pass();
    done.add();
  }));
  ASSERT_TRUE(gate.waitForWaiting(1));
  for (int i = 0; i < 5; ++i) ASSERT_TRUE(executor->trySubmit([&] { done.add(); }));
  std::atomic<bool> shut{false};
  std::thread stopper([&] {
    executor->shutdown();
    shut = true;
  });
  // Submits succeed until shutdown() has begun; the queue is far from full, so the first refusal
  // means "stopping". shutdown() cannot return meanwhile: the worker waits at the gate.
  int accepted = 0;
  while (executor->trySubmit([&] { done.add(); })) {
    ++accepted;
    std::this_thread::yield();
  }
  EXPECT_FALSE(shut);
  EXPECT_EQ(done.count(), 0);
  gate.open();
  stopper.join();
  // Everything accepted ran before shutdown returned: the blocked task, the five queued before,
  // and those accepted while shutdown was starting.
  EXPECT_EQ(done.count(), 1 + 5 + accepted);
  EXPECT_EQ(executor->queued(), 0u);
  EXPECT_FALSE(executor->trySubmit([&] { done.add(); }));
  executor.reset();  // a second shutdown (the destructor) is harmless
  EXPECT_EQ(done.count(), 1 + 5 + accepted);
}

// A hung backend holds every worker: a call queued behind it must get its answer at its deadline,
// not when a worker comes free.
TEST(BoundedExecutorTest, AQueuedTaskWhoseDeadlinePassesIsExpiredNotRun) {
  BoundedExecutor executor("test", 1, 10);
  Gate gate;
  Done expired;
  std::atomic<bool> ran{false};
  ASSERT_TRUE(executor.trySubmit([&] { gate.pass(); }));
  ASSERT_TRUE(gate.waitForWaiting(1));
  auto deadline = BoundedExecutor::Clock::now() + std::chrono::milliseconds(50);
  ASSERT_TRUE(executor.trySubmit([&] { ran = true; }, deadline, [&] { expired.add(); }));
  // The only worker is still blocked at the gate: the expiry cannot have come from it.
  ASSERT_TRUE(expired.waitFor(1));
  EXPECT_EQ(executor.queued(), 0u);
  gate.open();
  executor.shutdown();
  EXPECT_FALSE(ran);
  EXPECT_EQ(expired.count(), 1);
}

TEST(BoundedExecutorTest, ATaskTakenBeforeItsDeadlineRunsAndIsNeverExpired) {
  BoundedExecutor executor("test", 2, 10);
  Done done;
  std::atomic<int> expired{0};
  auto deadline = BoundedExecutor::Clock::now() + kHangGuard;
  for (int i = 0; i < 5; ++i) {
    ASSERT_TRUE(executor.trySubmit([&] { done.add(); }, deadline, [&] { expired++; }));
  }
  ASSERT_TRUE(done.waitFor(5));
  executor.shutdown();
  EXPECT_EQ(done.count(), 5);
  EXPECT_EQ(expired.load(), 0);
}

TEST(BoundedExecutorTest, ShutdownByADeadlineLeavesAStuckWorkerAndExpiresTheQueue) {
  auto executor = std::make_unique<BoundedExecutor>("test", 1, 10);
  Gate gate;
  Done done;
  Done expired;
  ASSERT_TRUE(executor->trySubmit([&] {
    gate.pass();
    done.add();
  }));
  ASSERT_TRUE(gate.waitForWaiting(1));
  std::atomic<bool> queued_ran{false};
  ASSERT_TRUE(executor->trySubmit([&] { queued_ran = true; },
                                  BoundedExecutor::Clock::now() + kHangGuard,
                                  [&] { expired.add(); }));
  // The worker never leaves the gate before the deadline: shutdown gives up on it.
  EXPECT_FALSE(executor->shutdown(BoundedExecutor::Clock::now() + std::chrono::milliseconds(50)));
  EXPECT_EQ(expired.count(), 1) << "a task still queued at the deadline is answered then";
  EXPECT_FALSE(executor->trySubmit([&] { done.add(); }));
  // The executor can go while its worker is still busy: the worker keeps what it needs.
  executor.reset();
  gate.open();
  ASSERT_TRUE(done.waitFor(1));
  EXPECT_FALSE(queued_ran);
}

// A component removed (hot reload) while its call runs: the call's task holds the last reference
// to the executor, which then shuts down on its own worker. That must neither hang nor throw.
TEST(BoundedExecutorTest, ATaskHoldingTheLastReferenceToItsExecutorLetsItGo) {
  Done gone;
  struct Holder {
    std::shared_ptr<BoundedExecutor> executor;
    Done* gone = nullptr;
    ~Holder() {
      executor.reset();  // the executor's destructor runs here, on its worker
      if (gone) gone->add();
    }
  };
  auto executor = std::make_shared<BoundedExecutor>("test", 1, 10);
  auto holder = std::make_shared<Holder>();
  holder->executor = executor;
  holder->gone = &gone;
  ASSERT_TRUE(executor->trySubmit([holder] {}));
  holder.reset();
  executor.reset();
  EXPECT_TRUE(gone.waitFor(1));
}

}  // namespace
}  // namespace outrigger
