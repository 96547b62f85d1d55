#include "injector/service/metrics.h"

#include "common/metrics/metrics.h"

namespace outrigger::injector::service {

namespace {

const char* outcomeName(Outcome o) {
  switch (o) {
    case Outcome::kInjected: return "injected";
    case Outcome::kSkipped: return "skipped";
    case Outcome::kDenied: return "denied";
    case Outcome::kBadRequest: return "bad_request";
  }
  return "unknown";
}

}  // namespace

InjectorMetrics::InjectorMetrics() : registry_(std::make_shared<prometheus::Registry>()) {
  requests_ = &prometheus::BuildCounter()
                   .Name("dapr_injector_sidecar_injection_requests_total")
                   .Help("Admission reviews received")
                   .Register(*registry_)
                   .Add({});
  succeeded_ = &prometheus::BuildCounter()
                    .Name("dapr_injector_sidecar_injection_succeeded_total")
                    .Help("Pods given a sidecar, by app id")
                    .Register(*registry_);
  failed_ = &prometheus::BuildCounter()
                 .Name("dapr_injector_sidecar_injection_failed_total")
                 .Help("Reviews that ended in a denial or a bad request, by reason")
                 .Register(*registry_);
  reviews_ = &prometheus::BuildCounter()
                  .Name("outrigger_injector_admission_reviews_total")
                  .Help("Admission reviews by outcome: injected, skipped, denied, bad_request")
                  .Register(*registry_);
  latency_ =
      &prometheus::BuildHistogram()
           .Name("outrigger_injector_admission_latency_seconds")
           .Help("Time spent on one admission review, from its body to its answer")
           .Register(*registry_)
           .Add({}, prometheus::Histogram::BucketBoundaries{0.00005, 0.0001, 0.00025, 0.0005, 0.001,
                                                            0.0025, 0.005, 0.01, 0.05, 0.25, 1});
  http_ = &prometheus::BuildCounter()
               .Name("outrigger_injector_http_requests_total")
               .Help("HTTPS requests by path and status code")
               .Register(*registry_);
  cert_generation_ = &prometheus::BuildGauge()
                          .Name("outrigger_injector_tls_certificate_loads")
                          .Help("How many times the serving certificate was loaded")
                          .Register(*registry_)
                          .Add({});
}

void InjectorMetrics::recordReview(const AdmissionResult& result, double seconds) {
  requests_->Increment();
  reviews_->Add({{"outcome", outcomeName(result.outcome)}}).Increment();
  if (result.outcome == Outcome::kInjected) {
    succeeded_->Add({{"app_id", result.app_id}}).Increment();
  } else if (result.outcome == Outcome::kDenied || result.outcome == Outcome::kBadRequest) {
    failed_->Add({{"reason", outcomeName(result.outcome)}}).Increment();
  }
  latency_->Observe(seconds);
}

void InjectorMetrics::recordHttp(std::string_view path, unsigned status) {
  http_->Add({{"path", std::string(path)}, {"code", std::to_string(status)}}).Increment();
}

std::string InjectorMetrics::render() const { return metrics::renderText(*registry_); }

}  // namespace outrigger::injector::service
