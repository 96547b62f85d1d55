#include "operator/handlers/service_reconciler.h"

#include <cctype>
#include <set>
#include <vector>

#include "common/logging/log.h"

namespace outrigger::operator_::handlers {

namespace {

const json::Value* path(const json::Value& v, std::initializer_list<const char*> keys) {
  const json::Value* cur = &v;
  for (const char* k : keys) {
    cur = json::find(*cur, k);
    if (!cur) return nullptr;
  }
  return cur;
}

std::string str(const json::Value* v) { return v && v->IsString() ? v->GetString() : ""; }

bool truthy(const std::string& s) {
  return s == "true" || s == "True" || s == "TRUE" || s == "1" || s == "yes" || s == "on";
}

}  // namespace

bool validAppId(const std::string& id) {
  if (id.empty() || id.size() > 63 - 5) return false;  // "<id>-dapr" must be a DNS label
  if (!std::isalnum(static_cast<unsigned char>(id.front())) ||
      !std::isalnum(static_cast<unsigned char>(id.back()))) {
    return false;
  }
  for (char c : id) {
    if (!(std::islower(static_cast<unsigned char>(c)) ||
          std::isdigit(static_cast<unsigned char>(c)) || c == '-'))
      return false;
  }
  return true;
}

std::string desiredService(const std::string& kind, const json::Value& w) {
  const json::Value* annotations = path(w, {"spec", "template", "metadata", "annotations"});
  if (!annotations || !truthy(str(json::find(*annotations, "dapr.io/enabled")))) return "";
  std::string app_id = str(json::find(*annotations, "dapr.io/app-id"));
  if (!validAppId(app_id)) return "";
  const json::Value* labels = path(w, {"spec", "selector", "matchLabels"});
  if (!labels || !labels->IsObject()) return "";
  std::string ns = str(path(w, {"metadata", "namespace"}));
  std::string name = str(path(w, {"metadata", "name"}));
  std::string uid = str(path(w, {"metadata", "uid"}));
  std::string metrics_port = str(json::find(*annotations, "dapr.io/metrics-port"));
  if (metrics_port.empty()) metrics_port = "9090";
  bool metrics = str(json::find(*annotations, "dapr.io/enable-metrics")) != "false";

  json::Document svc;
  svc.SetObject();
  auto& a = svc.GetAllocator();
  auto s = [&](const std::string& v) {
    return json::Value(v.c_str(), static_cast<rapidjson::SizeType>(v.size()), a);
  };
  svc.AddMember("apiVersion", "v1", a);
  svc.AddMember("kind", "Service", a);
  json::Value meta(rapidjson::kObjectType);
  meta.AddMember("name", s(app_id + "-dapr"), a);
  meta.AddMember("namespace", s(ns), a);
  json::Value svc_labels(rapidjson::kObjectType);
  svc_labels.AddMember("dapr.io/enabled", "true", a);
  meta.AddMember("labels", svc_labels, a);
  json::Value svc_annotations(rapidjson::kObjectType);
  svc_annotations.AddMember("dapr.io/app-id", s(app_id), a);
  if (metrics) {
    svc_annotations.AddMember("prometheus.io/scrape", "true", a);
    svc_annotations.AddMember("prometheus.io/probe", "true", a);
    svc_annotations.AddMember("prometheus.io/port", s(metrics_port), a);
    svc_annotations.AddMember("prometheus.io/path", "/", a);
  }
  meta.AddMember("annotations", svc_annotations, a);
  json::Value owners(rapidjson::kArrayType);
  json::Value owner(rapidjson::kObjectType);
  owner.AddMember("apiVersion", "apps/v1", a);
  owner.AddMember("kind", s(kind), a);
  owner.AddMember("name", s(name), a);
  owner.AddMember("uid", s(uid), a);
  owner.AddMember("controller", true, a);
  owner.AddMember("blockOwnerDeletion", true, a);
  owners.PushBack(owner, a);
  meta.AddMember("ownerReferences", owners, a);
  svc.AddMember("metadata", meta, a);

  json::Value spec(rapidjson::kObjectType);
  spec.AddMember("clusterIP", "None", a);
  json::Value selector(rapidjson::kObjectType);
  selector.CopyFrom(*labels, a);
  spec.AddMember("selector", selector, a);
  json::Value ports(rapidjson::kArrayType);
  auto port = [&](const char* pname, int p, int target) {
    json::Value v(rapidjson::kObjectType);
    v.AddMember("name", json::Value(pname, a), a);
    v.AddMember("protocol", "TCP", a);
    v.AddMember("port", p, a);
    v.AddMember("targetPort", target, a);
    ports.PushBack(v, a);
  };
  int mp = std::atoi(metrics_port.c_str());
  port("dapr-http", 80, 3500);
  port("dapr-grpc", 50001, 50001);
  port("dapr-internal", 50002, 50002);
  port("dapr-metrics", mp > 0 ? mp : 9090, mp > 0 ? mp : 9090);
  spec.AddMember("ports", ports, a);
  svc.AddMember("spec", spec, a);
  return json::serialize(svc);
}

void ServiceReconciler::reconcile(const std::string& kind, const json::Value& workload) {
  if (!is_leader_()) return;
  std::string desired = desiredService(kind, workload);
  if (desired.empty()) return;
  auto d = json::parse(desired);
  if (!d.ok()) return;
  std::string ns = (*d)["metadata"]["namespace"].GetString();
  std::string name = (*d)["metadata"]["name"].GetString();
  std::string base = "/api/v1/namespaces/" + ns + "/services";
  auto current = client_.get(base + "/" + name);
  if (!current.ok() && current.status().code() == StatusCode::kNotFound) {
    auto r = client_.create(base, desired);
    if (r.ok()) {
      created++;
      LOG_INFO << "created service " << ns << "/" << name;
    } else if (r.status().code() != StatusCode::kAlreadyExists) {
      LOG_WARN << "create service " << ns << "/" << name << ": " << r.status().message();
    }
    return;
  }
  if (!current.ok()) {
    LOG_WARN << "get service " << ns << "/" << name << ": " << current.status().message();
    return;
  }
  // Keep the API server's fields (clusterIP is immutable) and bring ours up to date.
  auto r = client_.mergePatch(base + "/" + name, desired);
  if (r.ok()) {
    updated++;
  } else {
    LOG_WARN << "update service " << ns << "/" << name << ": " << r.status().message();
  }
}

void ServiceReconciler::removeFor(const json::Value& workload) {
  if (!is_leader_()) return;
  const json::Value* annotations = path(workload, {"spec", "template", "metadata", "annotations"});
  std::string app_id = annotations ? str(json::find(*annotations, "dapr.io/app-id")) : "";
  if (!validAppId(app_id)) return;
  std::string ns = str(path(workload, {"metadata", "namespace"}));
  std::string uid = str(path(workload, {"metadata", "uid"}));
  std::string svc_path = "/api/v1/namespaces/" + ns + "/services/" + app_id + "-dapr";
  // Only a Service this workload owns: another workload may use the same app id.
  auto current = client_.get(svc_path);
  if (!current.ok()) return;
  const json::Value* owners = path(*current, {"metadata", "ownerReferences"});
  bool owned = false;
  for (rapidjson::SizeType i = 0; owners && owners->IsArray() && i < owners->Size(); ++i) {
    owned = owned || str(json::find((*owners)[i], "uid")) == uid;
  }
  if (!owned) return;
  if (client_.remove(svc_path).ok()) {
    deleted++;
    LOG_INFO << "deleted service " << ns << "/" << app_id << "-dapr";
  }
}

namespace {
std::string workloadKey(const std::string& kind, const json::Value& w) {
  return kind + "/" + str(path(w, {"metadata", "namespace"})) + "/" +
         str(path(w, {"metadata", "name"}));
}
}  // namespace

void ServiceReconciler::onList(const std::string& kind, const json::Value& items) {
  // Workloads deleted while the watch was down show only as absent from the new list.
  std::vector<std::string> vanished;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    std::map<std::string, std::pair<std::string, std::string>> fresh;
    for (const auto& w : items.GetArray()) fresh[workloadKey(kind, w)] = {kind, json::serialize(w)};
    for (auto it = workloads_.begin(); it != workloads_.end();) {
      if (it->second.first != kind) {
        ++it;
        continue;
      }
      if (!fresh.count(it->first)) vanished.push_back(it->second.second);
      it = workloads_.erase(it);
    }
    workloads_.insert(fresh.begin(), fresh.end());
  }
  for (const auto& text : vanished) {
    if (auto doc = json::parse(text); doc.ok()) removeFor(*doc);
  }
  for (const auto& w : items.GetArray()) reconcile(kind, w);
}

