#include "addon_pool.h"

#include <cstdlib>
#include <mutex>
#include <stdexcept>
#include <string>
#include <vector>

#include "addon_args.h"
#include "addon_topology.h"
#include "topology.h"

namespace dgen {

namespace {

struct PoolConfig {
  int threads = 0;
  NumaMode mode = NumaMode::Auto;
  std::vector<int> nodes;
};
std::mutex g_pool_mutex;
std::shared_ptr<WorkerPool> g_pool;
PoolConfig g_pool_config;
std::string g_topology_source;

// Per-environment state: one long-lived thread-safe function carries every completion back to the main
// thread (creating one per fill cost about 0.4 ms of main-thread time). It holds the event loop open
// only while work is pending.
struct AddonData {
  Napi::ThreadSafeFunction done;
  size_t pending = 0;
};

// configurePool({ threads?, numa? }): replaces the worker pool (fills in flight keep the old one).
Napi::Value ConfigurePool(const Napi::CallbackInfo& info) {
  auto o = info[0].IsObject() ? info[0].As<Napi::Object>() : Napi::Object::New(info.Env());
  PoolConfig config;
  config.mode = ParseNuma(o.Get("numa"), config.nodes);
  config.threads = ToThreads(o.Get("threads"));
  const Topology topo = load_topology("");
  std::vector<WorkerPlan> plan;
  try {
    plan = plan_workers(topo, config.threads, config.mode, config.nodes);
  } catch (const std::exception& e) {
    throw Napi::RangeError::New(info.Env(), e.what());
  }
  std::shared_ptr<WorkerPool> old;
  {
    std::lock_guard<std::mutex> lock(g_pool_mutex);
    g_pool_config = config;
    old = std::move(g_pool);
    g_pool = std::make_shared<WorkerPool>(std::move(plan));
    g_topology_source = topo.source;
  }
  return info.Env().Undefined();  // `old` joins its threads once the last fill using it lets go
}

// poolInfo(): the current pool's plan and whether each worker is bound.
Napi::Value PoolInfo(const Napi::CallbackInfo& info) {
  auto pool = Pool();
  auto o = Napi::Object::New(info.Env());
  o.Set("threads", double(pool->size()));
  o.Set("workers", PlanToJs(info.Env(), pool->plan()));
  auto bound = pool->bound();
  auto b = Napi::Array::New(info.Env(), bound.size());
  for (size_t i = 0; i < bound.size(); ++i) b.Set(uint32_t(i), bool(bound[i]));
  o.Set("bound", b);
  o.Set("hwloc", have_hwloc());
  std::string source;
  {
    std::lock_guard<std::mutex> lock(g_pool_mutex);
    source = g_topology_source;
  }
  o.Set("topologySource", source);
  return o;
}

}  // namespace

std::shared_ptr<WorkerPool> Pool() {
  std::lock_guard<std::mutex> lock(g_pool_mutex);
  if (!g_pool) {
    if (g_pool_config.threads == 0) {
      const char* env = std::getenv("DGEN_THREADS");
      if (env && std::atoi(env) > 0) g_pool_config.threads = std::atoi(env);
    }
    const Topology topo = load_topology("");
    g_topology_source = topo.source;
    g_pool = std::make_shared<WorkerPool>(plan_workers(topo, g_pool_config.threads, g_pool_config.mode, g_pool_config.nodes));
  }
  return g_pool;
}

Napi::ThreadSafeFunction BeginPending(Napi::Env env) {
  AddonData* data = env.GetInstanceData<AddonData>();
  if (data->pending++ == 0) data->done.Ref(env);
  return data->done;
}

void EndPending(Napi::Env env) {
  AddonData* data = env.GetInstanceData<AddonData>();
  if (--data->pending == 0) data->done.Unref(env);
}

void RegisterPool(Napi::Env env, Napi::Object exports) {
  auto* data = new AddonData{
      Napi::ThreadSafeFunction::New(env, Napi::Function::New(env, [](const Napi::CallbackInfo&) {}), "dgen.fill", 0, 1)};
  data->done.Unref(env);
  env.SetInstanceData<AddonData>(data);  // deleted with the environment
  exports.Set("configurePool", Napi::Function::New(env, ConfigurePool, "configurePool"));
  exports.Set("poolInfo", Napi::Function::New(env, PoolInfo, "poolInfo"));
}

}  // namespace dgen
