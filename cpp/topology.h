// The machine's topology (packages, NUMA nodes, cores, processing units) and the plan that places the
// generator's worker threads on it.
//
// Read with hwloc where the addon was built with it (DGEN_HAVE_HWLOC), else from Linux sysfs. Both also
// read synthetic topologies for tests: hwloc's synthetic syntax ("package:2 numa:2 core:4 pu:2"); the
// fallback understands the same four levels in that order.
#pragma once
#include <string>
#include <vector>

namespace dgen {

struct Core {
  int package = 0;
  int node = 0;          // NUMA node (logical index)
  std::vector<int> pus;  // OS indexes of its processing units (hardware threads)
};

struct Topology {
  int packages = 1;
  int nodes = 1;
  std::vector<Core> cores;
  std::string source;  // "hwloc", "hwloc-synthetic", "sysfs", "synthetic" or "fallback"
};

// Loads the topology. `synthetic` non-empty: a synthetic description instead of this machine.
// Restricted to the PUs this process may run on (its affinity mask) unless synthetic.
// Throws std::invalid_argument for a synthetic description that does not parse.
Topology load_topology(const std::string& synthetic);

// One worker: the PU it is bound to (-1: not bound) and the NUMA node it serves (-1: none).
struct WorkerPlan {
  int pu = -1;
  int node = -1;
};

enum class NumaMode { Auto, Off, Nodes };

// Places `threads` workers (0: one per core): in Auto and Nodes mode round-robin over the allowed NUMA
// nodes, one core each (first PU of the core), wrapping onto further PUs when there are more workers
// than cores; in Off mode unbound. Throws std::invalid_argument for nodes that do not exist.
std::vector<WorkerPlan> plan_workers(const Topology& topo, int threads, NumaMode mode, const std::vector<int>& nodes);

// Whether this build has hwloc.
bool have_hwloc();

}  // namespace dgen
