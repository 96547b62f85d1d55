#pragma once

// AdmissionReview in, AdmissionReview out (admission.k8s.io/v1 and v1beta1): decides whether a
// pod gets the sidecar and answers with the same uid, allowed and the base64 JSON Patch. Pure:
// no I/O, so the HTTPS layer and the tests share it.

#include <string>
#include <string_view>
#include <vector>

#include "injector/patcher/patcher.h"

namespace outrigger::injector::service {

struct AdmissionSettings {
  patcher::InjectorConfig injector;
  // Who may create pods that get a sidecar, besides system:masters and the built-in controllers:
  // "namespace:name" service accounts, and "namespace:prefix*" / "prefix*:name*" prefix patterns.
  std::vector<std::string> allowed_service_accounts;
  std::vector<std::string> allowed_service_account_prefixes;
  // Off: any requester's pods are injected (Dapr always checks).
  bool check_requester = true;
};

enum class Outcome {
  kInjected,    // allowed with a patch
  kSkipped,     // allowed, no patch
  kDenied,      // allowed: false, the pod is refused
  kBadRequest,  // HTTP 400: not an AdmissionReview
};

struct AdmissionResult {
  int http_status = 200;
  std::string body;  // AdmissionReview JSON, or the error text of a 400
  Outcome outcome = Outcome::kSkipped;
  std::string app_id;
  std::string message;                // why skipped, denied or bad
  std::vector<std::string> warnings;  // annotations accepted but not acted on
};

AdmissionResult review(std::string_view body, const AdmissionSettings& settings);

// Whether pods created by this requester may be injected (the contract's allow list).
bool requesterAllowed(const json::Value& user_info, const AdmissionSettings& settings);

std::string base64(std::string_view data);

}  // namespace outrigger::injector::service
