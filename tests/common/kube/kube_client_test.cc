// loadKubeconfig with each form of user credentials (client certificate and key as files relative
// to the kubeconfig or as base64 data, tokenFile) and its errors; then TLS client authentication
// end to end: a TLS server in this test requires a client certificate signed by a test CA, and a
// list request and a watch succeed with the right certificate and fail (with an error, not a hang)
// without one or with one from another CA. The CA, server and client certificates are made with
// the openssl command when the suite starts, in a temporary directory.
// Waits below only guard against a hang; no assertion depends on how long anything takes.

#include "common/kube/kube_client.h"

#include <gtest/gtest.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace outrigger::kube {
namespace {

namespace fs = std::filesystem;
namespace asio = boost::asio;
namespace bhttp = boost::beast::http;

constexpr auto kHangGuard = std::chrono::seconds(30);

std::string readAll(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

void writeAll(const std::string& path, const std::string& text) {
  fs::create_directories(fs::path(path).parent_path());
  std::ofstream(path, std::ios::binary) << text;
}

std::string base64(const std::string& in) {
  std::string out(boost::beast::detail::base64::encoded_size(in.size()), '\0');
  out.resize(boost::beast::detail::base64::encode(out.data(), in.data(), in.size()));
  return out;
}

// The test PKI: ca.crt signs server.crt (for 127.0.0.1) and client.crt (CN test-client; its key
// also as client.rsa.key in the PKCS#1 form kind writes); other-ca.crt signs rogue.crt.
std::string* pki_dir = nullptr;
std::string* pki_error = nullptr;

class KubeconfigTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    char tmpl[] = "/tmp/kube-client-test-XXXXXX";
    pki_dir = new std::string(mkdtemp(tmpl) ? tmpl : "");
    pki_error = new std::string();
    if (pki_dir->empty()) {
      *pki_error = "mkdtemp failed";
      return;
    }
    const std::string script = R"(set -e
ec="-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes"
openssl req -x509 $ec -keyout ca.key -out ca.crt -days 2 -subj /CN=test-ca
openssl req $ec -keyout server.key -out server.csr -subj /CN=127.0.0.1
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' > server.ext
openssl x509 -req -in server.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out server.crt \
  -days 2 -extfile server.ext
openssl req -newkey rsa:2048 -nodes -keyout client.key -out client.csr -subj /CN=test-client
openssl rsa -in client.key -traditional -out client.rsa.key
printf 'extendedKeyUsage=clientAuth\n' > client.ext
openssl x509 -req -in client.csr -CA ca.crt -CAkey ca.key -CAcreateserial -out client.crt \
  -days 2 -extfile client.ext
openssl req -x509 $ec -keyout other-ca.key -out other-ca.crt -days 2 -subj /CN=other-ca
openssl req $ec -keyout rogue.key -out rogue.csr -subj /CN=rogue
openssl x509 -req -in rogue.csr -CA other-ca.crt -CAkey other-ca.key -CAcreateserial \
  -out rogue.crt -days 2 -extfile client.ext
)";
    writeAll(*pki_dir + "/make.sh", script);
    std::string cmd = "cd " + *pki_dir + " && bash make.sh > openssl.log 2>&1";
    if (std::system(cmd.c_str()) != 0) {
      *pki_error = "openssl failed: " + readAll(*pki_dir + "/openssl.log");
    }
  }
  static void TearDownTestSuite() {
    std::error_code ec;
    if (pki_dir && !pki_dir->empty()) fs::remove_all(*pki_dir, ec);
    delete pki_dir;
    delete pki_error;
    pki_dir = pki_error = nullptr;
  }
  void SetUp() override { ASSERT_TRUE(pki_error->empty()) << *pki_error; }

  static std::string pki(const std::string& name) { return *pki_dir + "/" + name; }

  // Writes a kubeconfig at <pki>/<name>/config whose current context "dev" uses cluster
  // dev-cluster (cluster_fields added to its server) and user dev-user (user_fields); returns
  // its path.
  static std::string kubeconfig(const std::string& name, const std::string& server,
                                const std::vector<std::string>& cluster_fields,
                                const std::vector<std::string>& user_fields,
                                const std::string& context_user = "dev-user",
                                const std::string& current_context = "dev") {
    std::string text = "apiVersion: v1\nkind: Config\ncurrent-context: " + current_context +
                       "\nclusters:\n- name: dev-cluster\n  cluster:\n    server: " + server + "\n";
    for (const auto& f : cluster_fields) text += "    " + f + "\n";
    text +=
        "contexts:\n- name: dev\n  context:\n    cluster: dev-cluster\n    user: " + context_user +
        "\n    namespace: apps\n";
    text += "users:\n- name: dev-user\n  user:";
    text += user_fields.empty() ? " {}\n" : "\n";
    for (const auto& f : user_fields) text += "    " + f + "\n";
    std::string path = pki(name + "/config");
    writeAll(path, text);
    return path;
  }

  // Loads a kubeconfig that must be refused; returns the error message.
  static std::string refused(const std::string& path) {
    auto c = loadKubeconfig(path);
    EXPECT_FALSE(c.ok()) << "loaded " << path;
    if (c.ok()) return "";
    EXPECT_EQ(c.status().code(), StatusCode::kInvalidArgument) << c.status().message();
    EXPECT_NE(c.status().message().find(path), std::string::npos) << c.status().message();
    return c.status().message();
  }
};

