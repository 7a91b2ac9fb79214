#include "topology.h"

#include <sched.h>

#include <algorithm>
#include <fstream>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>

#ifdef DGEN_HAVE_HWLOC
#include <hwloc.h>
#endif

namespace dgen {

bool have_hwloc() {
#ifdef DGEN_HAVE_HWLOC
  return true;
#else
  return false;
#endif
}

#ifndef DGEN_HAVE_HWLOC
// "package:2 numa:2 core:4 pu:2" (any of the levels may be left out; each defaults to 1).
static Topology parse_synthetic(const std::string& text) {
  std::map<std::string, int> count{{"package", 1}, {"numa", 1}, {"core", 1}, {"pu", 1}};
  std::istringstream in(text);
  std::string token;
  while (in >> token) {
    const auto colon = token.find(':');
    std::string level = token.substr(0, colon);
    if (level == "pack" || level == "socket") level = "package";
    if (level == "node") level = "numa";
    if (colon == std::string::npos || !count.count(level)) throw std::invalid_argument("unknown synthetic level: " + token);
    const int n = std::atoi(token.c_str() + colon + 1);
    if (n < 1 || n > 4096) throw std::invalid_argument("bad count in synthetic level: " + token);
    count[level] = n;
  }
  Topology t;
  t.packages = count["package"];
  t.nodes = count["package"] * count["numa"];
  int pu = 0;
  for (int p = 0; p < t.packages; ++p)
    for (int m = 0; m < count["numa"]; ++m)
      for (int c = 0; c < count["core"]; ++c) {
        Core core;
        core.package = p;
        core.node = p * count["numa"] + m;
        for (int h = 0; h < count["pu"]; ++h) core.pus.push_back(pu++);
        t.cores.push_back(core);
      }
  t.source = "synthetic";
  return t;
}
#endif

static std::set<int> parse_cpulist(const std::string& list) {
  std::set<int> cpus;
  std::istringstream in(list);
  std::string part;
  while (std::getline(in, part, ',')) {
    if (part.empty() || part == "\n") continue;
    const auto dash = part.find('-');
    const int a = std::atoi(part.c_str());
    const int b = dash == std::string::npos ? a : std::atoi(part.c_str() + dash + 1);
    for (int i = a; i <= b; ++i) cpus.insert(i);
  }
  return cpus;
}

static std::string read_file(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

static std::set<int> allowed_cpus() {
  std::set<int> out;
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof(set), &set) == 0)
    for (int i = 0; i < CPU_SETSIZE; ++i)
      if (CPU_ISSET(i, &set)) out.insert(i);
  return out;
}

static Topology load_sysfs() {
  Topology t;
  const std::set<int> allowed = allowed_cpus();
  std::map<int, int> node_of;  // cpu -> node
  for (int n = 0; n < 1024; ++n) {
    const std::string list = read_file("/sys/devices/system/node/node" + std::to_string(n) + "/cpulist");
    if (list.empty()) {
      if (n > 0 && node_of.empty()) break;
      if (n > 64) break;
      continue;
    }
    for (int cpu : parse_cpulist(list)) node_of[cpu] = n;
  }
  std::map<std::pair<int, int>, Core> cores;  // (package, core id) -> core
  std::set<int> packages, nodes;
  for (int cpu : allowed) {
    const std::string base = "/sys/devices/system/cpu/cpu" + std::to_string(cpu) + "/topology/";
    const std::string pkg = read_file(base + "physical_package_id"), id = read_file(base + "core_id");
    const int package = pkg.empty() ? 0 : std::atoi(pkg.c_str());
    const int core_id = id.empty() ? cpu : std::atoi(id.c_str());
    Core& c = cores[{package, core_id}];
    c.package = package;
    c.node = node_of.count(cpu) ? node_of[cpu] : 0;
    c.pus.push_back(cpu);
    packages.insert(package);
    nodes.insert(c.node);
  }
  // Renumber nodes to logical indexes 0..k-1, as hwloc reports them.
  std::map<int, int> logical;
  for (int n : nodes) logical.emplace(n, int(logical.size()));
  for (auto& [key, c] : cores) {
    c.node = logical[c.node];
    t.cores.push_back(c);
  }
  t.packages = std::max<int>(1, int(packages.size()));
  t.nodes = std::max<int>(1, int(nodes.size()));
  t.source = "sysfs";
  if (t.cores.empty()) {  // not Linux, or sysfs unreadable: one core per allowed CPU
    for (int cpu : allowed) t.cores.push_back(Core{0, 0, {cpu}});
    if (t.cores.empty()) t.cores.push_back(Core{0, 0, {-1}});
    t.source = "fallback";
  }
  return t;
}

