// AdmissionReview requests as the injector's /mutate endpoint takes them from the API server
// (or from anyone who reaches its port: the body is parsed before anything is checked). Each is
// reviewed with and without the requester check, so that pods of any requester reach the patcher.

#include <cstdint>
#include <string_view>

#include "injector/service/admission.h"
#include "tests/fuzz/repeat_mutator.h"

namespace {

outrigger::injector::service::AdmissionSettings settings(bool check_requester) {
  outrigger::injector::service::AdmissionSettings s;
  outrigger::injector::patcher::fillDefaultAddresses(&s.injector, true);
  s.allowed_service_accounts = {"default:deployer"};
  s.allowed_service_account_prefixes = {"ci-*:builder*"};
  s.check_requester = check_requester;
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  static const auto checked = settings(true);
  static const auto unchecked = settings(false);
  std::string_view body(reinterpret_cast<const char*>(data), size);
  (void)outrigger::injector::service::review(body, checked);
  (void)outrigger::injector::service::review(body, unchecked);
  return 0;
}