// kind and minikube write file names; relative ones are relative to the kubeconfig, not to the
// working directory (the test's working directory holds no ../client.crt).
TEST_F(KubeconfigTest, ClientCertificateFilesRelativeToTheKubeconfig) {
  std::string path =
      kubeconfig("files", "https://127.0.0.1:6443", {"certificate-authority: ../ca.crt"},
                 {"client-certificate: ../client.crt", "client-key: ../client.rsa.key"});
  auto c = loadKubeconfig(path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->server, "https://127.0.0.1:6443");
  EXPECT_EQ(c->namespace_name, "apps");
  EXPECT_EQ(c->ca_file, pki("ca.crt"));
  EXPECT_EQ(c->client_cert_file, pki("client.crt"));
  EXPECT_EQ(c->client_key_file, pki("client.rsa.key"));
  EXPECT_TRUE(c->client_cert_data.empty());
  EXPECT_TRUE(c->client_key_data.empty());
  EXPECT_TRUE(c->token.empty());

  // Absolute names stay as they are.
  path =
      kubeconfig("files-abs", "https://127.0.0.1:6443", {},
                 {"client-certificate: " + pki("client.crt"), "client-key: " + pki("client.key")});
  c = loadKubeconfig(path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->client_cert_file, pki("client.crt"));
  EXPECT_EQ(c->client_key_file, pki("client.key"));
}

// k3s and kind's exported configs embed the PEM as base64.
TEST_F(KubeconfigTest, ClientCertificateData) {
  std::string path = kubeconfig("data", "https://127.0.0.1:6443",
                                {"certificate-authority-data: " + base64(readAll(pki("ca.crt")))},
                                {"client-certificate-data: " + base64(readAll(pki("client.crt"))),
                                 "client-key-data: " + base64(readAll(pki("client.rsa.key")))});
  auto c = loadKubeconfig(path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->ca_data, readAll(pki("ca.crt")));
  EXPECT_EQ(c->client_cert_data, readAll(pki("client.crt")));
  EXPECT_EQ(c->client_key_data, readAll(pki("client.rsa.key")));
  EXPECT_TRUE(c->client_cert_file.empty());
  EXPECT_TRUE(c->client_key_file.empty());
  EXPECT_TRUE(c->ca_file.empty());
}

TEST_F(KubeconfigTest, TokenFileTakesPrecedenceOverToken) {
  writeAll(pki("token/token.txt"), "s3cret-token\n");
  std::string path =
      kubeconfig("token", "https://127.0.0.1:6443", {}, {"token: stale", "tokenFile: token.txt"});
  auto c = loadKubeconfig(path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->token, "s3cret-token");
  EXPECT_EQ(c->token_file, pki("token/token.txt"));

  path = kubeconfig("token-plain", "http://127.0.0.1:8080", {}, {"token: plain"});
  c = loadKubeconfig(path);
  ASSERT_TRUE(c.ok()) << c.status().message();
  EXPECT_EQ(c->token, "plain");
  EXPECT_TRUE(c->token_file.empty());
}

