#include "file_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <mutex>

#include "crc32c.h"
#include "fill.h"

namespace dgen {

namespace {

// O_DIRECT needs buffers, offsets and lengths aligned to the device's logical block; 4096 covers both
// 512-byte and 4K-sector devices.
constexpr size_t kDirectAlign = 4096;

// A worker's chunk buffer, reused by every batch that worker serves and freed when the thread ends.
struct ChunkBuffer {
  uint8_t* data = nullptr;
  size_t size = 0;
  uint8_t* get(size_t want) {
    if (want > size) {
      std::free(data);
      data = static_cast<uint8_t*>(std::aligned_alloc(kDirectAlign, (want + kDirectAlign - 1) / kDirectAlign * kDirectAlign));
      size = data ? want : 0;
    }
    return data;
  }
  ~ChunkBuffer() { std::free(data); }
};
thread_local ChunkBuffer t_buffer;

struct ObjectState {
  std::mutex mutex;  // guards the open
  int fd = -1;
  bool opened = false;
  std::atomic<size_t> remaining{0};
  std::vector<uint32_t> piece_crc;
  std::atomic<int> error{0};
  std::atomic<const char*> syscall{""};
  std::atomic<uint64_t> written{0};
};

struct ObjectPiece {
  size_t object;
  uint64_t index;  // within the object
};

struct Batch {
  std::vector<FileObject> objects;
  std::unique_ptr<ObjectState[]> state;
  std::vector<uint64_t> first_piece;  // of each object, in the batch's numbering of pieces
  uint64_t pieces = 0;
  const KernelInfo* kernel;
  FileWriteOptions options;
  std::vector<FileResult> results;
  std::function<void(std::vector<FileResult>)> done;
};

void fail(ObjectState& s, int error, const char* syscall) {
  int none = 0;
  if (s.error.compare_exchange_strong(none, error)) s.syscall = syscall;
}

bool cancelled(const Batch& b) { return b.options.cancel != nullptr && __atomic_load_n(b.options.cancel, __ATOMIC_RELAXED) != 0; }

int open_partial(const Batch& b, const FileObject& o) {
  const int flags = O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | (b.options.direct ? O_DIRECT : 0);
  for (;;) {
    const int fd = ::open(o.partial_path.c_str(), flags, 0644);
    if (fd >= 0 || errno != EINTR) return fd;
  }
}

// Writes all of [p, p + n) at `offset`; returns 0 or the errno.
int pwrite_all(int fd, const uint8_t* p, size_t n, uint64_t offset, std::atomic<uint64_t>& written) {
  while (n > 0) {
    const ssize_t w = ::pwrite(fd, p, n, off_t(offset));
    if (w > 0) {
      p += w, n -= size_t(w), offset += uint64_t(w), written += uint64_t(w);
    } else if (w < 0 && errno == EINTR) {
      continue;
    } else {
      return w < 0 ? errno : EIO;
    }
  }
  return 0;
}

// The unaligned end of a direct-I/O object, through a buffered descriptor (O_DIRECT cannot write it).
int write_tail(const FileObject& o, const uint8_t* p, size_t n, uint64_t offset, std::atomic<uint64_t>& written) {
  int fd;
  do fd = ::open(o.partial_path.c_str(), O_WRONLY | O_CLOEXEC);
  while (fd < 0 && errno == EINTR);
  if (fd < 0) return errno;
  int e = pwrite_all(fd, p, n, offset, written);
  if (e == 0 && ::fsync(fd) != 0) e = errno;  // on disk before the direct descriptor's view is trusted
  ::close(fd);
  return e;
}

void write_piece(Batch& b, const ObjectPiece& piece) {
  const FileObject& o = b.objects[piece.object];
  ObjectState& s = b.state[piece.object];
  if (cancelled(b)) fail(s, ECANCELED, "write");
  {
    std::lock_guard<std::mutex> lock(s.mutex);
    if (!s.opened && s.error.load() == 0) {
      s.fd = open_partial(b, o);
      if (s.fd < 0) fail(s, errno, "open");
      s.opened = s.fd >= 0;
    }
  }
  if (s.error.load() != 0) return;
  const uint64_t size = o.layout->size();
  const uint64_t at = uint64_t(piece.index) * b.options.chunk;
  const size_t n = size_t(std::min<uint64_t>(b.options.chunk, size - at));
  if (n == 0) return;  // an empty object: one piece, nothing to write
  uint8_t* buffer = t_buffer.get(b.options.chunk);
  if (buffer == nullptr) return fail(s, ENOMEM, "malloc");
  fill(*o.layout, buffer, at, n, *b.kernel);
  s.piece_crc[piece.index] = crc32c_update(0, buffer, n);
  const size_t aligned = b.options.direct ? n / kDirectAlign * kDirectAlign : n;
  int e = aligned > 0 ? pwrite_all(s.fd, buffer, aligned, at, s.written) : 0;
  if (e == 0 && aligned < n) e = write_tail(o, buffer + aligned, n - aligned, at + aligned, s.written);
  if (e != 0) fail(s, e, "write");
}

// Runs on the worker that wrote the object's last piece.
void finish_object(Batch& b, size_t i) {
  const FileObject& o = b.objects[i];
  ObjectState& s = b.state[i];
  FileResult& r = b.results[i];
  if (s.error.load() == 0) {
    if (b.options.fsync && ::fsync(s.fd) != 0) fail(s, errno, "fsync");
  }
  if (s.fd >= 0 && ::close(s.fd) != 0 && s.error.load() == 0) fail(s, errno, "close");
  s.fd = -1;
  if (s.error.load() == 0 && ::rename(o.partial_path.c_str(), o.path.c_str()) != 0) fail(s, errno, "rename");
  if (s.error.load() != 0 && s.opened && ::unlink(o.partial_path.c_str()) != 0 && errno != ENOENT) r.cleanup_error = errno;
  r.error = s.error.load();
  r.syscall = r.error != 0 ? s.syscall.load() : "";
  r.written = s.written.load();
  if (r.error == 0) {
    uint32_t crc = 0;
    const uint64_t size = o.layout->size();
    for (size_t k = 0; k < s.piece_crc.size(); ++k) {
      const uint64_t len = std::min<uint64_t>(b.options.chunk, size - k * b.options.chunk);
      crc = k == 0 ? s.piece_crc[0] : crc32c_combine(crc, s.piece_crc[k], len);
    }
    r.crc32c = crc;
  }
}

}  // namespace

void write_files(std::vector<FileObject> objects, const KernelInfo& kernel, WorkerPool& pool, FileWriteOptions options,
                 std::function<void(std::vector<FileResult>)> done) {
  auto batch = std::make_shared<Batch>();
  batch->objects = std::move(objects);
  batch->kernel = &kernel;
  batch->options = options;
  batch->done = std::move(done);
  const size_t count = batch->objects.size();
  batch->state.reset(new ObjectState[count]);
  batch->results.resize(count);
  for (size_t i = 0; i < count; ++i) {
    const uint64_t size = batch->objects[i].layout->size();
    const uint64_t pieces = std::max<uint64_t>(1, (size + options.chunk - 1) / options.chunk);
    batch->state[i].remaining = size_t(pieces);
    batch->state[i].piece_crc.assign(size_t(pieces), 0);
    batch->first_piece.push_back(batch->pieces);
    batch->pieces += pieces;
  }
  const size_t pieces = size_t(batch->pieces);
  pool.submit(
      pieces,
      [batch](size_t p) {
        // The object whose pieces include p: the last one that starts at or before p.
        const auto& first = batch->first_piece;
        const size_t object = size_t(std::upper_bound(first.begin(), first.end(), uint64_t(p)) - first.begin()) - 1;
        write_piece(*batch, ObjectPiece{object, p - first[object]});
        if (batch->state[object].remaining.fetch_sub(1) == 1) finish_object(*batch, object);
      },
      [batch] { batch->done(std::move(batch->results)); });
}

}  // namespace dgen
