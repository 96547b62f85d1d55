#include "injector/service/https_server.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <sys/socket.h>
#include <sys/time.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>

#include "injector/service/handler.h"
#include "injector/service/metrics.h"

namespace outrigger::injector::service {
namespace {

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using ::testing::HasSubstr;

struct Pem {
  std::string cert, key;
};

std::string bioText(BIO* bio) {
  char* data = nullptr;
  long n = BIO_get_mem_data(bio, &data);
  return std::string(data, static_cast<size_t>(n));
}

// A self-signed P-256 certificate whose subject CN tells the test which one the server presented.
Pem selfSigned(const std::string& cn) {
  Pem out;
  EVP_PKEY* key = EVP_EC_gen("P-256");
  X509* x = X509_new();
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -60);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_NAME* name = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  X509_set_issuer_name(x, name);
  X509_sign(x, key, EVP_sha256());
  BIO* cert_bio = BIO_new(BIO_s_mem());
  BIO* key_bio = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(cert_bio, x);
  PEM_write_bio_PrivateKey(key_bio, key, nullptr, nullptr, 0, nullptr, nullptr);
  out.cert = bioText(cert_bio);
  out.key = bioText(key_bio);
  BIO_free(cert_bio);
  BIO_free(key_bio);
  X509_free(x);
  EVP_PKEY_free(key);
  return out;
}

// Written beside the target and renamed over it: the file changes in one step, with a new inode,
// as when the kubelet swaps a Secret volume's symlink.
void replaceFile(const std::filesystem::path& path, const std::string& text) {
  std::filesystem::path tmp = path;
  tmp += ".new";
  std::ofstream(tmp, std::ios::binary | std::ios::trunc) << text;
  std::filesystem::rename(tmp, path);
}

struct Reply {
  unsigned status = 0;
  std::string body;
};

// A blocking TLS client with socket timeouts (no test can hang on a silent server).
class TlsClient {
 public:
  explicit TlsClient(uint16_t port) : ctx_(ssl::context::tls_client), stream_(ioc_, ctx_) {
    ctx_.set_verify_mode(ssl::verify_none);  // the test compares the certificate itself
    tcp::endpoint ep(asio::ip::make_address("127.0.0.1"), port);
    stream_.next_layer().connect(ep);
    timeval tv{10, 0};
    int fd = stream_.next_layer().native_handle();
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
    stream_.handshake(ssl::stream_base::client);
  }

  // The subject CN of the certificate the server presented.
  std::string peerCn() {
    X509* cert = SSL_get1_peer_certificate(stream_.native_handle());
    if (!cert) return "<none>";
    char buf[256] = {0};
    X509_NAME_get_text_by_NID(X509_get_subject_name(cert), NID_commonName, buf, sizeof(buf));
    X509_free(cert);
    return buf;
  }

  Reply call(bhttp::verb verb, const std::string& target, const std::string& body = "",
             const std::string& content_type = "application/json") {
    bhttp::request<bhttp::string_body> req(verb, target, 11);
    req.set(bhttp::field::host, "injector");
    if (!body.empty() || verb == bhttp::verb::post) {
      req.set(bhttp::field::content_type, content_type);
      req.body() = body;
      req.prepare_payload();
    }
    bhttp::write(stream_, req);
    return read();
  }

  void writeRaw(const std::string& bytes) { asio::write(stream_, asio::buffer(bytes)); }

  // True when the server closes the connection within 15 s (asio's blocking reads wait out
  // SO_RCVTIMEO, so a watchdog bounds the wait).
  bool closedByServer() {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false, fired = false;
    std::thread watchdog([&] {
      std::unique_lock<std::mutex> lock(mu);
      if (!cv.wait_for(lock, std::chrono::seconds(15), [&] { return done; })) {
        fired = true;
        ::shutdown(stream_.next_layer().native_handle(), SHUT_RDWR);
      }
    });
    char buf[512];
    beast::error_code ec;
    while (!ec) stream_.read_some(asio::buffer(buf), ec);
    {
      std::lock_guard<std::mutex> lock(mu);
      done = true;
    }
    cv.notify_all();
    watchdog.join();
    return !fired;
  }

  Reply read() {
    bhttp::response<bhttp::string_body> res;
    beast::error_code ec;
    bhttp::read(stream_, buffer_, res, ec);
    if (ec) return {0, ec.message()};
    return {res.result_int(), res.body()};
  }

