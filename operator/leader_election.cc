#include "operator/leader_election.h"

#include <cstdio>
#include <ctime>

#include "common/logging/log.h"

namespace outrigger::operator_ {

namespace {

// A metav1.MicroTime: RFC 3339 in UTC with microseconds.
std::string microTime(std::chrono::system_clock::time_point t) {
  auto us = std::chrono::duration_cast<std::chrono::microseconds>(t.time_since_epoch()).count();
  std::time_t secs = static_cast<std::time_t>(us / 1000000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  size_t n = std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S", &tm);
  std::snprintf(buf + n, sizeof(buf) - n, ".%06dZ", static_cast<int>(us % 1000000));
  return buf;
}

std::string str(const json::Value* v) { return v && v->IsString() ? v->GetString() : ""; }

struct LeaseRecord {
  std::string holder;
  std::string acquire_time;
  std::string renew_time;
  int duration_seconds = 0;
  int transitions = 0;
};

std::string leaseBody(const LeaderElectionOptions& o, const std::string& resource_version,
                      const LeaseRecord& r) {
  json::Document doc(rapidjson::kObjectType);
  auto& a = doc.GetAllocator();
  auto s = [&](const std::string& v) { return json::Value(v.c_str(), a); };
  json::Value meta(rapidjson::kObjectType);
  meta.AddMember("name", s(o.lease_name), a);
  meta.AddMember("namespace", s(o.namespace_name), a);
  if (!resource_version.empty()) meta.AddMember("resourceVersion", s(resource_version), a);
  json::Value spec(rapidjson::kObjectType);
  spec.AddMember("holderIdentity", s(r.holder), a);
  spec.AddMember("leaseDurationSeconds", r.duration_seconds, a);
  spec.AddMember("acquireTime", s(r.acquire_time), a);
  spec.AddMember("renewTime", s(r.renew_time), a);
  spec.AddMember("leaseTransitions", r.transitions, a);
  doc.AddMember("apiVersion", "coordination.k8s.io/v1", a);
  doc.AddMember("kind", "Lease", a);
  doc.AddMember("metadata", meta, a);
  doc.AddMember("spec", spec, a);
  return json::serialize(doc);
}

std::string resourceVersionOf(const json::Value& lease) {
  const json::Value* meta = json::find(lease, "metadata");
  return meta ? str(json::find(*meta, "resourceVersion")) : "";
}

}  // namespace

std::string LeaderElection::path() const {
  return "/apis/coordination.k8s.io/v1/namespaces/" + options_.namespace_name + "/leases/" +
         options_.lease_name;
}

void LeaderElection::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  if (leader_.exchange(false)) release();
}

void LeaderElection::release() {
  auto lease = client_.get(path());
  if (!lease.ok()) return;
  const json::Value* spec = json::find(*lease, "spec");
  if (!spec || str(json::find(*spec, "holderIdentity")) != options_.identity) return;
  const json::Value* tr = json::find(*spec, "leaseTransitions");
  LeaseRecord r;
  r.duration_seconds = 1;
  r.acquire_time = r.renew_time = microTime(std::chrono::system_clock::now());
  r.transitions = tr && tr->IsInt() ? tr->GetInt() : 0;
  if (client_.replace(path(), leaseBody(options_, resourceVersionOf(*lease), r)).ok()) {
    LOG_INFO << "released the leader lease (" << options_.identity << ")";
  }
}

void LeaderElection::tryOnce() {
  auto lease = client_.get(path());
  // Times are taken once the Lease is read, so what was seen is never older than this round.
  auto now = Clock::now();
  std::string wall_now = microTime(std::chrono::system_clock::now());
  auto keep_or_step_down = [&](const std::string& why) {
    // A leader that cannot renew keeps leading until its renew deadline, which is shorter than
    // the lease: no other replica can have taken over by then.
    if (leader_ && now - renewed_at_ > std::chrono::milliseconds(options_.renew_deadline_ms)) {
      LOG_WARN << "leader election: " << why << "; stepping down (renew deadline passed)";
      leader_ = false;
    } else if (!leader_) {
      LOG_DEBUG << "leader election: " << why;
    }
  };
  LeaseRecord next;
  next.holder = options_.identity;
  next.duration_seconds = options_.lease_seconds;
  next.renew_time = wall_now;
  if (!lease.ok() && lease.status().code() == StatusCode::kNotFound) {
    next.acquire_time = wall_now;
    auto created = client_.create(
        "/apis/coordination.k8s.io/v1/namespaces/" + options_.namespace_name + "/leases",
        leaseBody(options_, "", next));
    if (!created.ok()) return keep_or_step_down(created.status().message());
    if (!leader_) {
      LOG_INFO << "became leader (" << options_.identity << ")";
    }
    leader_ = true;
    renewed_at_ = observed_at_ = now;
    observed_version_ = resourceVersionOf(*created);
    return;
  }
  if (!lease.ok()) return keep_or_step_down(lease.status().message());

  const json::Value* spec = json::find(*lease, "spec");
  std::string holder = spec ? str(json::find(*spec, "holderIdentity")) : "";
  std::string rv = resourceVersionOf(*lease);
  const json::Value* dur = spec ? json::find(*spec, "leaseDurationSeconds") : nullptr;
  int duration = dur && dur->IsInt() ? dur->GetInt() : options_.lease_seconds;
  const json::Value* tr = spec ? json::find(*spec, "leaseTransitions") : nullptr;
  int transitions = tr && tr->IsInt() ? tr->GetInt() : 0;
  if (rv != observed_version_) {
    observed_version_ = rv;
    observed_at_ = now;
  }
  bool mine = holder == options_.identity;
  bool expired = holder.empty() || now > observed_at_ + std::chrono::seconds(duration);
  if (!mine && !expired) {
    if (leader_) {
      LOG_WARN << "lost leadership to " << holder;
    }
    leader_ = false;
    return;
  }
  std::string acquired = spec ? str(json::find(*spec, "acquireTime")) : "";
  next.acquire_time = mine && !acquired.empty() ? acquired : wall_now;
  next.transitions = mine ? transitions : transitions + 1;
  auto updated = client_.replace(path(), leaseBody(options_, rv, next));
  if (!updated.ok()) {
    if (!mine) {
      leader_ = false;  // another replica was faster
      return;
    }
    return keep_or_step_down(updated.status().message());
  }
  if (!leader_) {
    LOG_INFO << "became leader (" << options_.identity << ")"
             << (mine ? "" : ", taking over from " + (holder.empty() ? "nobody" : holder));
  }
  leader_ = true;
  renewed_at_ = observed_at_ = now;
  observed_version_ = resourceVersionOf(*updated);
}

void LeaderElection::run() {
  while (!stop_) {
    tryOnce();
    for (int waited = 0; waited < options_.retry_period_ms && !stop_; waited += 50) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
}

}  // namespace outrigger::operator_