TEST_F(KubeconfigTest, MissingContextClusterOrUserIsNamed) {
  std::string message =
      refused(kubeconfig("no-context", "https://127.0.0.1:6443", {}, {}, "dev-user", "elsewhere"));
  EXPECT_NE(message.find("current-context"), std::string::npos) << message;
  EXPECT_NE(message.find("'elsewhere'"), std::string::npos) << message;

  message = refused(kubeconfig("no-user", "https://127.0.0.1:6443", {}, {}, "ghost"));
  EXPECT_NE(message.find("context 'dev'"), std::string::npos) << message;
  EXPECT_NE(message.find("no user named 'ghost'"), std::string::npos) << message;

  std::string path = pki("no-cluster/config");
  writeAll(path,
           "current-context: dev\ncontexts: [{name: dev, context: {cluster: gone, user: u}}]\n"
           "clusters: []\nusers: [{name: u, user: {token: t}}]\n");
  message = refused(path);
  EXPECT_NE(message.find("no cluster named 'gone'"), std::string::npos) << message;

  path = pki("no-current/config");
  writeAll(path, "contexts: [{name: dev, context: {cluster: c}}]\n");
  message = refused(path);
  EXPECT_NE(message.find("current-context is not set"), std::string::npos) << message;

  // Lists of the wrong shape are errors too, not crashes.
  path = pki("bad-shape/config");
  writeAll(path, "current-context: dev\ncontexts: 5\nclusters: {a: b}\nusers: x\n");
  message = refused(path);
  EXPECT_NE(message.find("no context named 'dev'"), std::string::npos) << message;
  path = pki("bad-shape-user/config");
  writeAll(path,
           "current-context: dev\ncontexts: [{name: dev, context: {cluster: c, user: u}}]\n"
           "clusters: [{name: c, cluster: {server: 'https://x'}}]\nusers: 7\n");
  message = refused(path);
  EXPECT_NE(message.find("no user named 'u'"), std::string::npos) << message;
}

TEST_F(KubeconfigTest, BadDataIsNamedByKey) {
  std::string message =
      refused(kubeconfig("bad-base64", "https://127.0.0.1:6443", {},
                         {"client-certificate-data: not*base64!",
                          "client-key-data: " + base64(readAll(pki("client.key")))}));
  EXPECT_NE(message.find("user 'dev-user': client-certificate-data: not valid base64"),
            std::string::npos)
      << message;

  message = refused(kubeconfig("not-pem", "https://127.0.0.1:6443", {},
                               {"client-certificate-data: " + base64(readAll(pki("client.crt"))),
                                "client-key-data: " + base64("hello, not a key")}));
  EXPECT_NE(message.find("user 'dev-user': client-key-data: no (unencrypted) PEM private key"),
            std::string::npos)
      << message;

  message = refused(kubeconfig("cert-not-pem", "https://127.0.0.1:6443", {},
                               {"client-certificate-data: " + base64("garbage"),
                                "client-key-data: " + base64(readAll(pki("client.key")))}));
  EXPECT_NE(message.find("client-certificate-data: no PEM certificate"), std::string::npos)
      << message;

  message = refused(
      kubeconfig("bad-ca", "https://127.0.0.1:6443", {"certificate-authority-data: 'ab$#'"}, {}));
  EXPECT_NE(message.find("cluster 'dev-cluster': certificate-authority-data: not valid base64"),
            std::string::npos)
      << message;

  message = refused(kubeconfig("mismatch", "https://127.0.0.1:6443", {},
                               {"client-certificate: ../client.crt", "client-key: ../rogue.key"}));
  EXPECT_NE(message.find("client-key: does not match the client certificate"), std::string::npos)
      << message;

  message = refused(
      kubeconfig("cert-only", "https://127.0.0.1:6443", {}, {"client-certificate: ../client.crt"}));
  EXPECT_NE(message.find("client-certificate is set but neither client-key nor client-key-data"),
            std::string::npos)
      << message;

  message = refused(kubeconfig("missing-file", "https://127.0.0.1:6443", {},
                               {"client-certificate: missing.crt", "client-key: ../client.key"}));
  EXPECT_NE(message.find("client-certificate: cannot read " + pki("missing-file/missing.crt")),
            std::string::npos)
      << message;

  message = refused(
      kubeconfig("missing-token", "https://127.0.0.1:6443", {}, {"tokenFile: nowhere/token"}));
  EXPECT_NE(message.find("tokenFile: cannot read " + pki("missing-token/nowhere/token")),
            std::string::npos)
      << message;

  message = refused(kubeconfig("both", "https://127.0.0.1:6443", {},
                               {"client-certificate: ../client.crt",
                                "client-certificate-data: " + base64(readAll(pki("client.crt"))),
                                "client-key: ../client.key"}));
  EXPECT_NE(message.find("both client-certificate and client-certificate-data are set"),
            std::string::npos)
      << message;
}

