// N-API glue of the topology and the worker plan (cpp/topology.h): topology() and planWorkers(), and the
// conversions configurePool() and poolInfo() share.
#pragma once
#include <napi.h>

#include <vector>

#include "topology.h"

namespace dgen {

// The `numa` option: undefined or 'auto', 'off', or { nodes: [non-negative integers] } (filling `nodes`);
// TypeError or RangeError else.
NumaMode ParseNuma(const Napi::Value& v, std::vector<int>& nodes);

// [{ pu, node }] for a worker plan.
Napi::Array PlanToJs(Napi::Env env, const std::vector<WorkerPlan>& plan);

// Adds topology and planWorkers.
void RegisterTopology(Napi::Env env, Napi::Object exports);

}  // namespace dgen
