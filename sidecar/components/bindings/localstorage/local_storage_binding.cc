#include "sidecar/components/bindings/localstorage/local_storage_binding.h"

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>

#include "common/json/json.h"
#include "sidecar/runtime/header_fields.h"

namespace outrigger::sidecar::components::bindings::localstorage {

namespace fs = std::filesystem;

namespace {

std::string randomName() {
  thread_local std::mt19937_64 rng{std::random_device{}()};
  std::ostringstream s;
  s << std::hex << rng() << rng();
  return s.str();
}

// The request's data is JSON text: a JSON string is stored as its contents.
std::string payload(const std::string& data) { return json::unquoted(data); }

}  // namespace

Status LocalStorageBinding::init(const runtime::Properties& properties) {
  std::error_code ec;
  fs::path root = properties.get("rootPath");
  fs::create_directories(root, ec);
  if (ec)
    return unavailableError("metadata field 'rootPath': cannot create " + root.string() + ": " +
                            ec.message());
  root_ = fs::weakly_canonical(root, ec).string();
  if (ec) return unavailableError("metadata field 'rootPath': " + ec.message());
  return okStatus();
}

std::vector<std::string> LocalStorageBinding::operations() const {
  return {"create", "get", "list", "delete"};
}

bool LocalStorageBinding::underRoot(const std::string& path) const {
  return path.compare(0, root_.size(), root_) == 0 &&
         (path.size() == root_.size() || root_.back() == '/' || path[root_.size()] == '/');
}

StatusOr<std::string> LocalStorageBinding::pathFor(const std::string& file_name) const {
  if (file_name.empty()) return invalidArgumentError("metadata fileName is required");
  // The name is echoed in the metadata.fileName response header, and a NUL would end it as a C
  // path: control bytes are the caller's error (400).
  if (std::any_of(file_name.begin(), file_name.end(),
                  [](unsigned char c) { return c < 0x20 || c == 0x7f; })) {
    return runtime::headFieldError("metadata fileName '" + runtime::printableBytes(file_name) +
                                   "' holds control characters");
  }
  fs::path p =
      fs::path(file_name).is_absolute() ? fs::path(file_name) : fs::path(root_) / file_name;
  std::error_code ec;
  fs::path full = fs::weakly_canonical(p, ec);
  if (ec) return invalidArgumentError("invalid fileName '" + file_name + "'");
  if (!underRoot(full.string())) {
    return permissionDeniedError("fileName '" + file_name + "' is outside the binding's rootPath");
  }
  // weakly_canonical resolved every link that leads somewhere; a link left in the path leads
  // nowhere yet, and writing through it would create its target wherever it points.
  for (fs::path q = full; q.string().size() > root_.size(); q = q.parent_path()) {
    if (fs::is_symlink(fs::symlink_status(q, ec))) {
      return permissionDeniedError("fileName '" + file_name +
                                   "' goes through a symbolic link to nothing");
    }
  }
  return full.string();
}

StatusOr<InvokeResponse> LocalStorageBinding::invoke(const InvokeRequest& request) {
  InvokeResponse res;
  auto name_it = request.metadata.find("fileName");
  std::string file_name = name_it == request.metadata.end() ? "" : name_it->second;
  if (request.operation == "create") {
    if (file_name.empty()) file_name = randomName();
    ASSIGN_OR_RETURN(std::string path, pathFor(file_name));
    std::error_code ec;
    fs::create_directories(fs::path(path).parent_path(), ec);
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    std::string bytes = payload(request.data);
    out.write(bytes.data(), static_cast<std::streamsize>(bytes.size()));
    if (!out) return unavailableError("cannot write " + file_name);
    res.metadata["fileName"] = file_name;
    return res;
  }
  if (request.operation == "get") {
    ASSIGN_OR_RETURN(std::string path, pathFor(file_name));
    std::ifstream in(path, std::ios::binary);
    if (!in) return notFoundError("file " + file_name + " not found");
    std::stringstream ss;
    ss << in.rdbuf();
    res.has_data = true;
    res.data = ss.str();
    res.content_type = "application/octet-stream";
    return res;
  }
  if (request.operation == "delete") {
    ASSIGN_OR_RETURN(std::string path, pathFor(file_name));
    std::error_code ec;
    if (!fs::remove(path, ec)) return notFoundError("file " + file_name + " not found");
    return res;
  }
  if (request.operation == "list") {
    json::Document doc;
    doc.SetArray();
    std::error_code ec;
    for (auto it = fs::recursive_directory_iterator(root_, ec);
         !ec && it != fs::recursive_directory_iterator(); it.increment(ec)) {
      if (!it->is_regular_file()) continue;
      // Named as the directory names it, never by a link's target; a link that leads out of
      // rootPath is not listed, as it cannot be read.
      std::string rel = it->path().lexically_relative(root_).string();
      if (it->is_symlink() && !pathFor(rel).ok()) continue;
      doc.PushBack(json::Value(rel.c_str(), static_cast<rapidjson::SizeType>(rel.size()),
                               doc.GetAllocator()),
                   doc.GetAllocator());
    }
    res.has_data = true;
    res.data = json::serialize(doc);
    res.content_type = "application/json";
    return res;
  }
  return invalidArgumentError("unsupported operation " + request.operation);
}

void registerComponent(runtime::Registry& registry) {
  runtime::ComponentFactory<Binding> factory;
  factory.type = "bindings.localstorage";
  factory.fields = {{"rootPath", runtime::FieldType::kString, true, std::nullopt, {}}};
  factory.create = [] { return std::make_unique<LocalStorageBinding>(); };
  (void)registry.bindings.add(std::move(factory));
}

}  // namespace outrigger::sidecar::components::bindings::localstorage
