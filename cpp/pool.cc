#include "pool.h"

#include <pthread.h>
#include <sched.h>

namespace dgen {

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
  for (;;) {
    std::shared_ptr<Job> job;
    {
      std::unique_lock<std::mutex> lock(mutex_);
      wake_.wait(lock, [this] { return stopping_ || !jobs_.empty(); });  // (also woken by the start latch)
      if (stopping_ && jobs_.empty()) return;
      job = jobs_.front();
      if (job->next.load() + 1 >= job->n) jobs_.pop_front();  // the last task is being taken
    }
    if (work_on(*job) && job->done) job->done();
  }
}

void WorkerPool::submit(size_t n, std::function<void(size_t)> task, std::function<void()> done) {
  if (n == 0) {
    if (done) done();
    return;
  }
  auto job = std::make_shared<Job>(n, std::move(task), std::move(done));
  {
    std::lock_guard<std::mutex> lock(mutex_);
    jobs_.push_back(job);
  }
  wake_.notify_all();
}

void WorkerPool::run(size_t n, const std::function<void(size_t)>& task) {
  if (n == 0) return;
  std::mutex m;
  std::condition_variable cv;
  bool done = false;
  // `done` runs only on the thread that finishes the last task; if that is this one, it returns at once.
  auto job = std::make_shared<Job>(n, task, [&] {
    std::lock_guard<std::mutex> lock(m);
    done = true;
    cv.notify_all();
  });
  if (n > 1) {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      jobs_.push_back(job);
    }
    wake_.notify_all();
  }
  if (work_on(*job)) return;
  std::unique_lock<std::mutex> lock(m);
  cv.wait(lock, [&] { return done; });
}

}  // namespace dgen
