#include "injector/service/metrics.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <string>
#include <thread>
#include <vector>

namespace outrigger::injector::service {
namespace {

using ::testing::HasSubstr;
using ::testing::Not;

AdmissionResult result(Outcome outcome, std::string app_id = "") {
  AdmissionResult r;
  r.outcome = outcome;
  r.app_id = std::move(app_id);
  return r;
}

// The whole exposition, so that a change of name, help, order or number format shows.
TEST(injector_metrics, RendersThePrometheusTextFormat) {
  InjectorMetrics m;
  m.recordReview(result(Outcome::kInjected, "orders"), 0.00005);  // on a bound: that bucket
  m.recordReview(result(Outcome::kDenied), 0.0003);
  m.recordReview(result(Outcome::kSkipped), 2);  // above every bound: +Inf only
  m.recordHttp("/mutate", 200);
  m.recordHttp("/mutate", 200);
  m.recordHttp("other", 404);
  m.setCertificateGeneration(3);
  EXPECT_EQ(m.render(),
            "# HELP dapr_injector_sidecar_injection_requests_total Admission reviews received\n"
            "# TYPE dapr_injector_sidecar_injection_requests_total counter\n"
            "dapr_injector_sidecar_injection_requests_total 3\n"
            "# HELP dapr_injector_sidecar_injection_succeeded_total Pods given a sidecar, by app "
            "id\n"
            "# TYPE dapr_injector_sidecar_injection_succeeded_total counter\n"
            "dapr_injector_sidecar_injection_succeeded_total{app_id=\"orders\"} 1\n"
            "# HELP dapr_injector_sidecar_injection_failed_total Reviews that ended in a denial or "
            "a bad request, by reason\n"
            "# TYPE dapr_injector_sidecar_injection_failed_total counter\n"
            "dapr_injector_sidecar_injection_failed_total{reason=\"denied\"} 1\n"
            "# HELP outrigger_injector_admission_reviews_total Admission reviews by outcome: "
            "injected, skipped, denied, bad_request\n"
            "# TYPE outrigger_injector_admission_reviews_total counter\n"
            "outrigger_injector_admission_reviews_total{outcome=\"denied\"} 1\n"
            "outrigger_injector_admission_reviews_total{outcome=\"injected\"} 1\n"
            "outrigger_injector_admission_reviews_total{outcome=\"skipped\"} 1\n"
            "# HELP outrigger_injector_http_requests_total HTTPS requests by path and status code\n"
            "# TYPE outrigger_injector_http_requests_total counter\n"
            "outrigger_injector_http_requests_total{code=\"200\",path=\"/mutate\"} 2\n"
            "outrigger_injector_http_requests_total{code=\"404\",path=\"other\"} 1\n"
            "# HELP outrigger_injector_tls_certificate_loads How many times the serving "
            "certificate was loaded\n"
            "# TYPE outrigger_injector_tls_certificate_loads gauge\n"
            "outrigger_injector_tls_certificate_loads 3\n"
            "# HELP outrigger_injector_admission_latency_seconds Time spent on one admission "
            "review, from its body to its answer\n"
            "# TYPE outrigger_injector_admission_latency_seconds histogram\n"
            "outrigger_injector_admission_latency_seconds_count 3\n"
            "outrigger_injector_admission_latency_seconds_sum 2.00035\n"
            "outrigger_injector_admission_latency_seconds_bucket{le=\"5e-05\"} 1\n"
            "outrigger_injector_admission_latency_seconds_bucket{le=\"0.0001\"} 1\n"
            "outrigger_injector_admission_latency_seconds_bucket{le=\"0.00025\"} 1\n"
            "outrigger_injector_admission_latency_seconds_bucket{le=\"0.0005\"} 2\n"
            "outrigger_injector_admission_latency_seconds_bucket{le=\"0.001\"} 2\n"
            "outrigger_injector_admission_latency_seconds_bucket{le=\"0.0025\"} 2\n"
            "outrigger_injector_admission_latency_seconds_bucket{le=\"0.005\"} 2\n"
            "outrigger_injector_admission_latency_seconds_bucket{le=\"0.01\"} 2\n"
            "outrigger_injector_admission_latency_seconds_bucket{le=\"0.05\"} 2\n"
            "outrigger_injector_admission_latency_seconds_bucket{le=\"0.25\"} 2\n"
            "outrigger_injector_admission_latency_seconds_bucket{le=\"1\"} 2\n"
            "outrigger_injector_admission_latency_seconds_bucket{le=\"+Inf\"} 3\n");
}

// Labelled families appear with their first series; the rest are there from the start.
TEST(injector_metrics, FamiliesWithoutSeriesAreLeftOut) {
  InjectorMetrics m;
  std::string text = m.render();
  EXPECT_THAT(text, HasSubstr("dapr_injector_sidecar_injection_requests_total 0\n"));
  EXPECT_THAT(text, HasSubstr("outrigger_injector_tls_certificate_loads 0\n"));
  EXPECT_THAT(text,
              HasSubstr("outrigger_injector_admission_latency_seconds_bucket{le=\"+Inf\"} 0"));
  for (const char* family :
       {"dapr_injector_sidecar_injection_succeeded_total",
        "dapr_injector_sidecar_injection_failed_total",
        "outrigger_injector_admission_reviews_total", "outrigger_injector_http_requests_total"}) {
    EXPECT_THAT(text, Not(HasSubstr(family))) << family;
  }
}

TEST(injector_metrics, LabelValuesAreEscaped) {
  InjectorMetrics m;
  m.recordReview(result(Outcome::kInjected, "a\"b\\c\nd"), 0.001);
  EXPECT_THAT(m.render(), HasSubstr("dapr_injector_sidecar_injection_succeeded_total"
                                    "{app_id=\"a\\\"b\\\\c\\nd\"} 1\n"));
}

TEST(injector_metrics, CountsFromManyThreads) {
  InjectorMetrics m;
  std::vector<std::thread> threads;
  for (int t = 0; t < 4; ++t) {
    threads.emplace_back([&m] {
      for (int i = 0; i < 500; ++i) {
        m.recordHttp("/mutate", 200);
        m.recordReview(result(Outcome::kInjected, "orders"), 0.0001);
      }
    });
  }
  for (auto& t : threads) t.join();
  std::string text = m.render();
  EXPECT_THAT(text,
              HasSubstr("outrigger_injector_http_requests_total{code=\"200\",path=\"/mutate\"}"
                        " 2000\n"));
  EXPECT_THAT(text, HasSubstr("outrigger_injector_admission_latency_seconds_count 2000\n"));
  EXPECT_THAT(text, HasSubstr("dapr_injector_sidecar_injection_requests_total 2000\n"));
}

}  // namespace
}  // namespace outrigger::injector::service