void ServiceReconciler::onEvent(const std::string& kind, const std::string& type,
                                const json::Value& object) {
  {
    std::lock_guard<std::mutex> lock(mutex_);
    if (type == "DELETED") {
      workloads_.erase(workloadKey(kind, object));
    } else {
      workloads_[workloadKey(kind, object)] = {kind, json::serialize(object)};
    }
  }
  if (type == "DELETED") {
    removeFor(object);
  } else {
    reconcile(kind, object);
  }
}

void ServiceReconciler::resync(bool collect) {
  std::map<std::string, std::pair<std::string, std::string>> copy;
  {
    std::lock_guard<std::mutex> lock(mutex_);
    copy = workloads_;
  }
  std::set<std::string> uids;
  for (const auto& [key, entry] : copy) {
    auto doc = json::parse(entry.second);
    if (!doc.ok()) continue;
    uids.insert(str(path(*doc, {"metadata", "uid"})));
    reconcile(entry.first, *doc);
  }
  if (!collect || !is_leader_()) return;
  // Services whose workload went away while no replica was leading (the garbage collector does
  // this on a real cluster too; doing it here does not depend on it).
  auto services = client_.get("/api/v1/services?labelSelector=dapr.io%2Fenabled%3Dtrue");
  const json::Value* items = services.ok() ? json::find(*services, "items") : nullptr;
  for (rapidjson::SizeType i = 0; items && items->IsArray() && i < items->Size(); ++i) {
    const json::Value& svc = (*items)[i];
    const json::Value* owners = path(svc, {"metadata", "ownerReferences"});
    if (!owners || !owners->IsArray() || owners->Empty()) continue;
    std::string kind = str(json::find((*owners)[0], "kind"));
    if (kind != "Deployment" && kind != "StatefulSet") continue;
    if (uids.count(str(json::find((*owners)[0], "uid")))) continue;
    std::string ns = str(path(svc, {"metadata", "namespace"}));
    std::string name = str(path(svc, {"metadata", "name"}));
    if (client_.remove("/api/v1/namespaces/" + ns + "/services/" + name).ok()) {
      deleted++;
      LOG_INFO << "deleted service " << ns << "/" << name << " (its " << kind << " is gone)";
    }
  }
}

}  // namespace outrigger::operator_::handlers