// An API server stand-in on 127.0.0.1 that requires a client certificate signed by ca.crt. It
// answers a list with one item named after the client certificate's CN, and a watch with one
// ADDED event of that name (chunked, as the API server streams).
class TlsApiServer {
 public:
  struct Seen {
    std::string target;
    std::string client_cn;
    std::string authorization;
  };

  explicit TlsApiServer(const std::string& dir)
      : ctx_(asio::ssl::context::tls_server),
        acceptor_(ioc_, asio::ip::tcp::endpoint(asio::ip::address_v4::loopback(), 0)) {
    ctx_.use_certificate_chain_file(dir + "/server.crt");
    ctx_.use_private_key_file(dir + "/server.key", asio::ssl::context::pem);
    ctx_.load_verify_file(dir + "/ca.crt");
    ctx_.set_verify_mode(asio::ssl::verify_peer | asio::ssl::verify_fail_if_no_peer_cert);
    thread_ = std::thread([this] { serve(); });
  }
  ~TlsApiServer() {
    stopping_ = true;
    boost::system::error_code ec;
    asio::ip::tcp::socket wake(ioc_);
    wake.connect(acceptor_.local_endpoint(), ec);  // unblocks accept()
    thread_.join();
  }

  std::string url() const {
    return "https://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port());
  }
  std::vector<Seen> served() {
    std::lock_guard<std::mutex> lock(mutex_);
    return served_;
  }
  // Waits (hang guard only) until at least n handshakes were refused; returns how many were.
  int waitRefused(int n) {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait_for(lock, kHangGuard, [&] { return refused_ >= n; });
    return refused_;
  }

