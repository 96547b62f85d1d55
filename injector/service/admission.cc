#include "injector/service/admission.h"

#include <openssl/evp.h>
#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "common/json/json.h"

namespace outrigger::injector::service {

using rapidjson::Value;

namespace {

// Service accounts of the controllers that create pods for users' workloads.
constexpr std::string_view kBuiltinServiceAccounts[] = {
    "kube-system:replicaset-controller",
    "kube-system:replication-controller",
    "kube-system:deployment-controller",
    "kube-system:cronjob-controller",
    "kube-system:job-controller",
    "kube-system:statefulset-controller",
    "kube-system:daemon-set-controller",
    "openshift-operator-lifecycle-manager:olm-operator-serviceaccount",
    "tekton-pipelines:tekton-pipelines-controller",
    "mirrord:mirrord-operator",
};
constexpr std::string_view kServiceAccountPrefix = "system:serviceaccount:";

std::string_view str(const Value& v, const char* name) {
  if (!v.IsObject()) return {};
  auto it = v.FindMember(name);
  if (it == v.MemberEnd() || !it->value.IsString()) return {};
  return {it->value.GetString(), it->value.GetStringLength()};
}

const Value* member(const Value& v, const char* name) {
  if (!v.IsObject()) return nullptr;
  auto it = v.FindMember(name);
  return it == v.MemberEnd() ? nullptr : &it->value;
}

// "pattern" matches "text" exactly, or as a prefix when it ends with '*'.
bool matches(std::string_view pattern, std::string_view text) {
  if (!pattern.empty() && pattern.back() == '*') {
    pattern.remove_suffix(1);
    return text.substr(0, pattern.size()) == pattern;
  }
  return pattern == text;
}

AdmissionResult badRequest(std::string message) {
  AdmissionResult r;
  r.http_status = 400;
  r.outcome = Outcome::kBadRequest;
  r.body = message + "\n";
  r.message = std::move(message);
  return r;
}

void writeString(rapidjson::Writer<rapidjson::StringBuffer>& w, std::string_view s) {
  w.String(s.data(), static_cast<rapidjson::SizeType>(s.size()));
}

std::string response(std::string_view api_version, std::string_view uid, bool allowed,
                     const std::string* patch, std::string_view deny_message,
                     const std::vector<std::string>& warnings) {
  rapidjson::StringBuffer buf;
  rapidjson::Writer<rapidjson::StringBuffer> w(buf);
  w.StartObject();
  w.Key("apiVersion");
  writeString(w, api_version);
  w.Key("kind");
  w.String("AdmissionReview");
  w.Key("response");
  w.StartObject();
  w.Key("uid");
  writeString(w, uid);
  w.Key("allowed");
  w.Bool(allowed);
  if (patch) {
    w.Key("patchType");
    w.String("JSONPatch");
    w.Key("patch");
    writeString(w, base64(*patch));
  }
  if (!allowed) {
    w.Key("result");
    w.StartObject();
    w.Key("status");
    w.String("Failure");
    w.Key("message");
    writeString(w, deny_message);
    w.Key("reason");
    w.String("BadRequest");
    w.Key("code");
    w.Int(400);
    w.EndObject();
  }
  if (!warnings.empty()) {
    w.Key("warnings");
    w.StartArray();
    for (const auto& warning : warnings) writeString(w, warning);
    w.EndArray();
  }
  w.EndObject();
  w.EndObject();
  return std::string(buf.GetString(), buf.GetSize());
}

}  // namespace

std::string base64(std::string_view data) {
  std::string out(4 * ((data.size() + 2) / 3), '\0');
  int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                          reinterpret_cast<const unsigned char*>(data.data()),
                          static_cast<int>(data.size()));
  out.resize(n > 0 ? static_cast<size_t>(n) : 0);
  return out;
}

