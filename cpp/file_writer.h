// Whole objects written to local files by the worker pool: the fast path of bulk puts to file:// and
// direct:// targets. JavaScript hands over a batch of objects; the workers generate, checksum and write
// them with no round trip through JavaScript per chunk, and report one result per object.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "file_segments.h"
#include "kernels.h"
#include "layout.h"
#include "pool.h"

namespace dgen {

// One object to write: its layout, the temporary path its bytes go to and the path it is renamed to.
// Without segments the file is the layout's stream; with them, the file is the segments in order
// (file_segments.h), with its CRC-32 fields patched in.
struct FileObject {
  std::shared_ptr<const Layout> layout;
  std::string partial_path;
  std::string path;
  std::vector<FileSegment> segments;
  std::vector<Crc32Field> crc32_fields;
};

struct FileWriteOptions {
  size_t chunk = 4 << 20;           // bytes per piece: a multiple of 512 (of 4096 with direct)
  bool direct = false;              // O_DIRECT for the aligned part of each object
  bool fsync = false;               // fsync(2) before the rename
  const uint8_t* cancel = nullptr;  // a byte another thread may set to nonzero to stop the batch
};

// What happened to one object. error == 0: committed under `path`, with `crc32c` over its `size` bytes.
// Otherwise `error` is the errno (ECANCELED after a cancel) of the call named by `syscall`, and nothing
// of the object is left on disk (its temporary file is removed; a removal that itself fails is reported
// as `cleanup_error`).
struct FileResult {
  uint64_t written = 0;
  uint32_t crc32c = 0;
  std::vector<uint32_t> crc32;  // one CRC-32 per Crc32Field of the object, in order
  int error = 0;
  const char* syscall = "";
  int cleanup_error = 0;
  // Nanoseconds from the open of the temporary file to the rename (or the removal): the object's own
  // latency, without the time it waited for a worker. 0 when it never got that far.
  uint64_t latency_ns = 0;
};

// Writes every object of `objects` on the pool, then calls done(results) on the worker that finished last
// (results[i] for objects[i]). Each object is cut into pieces of `chunk` bytes. When the batch has at
// least as many objects as the pool has workers, each object is one task, written by one worker, so no two
// workers write one file (they would queue on its inode lock); fewer objects are cut into ranges of pieces
// so that every worker has one, and their writes to a shared file take turns on a mutex. A piece is
// generated into the worker's own reused buffer (allocated and first touched by that worker: no page
// faults after the first use, memory on the worker's NUMA node), checksummed while it is in cache, and
// written with pwrite(2) at its offset. The first piece to run opens the temporary file (O_CREAT | O_EXCL);
// the task that finishes the object last combines the pieces' CRCs in order (crc32c_combine), fsyncs the
// file if asked, closes it and renames it to its path, or removes it on any failure. With `direct`, the
// unaligned tail of an object goes through a second, buffered descriptor.
// An object with segments: its generated segments are cut into pieces the same way (pieces never span two
// segments; the CRC-32 of each piece is computed too when a field needs it) and written at their file
// offsets; its literal segments are written by the task that finishes the object, after the CRC-32 fields
// are patched into them (so a ZIP's data descriptors and central directory hold the members' CRCs). Not
// with `direct` (the segments' offsets are not aligned).
// `cancel` is checked before every piece and must stay valid until done() runs.
void write_files(std::vector<FileObject> objects, const KernelInfo& kernel, WorkerPool& pool, FileWriteOptions options,
                 std::function<void(std::vector<FileResult>)> done);

}  // namespace dgen
