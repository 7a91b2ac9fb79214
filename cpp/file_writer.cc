#include "file_writer.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <utility>

#include "crc32c.h"
#include "fill.h"
#include "limits.h"
#include "object_tasks.h"

namespace dgen {

namespace {

// O_DIRECT needs buffers, offsets and lengths aligned to the device's logical block: kDirectAlign
// (limits.h, 4096) covers both 512-byte and 4K-sector devices.

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

uint64_t steady_ns() {
  return uint64_t(
      std::chrono::duration_cast<std::chrono::nanoseconds>(std::chrono::steady_clock::now().time_since_epoch()).count());
}

struct ObjectState {
  std::mutex mutex;  // guards the open
  // Held around each write when several workers share the object: ext4 (like most file systems) takes
  // the inode's lock for a buffered write, and a second writer spins on it in the kernel (a quarter of
  // all cycles when two workers wrote one file); waiting here sleeps instead.
  std::mutex write_mutex;
  size_t parts = 1;  // ranges of pieces the object is split into, one task each
  int fd = -1;
  bool opened = false;
  uint64_t opened_ns = 0;  // steady clock at the open (guarded by `mutex` until the object finishes)
  std::atomic<size_t> remaining{0};
  std::vector<GeneratedRange> ranges;  // in file order
  std::vector<uint32_t> piece_crc;
  std::vector<uint32_t> piece_crc32;  // CRC-32 of each piece, when a Crc32Field needs them (else empty)
  std::atomic<int> error{0};
  std::atomic<const char*> syscall{""};
  std::atomic<uint64_t> written{0};
};

struct ObjectPiece {
  size_t object;
  uint64_t index;  // within the object
};

struct Batch {
  // Held around the directory operations (create, rename, unlink). A file system takes the directory's
  // lock for each of them, and a second worker waiting for it spins in the kernel: with two workers
  // writing 4 KiB files into one directory, a third of all cycles went to that spin (perf). Waiting here
  // sleeps instead, and the other worker goes on generating and writing data.
  std::mutex directory_mutex;
  std::vector<FileObject> objects;
  std::unique_ptr<ObjectState[]> state;
  std::unique_ptr<ObjectTasks> tasks;
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
      int open_error = 0;
      {
        std::lock_guard<std::mutex> dir_lock(b.directory_mutex);
        s.fd = open_partial(b, o);
        if (s.fd < 0) open_error = errno;
      }
      if (s.fd < 0) fail(s, open_error, "open");
      s.opened = s.fd >= 0;
      if (s.opened) s.opened_ns = steady_ns();
    }
  }
  if (s.error.load() != 0) return;
  if (s.ranges.empty()) return;  // an empty object (or only literal segments): one piece, nothing generated
  const GeneratedRange& r = range_of_piece(s.ranges, piece.index);
  const uint64_t within = (piece.index - r.first_piece) * b.options.chunk;
  const size_t n = size_t(std::min<uint64_t>(b.options.chunk, r.length - within));
  const uint64_t at = r.file_offset + within;
  uint8_t* buffer = t_buffer.get(b.options.chunk);
  if (buffer == nullptr) return fail(s, ENOMEM, "malloc");
  fill(*o.layout, buffer, r.stream_offset + within, n, *b.kernel);
  s.piece_crc[piece.index] = crc32c_update(0, buffer, n);
  if (!s.piece_crc32.empty()) s.piece_crc32[piece.index] = crc32_update(0, buffer, n);
  const size_t aligned = b.options.direct ? n / kDirectAlign * kDirectAlign : n;
  std::unique_lock<std::mutex> lock(s.write_mutex, std::defer_lock);
  if (s.parts > 1) lock.lock();
  int e = aligned > 0 ? pwrite_all(s.fd, buffer, aligned, at, s.written) : 0;
  if (e == 0 && aligned < n) e = write_tail(o, buffer + aligned, n - aligned, at + aligned, s.written);
  if (e != 0) fail(s, e, "write");
}

