// Service invocation through real outriggerd processes and an in-process app: what passes
// through unchanged, what the sidecars add, the addressing forms, errors, --app-max-concurrency,
// tokens, name-resolution registration, and readiness that waits for the app's port.

#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>

#include <atomic>
#include <boost/asio/io_context.hpp>
#include <boost/beast/core/detail/base64.hpp>
#include <condition_variable>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>
#include <thread>
#include <tuple>

#include "common/http/server.h"
#include "tests/framework/process.h"
#include "tests/framework/test_app.h"

namespace outrigger::testing {
namespace {

namespace fs = std::filesystem;
using http::bhttp::field;
using http::bhttp::verb;
using namespace std::chrono_literals;

std::string lower(std::string s) {
  for (auto& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

// An app on the project's Beast server that records what it receives. In hold mode it keeps
// requests unanswered until release(), so the test sees how many the sidecar lets in at once.
class RecordingApp {
 public:
  struct Seen {
    std::string method, target, body;
    std::map<std::string, std::string> headers;  // lower-case names
    bool has(const std::string& name) const { return headers.count(name) > 0; }
    std::string get(const std::string& name) const {
      auto it = headers.find(name);
      return it == headers.end() ? "" : it->second;
    }
  };
  using Behaviour = std::function<http::Response(const http::Request&)>;

  explicit RecordingApp(uint16_t port = 0) {
    http::ServerOptions opts;
    opts.addresses = {"127.0.0.1"};
    opts.port = port;
    server_ = std::make_unique<http::Server>(
        ioc_, opts, [this](http::Request&& req, http::Responder respond) {
          Seen s;
          s.method = std::string(req.method_string());
          s.target = std::string(req.target());
          s.body = req.body();
          for (const auto& h : req) s.headers[lower(std::string(h.name_string()))] = h.value();
          std::unique_lock<std::mutex> lock(mutex_);
          seen_.push_back(s);
          Behaviour b = behaviour_;
          if (hold_) {
            held_.push_back([respond, b, req = std::move(req)]() mutable {
              respond(b ? b(req) : http::makeResponse(200, "ok", "text/plain"));
            });
            peak_ = std::max(peak_, held_.size());
            changed_.notify_all();
            return;
          }
          lock.unlock();
          respond(b ? b(req) : http::makeResponse(200, "ok", "text/plain"));
        });
    started_ = server_->start().ok();
    thread_ = std::thread([this] {
      auto guard = boost::asio::make_work_guard(ioc_);
      ioc_.run();
    });
  }
  ~RecordingApp() {
    releaseAll();
    ioc_.stop();
    thread_.join();
  }
  bool started() const { return started_; }
  uint16_t port() const { return server_->port(); }
  void setBehaviour(Behaviour b) {
    std::lock_guard<std::mutex> lock(mutex_);
    behaviour_ = std::move(b);
  }
  void hold(bool on) {
    std::lock_guard<std::mutex> lock(mutex_);
    hold_ = on;
  }
  void releaseAll() {
    std::vector<std::function<void()>> held;
    {
      std::lock_guard<std::mutex> lock(mutex_);
      held.swap(held_);
    }
    for (auto& h : held) h();
  }
  size_t heldCount() {
    std::lock_guard<std::mutex> lock(mutex_);
    return held_.size();
  }
  size_t peak() {
    std::lock_guard<std::mutex> lock(mutex_);
    return peak_;
  }
  // Bounded wait until n requests are held.
  bool waitHeld(size_t n, std::chrono::milliseconds timeout = 20s) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, timeout, [&] { return held_.size() >= n; });
  }
  std::vector<Seen> seen() {
    std::lock_guard<std::mutex> lock(mutex_);
    return seen_;
  }
  void clear() {
    std::lock_guard<std::mutex> lock(mutex_);
    seen_.clear();
  }

 private:
  boost::asio::io_context ioc_;
  std::unique_ptr<http::Server> server_;
  std::thread thread_;
  bool started_ = false;
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<Seen> seen_;
  Behaviour behaviour_;
  bool hold_ = false;
  std::vector<std::function<void()>> held_;
  size_t peak_ = 0;
};

// One outriggerd on free ports, sharing the test's name-resolution directory.
class Sidecar {
 public:
  // default_listeners: no --dapr-listen-addresses, so that outriggerd's own defaults apply.
  bool start(const std::string& app_id, const std::string& nr_dir,
             std::vector<std::string> extra = {}, std::map<std::string, std::string> env = {},
             bool wait_for_app = true, bool default_listeners = false) {
    app_id_ = app_id;
    http_port_ = freePort();
    metrics_port_ = freePort();
    internal_port_ = freePort();
    std::string resources = makeTempDir("outrigger-invoke-res");
    ProcessOptions o;
    o.binary = OUTRIGGERD_PATH;
    o.args = {"--app-id",
              app_id,
              "--dapr-http-port",
              std::to_string(http_port_),
              "--metrics-port",
              std::to_string(metrics_port_),
              "--dapr-internal-grpc-port",
              std::to_string(internal_port_),
              "--resources-path",
              resources};
    if (!default_listeners) o.args.insert(o.args.end(), {"--dapr-listen-addresses", "127.0.0.1"});
    o.args.insert(o.args.end(), extra.begin(), extra.end());
    // Tokens only when the test gives them, whatever the environment running the tests has.
    for (const char* name : {"DAPR_API_TOKEN", "APP_API_TOKEN", "OUTRIGGER_INTERNAL_TOKEN"}) {
      if (!env.count(name)) o.unset_env.push_back(name);
    }
    env["OUTRIGGER_NAMERESOLUTION_DIR"] = nr_dir;
    o.env = std::move(env);
    if (!process_.start(o).ok()) return false;
    return waitForHttp(http_port_, wait_for_app ? "/v1.0/healthz" : "/v1.0/healthz/outbound", 204,
                       30s, &process_);
  }
  uint16_t port() const { return http_port_; }
  uint16_t metricsPort() const { return metrics_port_; }
  uint16_t internalPort() const { return internal_port_; }
  Process& process() { return process_; }
  std::string log() const { return process_.output(); }

