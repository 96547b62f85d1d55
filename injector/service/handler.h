#pragma once

// Routes one HTTP request of the injector: POST /mutate, GET /healthz, GET /metrics. Transport
// free, so the HTTPS server and the tests share it.

#include <string>
#include <string_view>

#include "injector/service/admission.h"
#include "injector/service/metrics.h"

namespace outrigger::injector::service {

struct HttpReply {
  unsigned status = 200;
  std::string body;
  std::string content_type = "text/plain";
};

class Handler {
 public:
  Handler(AdmissionSettings settings, InjectorMetrics* metrics)
      : settings_(std::move(settings)), metrics_(metrics) {}

  HttpReply handle(std::string_view method, std::string_view target, std::string_view content_type,
                   std::string_view body) const;
  // The reply to a request whose body went over the limit (the body itself was not read).
  HttpReply tooLarge(std::string_view target, uint64_t limit) const;

  const AdmissionSettings& settings() const { return settings_; }

 private:
  HttpReply mutate(std::string_view method, std::string_view content_type,
                   std::string_view body) const;
  AdmissionSettings settings_;
  InjectorMetrics* metrics_;
};

}  // namespace outrigger::injector::service
