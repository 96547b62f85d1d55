#include "sidecar/invoke/internal_auth.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <filesystem>

#include "common/logging/log.h"
#include "sidecar/invoke/target.h"

namespace outrigger::sidecar::invoke {

namespace {

constexpr size_t kTokenBytes = 32;

// The kernel's CSPRNG (getentropy), and a comparison whose time depends on the length only: not
// OpenSSL's RAND_bytes and CRYPTO_memcmp, because libcrypto would add about 4 MB to every
// sidecar's resident memory (docs/performance.md) for these two calls.
StatusOr<std::string> randomToken() {
  unsigned char bytes[kTokenBytes];
  if (::getentropy(bytes, sizeof(bytes)) != 0) {
    return unavailableError(std::string("no random bytes: ") + std::strerror(errno));
  }
  static const char* kHex = "0123456789abcdef";
  std::string out;
  for (unsigned char b : bytes) {
    out += kHex[b >> 4];
    out += kHex[b & 15];
  }
  ::explicit_bzero(bytes, sizeof(bytes));
  return out;
}

bool sameToken(std::string_view given, const std::string& token) {
  if (given.size() != token.size()) return false;
  volatile unsigned char diff = 0;
  for (size_t i = 0; i < token.size(); ++i) {
    diff = diff | static_cast<unsigned char>(given[i] ^ token[i]);
  }
  return diff == 0;
}

Status fileError(const std::string& what, const std::string& path) {
  return unavailableError("cannot " + what + " " + path + ": " + std::strerror(errno));
}

// Writes a new token to a private temporary file and links it into place: of sidecars starting
// together, one link wins and every other one reads the winner's token.
Status createTokenFile(const std::string& path) {
  auto token = randomToken();
  if (!token.ok()) return token.status();
  // Unique among processes and threads; the random part is not the secret's.
  auto suffix = randomToken();
  if (!suffix.ok()) return suffix.status();
  std::string tmp = path + ".tmp." + std::to_string(::getpid()) + "." + suffix->substr(0, 12);
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600);
  if (fd < 0) return fileError("create", tmp);
  std::string text = *token + "\n";
  bool written = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size()) &&
                 ::fsync(fd) == 0;
  ::close(fd);
  int linked = written ? ::link(tmp.c_str(), path.c_str()) : -1;
  int link_errno = errno;
  ::unlink(tmp.c_str());
  if (!written) return fileError("write", tmp);
  if (linked != 0 && link_errno != EEXIST) {
    errno = link_errno;
    return fileError("create", path);
  }
  return okStatus();
}

}  // namespace

StatusOr<std::string> loadOrCreateTokenFile(const std::string& path) {
  std::error_code ec;
  std::filesystem::create_directories(std::filesystem::path(path).parent_path(), ec);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0 && errno == ENOENT) {
    RETURN_IF_ERROR(createTokenFile(path));
    fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  }
  if (fd < 0) return fileError("open", path);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != ::geteuid() ||
      (st.st_mode & 077) != 0) {
    ::close(fd);
    return permissionDeniedError(path +
                                 " must be a regular file of this user that only it can read "
                                 "(mode 0600)");
  }
  char buf[256];
  ssize_t n = ::read(fd, buf, sizeof(buf));
  ::close(fd);
  std::string token(buf, n > 0 ? static_cast<size_t>(n) : 0);
  ::explicit_bzero(buf, sizeof(buf));
  while (!token.empty() && std::isspace(static_cast<unsigned char>(token.back()))) token.pop_back();
  if (token.size() < 16 || !outrigger::http::validHeaderValue(token)) {
    return failedPreconditionError(path + " holds no usable token (delete it to make a new one)");
  }
  return token;
}

InternalAuth InternalAuth::forInstallation(const std::string& mode, const std::string& nr_dir) {
  const char* env = std::getenv(kInternalTokenEnv);
  if (env && *env) {
    LOG_INFO << "internal port: callers must present $" << kInternalTokenEnv;
    return InternalAuth(env);
  }
  if (mode == "kubernetes") {
    LOG_WARN << "internal port: no $" << kInternalTokenEnv
             << " shared by this installation's sidecars, so callers are not authenticated here "
                "(mTLS from sentry is what authenticates them in Kubernetes, and it is not "
                "supported yet); the app gets no dapr-caller-app-id";
    return InternalAuth();
  }
  std::string path = nr_dir + "/" + kInternalTokenFile;
  auto token = loadOrCreateTokenFile(path);
  if (token.ok()) return InternalAuth(std::move(*token));
  // Closed rather than open: a token nobody else knows admits no caller.
  LOG_WARN << "internal port: " << token.status().message()
           << "; other sidecars cannot call this one";
  auto fallback = randomToken();
  return InternalAuth(fallback.ok() ? *fallback : std::string(64, 'x'));
}

void InternalAuth::stamp(outrigger::http::Request& req, const std::string& caller_app_id) const {
  req.erase("dapr-caller-app-id");
  req.set(kCallerAppIdHeader, caller_app_id);
  if (required()) req.set(kInternalTokenHeader, token_);
}

Status InternalAuth::admit(outrigger::http::Request& req) const {
  bool authenticated = false;
  if (required()) {
    auto it = req.find(kInternalTokenHeader);
    authenticated = it != req.end() && sameToken(it->value(), token_);
    if (!authenticated) {
      return unauthenticatedError(
                 "the internal port takes calls from this installation's sidecars only (" +
                 std::string(kInternalTokenHeader) + " missing or wrong)")
          .withErrorCode("ERR_DIRECT_INVOKE", 401);
    }
  }
  std::string caller = authenticated ? std::string(req[kCallerAppIdHeader]) : std::string();
  stripCallerClaims(req);
  if (!caller.empty() && checkAppId(caller).ok()) req.set("dapr-caller-app-id", caller);
  return okStatus();
}

void stripCallerClaims(outrigger::http::Request& req) {
  for (const char* name : {"dapr-caller-app-id", kCallerAppIdHeader, kInternalTokenHeader}) {
    req.erase(name);
  }
}

}  // namespace outrigger::sidecar::invoke
