#pragma once

// The pod annotations the injector reads: Dapr's catalogue (docs/annotations.md lists each with
// its default) plus Outrigger's own under outrigger.io/.

#include <string_view>

namespace outrigger::injector::annotations {

inline constexpr std::string_view kEnabled = "dapr.io/enabled";
inline constexpr std::string_view kAppId = "dapr.io/app-id";
inline constexpr std::string_view kAppPort = "dapr.io/app-port";
inline constexpr std::string_view kAppProtocol = "dapr.io/app-protocol";
inline constexpr std::string_view kAppSsl = "dapr.io/app-ssl";
inline constexpr std::string_view kAppChannelAddress = "dapr.io/app-channel-address";
inline constexpr std::string_view kConfig = "dapr.io/config";
inline constexpr std::string_view kAppMaxConcurrency = "dapr.io/app-max-concurrency";
inline constexpr std::string_view kLogLevel = "dapr.io/log-level";
inline constexpr std::string_view kLogAsJson = "dapr.io/log-as-json";
inline constexpr std::string_view kEnableApiLogging = "dapr.io/enable-api-logging";
inline constexpr std::string_view kEnableMetrics = "dapr.io/enable-metrics";
inline constexpr std::string_view kMetricsPort = "dapr.io/metrics-port";
inline constexpr std::string_view kGrpcPort = "dapr.io/grpc-port";
inline constexpr std::string_view kInternalGrpcPort = "dapr.io/internal-grpc-port";
inline constexpr std::string_view kListenAddresses = "dapr.io/sidecar-listen-addresses";
inline constexpr std::string_view kApiTokenSecret = "dapr.io/api-token-secret";
inline constexpr std::string_view kAppTokenSecret = "dapr.io/app-token-secret";
inline constexpr std::string_view kEnv = "dapr.io/env";
inline constexpr std::string_view kEnvFromSecret = "dapr.io/env-from-secret";
inline constexpr std::string_view kCpuRequest = "dapr.io/sidecar-cpu-request";
inline constexpr std::string_view kCpuLimit = "dapr.io/sidecar-cpu-limit";
inline constexpr std::string_view kMemoryRequest = "dapr.io/sidecar-memory-request";
inline constexpr std::string_view kMemoryLimit = "dapr.io/sidecar-memory-limit";
inline constexpr std::string_view kLivenessDelay = "dapr.io/sidecar-liveness-probe-delay-seconds";
inline constexpr std::string_view kLivenessTimeout =
    "dapr.io/sidecar-liveness-probe-timeout-seconds";
inline constexpr std::string_view kLivenessPeriod = "dapr.io/sidecar-liveness-probe-period-seconds";
inline constexpr std::string_view kLivenessThreshold = "dapr.io/sidecar-liveness-probe-threshold";
inline constexpr std::string_view kReadinessDelay = "dapr.io/sidecar-readiness-probe-delay-seconds";
inline constexpr std::string_view kReadinessTimeout =
    "dapr.io/sidecar-readiness-probe-timeout-seconds";
inline constexpr std::string_view kReadinessPeriod =
    "dapr.io/sidecar-readiness-probe-period-seconds";
inline constexpr std::string_view kReadinessThreshold = "dapr.io/sidecar-readiness-probe-threshold";
inline constexpr std::string_view kSidecarImage = "dapr.io/sidecar-image";
inline constexpr std::string_view kSeccompProfileType = "dapr.io/sidecar-seccomp-profile-type";
inline constexpr std::string_view kHttpMaxRequestSize = "dapr.io/http-max-request-size";
inline constexpr std::string_view kMaxBodySize = "dapr.io/max-body-size";
inline constexpr std::string_view kHttpReadBufferSize = "dapr.io/http-read-buffer-size";
inline constexpr std::string_view kReadBufferSize = "dapr.io/read-buffer-size";
inline constexpr std::string_view kGracefulShutdownSeconds = "dapr.io/graceful-shutdown-seconds";
inline constexpr std::string_view kBlockShutdownDuration = "dapr.io/block-shutdown-duration";
inline constexpr std::string_view kVolumeMounts = "dapr.io/volume-mounts";
inline constexpr std::string_view kVolumeMountsRw = "dapr.io/volume-mounts-rw";
inline constexpr std::string_view kDisableBuiltinK8sSecretStore =
    "dapr.io/disable-builtin-k8s-secret-store";
inline constexpr std::string_view kEnableAppHealthCheck = "dapr.io/enable-app-health-check";
inline constexpr std::string_view kAppHealthCheckPath = "dapr.io/app-health-check-path";
inline constexpr std::string_view kAppHealthProbeInterval = "dapr.io/app-health-probe-interval";
inline constexpr std::string_view kAppHealthProbeTimeout = "dapr.io/app-health-probe-timeout";
inline constexpr std::string_view kAppHealthThreshold = "dapr.io/app-health-threshold";
inline constexpr std::string_view kPlacementHostAddress = "dapr.io/placement-host-address";
inline constexpr std::string_view kSchedulerHostAddress = "dapr.io/scheduler-host-address";
inline constexpr std::string_view kControlPlane = "dapr.io/control-plane";

// Dapr annotations this runtime does not act on; a pod carrying one is injected with a warning.
inline constexpr std::string_view kEnableProfiling = "dapr.io/enable-profiling";
inline constexpr std::string_view kEnableDebug = "dapr.io/enable-debug";
inline constexpr std::string_view kDebugPort = "dapr.io/debug-port";
inline constexpr std::string_view kUnixDomainSocketPath = "dapr.io/unix-domain-socket-path";
inline constexpr std::string_view kPluggableComponents = "dapr.io/pluggable-components";
inline constexpr std::string_view kPluggableComponentsSocketsFolder =
    "dapr.io/pluggable-components-sockets-folder";
inline constexpr std::string_view kComponentContainer = "dapr.io/component-container";
inline constexpr std::string_view kInjectPluggableComponents =
    "dapr.io/inject-pluggable-components";

// Outrigger's own: run the sidecar as a Kubernetes native sidecar (an init container with
// restartPolicy Always), so app containers start once it is ready.
inline constexpr std::string_view kNativeSidecar = "outrigger.io/native-sidecar";

// Labels the injector sets.
inline constexpr std::string_view kLabelSidecarInjected = "dapr.io/sidecar-injected";
inline constexpr std::string_view kLabelAppId = "dapr.io/app-id";
inline constexpr std::string_view kLabelMetricsEnabled = "dapr.io/metrics-enabled";

}  // namespace outrigger::injector::annotations