 private:
  std::string app_id_;
  uint16_t http_port_ = 0, metrics_port_ = 0, internal_port_ = 0;
  Process process_;
};

class InvokeTest : public ::testing::Test {
 protected:
  std::string nr_ = makeTempDir("outrigger-invoke-nr");
};

http::Request makeRequest(verb v, const std::string& target, const std::string& body = "",
                          const std::string& content_type = "") {
  http::Request req{v, target, 11};
  if (!content_type.empty()) req.set(field::content_type, content_type);
  req.body() = body;
  return req;
}

// Invocation requests a sidecar's API has received, from its metrics.
int invokeCount(uint16_t metrics_port) {
  std::string text = httpCall(metrics_port, verb::get, "/").body();
  int n = 0;
  const std::string name = "\ndapr_http_server_request_count{";
  for (size_t at = 0; (at = text.find(name, at)) != std::string::npos; ++at) {
    size_t end = text.find('\n', at + 1);
    std::string line = text.substr(at + 1, end == std::string::npos ? end : end - at - 1);
    if (line.find("/v1.0/invoke/") == std::string::npos) continue;
    n += static_cast<int>(std::stod(line.substr(line.rfind(' ') + 1)));
  }
  return n;
}

bool hasErrorCode(const http::Response& res, const std::string& code) {
  return res.body().find("\"errorCode\":\"" + code + "\"") != std::string::npos;
}

TEST_F(InvokeTest, PassesVerbQueryHeadersBodyStatusAndContentTypeThroughOneAndTwoSidecars) {
  RecordingApp app;
  ASSERT_TRUE(app.started());
  app.setBehaviour([](const http::Request& req) {
    unsigned status = static_cast<unsigned>(std::stoi(std::string(req["x-want-status"])));
    auto res =
        http::makeResponse(status, "echo:" + req.body(), "application/x-test; charset=utf-8");
    res.set("x-answer", std::string(req.method_string()));
    return res;
  });
  Sidecar b, a;
  ASSERT_TRUE(b.start("appb", nr_, {"--app-port", std::to_string(app.port())})) << b.log();
  ASSERT_TRUE(a.start("appa", nr_)) << a.log();

  const std::string body("bin\0ary\xff", 8);
  const std::vector<std::pair<verb, unsigned>> cases = {{verb::get, 200},   {verb::post, 201},
                                                        {verb::put, 404},   {verb::delete_, 500},
                                                        {verb::patch, 418}, {verb::options, 202}};
  for (Sidecar* via : {&b, &a}) {
    for (auto [v, status] : cases) {
      app.clear();
      auto req =
          makeRequest(v, "/v1.0/invoke/appb/method/orders/7/items?x=1&y=%20z&y=2&empty=", body,
                      "application/octet-stream");
      req.set("x-want-status", std::to_string(status));
      req.set("X-Mixed-Case", "Stays");
      auto res = httpCall(via->port(), std::move(req));
      SCOPED_TRACE(std::string(http::bhttp::to_string(v)) + (via == &a ? " via A" : " via B"));
      EXPECT_EQ(res.result_int(), status) << res.body();
      EXPECT_EQ(res[field::content_type], "application/x-test; charset=utf-8");
      EXPECT_EQ(res["x-answer"], http::bhttp::to_string(v));
      EXPECT_EQ(res.body(), "echo:" + body);
      auto seen = app.seen();
      ASSERT_EQ(seen.size(), 1u);
      EXPECT_EQ(seen[0].method, http::bhttp::to_string(v));
      EXPECT_EQ(seen[0].target, "/orders/7/items?x=1&y=%20z&y=2&empty=");
      EXPECT_EQ(seen[0].body, body);
      EXPECT_EQ(seen[0].get("content-type"), "application/octet-stream");
      EXPECT_EQ(seen[0].get("x-mixed-case"), "Stays");
      EXPECT_EQ(seen[0].get("dapr-callee-app-id"), "appb");
      if (via == &a) {
        // Added by the calling sidecar on its way to another app.
        EXPECT_EQ(seen[0].get("dapr-caller-app-id"), "appa");
        EXPECT_FALSE(seen[0].get("x-forwarded-for").empty());
        EXPECT_NE(seen[0].get("forwarded").find("for="), std::string::npos);
      }
    }
  }
}

TEST_F(InvokeTest, AddressingByHeaderBasicAuthNamespaceEscapedIdAndUrl) {
  RecordingApp app;
  ASSERT_TRUE(app.started());
  Sidecar b, a;
  ASSERT_TRUE(b.start("appb", nr_, {"--app-port", std::to_string(app.port())})) << b.log();
  ASSERT_TRUE(a.start("appa", nr_)) << a.log();

  // dapr-app-id header on a path no route claims: the whole path is the method; the header
  // itself is not passed on.
  auto by_header = makeRequest(verb::post, "/shop//cart/./items?q=1", "x", "text/plain");
  by_header.set("dapr-app-id", "appb");
  EXPECT_EQ(httpCall(a.port(), std::move(by_header)).result_int(), 200u);
  // Authorization: Basic base64("dapr-app-id:appb"), as in http://dapr-app-id:appb@host/...
  std::string cred = "dapr-app-id:appb";
  std::string enc(boost::beast::detail::base64::encoded_size(cred.size()), '\0');
  enc.resize(boost::beast::detail::base64::encode(enc.data(), cred.data(), cred.size()));
  auto by_basic = makeRequest(verb::get, "/basic/path");
  by_basic.set(field::authorization, "Basic " + enc);
  EXPECT_EQ(httpCall(a.port(), std::move(by_basic)).result_int(), 200u);
  // appid.namespace, and an id given URL-escaped.
  EXPECT_EQ(httpCall(a.port(), verb::get, "/v1.0/invoke/appb.default/method/ns").result_int(),
            200u);
  EXPECT_EQ(httpCall(a.port(), verb::get, "/v1.0/invoke/app%62/method/escaped").result_int(), 200u);
  // A non-Dapr endpoint named by its URL, raw and escaped: called directly.
  std::string url = "http://127.0.0.1:" + std::to_string(app.port());
  EXPECT_EQ(httpCall(a.port(), verb::get, "/v1.0/invoke/" + url + "/method/direct").result_int(),
            200u);
  std::string escaped = "http%3A%2F%2F127.0.0.1%3A" + std::to_string(app.port());
  EXPECT_EQ(
      httpCall(a.port(), verb::get, "/v1.0/invoke/" + escaped + "/method/direct2?k=v").result_int(),
      200u);

  auto seen = app.seen();
  ASSERT_EQ(seen.size(), 6u);
  EXPECT_EQ(seen[0].target, "/shop/cart/items?q=1");
  EXPECT_EQ(seen[0].body, "x");
  EXPECT_FALSE(seen[0].has("dapr-app-id"));
  EXPECT_EQ(seen[0].get("dapr-caller-app-id"), "appa");
  EXPECT_EQ(seen[1].target, "/basic/path");
  EXPECT_EQ(seen[1].get("dapr-callee-app-id"), "appb");
  EXPECT_EQ(seen[2].target, "/ns");
  EXPECT_EQ(seen[2].get("dapr-callee-app-id"), "appb");
  EXPECT_EQ(seen[3].target, "/escaped");
  EXPECT_EQ(seen[4].target, "/direct");
  EXPECT_FALSE(seen[4].has("dapr-callee-app-id"));  // not a Dapr app
  EXPECT_EQ(seen[5].target, "/direct2?k=v");
}

TEST_F(InvokeTest, MissingUnknownAndUnreachableAppsAreDirectInvokeErrors) {
  RecordingApp app;
  ASSERT_TRUE(app.started());
  Sidecar b, a;
  ASSERT_TRUE(b.start("appb", nr_, {"--app-port", std::to_string(app.port())})) << b.log();
  ASSERT_TRUE(a.start("appa", nr_)) << a.log();

  auto missing = httpCall(a.port(), verb::get, "/not/a/route");
  EXPECT_EQ(missing.result_int(), 404u);
  EXPECT_TRUE(hasErrorCode(missing, "ERR_DIRECT_INVOKE")) << missing.body();
  EXPECT_EQ(missing[field::content_type], "application/json");
  auto unknown = httpCall(a.port(), verb::get, "/v1.0/invoke/ghost/method/x");
  EXPECT_EQ(unknown.result_int(), 500u);
  EXPECT_TRUE(hasErrorCode(unknown, "ERR_DIRECT_INVOKE")) << unknown.body();
  EXPECT_NE(unknown.body().find("ghost"), std::string::npos);
  // A has no --app-port: invoking itself has nowhere to go.
  auto self = httpCall(a.port(), verb::get, "/v1.0/invoke/appa/method/x");
  EXPECT_EQ(self.result_int(), 500u);
  EXPECT_TRUE(hasErrorCode(self, "ERR_DIRECT_INVOKE")) << self.body();

  // B's registration exists while it runs; SIGKILLed, its entry is found dead and removed.
  ASSERT_EQ(httpCall(a.port(), verb::get, "/v1.0/invoke/appb/method/x").result_int(), 200u);
  auto entries = [&] {
    int n = 0;
    for (const auto& e : fs::directory_iterator(nr_))
      n += e.path().filename().string().rfind("appb.", 0) == 0;
    return n;
  };
  EXPECT_EQ(entries(), 1);
  b.process().stop(SIGKILL);
  auto gone = httpCall(a.port(), verb::get, "/v1.0/invoke/appb/method/x");
  EXPECT_EQ(gone.result_int(), 500u);
  EXPECT_TRUE(hasErrorCode(gone, "ERR_DIRECT_INVOKE")) << gone.body();
  // Cached for a moment at most; then the dead entry is cleaned up on lookup.
  for (int i = 0; i < 100 && entries() > 0; ++i) {
    httpCall(a.port(), verb::get, "/v1.0/invoke/appb/method/x");
    std::this_thread::sleep_for(100ms);
  }
  EXPECT_EQ(entries(), 0);
}

TEST_F(InvokeTest, AppDownIsA500AndRegistrationEndsWithTheSidecar) {
  auto app = std::make_unique<RecordingApp>();
  ASSERT_TRUE(app->started());
  Sidecar b;
  ASSERT_TRUE(b.start("appb", nr_, {"--app-port", std::to_string(app->port())})) << b.log();
  ASSERT_EQ(httpCall(b.port(), verb::get, "/v1.0/invoke/appb/method/x").result_int(), 200u);
  app.reset();  // the app goes away; the sidecar keeps running
  auto down = httpCall(b.port(), verb::get, "/v1.0/invoke/appb/method/x");
  EXPECT_EQ(down.result_int(), 500u);
  EXPECT_TRUE(hasErrorCode(down, "ERR_DIRECT_INVOKE")) << down.body();

  // Its registration goes with it; the installation's internal-port token stays for the others.
  auto registrations = [&] {
    int n = 0;
    for (const auto& e : fs::directory_iterator(nr_)) n += e.path().extension() == ".json";
    return n;
  };
  EXPECT_EQ(registrations(), 1);
  EXPECT_EQ(b.process().stop(SIGTERM), 0) << b.log();
  EXPECT_EQ(registrations(), 0);
}

TEST_F(InvokeTest, AppMaxConcurrencyLetsAtMostNCallsReachTheApp) {
  RecordingApp app;
  ASSERT_TRUE(app.started());
  app.hold(true);
  Sidecar b, a;
  ASSERT_TRUE(b.start("appb", nr_,
                      {"--app-port", std::to_string(app.port()), "--app-max-concurrency", "2"}))
      << b.log();
  ASSERT_TRUE(a.start("appa", nr_)) << a.log();

  // Six calls at once, half of them from another app through its sidecar.
  constexpr int kCalls = 6;
  std::atomic<int> ok{0};
  std::vector<std::thread> callers;
  for (int i = 0; i < kCalls; ++i) {
    uint16_t port = i % 2 ? a.port() : b.port();
    callers.emplace_back([&ok, port, i] {
      auto res = httpCall(port, verb::post, "/v1.0/invoke/appb/method/slow/" + std::to_string(i),
                          "n", "text/plain");
      if (res.result_int() == 200) ok++;
    });
  }
  // Let all six reach a sidecar's API before judging (each counts the requests it received).
  for (int i = 0; i < 400 && (invokeCount(a.metricsPort()) < kCalls / 2 ||
                              invokeCount(b.metricsPort()) < kCalls / 2);
       ++i) {
    std::this_thread::sleep_for(50ms);
  }
  ASSERT_TRUE(app.waitHeld(2));
  // Room for a broken limit to show: more calls would arrive while these two are held.
  std::this_thread::sleep_for(500ms);
  EXPECT_EQ(app.heldCount(), 2u);
  // Releasing lets the waiting ones in, never more than two at a time.
  for (int round = 0; round < 10 && ok.load() < kCalls; ++round) {
    app.waitHeld(1, 5s);
    app.releaseAll();
    std::this_thread::sleep_for(100ms);
  }
  app.hold(false);
  app.releaseAll();
  for (auto& t : callers) t.join();
  EXPECT_EQ(ok.load(), kCalls);
  EXPECT_EQ(app.peak(), 2u);
  EXPECT_EQ(app.seen().size(), static_cast<size_t>(kCalls));
}

TEST_F(InvokeTest, ApiTokenGuardsTheApiAndAppTokenReachesTheApp) {
  RecordingApp app;
  ASSERT_TRUE(app.started());
  Sidecar b, a;
  ASSERT_TRUE(b.start("appb", nr_, {"--app-port", std::to_string(app.port())},
                      {{"DAPR_API_TOKEN", "api-b"}, {"APP_API_TOKEN", "app-b"}}))
      << b.log();
  ASSERT_TRUE(a.start("appa", nr_, {}, {{"DAPR_API_TOKEN", "api-a"}})) << a.log();

  for (const char* target : {"/v1.0/metadata", "/v1.0/invoke/appb/method/x", "/anything"}) {
    auto denied = httpCall(b.port(), verb::get, target);
    EXPECT_EQ(denied.result_int(), 401u) << target;
    EXPECT_EQ(denied.body(), "invalid api token");
    auto wrong = makeRequest(verb::get, target);
    wrong.set("dapr-api-token", "api-a");
    EXPECT_EQ(httpCall(b.port(), std::move(wrong)).result_int(), 401u) << target;
  }
  EXPECT_TRUE(app.seen().empty());
  EXPECT_EQ(httpCall(b.port(), verb::get, "/v1.0/healthz").result_int(), 204u);
  EXPECT_EQ(httpCall(b.port(), verb::get, "/v1.0/healthz/outbound").result_int(), 204u);

  // With its own sidecar's token, from B's API and from A's: the app sees APP_API_TOKEN only.
  auto direct = makeRequest(verb::get, "/v1.0/invoke/appb/method/direct");
  direct.set("dapr-api-token", "api-b");
  EXPECT_EQ(httpCall(b.port(), std::move(direct)).result_int(), 200u);
  auto remote = makeRequest(verb::get, "/v1.0/invoke/appb/method/remote");
  remote.set("dapr-api-token", "api-a");
  EXPECT_EQ(httpCall(a.port(), std::move(remote)).result_int(), 200u);
  auto seen = app.seen();
  ASSERT_EQ(seen.size(), 2u);
  for (const auto& s : seen) EXPECT_EQ(s.get("dapr-api-token"), "app-b") << s.target;
}

TEST_F(InvokeTest, NoAppTokenMeansNoTokenHeaderAtTheApp) {
  RecordingApp app;
  ASSERT_TRUE(app.started());
  Sidecar b;
  ASSERT_TRUE(b.start("appb", nr_, {"--app-port", std::to_string(app.port())},
                      {{"DAPR_API_TOKEN", "api-b"}}))
      << b.log();
  auto req = makeRequest(verb::get, "/v1.0/invoke/appb/method/x");
  req.set("dapr-api-token", "api-b");
  EXPECT_EQ(httpCall(b.port(), std::move(req)).result_int(), 200u);
  auto seen = app.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_FALSE(seen[0].has("dapr-api-token"));  // consumed by the token check
}

TEST_F(InvokeTest, HealthzWaitsForTheAppPortToOpen) {
  uint16_t app_port = freePort();
  Sidecar b;
  ASSERT_TRUE(b.start("appb", nr_, {"--app-port", std::to_string(app_port)}, {}, false)) << b.log();
  auto not_ready = httpCall(b.port(), verb::get, "/v1.0/healthz");
  EXPECT_EQ(not_ready.result_int(), 500u);
  EXPECT_TRUE(hasErrorCode(not_ready, "ERR_HEALTH_NOT_READY")) << not_ready.body();
  EXPECT_EQ(httpCall(b.port(), verb::get, "/v1.0/healthz/outbound").result_int(), 204u);
  RecordingApp app(app_port);
  ASSERT_TRUE(app.started());
  EXPECT_TRUE(waitForHttp(b.port(), "/v1.0/healthz", 204, 30s, &b.process())) << b.log();
  EXPECT_EQ(httpCall(b.port(), verb::get, "/v1.0/invoke/appb/method/now").result_int(), 200u);
}

// Resiliency's `apps` targets around service invocation: to another sidecar, to the own app and
// to an HTTPEndpoint; retries on matching statuses only, a per-attempt timeout, a breaker that
// opens and then fails calls without reaching the app.
TEST_F(InvokeTest, ResiliencyPoliciesApplyToTheCalledAppId) {
  RecordingApp app, slow, down;
  ASSERT_TRUE(app.started() && slow.started() && down.started());
  slow.hold(true);
  down.setBehaviour([](const http::Request&) { return http::makeResponse(500, "down"); });
  std::string res = makeTempDir("outrigger-invoke-resiliency");
  writeFile(res + "/r.yaml", R"(apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata: {name: invoke}
spec:
  policies:
    timeouts: {fast: 300ms}
    retries:
      on503: {policy: constant, duration: 10ms, maxRetries: 3, matching: {httpStatusCodes: "503"}}
    circuitBreakers:
      cb: {maxRequests: 1, timeout: 60s, trip: consecutiveFailures > 1}
  targets:
    apps:
      appb: {retry: on503}
      slow: {timeout: fast}
      down: {circuitBreaker: cb}
---
apiVersion: dapr.io/v1alpha1
kind: HTTPEndpoint
metadata: {name: slow}
spec: {baseUrl: "http://127.0.0.1:)" +
                                 std::to_string(slow.port()) + R"("}
---
apiVersion: dapr.io/v1alpha1
kind: HTTPEndpoint
metadata: {name: down}
spec: {baseUrl: "http://127.0.0.1:)" +
                                 std::to_string(down.port()) + R"("}
)");
  Sidecar b, a;
  ASSERT_TRUE(
      b.start("appb", nr_, {"--app-port", std::to_string(app.port()), "--resources-path", res}))
      << b.log();
  ASSERT_TRUE(a.start("appa", nr_, {"--resources-path", res})) << a.log();

  // 503 twice, then success: retried through both sidecars, and by B to its own app.
  std::atomic<int> failures{0};
  app.setBehaviour([&](const http::Request&) {
    return failures-- > 0 ? http::makeResponse(503, "busy") : http::makeResponse(200, "ok");
  });
  for (uint16_t port : {a.port(), b.port()}) {
    app.clear();
    failures = 2;
    auto res200 = httpCall(port, verb::post, "/v1.0/invoke/appb/method/order");
    EXPECT_EQ(res200.result_int(), 200u) << res200.body();
    EXPECT_EQ(res200.body(), "ok");
    EXPECT_EQ(app.seen().size(), 3u);
  }
  // A status outside matching.httpStatusCodes is not retried, and when retries run out after
  // 1 + maxRetries attempts the last answer passes through: {status, body, attempts}.
  for (auto [status, body, attempts] : {std::tuple{500u, "broken", 1u}, {503u, "busy", 4u}}) {
    app.clear();
    app.setBehaviour([status = status, body = body](const http::Request&) {
      return http::makeResponse(status, body);
    });
    auto res = httpCall(a.port(), verb::get, "/v1.0/invoke/appb/method/x");
    EXPECT_EQ(res.result_int(), status);
    EXPECT_EQ(res.body(), body);
    EXPECT_EQ(app.seen().size(), attempts);
  }

  // The endpoint never answers: the timeout ends the call.
  auto timed_out = httpCall(a.port(), verb::get, "/v1.0/invoke/slow/method/x");
  EXPECT_EQ(timed_out.result_int(), 500u);
  EXPECT_TRUE(hasErrorCode(timed_out, "ERR_DIRECT_INVOKE")) << timed_out.body();
  EXPECT_NE(timed_out.body().find("timed out"), std::string::npos) << timed_out.body();
  slow.hold(false);
  slow.releaseAll();

  // Two consecutive failures trip the breaker; the third call does not reach the endpoint.
  for (int i = 0; i < 2; ++i) {
    EXPECT_EQ(httpCall(a.port(), verb::get, "/v1.0/invoke/down/method/x").result_int(), 500u);
  }
  EXPECT_EQ(down.seen().size(), 2u);
  auto open = httpCall(a.port(), verb::get, "/v1.0/invoke/down/method/x");
  EXPECT_EQ(open.result_int(), 500u);
  EXPECT_TRUE(hasErrorCode(open, "ERR_DIRECT_INVOKE")) << open.body();
  EXPECT_NE(open.body().find("circuit breaker is open"), std::string::npos) << open.body();
  EXPECT_EQ(down.seen().size(), 2u);
}

// issue 12 §3: the internal port took anyone's call, to the app with APP_API_TOKEN attached and
// the caller's dapr-caller-app-id believed.
TEST_F(InvokeTest, TheInternalPortAdmitsOnlySidecarsOfTheInstallation) {
  RecordingApp app;
  ASSERT_TRUE(app.started());
  Sidecar b, a;
  ASSERT_TRUE(b.start("appb", nr_, {"--app-port", std::to_string(app.port())},
                      {{"APP_API_TOKEN", "app-b"}}))
      << b.log();
  ASSERT_TRUE(a.start("appa", nr_)) << a.log();

  // curl -XPOST -H 'dapr-caller-app-id: payments-admin' localhost:$INTERNAL/transfer
  auto forged = makeRequest(verb::post, "/transfer", "1000000", "text/plain");
  forged.set("dapr-caller-app-id", "payments-admin");
  auto denied = httpCall(b.internalPort(), std::move(forged));
  EXPECT_EQ(denied.result_int(), 401u) << denied.body();
  EXPECT_TRUE(hasErrorCode(denied, "ERR_DIRECT_INVOKE")) << denied.body();
  auto guessed = makeRequest(verb::post, "/transfer", "1000000", "text/plain");
  guessed.set("outrigger-internal-token", std::string(64, '0'));
  guessed.set("outrigger-caller-app-id", "payments-admin");
  EXPECT_EQ(httpCall(b.internalPort(), std::move(guessed)).result_int(), 401u);
  EXPECT_TRUE(app.seen().empty());

  // A sidecar of the installation gets through, and the app hears who called from it alone.
  auto res = httpCall(a.port(), verb::post, "/v1.0/invoke/appb/method/transfer", "1", "text/plain");
  EXPECT_EQ(res.result_int(), 200u) << res.body();
  auto seen = app.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].target, "/transfer");
  EXPECT_EQ(seen[0].get("dapr-caller-app-id"), "appa");
  EXPECT_EQ(seen[0].get("dapr-api-token"), "app-b");
  EXPECT_FALSE(seen[0].has("outrigger-internal-token"));
  EXPECT_FALSE(seen[0].has("outrigger-caller-app-id"));

