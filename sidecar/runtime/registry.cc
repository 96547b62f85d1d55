#include "sidecar/runtime/registry.h"

#include <dlfcn.h>

#include <cctype>
#include <cstdlib>
#include <filesystem>

namespace outrigger::sidecar::runtime {

namespace {
std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}
}  // namespace

void Registry::addModule(const std::string& block, const std::vector<std::string>& types,
                         const std::string& file) {
  for (const auto& t : types) modules[lower(t)] = ModuleInfo{block, file, false};
}

std::string Registry::moduleDirectory() {
  if (const char* dir = std::getenv("OUTRIGGER_COMPONENTS_DIR")) return dir;
  std::error_code ec;
  auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  if (!ec) {
    auto beside = exe.parent_path().parent_path() / "lib" / "outrigger";
    if (std::filesystem::is_directory(beside, ec)) return beside.string();
  }
#ifdef OUTRIGGER_BUILD_MODULE_DIR
  return OUTRIGGER_BUILD_MODULE_DIR;
#else
  return "/usr/local/lib/outrigger";
#endif
}

Status Registry::loadModuleFor(const std::string& type) {
  auto it = modules.find(lower(type));
  if (it == modules.end() || it->second.loaded) return okStatus();
  std::string path = moduleDirectory() + "/" + it->second.file;
  void* handle = dlopen(path.c_str(), RTLD_NOW | RTLD_LOCAL);
  if (!handle) return unavailableError("cannot load component plugin " + path + ": " + dlerror());
  using RegisterFn = void (*)(Registry&);
  auto fn = reinterpret_cast<RegisterFn>(dlsym(handle, "outrigger_register_module"));
  if (!fn) return unavailableError("component plugin " + path + " has no entry point");
  fn(*this);
  // Every type the plugin provides is now registered; it stays loaded for the process's life.
  for (auto& [t, info] : modules) {
    if (info.file == it->second.file) info.loaded = true;
  }
  return okStatus();
}

std::string Registry::blockOf(const std::string& type) const {
  if (auto it = modules.find(lower(type)); it != modules.end()) return it->second.block;
  if (state.has(type)) return "state";
  if (secretstores.has(type)) return "secretstores";
  if (pubsub.has(type)) return "pubsub";
  if (bindings.has(type)) return "bindings";
  return {};
}

}  // namespace outrigger::sidecar::runtime
