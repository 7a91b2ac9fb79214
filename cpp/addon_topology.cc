#include "addon_topology.h"

#include <cstdint>
#include <stdexcept>
#include <string>

#include "addon_args.h"

namespace dgen {

namespace {

Napi::Object TopologyToJs(Napi::Env env, const Topology& t) {
  auto o = Napi::Object::New(env);
  o.Set("source", t.source);
  o.Set("packages", t.packages);
  o.Set("numaNodes", t.nodes);
  auto cores = Napi::Array::New(env, t.cores.size());
  for (size_t i = 0; i < t.cores.size(); ++i) {
    auto c = Napi::Object::New(env);
    c.Set("package", t.cores[i].package);
    c.Set("node", t.cores[i].node);
    auto pus = Napi::Array::New(env, t.cores[i].pus.size());
    for (size_t k = 0; k < t.cores[i].pus.size(); ++k) pus.Set(uint32_t(k), t.cores[i].pus[k]);
    c.Set("pus", pus);
    cores.Set(uint32_t(i), c);
  }
  o.Set("cores", cores);
  return o;
}

std::string SyntheticOption(const Napi::Value& v) {
  if (!v.IsObject()) return "";
  auto s = v.As<Napi::Object>().Get("synthetic");
  return s.IsString() ? s.As<Napi::String>().Utf8Value() : "";
}

// topology({ synthetic? })
Napi::Value TopologyJs(const Napi::CallbackInfo& info) {
  try {
    return TopologyToJs(info.Env(), load_topology(SyntheticOption(info[0])));
  } catch (const std::exception& e) {
    throw Napi::RangeError::New(info.Env(), e.what());
  }
}

// planWorkers({ synthetic?, threads?, numa? }): where workers would go.
Napi::Value PlanWorkers(const Napi::CallbackInfo& info) {
  auto o = info[0].IsObject() ? info[0].As<Napi::Object>() : Napi::Object::New(info.Env());
  std::vector<int> nodes;
  const NumaMode mode = ParseNuma(o.Get("numa"), nodes);
  const int threads = ToThreads(o.Get("threads"));
  try {
    return PlanToJs(info.Env(), plan_workers(load_topology(SyntheticOption(o)), threads, mode, nodes));
  } catch (const std::exception& e) {
    throw Napi::RangeError::New(info.Env(), e.what());
  }
}

// parseNuma(numa): the `numa` option as the pool reads it: 'auto' (also for undefined), 'off' or
// { nodes: [...] } (a fresh array); TypeError/RangeError as configurePool() would throw. lib/workers.ts
// validates the option with it, so the option is parsed in one place.
Napi::Value ParseNumaJs(const Napi::CallbackInfo& info) {
  Napi::Env env = info.Env();
  std::vector<int> nodes;
  switch (ParseNuma(info[0], nodes)) {
    case NumaMode::Auto: return Napi::String::New(env, "auto");
    case NumaMode::Off: return Napi::String::New(env, "off");
    case NumaMode::Nodes: break;
  }
  auto arr = Napi::Array::New(env, nodes.size());
  for (size_t i = 0; i < nodes.size(); ++i) arr.Set(uint32_t(i), nodes[i]);
  auto o = Napi::Object::New(env);
  o.Set("nodes", arr);
  return o;
}

}  // namespace

NumaMode ParseNuma(const Napi::Value& v, std::vector<int>& nodes) {
  if (v.IsUndefined() || (v.IsString() && v.As<Napi::String>().Utf8Value() == "auto")) return NumaMode::Auto;
  if (v.IsString() && v.As<Napi::String>().Utf8Value() == "off") return NumaMode::Off;
  if (v.IsObject() && v.As<Napi::Object>().Get("nodes").IsArray()) {
    auto arr = v.As<Napi::Object>().Get("nodes").As<Napi::Array>();
    for (uint32_t i = 0; i < arr.Length(); ++i) {
      const Napi::Value node = arr.Get(i);
      if (!node.IsNumber()) throw Napi::TypeError::New(v.Env(), "numa.nodes must hold non-negative integers");
      const uint64_t n = ToU64(node, "numa.nodes[i]");
      if (n > uint64_t(INT32_MAX)) throw Napi::RangeError::New(v.Env(), "numa.nodes[i] is not a NUMA node");
      nodes.push_back(int(n));
    }
    return NumaMode::Nodes;
  }
  throw Napi::TypeError::New(v.Env(), "numa must be 'auto', 'off' or { nodes: [...] }");
}

Napi::Array PlanToJs(Napi::Env env, const std::vector<WorkerPlan>& plan) {
  auto arr = Napi::Array::New(env, plan.size());
  for (size_t i = 0; i < plan.size(); ++i) {
    auto w = Napi::Object::New(env);
    w.Set("pu", plan[i].pu);
    w.Set("node", plan[i].node);
    arr.Set(uint32_t(i), w);
  }
  return arr;
}

void RegisterTopology(Napi::Env env, Napi::Object exports) {
  exports.Set("topology", Napi::Function::New(env, TopologyJs, "topology"));
  exports.Set("planWorkers", Napi::Function::New(env, PlanWorkers, "planWorkers"));
  exports.Set("parseNuma", Napi::Function::New(env, ParseNumaJs, "parseNuma"));
}

}  // namespace dgen