  // The token both read: one file beside the name-resolution entries, private to the user.
  struct stat st {};
  ASSERT_EQ(::stat((nr_ + "/internal-token").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
}

// Only a sidecar says who is calling: a client's dapr-caller-app-id (or the internal headers) is
// replaced by the true caller, through another sidecar and to the own app alike.
TEST_F(InvokeTest, ACallerAppIdSentByAClientIsReplacedByTheTrueCaller) {
  RecordingApp app;
  ASSERT_TRUE(app.started());
  Sidecar b, a;
  ASSERT_TRUE(b.start("appb", nr_, {"--app-port", std::to_string(app.port())})) << b.log();
  ASSERT_TRUE(a.start("appa", nr_)) << a.log();
  for (Sidecar* via : {&a, &b}) {
    app.clear();
    auto req = makeRequest(verb::get, "/v1.0/invoke/appb/method/x");
    req.set("dapr-caller-app-id", "payments-admin");
    req.set("outrigger-caller-app-id", "payments-admin");
    req.set("outrigger-internal-token", "made-up");
    auto res = httpCall(via->port(), std::move(req));
    EXPECT_EQ(res.result_int(), 200u) << res.body();
    auto seen = app.seen();
    ASSERT_EQ(seen.size(), 1u);
    EXPECT_EQ(seen[0].get("dapr-caller-app-id"), via == &a ? "appa" : "appb");
    EXPECT_FALSE(seen[0].has("outrigger-caller-app-id"));
    EXPECT_FALSE(seen[0].has("outrigger-internal-token"));
  }
}

// Kubernetes mode: without a token all its sidecars share, the port stays open (mTLS is what
// will authenticate there) but no caller app id is believed; with OUTRIGGER_INTERNAL_TOKEN it is
// checked as in standalone mode.
TEST_F(InvokeTest, KubernetesModeBelievesACallerOnlyWithTheSharedToken) {
  RecordingApp app;
  ASSERT_TRUE(app.started());
  const std::vector<std::string> k8s = {"--mode",
                                        "kubernetes",
                                        "--dapr-internal-grpc-listen-address",
                                        "127.0.0.1",
                                        "--metrics-listen-address",
                                        "127.0.0.1"};
  auto with = [](std::vector<std::string> args, std::vector<std::string> more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };
  for (std::string token : {"", "installation-token-0123456789"}) {
    SCOPED_TRACE(token.empty() ? "no token" : "token");
    std::map<std::string, std::string> env;
    if (!token.empty()) env["OUTRIGGER_INTERNAL_TOKEN"] = token;
    Sidecar b, a;
    ASSERT_TRUE(b.start("appb", nr_, with(k8s, {"--app-port", std::to_string(app.port())}), env))
        << b.log();
    ASSERT_TRUE(a.start("appa", nr_, k8s, env)) << a.log();
    app.clear();
    auto forged = makeRequest(verb::post, "/transfer");
    forged.set("dapr-caller-app-id", "payments-admin");
    auto direct = httpCall(b.internalPort(), std::move(forged));
    auto via_a = httpCall(a.port(), verb::get, "/v1.0/invoke/appb/method/x");
    EXPECT_EQ(via_a.result_int(), 200u) << via_a.body();
    auto seen = app.seen();
    if (token.empty()) {
      EXPECT_EQ(direct.result_int(), 200u) << direct.body();
      ASSERT_EQ(seen.size(), 2u);
      for (const auto& s : seen) EXPECT_FALSE(s.has("dapr-caller-app-id")) << s.target;
      EXPECT_NE(b.log().find("mTLS"), std::string::npos) << b.log();
    } else {
      EXPECT_EQ(direct.result_int(), 401u) << direct.body();
      ASSERT_EQ(seen.size(), 1u);
      EXPECT_EQ(seen[0].get("dapr-caller-app-id"), "appa");
    }
  }
}

// issue 12 §4: the percent-decoded id was written raw as the request target, so this delivered
// a second request (DELETE /smuggled) to the server it names.
TEST_F(InvokeTest, AnIdOrPathThatWouldWriteASecondRequestIsA400AndNothingIsSent) {
  RecordingApp target;
  ASSERT_TRUE(target.started());
  Sidecar a;
  ASSERT_TRUE(a.start("appa", nr_)) << a.log();
  const std::string port = std::to_string(target.port());
  auto expect400 = [&](http::Request req) {
    std::string what(req.target());
    auto res = httpCall(a.port(), std::move(req));
    EXPECT_EQ(res.result_int(), 400u) << what << ": " << res.body();
    EXPECT_TRUE(hasErrorCode(res, "ERR_DIRECT_INVOKE")) << what << ": " << res.body();
  };
  expect400(makeRequest(verb::get, "/v1.0/invoke/http%3A%2F%2F127.0.0.1%3A" + port +
                                       "%2Fa%20HTTP%2F1.1%0D%0AContent-Length%3A%200%0D%0A%0D%0A"
                                       "DELETE%20%2Fsmuggled/method/z"));
  expect400(makeRequest(verb::get, "/v1.0/invoke/app%0D%0AX-Injected%3A%201/method/z"));
  expect400(makeRequest(verb::get, "/v1.0/invoke/a%20b/method/z"));
  auto by_header = makeRequest(verb::get, "/z");
  by_header.set("dapr-app-id", "http://127.0.0.1:" + port + "/a HTTP/1.1");
  expect400(std::move(by_header));
  // Basic auth decodes to any bytes: "dapr-app-id:appb\r\n\r\nDELETE /smuggled".
  auto by_basic = makeRequest(verb::get, "/z");
  by_basic.set(field::authorization, "Basic ZGFwci1hcHAtaWQ6YXBwYg0KDQpERUxFVEUgL3NtdWdnbGVk");
  expect400(std::move(by_basic));
  EXPECT_TRUE(target.seen().empty());

  // The well-formed call gets through, alone: nothing smuggled is queued behind it.
  auto ok = httpCall(a.port(), verb::get,
                     "/v1.0/invoke/http%3A%2F%2F127.0.0.1%3A" + port + "%2Fa/method/z");
  EXPECT_EQ(ok.result_int(), 200u) << ok.body();
  auto seen = target.seen();
  ASSERT_EQ(seen.size(), 1u);
  EXPECT_EQ(seen[0].method, "GET");
  EXPECT_EQ(seen[0].target, "/a/z");
}

// The local addresses (hex, as /proc/net/tcp{,6} show them) listening on port.
std::vector<std::string> listeners(uint16_t port) {
  std::vector<std::string> out;
  for (const char* file : {"/proc/net/tcp", "/proc/net/tcp6"}) {
    std::ifstream in(file);
    std::string line;
    std::getline(in, line);  // the header
    while (std::getline(in, line)) {
      std::istringstream fields(line);
      std::string slot, local, remote, state;
      fields >> slot >> local >> remote >> state;
      size_t colon = local.rfind(':');
      if (state != "0A" || colon == std::string::npos) continue;  // 0A: LISTEN
      if (std::stoul(local.substr(colon + 1), nullptr, 16) == port) {
        out.push_back(local.substr(0, colon));
      }
    }
  }
  return out;
}

// issue 12: a standalone sidecar bound its API, internal and metrics ports to 0.0.0.0.
TEST_F(InvokeTest, StandaloneListenersDefaultToLoopback) {
  Sidecar a;
  ASSERT_TRUE(a.start("appa", nr_, {}, {}, true, /*default_listeners=*/true)) << a.log();
  for (uint16_t port : {a.port(), a.internalPort(), a.metricsPort()}) {
    auto addresses = listeners(port);
    EXPECT_FALSE(addresses.empty()) << port;
    for (const auto& address : addresses) EXPECT_EQ(address, "0100007F") << port;  // 127.0.0.1
  }
  EXPECT_NE(a.log().find("--dapr-listen-addresses"), std::string::npos) << a.log();
  EXPECT_NE(a.log().find("--metrics-listen-address"), std::string::npos) << a.log();
}

}  // namespace
}  // namespace outrigger::testing
