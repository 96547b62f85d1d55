#pragma once

// The injector's Prometheus metrics: Dapr's three injector counters plus Outrigger's outcome
// counts, latency histogram and HTTP request counts.

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>

#include <memory>
#include <string>

#include "injector/service/admission.h"

namespace outrigger::injector::service {

class InjectorMetrics {
 public:
  InjectorMetrics();
  // One admission review: its outcome and how long the injector took over it.
  void recordReview(const AdmissionResult& result, double seconds);
  // path is one of the served paths or "other" (a bounded label).
  void recordHttp(std::string_view path, unsigned status);
  void setCertificateGeneration(double generation) { cert_generation_->Set(generation); }
  std::string render() const;

 private:
  std::shared_ptr<prometheus::Registry> registry_;
  prometheus::Counter* requests_;
  prometheus::Family<prometheus::Counter>* succeeded_;
  prometheus::Family<prometheus::Counter>* failed_;
  prometheus::Family<prometheus::Counter>* reviews_;
  prometheus::Histogram* latency_;
  prometheus::Family<prometheus::Counter>* http_;
  prometheus::Gauge* cert_generation_;
};

}  // namespace outrigger::injector::service
