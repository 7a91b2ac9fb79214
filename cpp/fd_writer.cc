#include "fd_writer.h"

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <condition_variable>
#include <cstdlib>
#include <mutex>

#include "fill.h"

namespace dgen {

namespace {

// State shared by the workers of one run.
struct Run {
  std::shared_ptr<const Layout> layout;
  const KernelInfo* kernel;
  int fd;
  uint64_t offset, length;
  size_t chunk;
  uint64_t chunks;
  const uint8_t* cancel;  // may be null
  std::function<void(FdWriteResult)> done;
  std::atomic<uint64_t> next{0};  // next chunk to claim
  uint64_t turn = 0;              // chunk whose write is due (guarded by `mutex`)
  std::atomic<uint64_t> written{0};
  std::atomic<int> error{0};
  std::mutex mutex;  // with `advanced`: for workers waiting for their turn
  std::condition_variable advanced;
};

bool cancelled(const Run& run) { return run.cancel != nullptr && __atomic_load_n(run.cancel, __ATOMIC_RELAXED) != 0; }

// Writes all of [p, p + n) to the run's fd, adding to run.written as the bytes go; returns 0 or the errno
// of the failure (ECANCELED when the run was cancelled while waiting for the descriptor).
int write_all(Run& run, const uint8_t* p, size_t n) {
  const int fd = run.fd;
  while (n > 0) {
    const ssize_t w = ::write(fd, p, n);
    if (w > 0) {
      p += w, n -= size_t(w), run.written += uint64_t(w);
    } else if (w < 0 && errno == EINTR) {
      continue;
    } else if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (cancelled(run)) return ECANCELED;
      pollfd pfd{fd, POLLOUT, 0};
      if (::poll(&pfd, 1, 50) < 0 && errno != EINTR) return errno;  // wakes to look at `cancel`
    } else {
      return w < 0 ? errno : EIO;
    }
  }
  return 0;
}

// Records the run's first failure and wakes every worker waiting for its turn: after a failure no turn is
// waited for, so workers stop at once and need not pass on turns for chunks nobody will write.
void fail(Run& run, int error) {
  int none = 0;
  if (!run.error.compare_exchange_strong(none, error)) return;
  std::lock_guard<std::mutex> lock(run.mutex);
  run.advanced.notify_all();
}

// One worker's share: claim chunks until none are left or the run failed. Chunks are claimed in order, and
// only by a worker that is running, so whoever waits for chunk k's turn waits on a worker that holds k - 1
// and will pass the turn on (or fail the run): no deadlock, even when the pool runs these tasks one after
// another.
void work(Run& run) {
  uint8_t* buffer = nullptr;
  for (uint64_t k; (k = run.next.fetch_add(1)) < run.chunks;) {
    if (cancelled(run)) fail(run, ECANCELED);
    if (run.error.load() != 0) break;
    const uint64_t at = k * run.chunk;
    const size_t n = size_t(std::min<uint64_t>(run.chunk, run.length - at));
    if (buffer == nullptr) buffer = static_cast<uint8_t*>(std::aligned_alloc(64, (run.chunk + 63) / 64 * 64));
    if (buffer == nullptr) {
      fail(run, ENOMEM);
      break;
    }
    fill(*run.layout, buffer, run.offset + at, n, *run.kernel);
    {
      std::unique_lock<std::mutex> lock(run.mutex);
      run.advanced.wait(lock, [&] { return run.turn == k || run.error.load() != 0; });
    }
    if (run.error.load() != 0) break;
    const int e = write_all(run, buffer, n);
    if (e != 0) {
      fail(run, e);
      break;
    }
    {
      std::lock_guard<std::mutex> lock(run.mutex);
      run.turn = k + 1;
    }
    run.advanced.notify_all();
  }
  std::free(buffer);
}

}  // namespace

void write_to_fd(std::shared_ptr<const Layout> layout, const KernelInfo& kernel, WorkerPool& pool, size_t workers, int fd,
                 uint64_t offset, uint64_t length, size_t chunk, const uint8_t* cancel, std::function<void(FdWriteResult)> done) {
  auto run = std::make_shared<Run>();
  run->layout = std::move(layout);
  run->kernel = &kernel;
  run->fd = fd;
  run->offset = offset, run->length = length, run->chunk = chunk;
  run->chunks = (length + chunk - 1) / chunk;
  run->cancel = cancel;
  run->done = std::move(done);
  if (workers == 0 || workers > pool.size()) workers = pool.size();
  pool.submit(
      std::max<size_t>(1, std::min<uint64_t>(workers, run->chunks)), [run](size_t) { work(*run); },
      [run] {
        run->done(FdWriteResult{run->written.load(), run->error.load()});
      });
}

}  // namespace dgen
