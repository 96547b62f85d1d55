#include "sidecar/components/secretstores/local_file/local_file_secret_store.h"

#include <fstream>
#include <sstream>

#include "common/json/json.h"

namespace outrigger::sidecar::components::secretstores::local_file {

namespace {

void flatten(const json::Value& v, const std::string& prefix, const std::string& sep,
             std::map<std::string, std::string>* out) {
  if (v.IsObject()) {
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
      std::string key = prefix.empty() ? it->name.GetString() : prefix + sep + it->name.GetString();
      flatten(it->value, key, sep, out);
    }
    return;
  }
  (*out)[prefix] = json::scalarToString(v);
}

}  // namespace

Status LocalFileSecretStore::init(const runtime::Properties& p) {
  std::string path = p.get("secretsFile");
  std::string sep = p.get("nestedSeparator", ":");
  multi_valued_ = p.getBool("multiValued", false);
  std::ifstream in(path);
  if (!in) return invalidArgumentError("metadata field 'secretsFile': cannot read '" + path + "'");
  std::stringstream ss;
  ss << in.rdbuf();
  auto doc = json::parse(ss.str());
  if (!doc.ok())
    return invalidArgumentError("metadata field 'secretsFile': '" + path +
                                "': " + doc.status().message());
  if (!doc->IsObject())
    return invalidArgumentError("metadata field 'secretsFile': '" + path +
                                "' must hold a JSON object");
  if (multi_valued_) {
    for (auto it = doc->MemberBegin(); it != doc->MemberEnd(); ++it) {
      Secret secret;
      if (it->value.IsObject()) {
        flatten(it->value, "", sep, &secret);
      } else {
        secret[it->name.GetString()] = json::scalarToString(it->value);
      }
      secrets_[it->name.GetString()] = std::move(secret);
    }
  } else {
    std::map<std::string, std::string> flat;
    flatten(*doc, "", sep, &flat);
    for (auto& [k, v] : flat) secrets_[k] = Secret{{k, v}};
  }
  return okStatus();
}

std::vector<std::string> LocalFileSecretStore::features() const {
  return multi_valued_ ? std::vector<std::string>{"MULTIPLE_KEY_VALUES_PER_SECRET"}
                       : std::vector<std::string>{};
}

StatusOr<Secret> LocalFileSecretStore::get(const std::string& name,
                                           const std::map<std::string, std::string>&) {
  auto it = secrets_.find(name);
  if (it == secrets_.end()) return notFoundError("secret " + name + " not found");
  return it->second;
}

StatusOr<std::map<std::string, Secret>> LocalFileSecretStore::bulkGet(
    const std::map<std::string, std::string>&) {
  return secrets_;
}

void registerComponent(runtime::Registry& registry) {
  runtime::ComponentFactory<SecretStore> factory;
  factory.type = "secretstores.local.file";
  factory.blocking = false;
  factory.fields = {{"secretsFile", runtime::FieldType::kString, true, std::nullopt, {}},
                    {"nestedSeparator", runtime::FieldType::kString, false, ":", {}},
                    {"multiValued", runtime::FieldType::kBool, false, "false", {}}};
  factory.create = [] { return std::make_unique<LocalFileSecretStore>(); };
  (void)registry.secretstores.add(std::move(factory));
}

}  // namespace outrigger::sidecar::components::secretstores::local_file
