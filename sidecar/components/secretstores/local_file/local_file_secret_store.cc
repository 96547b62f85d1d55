#include "sidecar/components/secretstores/local_file/local_file_secret_store.h"

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "common/json/json.h"

namespace outrigger::sidecar::components::secretstores::local_file {

namespace {

using Value = rapidjson::Value;

std::string leafText(const Value& v) {
  if (v.IsString()) return std::string(v.GetString(), v.GetStringLength());
  if (v.IsBool()) return v.GetBool() ? "true" : "false";
  return "";  // null
}

// Adds every leaf below v to out, named by its path from `path`. Two leaves with the same flat
// name ({"a:b": 1, "a": {"b": 2}}) would silently hide one another: that is an error.
Status flatten(const Value& v, const std::string& path, const std::string& sep,
               std::map<std::string, std::string>* out) {
  auto child = [&](const std::string& name) { return path.empty() ? name : path + sep + name; };
  if (v.IsObject()) {
    for (auto it = v.MemberBegin(); it != v.MemberEnd(); ++it) {
      std::string name(it->name.GetString(), it->name.GetStringLength());
      if (Status st = flatten(it->value, child(name), sep, out); !st.ok()) return st;
    }
    return okStatus();
  }
  if (v.IsArray()) {
    for (rapidjson::SizeType i = 0; i < v.Size(); ++i) {
      if (Status st = flatten(v[i], child(std::to_string(i)), sep, out); !st.ok()) return st;
    }
    return okStatus();
  }
  if (!out->emplace(path, leafText(v)).second) {
    return invalidArgumentError("the name '" + path + "' appears twice once flattened");
  }
  return okStatus();
}

}  // namespace

Status LocalFileSecretStore::init(const runtime::Properties& p) {
  const std::string path = p.get("secretsFile");
  std::string sep = p.get("nestedSeparator", ":");
  if (sep.empty()) sep = ":";
  multi_valued_ = p.getBool("multiValued", false);

  // Relative paths are relative to the working directory, like `dapr run`; the message shows
  // where that led so a wrong directory is obvious.
  std::error_code ec;
  std::string shown = "'" + path + "'";
  auto absolute = std::filesystem::absolute(path, ec);
  if (!ec && absolute.string() != path) shown += " (" + absolute.string() + ")";
  auto fail = [&](const std::string& why) {
    return invalidArgumentError("metadata field 'secretsFile': " + shown + ": " + why);
  };
  if (std::filesystem::is_directory(path, ec)) return fail("is a directory");
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(std::string("cannot be read: ") + std::strerror(errno));
  std::stringstream text;
  text << in.rdbuf();
  if (in.bad()) return fail("read failed");

  // Numbers are parsed as strings so a secret holds the digits written in the file ("5432",
  // "1.50", "12345678901234567890"), not a re-printed double.
  auto parsed = json::parse(text.str(), json::ParseOptions{.numbers_as_strings = true});
  if (!parsed.ok()) return fail("not valid JSON: " + parsed.status().message());
  const json::Document& doc = *parsed;
  if (!doc.IsObject()) return fail("must hold a JSON object");

  std::map<std::string, Secret> secrets;
  if (multi_valued_) {
    for (auto it = doc.MemberBegin(); it != doc.MemberEnd(); ++it) {
      std::string name(it->name.GetString(), it->name.GetStringLength());
      Secret secret;
      if (it->value.IsObject() || it->value.IsArray()) {
        if (Status st = flatten(it->value, "", sep, &secret); !st.ok()) {
          return fail("secret '" + name + "': " + st.message());
        }
      } else {
        secret[name] = leafText(it->value);
      }
      if (!secrets.emplace(name, std::move(secret)).second) {
        return fail("the secret '" + name + "' appears twice");
      }
    }
  } else {
    std::map<std::string, std::string> flat;
    if (Status st = flatten(doc, "", sep, &flat); !st.ok()) return fail(st.message());
    for (auto& [name, value] : flat) secrets[name] = Secret{{name, std::move(value)}};
  }
  secrets_ = std::move(secrets);
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
  factory.blocking = false;  // memory only after init
  factory.fields = {{"secretsFile", runtime::FieldType::kString, true, std::nullopt, {}},
                    {"nestedSeparator", runtime::FieldType::kString, false, ":", {}},
                    {"multiValued", runtime::FieldType::kBool, false, "false", {}}};
  factory.create = [] { return std::make_unique<LocalFileSecretStore>(); };
  (void)registry.secretstores.add(std::move(factory));
}

}  // namespace outrigger::sidecar::components::secretstores::local_file