 private:
  void serve() {
    while (true) {
      asio::ip::tcp::socket socket(ioc_);
      boost::system::error_code ec;
      acceptor_.accept(socket, ec);
      if (stopping_) return;
      if (ec) continue;
      timeval tv{10, 0};  // a silent client cannot block the server
      ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
      ::setsockopt(socket.native_handle(), SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
      handle(std::move(socket));
    }
  }

  void handle(asio::ip::tcp::socket socket) {
    asio::ssl::stream<asio::ip::tcp::socket> stream(std::move(socket), ctx_);
    boost::system::error_code ec;
    stream.handshake(asio::ssl::stream_base::server, ec);
    if (ec) {
      std::lock_guard<std::mutex> lock(mutex_);
      ++refused_;
      changed_.notify_all();
      return;
    }
    Seen seen;
    if (X509* peer = SSL_get1_peer_certificate(stream.native_handle())) {
      char cn[256] = {};
      X509_NAME_get_text_by_NID(X509_get_subject_name(peer), NID_commonName, cn, sizeof(cn));
      seen.client_cn = cn;
      X509_free(peer);
    }
    boost::beast::flat_buffer buffer;
    bhttp::request<bhttp::string_body> req;
    bhttp::read(stream, buffer, req, ec);
    if (ec) return;
    seen.target = std::string(req.target());
    seen.authorization = std::string(req[bhttp::field::authorization]);
    bhttp::response<bhttp::string_body> res{bhttp::status::ok, 11};
    res.set(bhttp::field::content_type, "application/json");
    res.keep_alive(false);
    const std::string item = R"({"metadata":{"name":")" + seen.client_cn + R"("}})";
    if (seen.target.find("watch=true") != std::string::npos) {
      res.body() = R"({"type":"ADDED","object":)" + item + "}\n";
      res.chunked(true);
    } else {
      res.body() = R"({"kind":"PodList","items":[)" + item + "]}";
      res.prepare_payload();
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      served_.push_back(seen);
    }
    bhttp::write(stream, res, ec);
    SSL_shutdown(stream.native_handle());  // close_notify; the client need not answer
  }

  asio::io_context ioc_;
  asio::ssl::context ctx_;
  asio::ip::tcp::acceptor acceptor_;
  std::atomic<bool> stopping_{false};
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Seen> served_;
  int refused_ = 0;
  std::thread thread_;
};

class ClientCertificateTest : public KubeconfigTest {
 protected:
  void SetUp() override {
    KubeconfigTest::SetUp();
    if (HasFatalFailure()) return;
    server_ = std::make_unique<TlsApiServer>(*pki_dir);
  }
  void TearDown() override { server_.reset(); }

  // Loads a kubeconfig for the test server (trusting ca.crt) with these user fields.
  KubeConfig load(const std::string& name, const std::vector<std::string>& user_fields) {
    auto c = loadKubeconfig(
        kubeconfig(name, server_->url(), {"certificate-authority: ../ca.crt"}, user_fields));
    EXPECT_TRUE(c.ok()) << c.status().message();
    return c.ok() ? *c : KubeConfig();
  }

  // The names of the pods a list request returns (the server names the one after the client
  // certificate's CN).
  static StatusOr<std::string> listedName(KubeClient& client) {
    auto list = client.get("/api/v1/namespaces/apps/pods");
    if (!list.ok()) return list.status();
    const json::Value* items = json::find(*list, "items");
    if (!items || !items->IsArray() || items->Size() != 1) return internalError("bad list");
    const json::Value* metadata = json::find((*items)[0], "metadata");
    const json::Value* name = metadata ? json::find(*metadata, "name") : nullptr;
    if (!name || !name->IsString()) return internalError("no name");
    return std::string(name->GetString());
  }

  // One watch; the names of the ADDED events.
  static Status watchNames(KubeClient& client, std::vector<std::string>* names) {
    std::atomic<bool> stop{false};
    return client.watch(
        "/api/v1/namespaces/apps/pods", "",
        [&](const std::string& type, const json::Value& object) {
          const json::Value* metadata = json::find(object, "metadata");
          const json::Value* name = metadata ? json::find(*metadata, "name") : nullptr;
          if (type == "ADDED" && name && name->IsString()) names->push_back(name->GetString());
        },
        stop, 5);
  }