#ifdef DGEN_HAVE_HWLOC
static Topology load_hwloc(const std::string& synthetic) {
  hwloc_topology_t topo;
  if (hwloc_topology_init(&topo) != 0) throw std::runtime_error("hwloc_topology_init failed");
  if (!synthetic.empty() && hwloc_topology_set_synthetic(topo, synthetic.c_str()) != 0) {
    hwloc_topology_destroy(topo);
    throw std::invalid_argument("hwloc cannot parse the synthetic topology: " + synthetic);
  }
  if (synthetic.empty()) hwloc_topology_set_flags(topo, HWLOC_TOPOLOGY_FLAG_RESTRICT_TO_CPUBINDING);
  if (hwloc_topology_load(topo) != 0) {
    hwloc_topology_destroy(topo);
    throw std::runtime_error("hwloc_topology_load failed");
  }
  Topology t;
  t.packages = std::max(1, hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_PACKAGE));
  t.nodes = std::max(1, hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_NUMANODE));
  const int ncores = hwloc_get_nbobjs_by_type(topo, HWLOC_OBJ_CORE);
  for (int i = 0; i < ncores; ++i) {
    hwloc_obj_t core = hwloc_get_obj_by_type(topo, HWLOC_OBJ_CORE, unsigned(i));
    Core c;
    hwloc_obj_t pkg = hwloc_get_ancestor_obj_by_type(topo, HWLOC_OBJ_PACKAGE, core);
    c.package = pkg ? int(pkg->logical_index) : 0;
    // NUMA nodes are memory children in hwloc 2, not ancestors: find the one whose cpuset holds the core.
    hwloc_obj_t node = nullptr;
    for (int n = 0; n < t.nodes && node == nullptr; ++n) {
      hwloc_obj_t cand = hwloc_get_obj_by_type(topo, HWLOC_OBJ_NUMANODE, unsigned(n));
      if (cand && hwloc_bitmap_isincluded(core->cpuset, cand->cpuset)) node = cand;
    }
    c.node = node ? int(node->logical_index) : 0;
    for (int pu = hwloc_bitmap_first(core->cpuset); pu >= 0; pu = hwloc_bitmap_next(core->cpuset, pu)) c.pus.push_back(pu);
    t.cores.push_back(c);
  }
  hwloc_topology_destroy(topo);
  t.source = synthetic.empty() ? "hwloc" : "hwloc-synthetic";
  if (t.cores.empty()) return load_sysfs();
  return t;
}
#endif

Topology load_topology(const std::string& synthetic) {
#ifdef DGEN_HAVE_HWLOC
  return load_hwloc(synthetic);
#else
  return synthetic.empty() ? load_sysfs() : parse_synthetic(synthetic);
#endif
}

std::vector<WorkerPlan> plan_workers(const Topology& topo, int threads, NumaMode mode, const std::vector<int>& nodes) {
  const int count = threads > 0 ? threads : std::max<int>(1, int(topo.cores.size()));
  std::vector<WorkerPlan> plan;
  if (mode == NumaMode::Off) {
    plan.assign(size_t(count), WorkerPlan{});
    return plan;
  }
  std::vector<int> allowed = nodes;
  if (mode == NumaMode::Auto) {
    allowed.clear();
    for (int n = 0; n < topo.nodes; ++n) allowed.push_back(n);
  }
  for (int n : allowed)
    if (n < 0 || n >= topo.nodes) throw std::invalid_argument("NUMA node " + std::to_string(n) + " does not exist");
  // Cores of each allowed node, in order.
  std::vector<std::vector<const Core*>> per_node;
  for (int n : allowed) {
    std::vector<const Core*> list;
    for (const Core& c : topo.cores)
      if (c.node == n) list.push_back(&c);
    if (!list.empty()) per_node.push_back(list);
  }
  if (per_node.empty()) throw std::invalid_argument("no cores on the allowed NUMA nodes");
  // Round-robin over nodes; within a node over cores, then over the cores' further PUs.
  std::vector<size_t> next(per_node.size(), 0);
  for (int w = 0; w < count; ++w) {
    const size_t k = size_t(w) % per_node.size();
    const auto& list = per_node[k];
    const size_t i = next[k]++;
    const Core& core = *list[i % list.size()];
    const size_t lap = i / list.size();
    plan.push_back(WorkerPlan{core.pus[lap % core.pus.size()], core.node});
  }
  return plan;
}

}  // namespace dgen
