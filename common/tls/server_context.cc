#include "common/tls/server_context.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <sys/stat.h>

#include <exception>

#include "common/logging/log.h"

namespace outrigger::tls {

namespace ssl = boost::asio::ssl;

namespace {

std::string opensslErrors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof(buf));
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out;
}

}  // namespace

StatusOr<std::shared_ptr<ssl::context>> loadServerContext(const std::string& cert_file,
                                                          const std::string& key_file) {
  std::shared_ptr<ssl::context> ctx;
  try {
    ctx = std::make_shared<ssl::context>(ssl::context::tls_server);
  } catch (const std::exception& e) {
    return internalError(std::string("cannot create a TLS context: ") + e.what());
  }
  boost::system::error_code ec;
  ctx->set_options(ssl::context::default_workarounds | ssl::context::no_sslv2 |
                       ssl::context::no_sslv3 | ssl::context::no_tlsv1 | ssl::context::no_tlsv1_1 |
                       ssl::context::single_dh_use,
                   ec);
  ERR_clear_error();
  ctx->use_certificate_chain_file(cert_file, ec);
  if (ec) {
    return invalidArgumentError("cannot load the TLS certificate " + cert_file + ": " +
                                ec.message());
  }
  ctx->use_private_key_file(key_file, ssl::context::pem, ec);
  if (ec) {
    return invalidArgumentError("cannot load the TLS key " + key_file + ": " + ec.message());
  }
  if (SSL_CTX_check_private_key(ctx->native_handle()) != 1) {
    return invalidArgumentError("the TLS key " + key_file + " does not match the certificate " +
                                cert_file + ": " + opensslErrors());
  }
  return ctx;
}

ReloadingServerContext::ReloadingServerContext(std::string cert_file, std::string key_file,
                                               std::chrono::milliseconds check_interval)
    : cert_file_(std::move(cert_file)),
      key_file_(std::move(key_file)),
      check_interval_(check_interval) {}

StatusOr<std::unique_ptr<ReloadingServerContext>> ReloadingServerContext::create(
    std::string cert_file, std::string key_file, std::chrono::milliseconds check_interval) {
  std::unique_ptr<ReloadingServerContext> r(
      new ReloadingServerContext(std::move(cert_file), std::move(key_file), check_interval));
  r->stamps(&r->cert_stamp_, &r->key_stamp_);
  ASSIGN_OR_RETURN(r->context_, loadServerContext(r->cert_file_, r->key_file_));
  r->generation_ = 1;
  r->last_check_ = std::chrono::steady_clock::now();
  return r;
}

bool ReloadingServerContext::stamps(Stamp* cert, Stamp* key) const {
  auto one = [](const std::string& path, Stamp* s) {
    struct stat st;
    if (::stat(path.c_str(), &st) != 0) return false;  // follows the Secret's symlinks
    s->dev = st.st_dev;
    s->ino = st.st_ino;
    s->size = static_cast<uint64_t>(st.st_size);
    s->mtime_ns = static_cast<int64_t>(st.st_mtim.tv_sec) * 1000000000 + st.st_mtim.tv_nsec;
    return true;
  };
  return one(cert_file_, cert) && one(key_file_, key);
}

bool ReloadingServerContext::checkLocked() {
  last_check_ = std::chrono::steady_clock::now();
  Stamp cert, key;
  if (!stamps(&cert, &key)) return false;  // mid-swap or removed: keep serving the old pair
  if (cert == cert_stamp_ && key == key_stamp_) return false;
  if (cert == failed_cert_stamp_ && key == failed_key_stamp_) return false;
  auto loaded = loadServerContext(cert_file_, key_file_);
  if (!loaded.ok()) {
    failed_cert_stamp_ = cert;
    failed_key_stamp_ = key;
    LOG_WARN << "TLS certificate change not applied, keeping the previous one: "
             << loaded.status().message();
    return false;
  }
  context_ = std::move(*loaded);
  cert_stamp_ = cert;
  key_stamp_ = key;
  ++generation_;
  LOG_INFO << "TLS certificate reloaded from " << cert_file_;
  return true;
}

std::shared_ptr<ssl::context> ReloadingServerContext::current() {
  std::lock_guard<std::mutex> lock(mu_);
  if (std::chrono::steady_clock::now() - last_check_ >= check_interval_) checkLocked();
  return context_;
}

bool ReloadingServerContext::checkNow() {
  std::lock_guard<std::mutex> lock(mu_);
  return checkLocked();
}

uint64_t ReloadingServerContext::generation() const {
  std::lock_guard<std::mutex> lock(mu_);
  return generation_;
}

}  // namespace outrigger::tls
