// The generator's own worker pool (not libuv's, which file I/O and DNS share): threads placed by a
// WorkerPlan (bound to their PU where the plan says so), running the pieces of large fills.
#pragma once
#include <atomic>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "topology.h"

namespace dgen {

class WorkerPool {
 public:
  explicit WorkerPool(std::vector<WorkerPlan> plan);
  ~WorkerPool();
  WorkerPool(const WorkerPool&) = delete;
  WorkerPool& operator=(const WorkerPool&) = delete;

  size_t size() const { return threads_.size(); }
  const std::vector<WorkerPlan>& plan() const { return plan_; }
  // Whether each worker managed to bind itself to its PU (false where unbound or refused).
  std::vector<bool> bound() const;

  // Runs task(i) for i in [0, n) on the workers, then done() on the worker that finished last.
  void submit(size_t n, std::function<void(size_t)> task, std::function<void()> done);
  // Runs task(i) for i in [0, n) and returns when all are done; the calling thread takes part.
  void run(size_t n, const std::function<void(size_t)>& task);

 private:
  struct Job {
    size_t n;
    std::function<void(size_t)> task;
    std::function<void()> done;  // empty for run(): the caller waits on `finished` instead
    std::atomic<size_t> next{0};
    std::atomic<size_t> remaining;
    std::atomic<bool> finished{false};
    std::mutex mutex;  // with `wake`: for a run() caller that stopped spinning
    std::condition_variable wake;
    Job(size_t count, std::function<void(size_t)> t, std::function<void()> d)
        : n(count), task(std::move(t)), done(std::move(d)), remaining(count) {}
  };
  // Takes and runs tasks of `job` until none is left; returns whether this call finished the job.
  static bool work_on(Job& job);
  static void finish(Job& job);
  void worker_main(size_t index);
  void push(std::shared_ptr<Job> job);
  // Bumps epoch_ and futex-wakes every worker sleeping on it (never blocks; see pool.cc).
  void wake_workers();

  std::vector<WorkerPlan> plan_;
  std::vector<std::thread> threads_;
  std::unique_ptr<std::atomic<bool>[]> bound_;
  std::mutex mutex_;                    // guards jobs_, stopping_, started_
  std::condition_variable started_cv_;  // the constructor's start latch only; idle workers sleep on epoch_
  std::deque<std::shared_ptr<Job>> jobs_;
  std::atomic<size_t> queued_{0};  // jobs_.size(), readable without the mutex by spinning workers
  // Bumped after every push and on stop; idle workers FUTEX_WAIT on it (its 32-bit value is the futex word).
  std::atomic<uint32_t> epoch_{0};
  bool stopping_ = false;
  size_t started_ = 0;  // workers past their binding step; the constructor waits for all
};

}  // namespace dgen
