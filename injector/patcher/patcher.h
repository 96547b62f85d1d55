#pragma once

// Builds the RFC 6902 JSON Patch that adds the sidecar to a pod (the contract's §4.2 order):
// containers/labels containers if missing, the sentry token volume, the daprd container (or a
// native sidecar init container), the dapr.io labels, then the app containers' DAPR_* env.

#include <string>
#include <string_view>
#include <vector>

#include "common/json/json.h"
#include "common/status/status.h"
#include "injector/patcher/sidecar_config.h"

namespace outrigger::injector::patcher {

// What the injector knows of its cluster (flags and environment), the same for every pod.
struct InjectorConfig {
  std::string sidecar_image = "ghcr.io/outrigger/outriggerd:latest";
  std::string image_pull_policy = "IfNotPresent";
  std::string sidecar_command = "/usr/local/bin/outriggerd";
  std::string control_plane_namespace = "dapr-system";
  std::string trust_domain = "cluster.local";
  std::string cluster_domain = "cluster.local";
  // Empty: filled in by fillDefaultAddresses() from the namespace and cluster domain.
  std::string control_plane_address;
  std::string sentry_address;
  std::string placement_address;  // final value: empty means no placement
  std::string scheduler_address;  // empty: none
  std::string trust_anchors;      // PEM, given to the sidecar as DAPR_TRUST_ANCHORS
  bool enable_mtls = false;
  // Pod labels marking control-plane pods in the control-plane namespace (besides the
  // dapr.io/control-plane annotation): they never get a sidecar.
  std::vector<std::string> control_plane_apps = {"dapr-operator", "dapr-sidecar-injector",
                                                 "dapr-sentry", "dapr-placement-server",
                                                 "dapr-scheduler-server"};
};

// Dapr's service addresses for a control-plane namespace, where they are empty:
// dapr-api.<ns>.svc.<domain>:443, dapr-sentry.<ns>.svc.<domain>:443 and, when
// default_placement is set, dapr-placement-server.<ns>.svc.<domain>:50005.
void fillDefaultAddresses(InjectorConfig* config, bool default_placement);

inline constexpr std::string_view kSidecarName = "daprd";
inline constexpr std::string_view kTokenVolume = "dapr-identity-token";
inline constexpr std::string_view kTokenMountPath = "/var/run/secrets/dapr.io/sentrytoken";

struct PatchResult {
  bool inject = false;
  std::string skip_reason;  // when not injected
  std::string app_id;
  bool metrics_enabled = false;
  std::string patch;  // JSON array text
  std::vector<std::string> warnings;
};

// pod: the Pod object of the admission request; ns: the request's namespace (a pod being created
// may not carry metadata.namespace). Not injecting is a result; a bad annotation or app id is an
// InvalidArgument whose message names it.
StatusOr<PatchResult> buildPatch(const json::Value& pod, std::string_view ns,
                                 const InjectorConfig& config);

// The app id a pod gets: dapr.io/app-id, else its controller's name (a Deployment's ReplicaSet
// name loses the pod-template-hash), else the pod's name or generateName stem.
std::string defaultAppId(const json::Value& pod);

// Whether an app id can be used: the operator names a Service <app-id>-dapr after it, so it must
// be a DNS label of at most 58 characters.
Status validateAppId(std::string_view app_id, bool from_annotation);

// "~" and "/" escaped for a JSON Pointer segment.
std::string escapePointer(std::string_view segment);

}  // namespace outrigger::injector::patcher
