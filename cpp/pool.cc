#include "pool.h"

#include <pthread.h>
#include <sched.h>

#include <chrono>
#if defined(__x86_64__) || defined(_M_X64)
#include <immintrin.h>
#endif

namespace dgen {

// How long a run() caller whose share is done, and a worker that just finished a piece of a run() job,
// poll before they block. Waking a thread blocked on a futex took tens of microseconds here (KVM), as
// long as generating a few hundred KiB, so back-to-back synchronous fills are picked up without a
// wake-up (two workers went from 1.5x to 1.8-2x one thread on 16 MiB fills). Workers do not poll after
// submit() jobs: those complete on the main thread, which needs the core a polling worker would hold
// (measured: streams lost up to 20% and event-loop p99 rose by 1 ms on 2 cores when they did).
constexpr auto kSpin = std::chrono::microseconds(50);

static inline void cpu_relax() {
#if defined(__x86_64__) || defined(_M_X64)
  _mm_pause();
#endif
}

// Polls `ready` for up to kSpin; returns whether it became true.
template <typename F>
static bool spin_until(F ready) {
  const auto until = std::chrono::steady_clock::now() + kSpin;
  for (unsigned i = 0;; ++i) {
    if (ready()) return true;
    cpu_relax();
    if ((i & 63) == 63 && std::chrono::steady_clock::now() > until) return false;
  }
}

WorkerPool::WorkerPool(std::vector<WorkerPlan> plan) : plan_(std::move(plan)), bound_(new std::atomic<bool>[plan_.size()]) {
  for (size_t i = 0; i < plan_.size(); ++i) bound_[i] = false;
  for (size_t i = 0; i < plan_.size(); ++i) threads_.emplace_back([this, i] { worker_main(i); });
  // Wait until every worker has tried to bind itself, so bound() is settled when the pool is handed out.
  std::unique_lock<std::mutex> lock(mutex_);
  wake_.wait(lock, [this] { return started_ == plan_.size(); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  for (auto& t : threads_) t.join();
}

std::vector<bool> WorkerPool::bound() const {
  std::vector<bool> out;
  for (size_t i = 0; i < plan_.size(); ++i) out.push_back(bound_[i].load());
  return out;
}

bool WorkerPool::work_on(Job& job) {
  bool finished = false;
  for (size_t i; (i = job.next.fetch_add(1)) < job.n;) {
    job.task(i);
    if (job.remaining.fetch_sub(1) == 1) finished = true;
  }
  return finished;
}

void WorkerPool::finish(Job& job) {
  if (job.done) {
    job.done();
    return;
  }
  std::lock_guard<std::mutex> lock(job.mutex);
  job.finished = true;
  job.wake.notify_all();
}

void WorkerPool::worker_main(size_t index) {
  const int pu = plan_[index].pu;
  if (pu >= 0 && pu < CPU_SETSIZE) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(pu, &set);
    bound_[index] = pthread_setaffinity_np(pthread_self(), sizeof(set), &set) == 0;
  }
  {
    std::lock_guard<std::mutex> lock(mutex_);
    ++started_;
  }
  wake_.notify_all();
  bool after_run = false;  // the last job came from run(): another may follow at once
  for (;;) {
    std::shared_ptr<Job> job;
    if (after_run) spin_until([this] { return queued_.load(std::memory_order_acquire) > 0; });
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });  // (also woken by the start latch)
      if (stopping_ && jobs_.empty()) return;
      job = jobs_.front();
      if (job->next.load() + 1 >= job->n) jobs_.pop_front(), --queued_;  // the last task is being taken
    }
    after_run = !job->done;
    if (work_on(*job)) finish(*job);
  }
}

void WorkerPool::submit(size_t n, std::function<void(size_t)> task, std::function<void()> done) {
  if (n == 0) {
    if (done) done();
    return;
  }
  push(std::make_shared<Job>(n, std::move(task), std::move(done)));
}

void WorkerPool::push(std::shared_ptr<Job> job) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    jobs_.push_back(std::move(job));
    ++queued_;
  }
  wake_.notify_all();
}

void WorkerPool::run(size_t n, const std::function<void(size_t)>& task) {
  if (n == 0) return;
  // The job lives on the heap: the worker that finishes it last may still be signalling when this
  // call returns.
  auto job = std::make_shared<Job>(n, task, nullptr);
  if (n > 1) push(job);
  if (work_on(*job)) return;
  if (spin_until([&] { return job->finished.load(std::memory_order_acquire); })) return;
  std::unique_lock<std::mutex> lock(job->mutex);
  job->wake.wait(lock, [&] { return job->finished.load(); });
}

}  // namespace dgen
