#include "operator/leader_election.h"

#include <chrono>
#include <ctime>

#include "common/logging/log.h"

namespace outrigger::operator_ {

namespace {

std::string microTime(std::time_t t) {
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[40];
  std::strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%S.000000Z", &tm);
  return buf;
}

std::time_t parseTime(const std::string& s) {
  std::tm tm{};
  if (!strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm)) return 0;
  return timegm(&tm);
}

std::string str(const json::Value* v) { return v && v->IsString() ? v->GetString() : ""; }

}  // namespace

void LeaderElection::stop() {
  stop_ = true;
  if (thread_.joinable()) thread_.join();
  leader_ = false;
}

void LeaderElection::tryOnce() {
  const std::string base =
      "/apis/coordination.k8s.io/v1/namespaces/" + options_.namespace_name + "/leases";
  const std::string path = base + "/" + options_.lease_name;
  std::time_t now = std::time(nullptr);
  auto lease = client_.get(path);
  auto body = [&](const std::string& rv, int transitions) {
    std::string meta = "{\"name\":\"" + options_.lease_name + "\",\"namespace\":\"" +
                       options_.namespace_name + "\"";
    if (!rv.empty()) meta += ",\"resourceVersion\":\"" + rv + "\"";
    meta += "}";
    return "{\"apiVersion\":\"coordination.k8s.io/v1\",\"kind\":\"Lease\",\"metadata\":" + meta +
           ",\"spec\":{\"holderIdentity\":\"" + options_.identity +
           "\",\"leaseDurationSeconds\":" + std::to_string(options_.lease_seconds) +
           ",\"renewTime\":\"" + microTime(now) + "\",\"acquireTime\":\"" + microTime(now) +
           "\",\"leaseTransitions\":" + std::to_string(transitions) + "}}";
  };
  if (!lease.ok() && lease.status().code() == StatusCode::kNotFound) {
    bool won = client_.create(base, body("", 0)).ok();
    if (won && !leader_) LOG_INFO << "became leader (" << options_.identity << ")";
    leader_ = won;
    return;
  }
  if (!lease.ok()) {
    // Cannot tell: stop acting as leader once our own lease would have run out.
    LOG_WARN << "leader election: " << lease.status().message();
    leader_ = false;
    return;
  }
  const json::Value* spec = json::find(*lease, "spec");
  const json::Value* meta = json::find(*lease, "metadata");
  std::string holder = spec ? str(json::find(*spec, "holderIdentity")) : "";
  std::string rv = meta ? str(json::find(*meta, "resourceVersion")) : "";
  std::time_t renewed = spec ? parseTime(str(json::find(*spec, "renewTime"))) : 0;
  const json::Value* dur = spec ? json::find(*spec, "leaseDurationSeconds") : nullptr;
  int duration = dur && dur->IsInt() ? dur->GetInt() : options_.lease_seconds;
  const json::Value* tr = spec ? json::find(*spec, "leaseTransitions") : nullptr;
  int transitions = tr && tr->IsInt() ? tr->GetInt() : 0;
  bool mine = holder == options_.identity;
  bool expired = holder.empty() || now > renewed + duration;
  if (!mine && !expired) {
    if (leader_) LOG_WARN << "lost leadership to " << holder;
    leader_ = false;
    return;
  }
  bool won = client_.replace(path, body(rv, mine ? transitions : transitions + 1)).ok();
  if (won && !leader_) LOG_INFO << "became leader (" << options_.identity << ")";
  leader_ = won;
}

void LeaderElection::run() {
  while (!stop_) {
    tryOnce();
    for (int waited = 0; waited < options_.renew_every_ms && !stop_; waited += 50) {
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    }
  }
}

}  // namespace outrigger::operator_
