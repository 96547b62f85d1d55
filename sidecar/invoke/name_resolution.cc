#include "sidecar/invoke/name_resolution.h"

#include <signal.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/http/router.h"
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

// App ids are free text; file names keep [A-Za-z0-9_-] and escape the rest (the '.' too, which
// separates the id from the pid).
std::string fileStem(const std::string& app_id) {
  std::string out;
  for (char c : outrigger::http::urlEncode(app_id)) {
    if (c == '.' || c == '~') {
      out += c == '.' ? "%2E" : "%7E";
    } else {
      out.push_back(c);
    }
  }
  return out;
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
  // Entries left by sidecars that were killed: swept here too, not only when someone resolves them.
  for (const auto& entry : fs::directory_iterator(dir_, ec)) {
    if (entry.path().extension() != ".json") continue;
    std::string stem = entry.path().stem().string();  // <id>.<pid>
    auto dot = stem.rfind('.');
    if (dot == std::string::npos) continue;
    long pid = std::strtol(stem.c_str() + dot + 1, nullptr, 10);
    if (pid > 0 && !processAlive(pid)) fs::remove(entry.path(), ec);
  }
  own_file_ = dir_ + "/" + fileStem(app_id) + "." + std::to_string(getpid()) + ".json";
  std::string tmp = own_file_ + ".tmp";
  {
    json::Document doc(rapidjson::kObjectType);
    auto& a = doc.GetAllocator();
    doc.AddMember("appId", json::Value(app_id.c_str(), a), a);
    doc.AddMember("host", json::Value(internal.host.c_str(), a), a);
    doc.AddMember("internalPort", static_cast<int>(internal.port), a);
    doc.AddMember("httpPort", http_port, a);
    doc.AddMember("pid", static_cast<int64_t>(getpid()), a);
    std::ofstream out(tmp, std::ios::trunc);
    out << json::serialize(doc) << "\n";
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
    std::string prefix = fileStem(app_id) + ".";
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

void NameResolver::forget(const std::string& app_id) {
  std::lock_guard<std::mutex> lock(mutex_);
  cache_.erase(app_id);
}

}  // namespace outrigger::sidecar::invoke
