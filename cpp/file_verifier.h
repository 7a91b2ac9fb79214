// Objects in local files checked against regeneration by the worker pool: the fast path of `dgen verify`
// for uncompressed objects on file:// and direct:// targets. Each worker reads a chunk into one reused
// buffer, generates the expected bytes into another, and compares them; nothing per chunk passes through
// JavaScript.
#pragma once
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "kernels.h"
#include "layout.h"
#include "pool.h"

namespace dgen {

// One object to check: the layout that generates its expected bytes (layout.size() is the expected
// size) and the file that should hold them. `path` is opened without following a symbolic link on any
// of its components (pass a canonical directory plus a relative name).
struct VerifyObject {
  std::shared_ptr<const Layout> layout;
  std::string path;
};

enum class VerifyStatus : int { Ok = 0, Mismatch = 1, Missing = 2, Size = 3, Error = 4 };

// What was found. Mismatch: `offset` is the first byte that differs. Size: the file holds `actual_size`
// bytes and its first min(actual, expected) bytes match. Missing: no such file. Error: `error` is the
// errno of `syscall` (open, fstat, read), or EINVAL with syscall "fstat" for a path that is not a regular
// file (a directory, a FIFO, a device); a symbolic link, at the path or on the way to it, is refused with
// ELOOP (syscall "open").
struct VerifyResult {
  VerifyStatus status = VerifyStatus::Ok;
  uint64_t offset = 0;
  uint64_t actual_size = 0;
  int error = 0;
  const char* syscall = "";
};

// Checks every object on the pool and calls done(results) on the worker that finished last (results[i]
// for objects[i]). Objects are compared in chunks of `chunk` bytes; as in write_files, each object is one
// task when the batch has an object per worker, and fewer objects are cut into ranges so every worker has
// one. A range stops at its first difference, and the object's mismatch is the lowest one found. Reads go
// through the page cache (pread). `cancel` (may be null) stops the batch before its next chunk: objects
// not yet decided are reported as Error with ECANCELED.
void verify_files(std::vector<VerifyObject> objects, const KernelInfo& kernel, WorkerPool& pool, size_t chunk,
                  const uint8_t* cancel, std::function<void(std::vector<VerifyResult>)> done);

}  // namespace dgen
