#include "injector/service/handler.h"

#include <chrono>

#include "common/logging/log.h"

namespace outrigger::injector::service {

namespace {

std::string_view pathOf(std::string_view target) {
  // The API server calls /mutate?timeout=10s.
  return target.substr(0, target.find('?'));
}

std::string_view metricPath(std::string_view path) {
  for (std::string_view known : {"/mutate", "/healthz", "/metrics"}) {
    if (path == known) return known;
  }
  return "other";
}

}  // namespace

HttpReply Handler::handle(std::string_view method, std::string_view target,
                          std::string_view content_type, std::string_view body) const {
  std::string_view path = pathOf(target);
  HttpReply reply;
  if (path == "/mutate") {
    reply = mutate(method, content_type, body);
  } else if (path == "/healthz" && (method == "GET" || method == "HEAD")) {
    reply.body = "ok\n";
  } else if (path == "/metrics" && method == "GET" && metrics_) {
    reply.body = metrics_->render();
    reply.content_type = "text/plain; version=0.0.4";
  } else if (path == "/healthz" || path == "/metrics") {
    reply = {405, "method not allowed\n"};
  } else {
    reply = {404, "not found\n"};
  }
  if (metrics_) metrics_->recordHttp(metricPath(path), reply.status);
  return reply;
}

HttpReply Handler::tooLarge(std::string_view target, uint64_t limit) const {
  HttpReply reply{413, "request body larger than " + std::to_string(limit) + " bytes\n"};
  if (metrics_) {
    metrics_->recordHttp(metricPath(pathOf(target)), reply.status);
    if (pathOf(target) == "/mutate") {
      AdmissionResult r;
      r.outcome = Outcome::kBadRequest;
      metrics_->recordReview(r, 0);
    }
  }
  return reply;
}

HttpReply Handler::mutate(std::string_view method, std::string_view content_type,
                          std::string_view body) const {
  if (method != "POST") return {405, "method not allowed: use POST\n"};
  std::string_view media = content_type.substr(0, content_type.find(';'));
  while (!media.empty() && media.back() == ' ') media.remove_suffix(1);
  if (media != "application/json") {
    return {415, "unsupported content type \"" + std::string(content_type) +
                     "\": expected application/json\n"};
  }
  auto start = std::chrono::steady_clock::now();
  AdmissionResult result = review(body, settings_);
  double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (metrics_) metrics_->recordReview(result, seconds);
  switch (result.outcome) {
    case Outcome::kInjected:
      LOG_INFO << "injected the sidecar for app " << result.app_id;
      for (const auto& w : result.warnings) LOG_WARN << "app " << result.app_id << ": " << w;
      break;
    case Outcome::kDenied: LOG_WARN << "denied a pod: " << result.message; break;
    case Outcome::kBadRequest: LOG_WARN << "bad admission request: " << result.message; break;
    case Outcome::kSkipped: LOG_DEBUG << "no sidecar: " << result.message; break;
  }
  if (result.http_status != 200) return {static_cast<unsigned>(result.http_status), result.body};
  return {200, std::move(result.body), "application/json"};
}

}  // namespace outrigger::injector::service