// Task `part` of object `object`: its share of the pieces, in order.
void write_part(Batch& b, size_t object, size_t part) {
  ObjectState& s = b.state[object];
  const uint64_t pieces = s.piece_crc.size();
  const auto [first, end] = ObjectTasks::range(part, s.parts, pieces);
  for (uint64_t k = first; k < end && s.error.load() == 0; ++k) write_piece(b, ObjectPiece{object, k});
}

// An object with segments, once its generated pieces are written: its CRC-32 fields computed and patched
// into the literal segments, the literal segments written, and the file's CRC-32C (returned).
uint32_t finish_segments(Batch& b, size_t i) {
  FileObject& o = b.objects[i];
  ObjectState& s = b.state[i];
  FileCrcs crcs = patch_crc32_fields(o.segments, o.crc32_fields, s.ranges, b.options.chunk, s.piece_crc, s.piece_crc32);
  b.results[i].crc32 = std::move(crcs.fields);
  uint64_t file_offset = 0;
  for (const FileSegment& seg : o.segments) {
    if (!seg.generated && s.error.load() == 0) {
      const int e = pwrite_all(s.fd, seg.bytes.data(), seg.bytes.size(), file_offset, s.written);
      if (e != 0) fail(s, e, "write");
    }
    file_offset += seg.length;
  }
  return crcs.crc32c;
}

// Runs on the worker that wrote the object's last piece.
void finish_object(Batch& b, size_t i) {
  const FileObject& o = b.objects[i];
  ObjectState& s = b.state[i];
  FileResult& r = b.results[i];
  uint32_t crc = 0;
  if (s.error.load() == 0 && s.opened) {
    if (!o.segments.empty()) {
      crc = finish_segments(b, i);
    } else if (!s.ranges.empty()) {
      crc = combine_pieces(s.ranges[0], b.options.chunk, s.piece_crc, s.piece_crc32).crc32c;
    }
  }
  if (s.error.load() == 0) {
    if (b.options.fsync && ::fsync(s.fd) != 0) fail(s, errno, "fsync");
  }
  if (s.fd >= 0 && ::close(s.fd) != 0 && s.error.load() == 0) fail(s, errno, "close");
  s.fd = -1;
  {
    std::lock_guard<std::mutex> dir_lock(b.directory_mutex);
    if (s.error.load() == 0 && ::rename(o.partial_path.c_str(), o.path.c_str()) != 0) fail(s, errno, "rename");
    if (s.error.load() != 0 && s.opened && ::unlink(o.partial_path.c_str()) != 0 && errno != ENOENT) r.cleanup_error = errno;
  }
  if (s.opened) r.latency_ns = steady_ns() - s.opened_ns;
  r.error = s.error.load();
  r.syscall = r.error != 0 ? s.syscall.load() : "";
  r.written = s.written.load();
  if (r.error == 0)
    r.crc32c = crc;
  else
    r.crc32.clear();
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
  std::vector<uint64_t> pieces(count);
  for (size_t i = 0; i < count; ++i) {
    const FileObject& o = batch->objects[i];
    ObjectState& s = batch->state[i];
    uint64_t total = 0;
    if (!o.segments.empty()) {
      total = cut_into_pieces(o.segments, options.chunk, s.ranges);
    } else if (const uint64_t size = o.layout->size(); size > 0) {
      s.ranges.push_back(GeneratedRange{0, 0, 0, size, 0});
      total = piece_count(size, options.chunk);
    }
    pieces[i] = std::max<uint64_t>(1, total);
    s.piece_crc.assign(size_t(pieces[i]), 0);
    if (!o.crc32_fields.empty()) s.piece_crc32.assign(size_t(pieces[i]), 0);
  }
  batch->tasks = std::make_unique<ObjectTasks>(pieces, pool.size());
  for (size_t i = 0; i < count; ++i) batch->state[i].remaining = batch->state[i].parts = batch->tasks->parts(i);
  pool.submit(
      size_t(batch->tasks->tasks()),
      [batch](size_t t) {
        const auto [object, part] = batch->tasks->locate(t);
        write_part(*batch, object, part);
        if (batch->state[object].remaining.fetch_sub(1) == 1) finish_object(*batch, object);
      },
      [batch] { batch->done(std::move(batch->results)); });
}

}  // namespace dgen