 private:
  asio::io_context ioc_;
  ssl::context ctx_;
  ssl::stream<tcp::socket> stream_;
  beast::flat_buffer buffer_;
};

class injector_https : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/injector-https-XXXXXX";
    ASSERT_NE(mkdtemp(tmpl), nullptr);
    dir_ = tmpl;
    cert_ = dir_ / "tls.crt";
    key_ = dir_ / "tls.key";
    Pem a = selfSigned("injector-a");
    replaceFile(cert_, a.cert);
    replaceFile(key_, a.key);
    // Checked on every accept: the test needs no waiting for the reload.
    auto tls = tls::ReloadingServerContext::create(cert_, key_, std::chrono::milliseconds(0));
    ASSERT_TRUE(tls.ok()) << tls.status().message();
    tls_ = std::move(*tls);
    AdmissionSettings settings;
    patcher::fillDefaultAddresses(&settings.injector, true);
    handler_.emplace(settings, &metrics_);
    HttpsServerOptions opts;
    opts.address = "127.0.0.1";
    opts.port = 0;
    opts.max_body_bytes = 4096;
    opts.header_timeout = std::chrono::seconds(1);
    server_ = std::make_unique<HttpsServer>(ioc_, opts, tls_.get(), &*handler_);
    ASSERT_TRUE(server_->start().ok());
    thread_ = std::thread([this] { ioc_.run(); });
  }

  void TearDown() override {
    if (server_) server_->stop();
    ioc_.stop();
    if (thread_.joinable()) thread_.join();
    std::error_code ec;
    std::filesystem::remove_all(dir_, ec);
  }

  uint16_t port() const { return server_->port(); }

  std::filesystem::path dir_, cert_, key_;
  std::unique_ptr<tls::ReloadingServerContext> tls_;
  InjectorMetrics metrics_;
  std::optional<Handler> handler_;
  asio::io_context ioc_;
  std::unique_ptr<HttpsServer> server_;
  std::thread thread_;
};

TEST_F(injector_https, NewConnectionsGetTheReplacedCertificate) {
  TlsClient first(port());
  EXPECT_EQ(first.peerCn(), "injector-a");
  EXPECT_EQ(first.call(bhttp::verb::get, "/healthz").status, 200u);

  Pem b = selfSigned("injector-b");
  replaceFile(key_, b.key);
  replaceFile(cert_, b.cert);
  TlsClient second(port());
  EXPECT_EQ(second.peerCn(), "injector-b");
  EXPECT_EQ(second.call(bhttp::verb::get, "/healthz").status, 200u);
  // The connection made before the change goes on with the old one.
  EXPECT_EQ(first.call(bhttp::verb::get, "/healthz").status, 200u);
  EXPECT_EQ(tls_->generation(), 2u);

  // Half a swap (a certificate whose key is not there yet) keeps the last good pair in service.
  Pem c = selfSigned("injector-c");
  replaceFile(cert_, c.cert);
  TlsClient third(port());
  EXPECT_EQ(third.peerCn(), "injector-b");
  replaceFile(key_, c.key);
  TlsClient fourth(port());
  EXPECT_EQ(fourth.peerCn(), "injector-c");
  EXPECT_EQ(tls_->generation(), 3u);
}

TEST_F(injector_https, MutateOverTls) {
  TlsClient client(port());
  Reply empty = client.call(bhttp::verb::post, "/mutate?timeout=10s", "");
  EXPECT_EQ(empty.status, 400u);
  EXPECT_THAT(empty.body, HasSubstr("empty body"));
  Reply bad = client.call(bhttp::verb::post, "/mutate", R"({"apiVersion":"admission.k8s.io/v1")");
  EXPECT_EQ(bad.status, 400u);
  EXPECT_THAT(bad.body, HasSubstr("not JSON"));
  Reply ok = client.call(
      bhttp::verb::post, "/mutate",
      R"({"apiVersion":"admission.k8s.io/v1","kind":"AdmissionReview","request":{"uid":"u1",)"
      R"("kind":{"group":"","version":"v1","kind":"Pod"},"operation":"CREATE","namespace":"ns",)"
      R"("userInfo":{"username":"admin","groups":["system:masters"]},"object":{"metadata":)"
      R"({"name":"p","annotations":{"dapr.io/enabled":"true"}},"spec":{"containers":)"
      R"([{"name":"app","image":"a"}]}}}})");
  EXPECT_EQ(ok.status, 200u);
  EXPECT_THAT(ok.body, HasSubstr(R"("uid":"u1","allowed":true,"patchType":"JSONPatch")"));
}