bool requesterAllowed(const Value& user_info, const AdmissionSettings& settings) {
  if (!settings.check_requester) return true;
  if (const Value* groups = member(user_info, "groups"); groups && groups->IsArray()) {
    for (const auto& g : groups->GetArray()) {
      if (g.IsString() && std::string_view(g.GetString()) == "system:masters") return true;
    }
  }
  std::string_view user = str(user_info, "username");
  // The controller manager's own identity, when it does not run controllers as service accounts.
  if (user == "system:kube-controller-manager") return true;
  if (user.substr(0, kServiceAccountPrefix.size()) != kServiceAccountPrefix) return false;
  std::string_view account = user.substr(kServiceAccountPrefix.size());  // namespace:name
  for (std::string_view allowed : kBuiltinServiceAccounts) {
    if (account == allowed) return true;
  }
  for (const auto& allowed : settings.allowed_service_accounts) {
    if (account == allowed) return true;
  }
  size_t colon = account.find(':');
  if (colon == std::string_view::npos) return false;
  std::string_view ns = account.substr(0, colon), name = account.substr(colon + 1);
  for (std::string_view p : settings.allowed_service_account_prefixes) {
    size_t pc = p.find(':');
    if (pc == std::string_view::npos) continue;
    if (matches(p.substr(0, pc), ns) && matches(p.substr(pc + 1), name)) return true;
  }
  return false;
}

AdmissionResult review(std::string_view body, const AdmissionSettings& settings) {
  if (body.empty()) return badRequest("empty body");
  auto parsed = json::parse(body);
  if (!parsed.ok()) return badRequest("the body is not JSON: " + parsed.status().message());
  const json::Document& doc = *parsed;
  if (!doc.IsObject()) return badRequest("the body is not an AdmissionReview object");
  std::string_view api_version = str(doc, "apiVersion");
  if (api_version != "admission.k8s.io/v1" && api_version != "admission.k8s.io/v1beta1") {
    return badRequest("apiVersion \"" + std::string(api_version) +
                      "\" is not admission.k8s.io/v1 or admission.k8s.io/v1beta1");
  }
  if (str(doc, "kind") != "AdmissionReview") {
    return badRequest("kind \"" + std::string(str(doc, "kind")) + "\" is not AdmissionReview");
  }
  const Value* request = member(doc, "request");
  if (!request || !request->IsObject()) return badRequest("the AdmissionReview has no request");
  std::string_view uid = str(*request, "uid");
  if (uid.empty()) return badRequest("the AdmissionReview request has no uid");

  AdmissionResult r;
  auto allow = [&](std::string why) {
    r.outcome = Outcome::kSkipped;
    r.message = std::move(why);
    r.body = response(api_version, uid, true, nullptr, {}, {});
    return r;
  };

  const Value* kind = member(*request, "kind");
  if (!kind || str(*kind, "group") != "" || str(*kind, "version") != "v1" ||
      str(*kind, "kind") != "Pod") {
    return allow("not a Pod");
  }
  if (str(*request, "operation") != "CREATE") return allow("not a CREATE");
  if (!str(*request, "subResource").empty()) return allow("a subresource");
  const Value* object = member(*request, "object");
  if (!object || !object->IsObject())
    return badRequest("the AdmissionReview request has no object");
  static const Value kNoUser(rapidjson::kObjectType);
  const Value* user = member(*request, "userInfo");
  if (!requesterAllowed(user ? *user : kNoUser, settings)) {
    return allow("requester " + std::string(user ? str(*user, "username") : "") +
                 " may not create pods with a sidecar");
  }

  std::string_view ns = str(*request, "namespace");
  if (ns.empty()) {
    if (const Value* meta = member(*object, "metadata")) ns = str(*meta, "namespace");
  }
  auto built = patcher::buildPatch(*object, ns, settings.injector);
  if (!built.ok()) {
    r.outcome = Outcome::kDenied;
    r.message = built.status().message();
    r.body = response(api_version, uid, false, nullptr, r.message, {});
    return r;
  }
  if (!built->inject) return allow(built->skip_reason);
  r.outcome = Outcome::kInjected;
  r.app_id = built->app_id;
  r.body = response(api_version, uid, true, &built->patch, {}, built->warnings);
  r.warnings = std::move(built->warnings);
  return r;
}

}  // namespace outrigger::injector::service
