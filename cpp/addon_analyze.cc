#include "addon_analyze.h"

namespace dgen {

void RegisterAnalyze(Napi::Env, Napi::Object, std::shared_ptr<WorkerPool> (*)()) {}

}  // namespace dgen
