#include "file_verifier.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <utility>

#include "crc32c.h"
#include "fill.h"
#include "object_tasks.h"

namespace dgen {

namespace {

// A worker's two buffers (what the file holds, what it should hold), reused across batches.
struct CompareBuffers {
  uint8_t* data = nullptr;
  size_t size = 0;
  uint8_t* get(size_t chunk) {
    if (chunk > size) {
      std::free(data);
      data = static_cast<uint8_t*>(std::aligned_alloc(4096, (2 * chunk + 4095) / 4096 * 4096));
      size = data ? chunk : 0;
    }
    return data;
  }
  ~CompareBuffers() { std::free(data); }
};
thread_local CompareBuffers t_buffers;

constexpr uint64_t kNone = ~uint64_t(0);

struct ObjectCheck {
  std::mutex mutex;  // guards the open and fstat
  bool opened = false;
  int fd = -1;
  uint64_t actual = 0;    // the file's size
  uint64_t expected = 0;  // the expected size: the layout's, or the segments' sum
  uint64_t compare = 0;   // bytes compared: min(actual, expected)
  size_t parts = 1;
  std::atomic<size_t> remaining{0};
  std::atomic<uint64_t> mismatch{kNone};
  std::atomic<int> error{0};
  std::atomic<const char*> syscall{""};
  bool missing = false;
  // Objects with segments: the generated ranges in file order, and the CRC-32C (and CRC-32 when a field
  // needs it) of each piece's expected bytes, combined when the object finishes.
  std::vector<GeneratedRange> ranges;
  std::vector<uint32_t> piece_crc;
  std::vector<uint32_t> piece_crc32;
};

struct Batch {
  std::vector<VerifyObject> objects;
  std::unique_ptr<ObjectCheck[]> checks;
  std::unique_ptr<ObjectTasks> tasks;
  const KernelInfo* kernel;
  size_t chunk;
  const uint8_t* cancel;
  std::vector<VerifyResult> results;
  std::function<void(std::vector<VerifyResult>)> done;
};

void fail(ObjectCheck& c, int error, const char* syscall) {
  int none = 0;
  if (c.error.compare_exchange_strong(none, error)) c.syscall = syscall;
}

void lower_mismatch(ObjectCheck& c, uint64_t offset) {
  uint64_t seen = c.mismatch.load();
  while (offset < seen && !c.mismatch.compare_exchange_weak(seen, offset)) {
  }
}

void close_keeping_errno(int fd) {
  const int saved = errno;
  if (fd >= 0) ::close(fd);
  errno = saved;
}

// Opens `path` for reading without following a symbolic link anywhere on it: each directory on the way is
// opened from the one before with O_PATH | O_DIRECTORY | O_NOFOLLOW (a link there fails), the file itself
// with O_NOFOLLOW | O_NONBLOCK (a FIFO must not block). O_NOFOLLOW alone only guards the last component:
// a linked directory on the way could lead out of the target. JavaScript passes the canonical target
// directory plus a checked name (no "..", "." or empty segments), so every component must be a real
// directory. Returns the descriptor, or -1 with errno (ELOOP for a link on the way, ENOENT when a
// directory on the way is missing).
int open_without_links(const std::string& path) {
  int dir = AT_FDCWD;
  size_t at = 0;
  if (!path.empty() && path[0] == '/') {
    do dir = ::open("/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    while (dir < 0 && errno == EINTR);
    if (dir < 0) return -1;
    while (at < path.size() && path[at] == '/') ++at;
  }
  std::string part;
  for (;;) {
    const size_t slash = path.find('/', at);
    part.assign(path, at, slash == std::string::npos ? std::string::npos : slash - at);
    int fd;
    if (slash == std::string::npos) {
      do fd = ::openat(dir, part.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK);
      while (fd < 0 && errno == EINTR);
      if (dir != AT_FDCWD) close_keeping_errno(dir);
      return fd;
    }
    do fd = ::openat(dir, part.c_str(), O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    while (fd < 0 && errno == EINTR);
    if (fd < 0 && errno == ENOTDIR) {
      struct stat st;
      if (::fstatat(dir, part.c_str(), &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISLNK(st.st_mode))
        errno = ELOOP;
      else
        errno = ENOTDIR;
    }
    if (dir != AT_FDCWD) close_keeping_errno(dir);
    if (fd < 0) return -1;
    dir = fd;
    at = slash + 1;
    while (at < path.size() && path[at] == '/') ++at;
  }
}

// Opens and measures the file once, whichever range gets there first.
void open_once(const VerifyObject& o, ObjectCheck& c) {
  std::lock_guard<std::mutex> lock(c.mutex);
  if (c.opened) return;
  c.opened = true;
  const int fd = open_without_links(o.path);
  if (fd < 0) {
    if (errno == ENOENT)
      c.missing = true;
    else
      fail(c, errno, "open");
    return;
  }
  c.fd = fd;
  struct stat st;
  if (::fstat(fd, &st) != 0) return fail(c, errno, "fstat");
  if (!S_ISREG(st.st_mode)) return fail(c, EINVAL, "fstat");
  c.actual = uint64_t(st.st_size);
  c.compare = std::min<uint64_t>(c.actual, c.expected);
}

bool cancelled(const Batch& b) { return b.cancel != nullptr && __atomic_load_n(b.cancel, __ATOMIC_RELAXED) != 0; }

// Reads up to n bytes at `offset` into p; `got` is what the file had (less at its end). Returns 0 or the errno.
int read_at(int fd, uint8_t* p, size_t n, uint64_t offset, size_t& got) {
  got = 0;
  while (got < n) {
    const ssize_t r = ::pread(fd, p + got, n - got, off_t(offset + got));
    if (r > 0)
      got += size_t(r);
    else if (r < 0 && errno == EINTR)
      continue;
    else if (r == 0)
      break;  // the file shrank under us: what is missing differs
    else
      return errno;
  }
  return 0;
}

// The first index where [actual, actual + got) and [expected, expected + n) differ, or n when they agree.
size_t first_difference(const uint8_t* actual, size_t got, const uint8_t* expected, size_t n) {
  if (got == n && std::memcmp(actual, expected, n) == 0) return n;
  size_t i = 0;
  while (i < got && actual[i] == expected[i]) ++i;
  return i;
}

// Compares bytes [from, to) of the object; stops at the first difference.
void compare_range(Batch& b, const VerifyObject& o, ObjectCheck& c, uint64_t from, uint64_t to) {
  uint8_t* actual = t_buffers.get(b.chunk);
  if (actual == nullptr) return fail(c, ENOMEM, "malloc");
  uint8_t* expected = actual + b.chunk;
  for (uint64_t at = from; at < to; at += b.chunk) {
    if (cancelled(b)) return fail(c, ECANCELED, "read");
    if (c.error.load() != 0 || c.mismatch.load() < at) return;  // decided already
    const size_t n = size_t(std::min<uint64_t>(b.chunk, to - at));
    size_t got = 0;
    if (const int e = read_at(c.fd, actual, n, at, got); e != 0) return fail(c, e, "read");
    fill(*o.layout, expected, at, n, *b.kernel);
    const size_t i = first_difference(actual, got, expected, n);
    if (i < n) return lower_mismatch(c, at + i);
  }
}

// Piece `index` of an object with segments: its expected bytes regenerated and their CRCs kept (the
// object's CRC-32 fields and CRC-32C need every piece), then compared with the file unless a difference
// before the piece already decided the object.
void check_piece(Batch& b, const VerifyObject& o, ObjectCheck& c, uint64_t index) {
  if (cancelled(b)) return fail(c, ECANCELED, "read");
  if (c.error.load() != 0) return;
  const GeneratedRange& r = range_of_piece(c.ranges, index);
  const uint64_t within = (index - r.first_piece) * b.chunk;
  const size_t n = size_t(std::min<uint64_t>(b.chunk, r.length - within));
  const uint64_t at = r.file_offset + within;
  uint8_t* actual = t_buffers.get(b.chunk);
  if (actual == nullptr) return fail(c, ENOMEM, "malloc");
  uint8_t* expected = actual + b.chunk;
  fill(*o.layout, expected, r.stream_offset + within, n, *b.kernel);
  c.piece_crc[index] = crc32c_update(0, expected, n);
  if (!c.piece_crc32.empty()) c.piece_crc32[index] = crc32_update(0, expected, n);
  if (c.mismatch.load() < at) return;  // decided before this piece: only its CRCs were needed
  size_t got = 0;
  if (const int e = read_at(c.fd, actual, n, at, got); e != 0) return fail(c, e, "read");
  const size_t i = first_difference(actual, got, expected, n);
  if (i < n) lower_mismatch(c, at + i);
}

// Task `part` of an object with segments: its share of the pieces. A file of another size is `size`
// without reading it (as the JavaScript format verify decides from fstat).
void check_segment_part(Batch& b, size_t object, size_t part) {
  const VerifyObject& o = b.objects[object];
  ObjectCheck& c = b.checks[object];
  open_once(o, c);
  if (c.fd < 0 || c.error.load() != 0 || c.actual != c.expected || c.ranges.empty()) return;
  const auto [first, end] = ObjectTasks::range(part, c.parts, c.piece_crc.size());
  for (uint64_t k = first; k < end && c.error.load() == 0; ++k) check_piece(b, o, c, k);
}

// An object with segments once every piece is checked: the CRCs of its generated segments combined from
// their pieces, its CRC-32 fields patched into the expected literal segments, each literal segment compared
// with the file, and the expected file's CRC-32C.
void finish_segments(Batch& b, size_t object) {
  VerifyObject& o = b.objects[object];
  ObjectCheck& c = b.checks[object];
  const FileCrcs crcs = patch_crc32_fields(o.segments, o.crc32_fields, c.ranges, b.chunk, c.piece_crc, c.piece_crc32);
  uint8_t* actual = t_buffers.get(b.chunk);
  if (actual == nullptr) return fail(c, ENOMEM, "malloc");
  uint64_t file_offset = 0;
  for (const FileSegment& seg : o.segments) {
    if (!seg.generated) {
      for (uint64_t at = 0; at < seg.length && c.mismatch.load() > file_offset + at; at += b.chunk) {
        const size_t n = size_t(std::min<uint64_t>(b.chunk, seg.length - at));
        size_t got = 0;
        if (const int e = read_at(c.fd, actual, n, file_offset + at, got); e != 0) return fail(c, e, "read");
        const size_t i = first_difference(actual, got, seg.bytes.data() + at, n);
        if (i < n) lower_mismatch(c, file_offset + at + i);
      }
    }
    file_offset += seg.length;
  }
  b.results[object].crc32c = crcs.crc32c;
}

void check_part(Batch& b, size_t object, size_t part) {
  const VerifyObject& o = b.objects[object];
  ObjectCheck& c = b.checks[object];
  open_once(o, c);
  if (c.fd < 0 || c.error.load() != 0) return;
  // Ranges on chunk boundaries, so every range reads whole chunks but its last.
  const uint64_t chunks = (c.compare + b.chunk - 1) / b.chunk;
  const auto [first_chunk, end_chunk] = ObjectTasks::range(part, c.parts, chunks);
  const uint64_t first = first_chunk * b.chunk, last = std::min<uint64_t>(c.compare, end_chunk * b.chunk);
  if (first < last) compare_range(b, o, c, first, last);
}

void finish(Batch& b, size_t object) {
  ObjectCheck& c = b.checks[object];
  VerifyResult& r = b.results[object];
  if (!b.objects[object].segments.empty() && c.fd >= 0 && c.error.load() == 0 && c.actual == c.expected)
    finish_segments(b, object);
  if (c.fd >= 0) ::close(c.fd);
  r.actual_size = c.actual;
  if (c.error.load() != 0) {
    r.status = VerifyStatus::Error, r.error = c.error.load(), r.syscall = c.syscall.load();
  } else if (c.missing) {
    r.status = VerifyStatus::Missing;
  } else if (c.mismatch.load() != kNone) {
    r.status = VerifyStatus::Mismatch, r.offset = c.mismatch.load();
  } else if (c.actual != c.expected) {
    r.status = VerifyStatus::Size;
  }
}

}  // namespace

void verify_files(std::vector<VerifyObject> objects, const KernelInfo& kernel, WorkerPool& pool, size_t chunk,
                  const uint8_t* cancel, std::function<void(std::vector<VerifyResult>)> done) {
  auto batch = std::make_shared<Batch>();
  batch->objects = std::move(objects);
  batch->kernel = &kernel;
  batch->chunk = chunk;
  batch->cancel = cancel;
  batch->done = std::move(done);
  const size_t count = batch->objects.size();
  batch->checks.reset(new ObjectCheck[count]);
  batch->results.resize(count);
  std::vector<uint64_t> chunks(count);
  for (size_t i = 0; i < count; ++i) {
    const VerifyObject& o = batch->objects[i];
    ObjectCheck& c = batch->checks[i];
    if (o.segments.empty()) {
      c.expected = o.layout->size();
      chunks[i] = std::max<uint64_t>(1, piece_count(c.expected, chunk));
      continue;
    }
    for (const FileSegment& seg : o.segments) c.expected += seg.length;
    chunks[i] = std::max<uint64_t>(1, cut_into_pieces(o.segments, chunk, c.ranges));
    c.piece_crc.assign(size_t(chunks[i]), 0);
    if (!o.crc32_fields.empty()) c.piece_crc32.assign(size_t(chunks[i]), 0);
  }
  batch->tasks = std::make_unique<ObjectTasks>(chunks, pool.size());
  for (size_t i = 0; i < count; ++i) batch->checks[i].remaining = batch->checks[i].parts = batch->tasks->parts(i);
  pool.submit(
      size_t(batch->tasks->tasks()),
      [batch](size_t t) {
        const auto [object, part] = batch->tasks->locate(t);
        if (batch->objects[object].segments.empty())
          check_part(*batch, object, part);
        else
          check_segment_part(*batch, object, part);
        if (batch->checks[object].remaining.fetch_sub(1) == 1) finish(*batch, object);
      },
      [batch] { batch->done(std::move(batch->results)); });
}

}  // namespace dgen
