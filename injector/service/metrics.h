#pragma once

// The injector's Prometheus metrics: Dapr's three injector counters plus Outrigger's outcome
// counts, latency histogram and HTTP request counts. Kept as plain counts and rendered in the text
// exposition format here, not through prometheus-cpp: its shared library would bring back the
// shared libstdc++ the injector does without to stay under its memory target (docs/performance.md).

#include <array>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "injector/service/admission.h"

namespace outrigger::injector::service {

class InjectorMetrics {
 public:
  // One admission review: its outcome and how long the injector took over it.
  void recordReview(const AdmissionResult& result, double seconds);
  // path is one of the served paths or "other" (a bounded label).
  void recordHttp(std::string_view path, unsigned status);
  void setCertificateGeneration(double generation);
  std::string render() const;

  // Upper bounds (seconds) of the latency histogram's buckets, +Inf implied.
  static constexpr std::array<double, 11> kLatencyBuckets = {
      0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.05, 0.25, 1};

 private:
  // A counter family: each series' label values, in the order of the family's label names, and
  // its count. A family is shown once it has a series.
  using Family = std::map<std::vector<std::string>, uint64_t>;

  mutable std::mutex mu_;  // the server may run on several threads
  uint64_t requests_ = 0;
  Family succeeded_;  // app_id
  Family failed_;     // reason
  Family reviews_;    // outcome
  Family http_;       // code, path
  double cert_generation_ = 0;
  std::array<uint64_t, kLatencyBuckets.size() + 1> latency_buckets_{};  // per bucket, then +Inf
  uint64_t latency_count_ = 0;
  double latency_sum_ = 0;
};

}  // namespace outrigger::injector::service
