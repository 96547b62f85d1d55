#pragma once

// Prometheus text exposition of a prometheus-cpp registry, served by our own HTTP server rather
// than prometheus-cpp's civetweb exposer (fewer threads, less memory).

#include <prometheus/registry.h>

#include <memory>
#include <string>

namespace outrigger::metrics {

std::string renderText(const prometheus::Registry& registry);

}  // namespace outrigger::metrics