  std::unique_ptr<TlsApiServer> server_;
};

TEST_F(ClientCertificateTest, ListAndWatchPresentTheCertificateFiles) {
  KubeClient client(
      load("e2e-files", {"client-certificate: ../client.crt", "client-key: ../client.rsa.key"}));
  auto name = listedName(client);
  ASSERT_TRUE(name.ok()) << name.status().message();
  EXPECT_EQ(*name, "test-client");

  std::vector<std::string> names;
  Status watched = watchNames(client, &names);
  ASSERT_TRUE(watched.ok()) << watched.message();
  EXPECT_EQ(names, std::vector<std::string>{"test-client"});

  auto served = server_->served();
  ASSERT_EQ(served.size(), 2u);
  EXPECT_EQ(served[0].client_cn, "test-client");
  EXPECT_EQ(served[1].client_cn, "test-client");
  EXPECT_NE(served[1].target.find("watch=true"), std::string::npos);
  EXPECT_EQ(server_->waitRefused(0), 0);
}

TEST_F(ClientCertificateTest, ListAndWatchPresentTheCertificateData) {
  KubeClient client(
      load("e2e-data", {"client-certificate-data: " + base64(readAll(pki("client.crt"))),
                        "client-key-data: " + base64(readAll(pki("client.key")))}));
  auto name = listedName(client);
  ASSERT_TRUE(name.ok()) << name.status().message();
  EXPECT_EQ(*name, "test-client");
  std::vector<std::string> names;
  Status watched = watchNames(client, &names);
  ASSERT_TRUE(watched.ok()) << watched.message();
  EXPECT_EQ(names, std::vector<std::string>{"test-client"});
}

TEST_F(ClientCertificateTest, WithoutACertificateRequestsFail) {
  KubeClient client(load("e2e-none", {"token: only-a-token"}));
  auto name = listedName(client);
  ASSERT_FALSE(name.ok()) << "listed " << *name;
  EXPECT_EQ(name.status().code(), StatusCode::kUnavailable) << name.status().message();
  EXPECT_GE(server_->waitRefused(1), 1);

  std::vector<std::string> names;
  Status watched = watchNames(client, &names);
  EXPECT_FALSE(watched.ok());
  EXPECT_EQ(watched.code(), StatusCode::kUnavailable) << watched.message();
  EXPECT_TRUE(names.empty());
  EXPECT_GE(server_->waitRefused(2), 2);
  EXPECT_TRUE(server_->served().empty());
}

TEST_F(ClientCertificateTest, ACertificateFromAnotherCaIsRefused) {
  KubeClient client(
      load("e2e-rogue", {"client-certificate: ../rogue.crt", "client-key: ../rogue.key"}));
  auto name = listedName(client);
  ASSERT_FALSE(name.ok()) << "listed " << *name;
  EXPECT_EQ(name.status().code(), StatusCode::kUnavailable) << name.status().message();
  std::vector<std::string> names;
  Status watched = watchNames(client, &names);
  EXPECT_EQ(watched.code(), StatusCode::kUnavailable) << watched.message();
  EXPECT_GE(server_->waitRefused(2), 2);
  EXPECT_TRUE(server_->served().empty());
}

// tokenFile is read again for each request: a rotated token is sent without reloading.
TEST_F(ClientCertificateTest, TokenFileIsSentAndReread) {
  writeAll(pki("e2e-token/token"), "first\n");
  KubeClient client(load("e2e-token", {"client-certificate: ../client.crt",
                                       "client-key: ../client.key", "tokenFile: token"}));
  ASSERT_TRUE(listedName(client).ok());
  writeAll(pki("e2e-token/token"), "second\n");
  std::vector<std::string> names;
  ASSERT_TRUE(watchNames(client, &names).ok());
  auto served = server_->served();
  ASSERT_EQ(served.size(), 2u);
  EXPECT_EQ(served[0].authorization, "Bearer first");
  EXPECT_EQ(served[1].authorization, "Bearer second");
}

// A certificate file that disappears after loading is reported, not silently left out.
TEST_F(ClientCertificateTest, ACertificateFileGoneLaterIsAnError) {
  fs::create_directories(pki("e2e-gone"));
  fs::copy_file(pki("client.crt"), pki("e2e-gone/client.crt"));
  KubeClient client(
      load("e2e-gone", {"client-certificate: client.crt", "client-key: ../client.key"}));
  fs::remove(pki("e2e-gone/client.crt"));
  auto name = listedName(client);
  ASSERT_FALSE(name.ok());
  EXPECT_EQ(name.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(name.status().message().find("cannot read " + pki("e2e-gone/client.crt")),
            std::string::npos)
      << name.status().message();
  std::vector<std::string> names;
  Status watched = watchNames(client, &names);
  EXPECT_EQ(watched.code(), StatusCode::kFailedPrecondition) << watched.message();
  EXPECT_TRUE(server_->served().empty());
}

}  // namespace
}  // namespace outrigger::kube