TEST_F(injector_https, BodiesOverTheLimitAreRefused) {
  {
    TlsClient client(port());
    Reply r = client.call(bhttp::verb::post, "/mutate", std::string(5000, ' '));
    EXPECT_EQ(r.status, 413u);
    EXPECT_THAT(r.body, HasSubstr("4096"));
  }
  {
    // Chunked: the size is only known while reading.
    TlsClient client(port());
    std::string chunk(3000, 'x');
    char size[16];
    std::snprintf(size, sizeof(size), "%zx", chunk.size());
    client.writeRaw(
        "POST /mutate HTTP/1.1\r\nHost: i\r\nContent-Type: application/json\r\n"
        "Transfer-Encoding: chunked\r\n\r\n" +
        std::string(size) + "\r\n" + chunk + "\r\n" + size + "\r\n" + chunk + "\r\n");
    EXPECT_EQ(client.read().status, 413u);
  }
  TlsClient after(port());
  EXPECT_EQ(after.call(bhttp::verb::get, "/healthz").status, 200u);
}

TEST_F(injector_https, MalformedHttpIs400AndPlainHttpIsDropped) {
  {
    TlsClient client(port());
    client.writeRaw("NOT HTTP AT ALL\r\n\r\n");
    EXPECT_EQ(client.read().status, 400u);
  }
  {
    // Plain HTTP on the TLS port: the handshake fails and the connection is closed.
    asio::io_context ioc;
    tcp::socket s(ioc);
    s.connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port()));
    timeval tv{10, 0};
    setsockopt(s.native_handle(), SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
    asio::write(s, asio::buffer(std::string("GET /healthz HTTP/1.1\r\nHost: i\r\n\r\n")));
    char buf[512];
    beast::error_code ec;
    size_t total = 0;
    while (!ec) total += s.read_some(asio::buffer(buf), ec);
    // Closed, with or without a TLS alert first; a reset when the server left bytes unread.
    EXPECT_TRUE(ec == asio::error::eof || ec == asio::error::connection_reset) << ec.message();
    EXPECT_EQ(std::string(buf, std::min(total, sizeof(buf))).find("200 OK"), std::string::npos);
  }
  TlsClient after(port());
  EXPECT_EQ(after.call(bhttp::verb::get, "/healthz").status, 200u);
}

TEST_F(injector_https, HugeTrailerOrFieldIs431AndTheServerGoesOn) {
  {
    // A trailer field beyond what Beast's fields hold threw std::length_error out of run().
    TlsClient client(port());
    client.writeRaw(
        "POST /mutate HTTP/1.1\r\nHost: i\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n"
        "0\r\nX: " +
        std::string(65534, 'a') + "\r\n\r\n");
    EXPECT_EQ(client.read().status, 431u);
    EXPECT_TRUE(client.closedByServer());
  }
  {
    TlsClient client(port());
    client.writeRaw("GET /healthz HTTP/1.1\r\nHost: i\r\nX-Big: " + std::string(70000, 'a') +
                    "\r\n\r\n");
    EXPECT_EQ(client.read().status, 431u);
  }
  TlsClient after(port());
  EXPECT_EQ(after.call(bhttp::verb::get, "/healthz").status, 200u);
}

TEST_F(injector_https, ExpectContinueGets100) {
  TlsClient client(port());
  client.writeRaw(
      "POST /mutate HTTP/1.1\r\nHost: i\r\nContent-Type: application/json\r\n"
      "Content-Length: 2\r\nExpect: 100-continue\r\n\r\n");
  EXPECT_EQ(client.read().status, 100u);
  client.writeRaw("{}");
  EXPECT_EQ(client.read().status, 400u);  // an empty object is no AdmissionReview
}

TEST_F(injector_https, HeaderTimeoutAppliesToEveryRequest) {
  TlsClient client(port());
  EXPECT_EQ(client.call(bhttp::verb::get, "/healthz").status, 200u);
  // A second request that stalls in its header: it had the idle timeout (60 s) before.
  client.writeRaw("GET /healthz HTTP/1.1\r\nHo");
  EXPECT_TRUE(client.closedByServer());
}

}  // namespace
}  // namespace outrigger::injector::service
