#include "injector/app.h"

#include <malloc.h>
#include <signal.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <iostream>
#include <thread>
#include <vector>

#include "common/http/server.h"
#include "common/logging/log.h"
#include "common/tls/server_context.h"
#include "injector/options.h"
#include "injector/service/handler.h"
#include "injector/service/https_server.h"
#include "injector/service/metrics.h"

namespace outrigger::injector {

namespace asio = boost::asio;

int run(int argc, char** argv) {
  auto parsed = parseOptions(argc, argv);
  if (!parsed.ok()) {
    std::cerr << "outrigger-injector: " << parsed.status().message() << "\n";
    return 2;
  }
  Options o = std::move(*parsed);
  if (o.print_help) {
    std::cout << o.help_text;
    return 0;
  }
  // A review allocates a few hundred KB (two JSON documents' pools, the answer) and frees it all:
  // with glibc's default 128 KB trim threshold every review shrank the heap again, and the brk
  // calls' TLB flushes took most of a review's CPU time. The heap now keeps up to 4 MB it has
  // used; what a review needs is far less.
  mallopt(M_TRIM_THRESHOLD, 4 << 20);
  logging::Level level = logging::Level::kInfo;
  logging::parseLevel(o.log_level, &level);
  logging::setLevel(level);
  logging::setJson(o.log_as_json);
  logging::setScope("outrigger-injector");

  auto tls = tls::ReloadingServerContext::create(
      o.tls_cert_file, o.tls_key_file, std::chrono::milliseconds(o.tls_check_interval_ms));
  if (!tls.ok()) {
    LOG_ERROR << tls.status().message();
    return 1;
  }
  service::InjectorMetrics metrics;
  service::Handler handler(o.admission, &metrics);

  asio::io_context ioc(o.threads);
  service::HttpsServerOptions hopts;
  hopts.address = o.listen_address;
  hopts.port = static_cast<uint16_t>(o.port);
  hopts.max_body_bytes = o.max_request_bytes;
  service::HttpsServer server(ioc, hopts, tls->get(), &handler);
  if (Status s = server.start(); !s.ok()) {
    LOG_ERROR << s.message();
    return 1;
  }

  std::unique_ptr<http::Server> metrics_server;
  if (o.metrics_port > 0) {
    http::ServerOptions mopts;
    mopts.port = static_cast<uint16_t>(o.metrics_port);
    mopts.max_body_bytes = 4096;
    auto* reloading = tls->get();
    metrics_server = std::make_unique<http::Server>(
        ioc, mopts, [&metrics, reloading](http::Request&&, http::Responder respond) {
          metrics.setCertificateGeneration(static_cast<double>(reloading->generation()));
          respond(http::makeResponse(200, metrics.render(), "text/plain; version=0.0.4"));
        });
    if (Status s = metrics_server->start(); !s.ok()) {
      LOG_ERROR << "metrics server: " << s.message();
      return 1;
    }
  }
  const auto& cfg = o.admission.injector;
  LOG_INFO << "listening on " << o.listen_address << ":" << server.port() << " (HTTPS /mutate)"
           << (o.metrics_port > 0 ? ", metrics on :" + std::to_string(o.metrics_port) : "")
           << "; sidecar image " << cfg.sidecar_image << ", control plane "
           << cfg.control_plane_namespace << ", trust domain " << cfg.trust_domain;

  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int sig) {
    LOG_INFO << "signal " << sig << ": shutting down";
    server.stop();
    if (metrics_server) metrics_server->stopAccepting();
    ioc.stop();
  });
  std::vector<std::thread> threads;
  for (int i = 1; i < o.threads; ++i) threads.emplace_back([&ioc] { ioc.run(); });
  ioc.run();
  for (auto& t : threads) t.join();
  return 0;
}

}  // namespace outrigger::injector
