#pragma once

// A small Kubernetes API client on cpprestsdk (control-plane traffic is low-rate): in-cluster or
// kubeconfig configuration, JSON requests, and watch streams.

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "common/json/json.h"
#include "common/status/status.h"

namespace outrigger::kube {

struct KubeConfig {
  std::string server;  // https://host:port or http://host:port
  std::string token;
  // Read again for each request (a rotated token is picked up); its content, when it can be
  // read and is not empty, takes precedence over token (as client-go does).
  std::string token_file;
  std::string ca_file;
  std::string ca_data;  // PEM
  // TLS client authentication: a certificate (chain) and its private key, each from a PEM file
  // (read at each connection) or given as PEM text; the _data form wins when both are set.
  std::string client_cert_file;
  std::string client_key_file;
  std::string client_cert_data;
  std::string client_key_data;
  bool insecure = false;
  std::string namespace_name = "default";
};

// From the pod's service account (KUBERNETES_SERVICE_HOST/PORT, token and CA files).
StatusOr<KubeConfig> loadInClusterConfig();
// From a kubeconfig file's current context: the cluster's server, certificate-authority(-data)
// and insecure-skip-tls-verify, the context's namespace, and the user's token, tokenFile,
// client-certificate(-data) and client-key(-data). Relative file names are taken relative to the
// kubeconfig's directory, as kubectl does. The files and data are checked here (readable, valid
// base64, PEM that OpenSSL accepts, a key that matches the certificate): an error names the
// kubeconfig and the key at fault.
StatusOr<KubeConfig> loadKubeconfig(const std::string& path);

// The answer of a TokenReview (authentication.k8s.io/v1).
struct TokenReview {
  bool authenticated = false;
  std::string username;  // e.g. system:serviceaccount:<namespace>:<name>
  std::string error;     // why not authenticated, when the API server says
};

// Status codes: 404 -> kNotFound, 409 -> kAlreadyExists (create) or kAborted (conflict),
// 410 -> kOutOfRange (the resourceVersion is too old: relist), other -> kUnavailable.
class KubeClient {
 public:
  explicit KubeClient(KubeConfig config);
  ~KubeClient();

  StatusOr<json::Document> get(const std::string& path);
  StatusOr<json::Document> create(const std::string& path, const std::string& body);
  StatusOr<json::Document> replace(const std::string& path, const std::string& body);
  StatusOr<json::Document> mergePatch(const std::string& path, const std::string& body);
  Status remove(const std::string& path);
  // Asks the API server who a bearer token belongs to. audiences empty: the API server's own.
  StatusOr<TokenReview> reviewToken(const std::string& token,
                                    const std::vector<std::string>& audiences);

  // One watch request from resource_version: calls on_event(type, object) for each event line
  // (BOOKMARK included) until the server ends the stream, an error occurs, or stop is set.
  // Returns OK when the stream ended normally; kOutOfRange on 410 Gone.
  Status watch(
      const std::string& path, const std::string& resource_version,
      const std::function<void(const std::string& type, const json::Value& object)>& on_event,
      const std::atomic<bool>& stop, int timeout_seconds = 60);

  const KubeConfig& config() const { return config_; }

 private:
  StatusOr<json::Document> send(const std::string& method, const std::string& path,
                                const std::string& body, const std::string& content_type);
  struct Impl;
  KubeConfig config_;
  std::unique_ptr<Impl> impl_;
};

// Maps an HTTP status of the API server to a Status (message from its Status object if any).
Status statusFromHttp(int code, const std::string& body, const std::string& what);

}  // namespace outrigger::kube
