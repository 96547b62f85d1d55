#include "injector/service/metrics.h"

#include <cmath>
#include <cstdio>
#include <initializer_list>

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

// The exposition format's escapes: backslash and newline (in help texts), and double quotes too
// (in label values).
void appendEscaped(std::string* out, std::string_view s, bool quote) {
  for (char c : s) {
    if (c == '\\') {
      *out += "\\\\";
    } else if (c == '\n') {
      *out += "\\n";
    } else if (c == '"' && quote) {
      *out += "\\\"";
    } else {
      *out += c;
    }
  }
}

// 16 significant digits, as prometheus-cpp wrote them before (0.3, 1000000, 5e-05).
void appendValue(std::string* out, double v) {
  if (std::isnan(v)) {
    *out += "NaN";
  } else if (std::isinf(v)) {
    *out += v < 0 ? "-Inf" : "+Inf";
  } else {
    char buf[32];
    int n = std::snprintf(buf, sizeof buf, "%.16g", v);
    out->append(buf, n > 0 ? static_cast<size_t>(n) : 0);
  }
}

void appendHeader(std::string* out, std::string_view name, std::string_view help,
                  std::string_view type) {
  *out += "# HELP ";
  *out += name;
  *out += ' ';
  appendEscaped(out, help, false);
  *out += "\n# TYPE ";
  *out += name;
  *out += ' ';
  *out += type;
  *out += '\n';
}

void appendSample(std::string* out, std::string_view name,
                  std::initializer_list<std::string_view> label_names,
                  const std::vector<std::string>& label_values, double value) {
  *out += name;
  if (label_names.size() > 0) {
    char sep = '{';
    size_t i = 0;
    for (std::string_view label : label_names) {
      *out += sep;
      *out += label;
      *out += "=\"";
      appendEscaped(out, label_values[i++], true);
      *out += '"';
      sep = ',';
    }
    *out += '}';
  }
  *out += ' ';
  appendValue(out, value);
  *out += '\n';
}

void appendFamily(std::string* out, std::string_view name, std::string_view help,
                  std::initializer_list<std::string_view> label_names,
                  const std::map<std::vector<std::string>, uint64_t>& family) {
  if (family.empty()) return;
  appendHeader(out, name, help, "counter");
  for (const auto& [values, count] : family) {
    appendSample(out, name, label_names, values, static_cast<double>(count));
  }
}

}  // namespace

void InjectorMetrics::recordReview(const AdmissionResult& result, double seconds) {
  std::lock_guard lock(mu_);
  ++requests_;
  ++reviews_[{outcomeName(result.outcome)}];
  if (result.outcome == Outcome::kInjected) {
    ++succeeded_[{result.app_id}];
  } else if (result.outcome == Outcome::kDenied || result.outcome == Outcome::kBadRequest) {
    ++failed_[{outcomeName(result.outcome)}];
  }
  size_t bucket = 0;  // the first whose upper bound is at least the value
  while (bucket < kLatencyBuckets.size() && seconds > kLatencyBuckets[bucket]) ++bucket;
  ++latency_buckets_[bucket];
  ++latency_count_;
  latency_sum_ += seconds;
}

void InjectorMetrics::recordHttp(std::string_view path, unsigned status) {
  std::lock_guard lock(mu_);
  ++http_[{std::to_string(status), std::string(path)}];
}

void InjectorMetrics::setCertificateGeneration(double generation) {
  std::lock_guard lock(mu_);
  cert_generation_ = generation;
}

std::string InjectorMetrics::render() const {
  std::string out;
  out.reserve(4096);
  std::lock_guard lock(mu_);
  const char* requests = "dapr_injector_sidecar_injection_requests_total";
  appendHeader(&out, requests, "Admission reviews received", "counter");
  appendSample(&out, requests, {}, {}, static_cast<double>(requests_));
  appendFamily(&out, "dapr_injector_sidecar_injection_succeeded_total",
               "Pods given a sidecar, by app id", {"app_id"}, succeeded_);
  appendFamily(&out, "dapr_injector_sidecar_injection_failed_total",
               "Reviews that ended in a denial or a bad request, by reason", {"reason"}, failed_);
  appendFamily(&out, "outrigger_injector_admission_reviews_total",
               "Admission reviews by outcome: injected, skipped, denied, bad_request", {"outcome"},
               reviews_);
  appendFamily(&out, "outrigger_injector_http_requests_total",
               "HTTPS requests by path and status code", {"code", "path"}, http_);
  const char* loads = "outrigger_injector_tls_certificate_loads";
  appendHeader(&out, loads, "How many times the serving certificate was loaded", "gauge");
  appendSample(&out, loads, {}, {}, cert_generation_);

  std::string latency = "outrigger_injector_admission_latency_seconds";
  appendHeader(&out, latency, "Time spent on one admission review, from its body to its answer",
               "histogram");
  appendSample(&out, latency + "_count", {}, {}, static_cast<double>(latency_count_));
  appendSample(&out, latency + "_sum", {}, {}, latency_sum_);
  uint64_t cumulative = 0;
  std::vector<std::string> le(1);
  for (size_t i = 0; i < latency_buckets_.size(); ++i) {
    cumulative += latency_buckets_[i];
    le[0].clear();
    appendValue(&le[0], i < kLatencyBuckets.size() ? kLatencyBuckets[i] : INFINITY);
    appendSample(&out, latency + "_bucket", {"le"}, le, static_cast<double>(cumulative));
  }
  return out;
}

}  // namespace outrigger::injector::service
