#include "sidecar/runtime/resources.h"

#include <yaml-cpp/eventhandler.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <set>
#include <sstream>

#include "common/logging/log.h"
#include "sidecar/runtime/metadata.h"

namespace outrigger::sidecar::runtime {

namespace fs = std::filesystem;

namespace {

Status fieldError(const std::string& source, const std::string& what, const std::string& field,
                  const std::string& problem) {
  return invalidArgumentError(source + ": " + what + ": field " + field + ": " + problem);
}

// A YAML scalar as text; maps and lists become JSON-ish flow text, as Dapr accepts any JSON.
std::string scalarText(const YAML::Node& node) {
  if (node.IsScalar()) return node.Scalar();
  YAML::Emitter out;
  out << YAML::Flow << YAML::DoubleQuoted << node;
  return out.c_str();
}

// Parses without building anything: only counts documents.
class DocumentCounter : public YAML::EventHandler {
 public:
  void OnDocumentStart(const YAML::Mark&) override {}
  void OnDocumentEnd() override {}
  void OnNull(const YAML::Mark&, YAML::anchor_t) override {}
  void OnAlias(const YAML::Mark&, YAML::anchor_t) override {}
  void OnScalar(const YAML::Mark&, const std::string&, YAML::anchor_t,
                const std::string&) override {}
  void OnSequenceStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                       YAML::EmitterStyle::value) override {}
  void OnSequenceEnd() override {}
  void OnMapStart(const YAML::Mark&, const std::string&, YAML::anchor_t,
                  YAML::EmitterStyle::value) override {}
  void OnMapEnd() override {}
};

constexpr size_t kMaxDocumentsPerFile = 1000;

// yaml-cpp 0.7's LoadAll never returns on some malformed files (",n\n:" is an endless stream of
// empty documents, found by tests/fuzz/resources_yaml_fuzz): the documents are counted first,
// with a bound.
StatusOr<std::vector<YAML::Node>> loadDocuments(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return invalidArgumentError(path + ": cannot read the file");
  std::stringstream text;
  text << in.rdbuf();
  try {
    std::istringstream counting(text.str());
    YAML::Parser parser(counting);
    DocumentCounter counter;
    for (size_t n = 0; parser.HandleNextDocument(counter);) {
      if (++n > kMaxDocumentsPerFile) {
        return invalidArgumentError(path + ": invalid YAML: more than " +
                                    std::to_string(kMaxDocumentsPerFile) + " documents");
      }
    }
    return YAML::LoadAll(text.str());
  } catch (const YAML::Exception& e) {
    return invalidArgumentError(path + ": invalid YAML: " + e.what());
  }
}

bool isValidName(const std::string& name) {
  if (name.empty() || name.size() > 253) return false;
  for (char c : name) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '-' || c == '.' || c == '_')) {
      return false;
    }
  }
  return true;
}

}  // namespace

StatusOr<ComponentSpec> parseComponent(const YAML::Node& doc, const std::string& source) {
  ComponentSpec spec;
  spec.source = source;
  const YAML::Node meta = doc["metadata"];
  if (!meta || !meta.IsMap()) return fieldError(source, "Component", "metadata", "missing");
  if (!meta["name"] || !meta["name"].IsScalar() || meta["name"].Scalar().empty()) {
    return fieldError(source, "Component", "metadata.name", "missing");
  }
  spec.name = meta["name"].Scalar();
  std::string what = "component '" + spec.name + "'";
  if (!isValidName(spec.name)) {
    return fieldError(source, what, "metadata.name", "'" + spec.name + "' is not a valid name");
  }
  if (meta["namespace"] && meta["namespace"].IsScalar())
    spec.namespace_name = meta["namespace"].Scalar();
  const YAML::Node s = doc["spec"];
  if (!s || !s.IsMap()) return fieldError(source, what, "spec", "missing or not a map");
  if (!s["type"] || !s["type"].IsScalar() || s["type"].Scalar().empty()) {
    return fieldError(source, what, "spec.type", "missing");
  }
  spec.type = s["type"].Scalar();
  if (!s["version"] || !s["version"].IsScalar() || s["version"].Scalar().empty()) {
    return fieldError(source, what, "spec.version", "missing");
  }
  spec.version = s["version"].Scalar();
  if (s["ignoreErrors"]) {
    if (!s["ignoreErrors"].IsScalar() ||
        !parseBool(s["ignoreErrors"].Scalar(), &spec.ignore_errors)) {
      return fieldError(source, what, "spec.ignoreErrors", "expected true or false");
    }
  }
  if (s["initTimeout"]) {
    if (!s["initTimeout"].IsScalar() ||
        !parseDurationMs(s["initTimeout"].Scalar(), &spec.init_timeout_ms)) {
      return fieldError(source, what, "spec.initTimeout", "expected a duration such as 5s");
    }
  }
  if (const YAML::Node md = s["metadata"]) {
    if (!md.IsSequence() && !md.IsNull()) {
      return fieldError(source, what, "spec.metadata", "expected a list of {name, value}");
    }
    std::set<std::string, CaseInsensitiveLess> seen;
    for (size_t i = 0; md.IsSequence() && i < md.size(); ++i) {
      const YAML::Node item = md[i];
      std::string at = "spec.metadata[" + std::to_string(i) + "]";
      if (!item.IsMap() || !item["name"] || !item["name"].IsScalar() ||
          item["name"].Scalar().empty()) {
        return fieldError(source, what, at + ".name", "missing");
      }
      MetadataItem m;
      m.name = item["name"].Scalar();
      at = "spec.metadata '" + m.name + "'";
      if (!seen.insert(m.name).second) return fieldError(source, what, at, "duplicate name");
      if (item["value"] && !item["value"].IsNull()) m.value = scalarText(item["value"]);
      if (const YAML::Node ref = item["secretKeyRef"]) {
        if (!ref.IsMap() || !ref["name"] || !ref["name"].IsScalar() ||
            ref["name"].Scalar().empty()) {
          return fieldError(source, what, at + ".secretKeyRef.name", "missing");
        }
        m.secret_name = ref["name"].Scalar();
        m.secret_key = ref["key"] && ref["key"].IsScalar() && !ref["key"].Scalar().empty()
                           ? ref["key"].Scalar()
                           : m.secret_name;
      }
      if (const YAML::Node env = item["envRef"]) {
        if (!env.IsScalar() || env.Scalar().empty()) {
          return fieldError(source, what, at + ".envRef", "expected a variable name");
        }
        m.env_ref = env.Scalar();
      }
      spec.metadata.push_back(std::move(m));
    }
  }
  if (const YAML::Node auth = doc["auth"]) {
    if (auth["secretStore"] && auth["secretStore"].IsScalar())
      spec.secret_store = auth["secretStore"].Scalar();
  }
  if (const YAML::Node scopes = doc["scopes"]) {
    if (!scopes.IsSequence() && !scopes.IsNull()) {
      return fieldError(source, what, "scopes", "expected a list of app ids");
    }
    for (size_t i = 0; scopes.IsSequence() && i < scopes.size(); ++i) {
      spec.scopes.push_back(scalarText(scopes[i]));
    }
  }
  return spec;
}

