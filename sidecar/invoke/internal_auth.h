#pragma once

// Proof that a call on the internal (sidecar-to-sidecar) port comes from a sidecar of the same
// installation, until mTLS (sentry) exists: the calling sidecar sends the installation's token
// and its own app id; the internal port compares the token in constant time before anything
// reaches the app, and only then tells the app who called (dapr-caller-app-id).
//
// Where the token comes from:
// - $OUTRIGGER_INTERNAL_TOKEN, in either mode (an installation spanning hosts, or Kubernetes
//   where every sidecar is given the same value);
// - standalone mode: the file "internal-token" (mode 0600) in the name-resolution directory,
//   created by the first sidecar; the sidecars that can find each other are those that share it;
// - Kubernetes mode without the variable: none. The port stays open (other pods must reach it),
//   but a caller's app id is never believed: the app gets no dapr-caller-app-id.
// DAPR_API_TOKEN is not used: it is per app, and two apps with different tokens must still be
// able to call each other.

#include <string>

#include "common/http/types.h"
#include "common/status/status.h"

namespace outrigger::sidecar::invoke {

inline constexpr const char* kInternalTokenEnv = "OUTRIGGER_INTERNAL_TOKEN";
inline constexpr const char* kInternalTokenFile = "internal-token";
// Set by the calling sidecar; never passed on to an app.
inline constexpr const char* kInternalTokenHeader = "outrigger-internal-token";
inline constexpr const char* kCallerAppIdHeader = "outrigger-caller-app-id";

// The token in path, or a new random one written there (0600) when there is none yet; a file
// that others than its owner can read is refused.
StatusOr<std::string> loadOrCreateTokenFile(const std::string& path);

class InternalAuth {
 public:
  // No token: calls are let in, but unauthenticated.
  InternalAuth() = default;
  explicit InternalAuth(std::string token) : token_(std::move(token)) {}
  // The installation's token, as described above; mode is "standalone" or "kubernetes".
  static InternalAuth forInstallation(const std::string& mode, const std::string& nr_dir);

  bool required() const { return !token_.empty(); }
  // Marks a call to another sidecar as coming from this one, serving caller_app_id.
  void stamp(outrigger::http::Request& req, const std::string& caller_app_id) const;
  // On the internal port: Unauthenticated (401) when a token is required and req does not carry
  // it. Otherwise req keeps none of the internal headers and no dapr-caller-app-id but the one
  // an authenticated caller stated.
  Status admit(outrigger::http::Request& req) const;

 private:
  std::string token_;
};

// Removes what only a sidecar may state (the internal headers, dapr-caller-app-id) from a
// request that came from an app's client.
void stripCallerClaims(outrigger::http::Request& req);

}  // namespace outrigger::sidecar::invoke
