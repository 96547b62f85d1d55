#include "sidecar/invoke/name_resolution.h"

#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/json/json.h"
#include "common/logging/log.h"

namespace outrigger::sidecar::invoke {

namespace fs = std::filesystem;

namespace {
// Short enough that a restarted app is found quickly, long enough to keep disk reads off the
// hot path.
constexpr auto kCacheTtl = std::chrono::seconds(2);

bool processAlive(long pid) {
  return pid > 0 && (kill(static_cast<pid_t>(pid), 0) == 0 || errno == EPERM);
}
}  // namespace

std::string NameResolver::defaultDirectory() {
  if (const char* dir = std::getenv("OUTRIGGER_NAMERESOLUTION_DIR")) return dir;
  const char* home = std::getenv("HOME");
  return std::string(home ? home : "/tmp") + "/.outrigger/nameresolution";
}

Status NameResolver::registerSelf(const std::string& app_id, const Address& internal,
                                  int http_port) {
  std::error_code ec;
  fs::create_directories(dir_, ec);
  if (ec)
    return unavailableError("cannot create name resolution directory " + dir_ + ": " +
                            ec.message());
  own_file_ = dir_ + "/" + app_id + "." + std::to_string(getpid()) + ".json";
  std::string tmp = own_file_ + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << "{\"appId\":\"" << app_id << "\",\"host\":\"" << internal.host
        << "\",\"internalPort\":" << internal.port << ",\"httpPort\":" << http_port
        << ",\"pid\":" << getpid() << "}\n";
    if (!out) return unavailableError("cannot write " + tmp);
  }
  // Rename so a reader never sees half a file.
  fs::rename(tmp, own_file_, ec);
  if (ec) return unavailableError("cannot write " + own_file_ + ": " + ec.message());
  return okStatus();
}

void NameResolver::unregisterSelf() {
  if (own_file_.empty()) return;
  std::error_code ec;
  fs::remove(own_file_, ec);
  own_file_.clear();
}

StatusOr<Address> NameResolver::resolve(const std::string& app_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto now = std::chrono::steady_clock::now();
  auto& cached = cache_[app_id];
  if (cached.addresses.empty() || now - cached.at > kCacheTtl) {
    cached.addresses.clear();
    cached.at = now;
    std::error_code ec;
    std::string prefix = app_id + ".";
    for (const auto& entry : fs::directory_iterator(dir_, ec)) {
      std::string name = entry.path().filename().string();
      if (name.rfind(prefix, 0) != 0 || entry.path().extension() != ".json") continue;
      std::ifstream in(entry.path());
      std::stringstream ss;
      ss << in.rdbuf();
      auto doc = json::parse(ss.str());
      if (!doc.ok() || !doc->IsObject()) continue;
      const json::Value* id = json::find(*doc, "appId");
      const json::Value* host = json::find(*doc, "host");
      const json::Value* port = json::find(*doc, "internalPort");
      const json::Value* pid = json::find(*doc, "pid");
      if (!id || !id->IsString() || id->GetString() != app_id || !host || !host->IsString() ||
          !port || !port->IsInt() || !pid || !pid->IsInt64()) {
        continue;
      }
      if (!processAlive(pid->GetInt64())) {
        fs::remove(entry.path(), ec);  // a sidecar that died without cleaning up
        continue;
      }
      cached.addresses.push_back(Address{host->GetString(), static_cast<uint16_t>(port->GetInt())});
    }
  }
  if (cached.addresses.empty()) {
    cache_.erase(app_id);
    return notFoundError("app id " + app_id + " not found by name resolution");
  }
  return cached.addresses[cached.next++ % cached.addresses.size()];
}

}  // namespace outrigger::sidecar::invoke