StatusOr<Resources> loadResources(const std::vector<std::string>& dirs, const std::string& app_id,
                                  const std::string& namespace_name) {
  Resources out;
  std::set<std::string> component_names;
  for (const auto& dir : dirs) {
    std::error_code ec;
    if (!fs::is_directory(dir, ec)) {
      return invalidArgumentError("resources path '" + dir + "' is not a readable directory");
    }
    std::vector<fs::path> files;
    for (const auto& entry : fs::directory_iterator(dir, ec)) {
      if (!entry.is_regular_file()) continue;
      auto ext = entry.path().extension().string();
      if (ext == ".yaml" || ext == ".yml") {
        files.push_back(entry.path());
      } else {
        LOG_DEBUG << "skipping " << entry.path().string() << ": not a YAML file";
      }
    }
    if (ec)
      return invalidArgumentError("cannot list resources path '" + dir + "': " + ec.message());
    std::sort(files.begin(), files.end());
    for (const auto& file : files) {
      ASSIGN_OR_RETURN(std::vector<YAML::Node> docs, loadDocuments(file.string()));
      for (size_t i = 0; i < docs.size(); ++i) {
        const YAML::Node& doc = docs[i];
        if (!doc || doc.IsNull()) continue;
        std::string source =
            file.string() + (docs.size() > 1 ? " (document " + std::to_string(i + 1) + ")" : "");
        if (!doc.IsMap()) return invalidArgumentError(source + ": expected a YAML map");
        std::string api_version =
            doc["apiVersion"] && doc["apiVersion"].IsScalar() ? doc["apiVersion"].Scalar() : "";
        std::string kind = doc["kind"] && doc["kind"].IsScalar() ? doc["kind"].Scalar() : "";
        if (api_version.rfind("dapr.io/", 0) != 0) {
          LOG_DEBUG << source << ": skipping apiVersion '" << api_version << "'";
          continue;
        }
        if (kind == "Component") {
          if (api_version != "dapr.io/v1alpha1") {
            return invalidArgumentError(source + ": Component: field apiVersion: '" + api_version +
                                        "' is not dapr.io/v1alpha1");
          }
          ASSIGN_OR_RETURN(ComponentSpec spec, parseComponent(doc, source));
          if (!namespace_name.empty() && !spec.namespace_name.empty() &&
              spec.namespace_name != namespace_name) {
            continue;
          }
          if (!spec.scopes.empty() &&
              std::find(spec.scopes.begin(), spec.scopes.end(), app_id) == spec.scopes.end()) {
            LOG_INFO << "component '" << spec.name << "' is not scoped to app '" << app_id << "'";
            continue;
          }
          if (!component_names.insert(spec.name).second) {
            return invalidArgumentError(source + ": component '" + spec.name +
                                        "': field metadata.name: duplicate name");
          }
          out.components.push_back(std::move(spec));
        } else if (kind == "Subscription" || kind == "Resiliency" || kind == "Configuration" ||
                   kind == "HTTPEndpoint") {
          Resource r;
          r.source = source;
          r.api_version = api_version;
          r.kind = kind;
          if (doc["metadata"] && doc["metadata"]["name"] && doc["metadata"]["name"].IsScalar()) {
            r.name = doc["metadata"]["name"].Scalar();
          }
          if (r.name.empty())
            return invalidArgumentError(source + ": " + kind + ": field metadata.name: missing");
          r.node = doc;
          out.others.push_back(std::move(r));
        } else {
          LOG_WARN << source << ": skipping unknown kind '" << kind << "'";
        }
      }
    }
  }
  return out;
}

}  // namespace outrigger::sidecar::runtime
