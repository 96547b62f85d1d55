#pragma once

// Checks of annotation values, so a bad value denies the pod with a message instead of producing
// a pod the API server refuses or a sidecar that cannot start.

#include <optional>
#include <string>
#include <string_view>

#include "common/status/status.h"

namespace outrigger::injector::patcher {

// Dapr's truthy spellings: 1, true, t, yes, y, on (case-insensitive).
bool isTruthy(std::string_view value);
// Truthy or falsy (0, false, f, no, n, off); anything else is an error naming the annotation.
StatusOr<bool> parseBool(std::string_view annotation, std::string_view value);
// A base-10 integer within [min, max]; surrounding spaces are allowed.
StatusOr<int> parseInt(std::string_view annotation, std::string_view value, int min, int max,
                       std::string_view expected);
StatusOr<int> parsePort(std::string_view annotation, std::string_view value);

// A Kubernetes resource quantity (e.g. 100m, 0.5, 128Mi, 1e3), not negative; its value in base
// units (cores or bytes) through *value.
bool parseQuantity(std::string_view text, long double* value);
// A byte size as outriggerd reads it: digits with an optional k, K, M, G, Ki, Mi or Gi.
bool isByteSize(std::string_view text);
// A Go duration such as 10s, 1m30s or 500ms.
bool isDuration(std::string_view text);

bool isDnsLabel(std::string_view name);      // RFC 1123 label, at most 63 characters
bool isDnsSubdomain(std::string_view name);  // RFC 1123 subdomain, at most 253 characters
bool isEnvVarName(std::string_view name);    // [-._a-zA-Z][-._a-zA-Z0-9]*
bool isSecretKey(std::string_view key);      // [-._a-zA-Z0-9]+, at most 253 characters

std::string_view trim(std::string_view s);

}  // namespace outrigger::injector::patcher
