#include "pool.h"

#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <chrono>
#include <climits>
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

// Idle workers sleep on a futex over epoch_ instead of a condition variable. With the condvar, push()
// (on the main thread, for every chunk) called pthread_cond_broadcast, which takes the condvar's
// internal lock and requeues/wakes the waiters under it: perf showed the event loop blocked there
// while workers were waking or going to sleep (last session: DataSource into a no-op Writable 0.74-0.87
// GB/s; with the futex 0.99-1.21). FUTEX_WAKE only touches the kernel's hash bucket and never sleeps.
// No lost wake-up: a worker reads epoch_ BEFORE it looks at the queue under the mutex, and the pusher
// bumps epoch_ AFTER the job is queued; if a push lands between the worker's read and its FUTEX_WAIT,
// the kernel sees epoch_ != seen and returns at once (EAGAIN), and the worker looks again.
static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t) && std::atomic<uint32_t>::is_always_lock_free,
              "epoch_ must be a plain 32-bit word to serve as a futex");

static inline uint32_t* futex_word(std::atomic<uint32_t>& a) { return reinterpret_cast<uint32_t*>(&a); }

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
  started_cv_.wait(lock, [this] { return started_ == plan_.size(); });
}

WorkerPool::~WorkerPool() {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    stopping_ = true;
  }
  wake_workers();  // every worker, whether it sleeps on the futex now or reads epoch_ next
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
  started_cv_.notify_all();
  bool after_run = false;  // the last job came from run(): another may follow at once
  for (;;) {
    std::shared_ptr<Job> job;
    if (after_run) spin_until([this] { return queued_.load(std::memory_order_acquire) > 0; });
    for (;;) {
      // epoch_ first, then the queue: a push after this load changes epoch_, so the wait below returns.
      const uint32_t seen = epoch_.load(std::memory_order_acquire);
      {
        std::lock_guard<std::mutex> lock(mutex_);
        if (!jobs_.empty()) {
          job = jobs_.front();
          if (job->next.load() + 1 >= job->n) jobs_.pop_front(), --queued_;  // the last task is being taken
          break;
        }
        if (stopping_) return;  // (jobs still queued are run first, as before)
      }
      // Returns on a wake, at once if epoch_ != seen, or spuriously (EINTR): each case loops and looks again.
      syscall(SYS_futex, futex_word(epoch_), FUTEX_WAIT_PRIVATE, seen, nullptr, nullptr, 0);
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
  wake_workers();
}

void WorkerPool::wake_workers() {
  // After the queue change (made under the mutex, which orders it before this bump); wakes all sleepers
  // as notify_all did: a job of n tasks is shared by every worker that takes part.
  epoch_.fetch_add(1, std::memory_order_release);
  syscall(SYS_futex, futex_word(epoch_), FUTEX_WAKE_PRIVATE, INT_MAX, nullptr, nullptr, 0);
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
