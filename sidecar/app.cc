#include "sidecar/app.h"

#include <malloc.h>

#include <algorithm>
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <future>
#include <iostream>
#include <set>
#include <thread>

#include "common/http/client.h"
#include "common/http/server.h"
#include "common/logging/log.h"
#include "common/metrics/metrics.h"
#include "sidecar/api/http/api_server.h"
#include "sidecar/api/http/respond.h"
#include "sidecar/api/universal/bindings.h"
#include "sidecar/api/universal/invoke.h"
#include "sidecar/api/universal/pubsub.h"
#include "sidecar/api/universal/secrets.h"
#include "sidecar/api/universal/state.h"
#include "sidecar/bindings/input_bindings.h"
#include "sidecar/config/configuration.h"
#include "sidecar/invoke/internal_auth.h"
#include "sidecar/options.h"
#include "sidecar/pubsub/subscriber.h"
#include "sidecar/resiliency/resiliency.h"
#include "sidecar/runtime/hot_reload.h"
#include "sidecar/runtime/operator_client.h"
#include "sidecar/runtime/processor.h"
#include "sidecar/runtime/registry.h"
#include "sidecar/runtime/resources.h"

namespace outrigger::sidecar {

namespace asio = boost::asio;
using namespace std::chrono_literals;

namespace {

// Waits for the app to accept TCP connections, as daprd does before reporting it connected:
// 500 ms dial timeout, 100 ms between attempts, until shutdown.
void waitForApp(runtime::Context& ctx) {
  const auto& o = ctx.options;
  LOG_INFO << "waiting for the app on " << o.app_channel_address << ":" << o.app_port;
  while (!ctx.shutting_down) {
    if (outrigger::http::canConnect(o.app_channel_address, static_cast<uint16_t>(o.app_port),
                                    500ms)) {
      ctx.app_connected = true;
      LOG_INFO << "app is listening on port " << o.app_port;
      return;
    }
    std::this_thread::sleep_for(100ms);
  }
}

}  // namespace

int run(int argc, char** argv) {
  // Few arenas: the sidecar is I/O bound, and every arena costs resident memory.
  mallopt(M_ARENA_MAX, 2);
  auto start_time = std::chrono::steady_clock::now();

  auto parsed = parseOptions(argc, argv);
  if (!parsed.ok()) {
    std::cerr << "outriggerd: " << parsed.status().message() << std::endl;
    return 1;
  }
  if (parsed->print_help) {
    std::cout << parsed->help_text;
    return 0;
  }
  if (parsed->print_version) {
    std::cout << kRuntimeVersion << std::endl;
    return 0;
  }

  runtime::Context ctx;
  ctx.options = std::move(*parsed);
  const Options& o = ctx.options;
  if (const char* ns = std::getenv("NAMESPACE")) ctx.namespace_name = ns;
  logging::Level level;
  logging::parseLevel(o.log_level, &level);
  logging::setLevel(level);
  logging::setJson(o.log_as_json);
  logging::setScope("outriggerd");
  logging::setAppId(o.app_id);
  LOG_INFO << "starting outriggerd " << kRuntimeVersion << " (mode " << o.mode << ", app id '"
           << o.app_id << "')";
  if (o.mode == "kubernetes" && o.control_plane_address.empty()) {
    LOG_WARN << "kubernetes mode without --control-plane-address: using --resources-path only";
  }
  for (const auto& note : unappliedFlagNotes(o)) LOG_INFO << note;
  if (std::string note = loopbackDefaultsNote(o); !note.empty()) {
    LOG_INFO << note;
  }

  // Resources: from the resources path, and in Kubernetes mode streamed from the operator too.
  auto resources = runtime::loadResources(o.resources_paths, o.app_id, ctx.namespace_name);
  if (!resources.ok()) {
    LOG_ERROR << "failed to load resources: " << resources.status().message();
    return 1;
  }
  runtime::HotReloader reloader(ctx);
  std::unique_ptr<runtime::OperatorClient> operator_client;
  struct StopStream {  // on every way out: release the stream before what it calls into
    runtime::HotReloader& reloader;
    std::unique_ptr<runtime::OperatorClient>& client;
    ~StopStream() {
      reloader.close();
      if (client) client->stop();
    }
  } stop_stream{reloader, operator_client};
  if (o.mode == "kubernetes" && !o.control_plane_address.empty()) {
    runtime::OperatorClientOptions copts;
    copts.address = o.control_plane_address;
    copts.namespace_name = ctx.namespace_name.empty() ? "default" : ctx.namespace_name;
    copts.app_id = o.app_id;
    operator_client = std::make_unique<runtime::OperatorClient>(copts);
    operator_client->start();
    if (!operator_client->waitSynced(std::chrono::seconds(10))) {
      LOG_WARN << "no resource list from the operator at " << o.control_plane_address
               << " yet; serving without it and applying it when it arrives";
    }
    runtime::Resources streamed = operator_client->attach(&reloader);
    std::set<std::string> names;
    for (const auto& c : resources->components) names.insert(c.name);
    for (auto& c : streamed.components) {
      if (!names.insert(c.name).second) {
        LOG_WARN << "component " << c.name << " from the operator: a file defines it already";
        continue;
      }
      resources->components.push_back(std::move(c));
    }
    for (auto& r : streamed.others) resources->others.push_back(std::move(r));
  }
  // A bad file stops start-up; a bad resource from the operator is logged and left out.
  auto streamed = [](const runtime::Resource& r) { return r.source.rfind("operator:", 0) == 0; };

  // --config: files in standalone mode, the named resource in Kubernetes mode; a bad or missing
  // one stops start-up, as in daprd.
  auto configuration = config::loadConfiguration(o, resources->others);
  if (!configuration.ok()) {
    LOG_ERROR << "failed to load configuration: " << configuration.status().message();
    return 1;
  }
  config::applyConfiguration(*configuration, &ctx.options, &resources->components);

  auto resiliency = resiliency::Resiliency::load(resources->others, o.app_id);
  if (!resiliency.ok()) {
    LOG_ERROR << "failed to load resiliency: " << resiliency.status().message();
    return 1;
  }
  if ((*resiliency)->count() > 0) {
    LOG_INFO << (*resiliency)->count() << " resiliency policies loaded";
  }
  runtime::ProcessorOptions popts;
  popts.resiliency = *resiliency;
  popts.app_id = o.app_id;
  popts.namespace_name = ctx.namespace_name;
  runtime::Processor processor(runtime::builtinRegistry(), ctx.compstore, popts);
  Status st = processor.initAll(resources->components);
  if (!st.ok()) {
    LOG_ERROR << "failed to init components: " << st.message();
    processor.closeAll();
    return 1;
  }
  ctx.failed_components = processor.failed();
  std::vector<pubsub::Subscription> declarative;
  auto parse_subscriptions = [&](const std::vector<runtime::Resource>& list) {
    std::vector<pubsub::Subscription> out;
    for (const auto& r : list) {
      if (r.kind != "Subscription") continue;
      auto sub = pubsub::parseDeclarative(r);
      if (!sub.ok()) {
        if (!streamed(r)) return StatusOr<std::vector<pubsub::Subscription>>(sub.status());
        LOG_ERROR << "subscription left out: " << sub.status().message();
        continue;
      }
      out.push_back(std::move(*sub));
    }
    return StatusOr<std::vector<pubsub::Subscription>>(std::move(out));
  };
  if (auto subs = parse_subscriptions(resources->others); subs.ok()) {
    declarative = std::move(*subs);
  } else {
    LOG_ERROR << "failed to load subscription: " << subs.status().message();
    processor.closeAll();
    return 1;
  }
  for (const auto& r : resources->others) {
    if (r.kind != "HTTPEndpoint") continue;
    auto endpoint = runtime::parseHttpEndpoint(r, ctx.compstore);
    if (!endpoint.ok()) {
      LOG_ERROR << "failed to load HTTPEndpoint: " << endpoint.status().message();
      if (streamed(r)) continue;
      processor.closeAll();
      return 1;
    }
    ctx.http_endpoints.put(std::move(*endpoint));
  }

  // One io_context per I/O thread: a connection, its request and the upstream call it makes all
  // stay on one thread (no hand-offs between threads on the hot path). Context 0 also runs the
  // timers, signals and low-rate servers.
  unsigned threads = std::max(1u, std::min(2u, std::thread::hardware_concurrency()));
  std::vector<std::unique_ptr<asio::io_context>> contexts;
  std::vector<asio::io_context*> iocs;
  using WorkGuard = asio::executor_work_guard<asio::io_context::executor_type>;
  std::vector<std::unique_ptr<WorkGuard>> work;
  for (unsigned i = 0; i < threads; ++i) {
    contexts.push_back(std::make_unique<asio::io_context>(1));
    iocs.push_back(contexts.back().get());
    work.push_back(std::make_unique<WorkGuard>(asio::make_work_guard(*iocs.back())));
  }
  asio::io_context& ioc = *iocs[0];
  auto pool = outrigger::http::ClientPool::create(iocs, outrigger::http::ClientOptions{});
  std::shared_ptr<invoke::AppChannel> app_channel;
  if (o.app_port > 0) {
    invoke::AppChannelOptions aopts;
    aopts.host = o.app_channel_address;
    aopts.port = static_cast<uint16_t>(o.app_port);
    aopts.max_concurrency = o.app_max_concurrency;
    if (const char* token = std::getenv("APP_API_TOKEN")) aopts.app_token = token;
    app_channel = std::make_shared<invoke::AppChannel>(pool, aopts);
  }
  const std::string nr_dir = invoke::NameResolver::defaultDirectory();
  auto resolver = std::make_shared<invoke::NameResolver>(nr_dir);
  const invoke::InternalAuth internal_auth = invoke::InternalAuth::forInstallation(o.mode, nr_dir);

  api::universal::StateApi state_api(ctx);
  api::universal::SecretsApi secrets_api(ctx, configuration->secret_scopes);
  api::universal::InvokeApi invoke_api(ctx, pool, app_channel, resolver, *resiliency,
                                       internal_auth);
  api::universal::PubSubApi pubsub_api(ctx);
  api::universal::BindingsApi bindings_api(ctx);

  std::function<void()> shutdown;
  api::http::Apis apis;
  apis.context = &ctx;
  apis.configuration = &*configuration;
  apis.state = &state_api;
  apis.secrets = &secrets_api;
  apis.invoke = &invoke_api;
  apis.pubsub = &pubsub_api;
  apis.bindings = &bindings_api;
  apis.request_shutdown = [&] { asio::post(ioc, [&] { shutdown(); }); };

  auto registry = o.enable_metrics ? std::make_shared<prometheus::Registry>() : nullptr;
  api::http::ApiServer api(apis, registry);

  outrigger::http::ServerOptions sopts;
  sopts.addresses = o.listen_addresses;
  sopts.port = static_cast<uint16_t>(o.dapr_http_port);
  sopts.max_body_bytes = o.max_body_bytes;
  sopts.max_header_bytes = static_cast<uint32_t>(std::max<uint64_t>(o.read_buffer_bytes, 4096) * 4);
  outrigger::http::Server http_server(iocs, sopts, api.handler());
  if (Status s = http_server.start(); !s.ok()) {
    LOG_ERROR << "failed to start the HTTP API server: " << s.message();
    return 1;
  }
  LOG_INFO << "HTTP API listening on port " << http_server.port();

  std::unique_ptr<outrigger::http::Server> public_server;
  if (o.dapr_public_port > 0) {
    outrigger::http::ServerOptions p = sopts;
    p.addresses = {o.public_listen_address};
    p.port = static_cast<uint16_t>(o.dapr_public_port);
    public_server = std::make_unique<outrigger::http::Server>(ioc, p, api.publicHandler());
    if (Status s = public_server->start(); !s.ok()) {
      LOG_ERROR << "failed to start the public server: " << s.message();
      return 1;
    }
  }

  // Sidecar-to-sidecar calls arrive here and go to the local app.
  outrigger::http::ServerOptions iopts = sopts;
  iopts.port = static_cast<uint16_t>(o.dapr_internal_grpc_port);
  // Other pods call in: in Kubernetes mode it listens on all interfaces (options.h).
  iopts.addresses = {o.internal_listen_address};
  // The caller proves it is a sidecar of this installation before anything else is looked at.
  auto internal_handler = [&invoke_api, &o, &internal_auth, acl = configuration->access_control](
                              outrigger::http::Request&& req, outrigger::http::Responder respond) {
    if (Status s = internal_auth.admit(req); !s.ok()) {
      return respond(api::http::errorResponse(s));
    }
    if (Status s = acl.checkAnonymousCall(o.app_id, req.target(), req.method_string()); !s.ok()) {
      return respond(api::http::errorResponse(s));
    }
    invoke_api.invokeLocal(std::move(req), [respond](StatusOr<outrigger::http::Response> res) {
      if (!res.ok()) return respond(api::http::errorResponse(res.status()));
      respond(std::move(*res));
    });
  };
  auto internal_server = std::make_unique<outrigger::http::Server>(iocs, iopts, internal_handler);
  if (Status s = internal_server->start(); !s.ok()) {
    // The derived standalone port may be taken (two sidecars of one app): any free port will
    // do, since name resolution publishes the real one.
    LOG_WARN << "internal port " << iopts.port << " unavailable (" << s.message()
             << "); using a free port";
    iopts.port = 0;
    internal_server = std::make_unique<outrigger::http::Server>(iocs, iopts, internal_handler);
    if (Status s2 = internal_server->start(); !s2.ok()) {
      LOG_ERROR << "failed to start the internal server: " << s2.message();
      return 1;
    }
  }

  std::unique_ptr<outrigger::http::Server> metrics_server;
  if (registry) {
    outrigger::http::ServerOptions mopts;
    mopts.addresses = {o.metrics_listen_address};
    mopts.port = static_cast<uint16_t>(o.metrics_port);
    metrics_server = std::make_unique<outrigger::http::Server>(
        ioc, mopts, [registry](outrigger::http::Request&& req, outrigger::http::Responder respond) {
          respond(outrigger::http::makeResponse(200, metrics::renderText(*registry),
                                                "text/plain; version=0.0.4; charset=utf-8"));
        });
    if (Status s = metrics_server->start(); !s.ok()) {
      LOG_ERROR << "failed to start the metrics server: " << s.message();
      return 1;
    }
    LOG_INFO << "metrics listening on port " << metrics_server->port();
  }

  if (!o.app_id.empty()) {
    std::string host = "127.0.0.1";
    if (const char* h = std::getenv("DAPR_HOST_IP")) host = h;
    if (host != "127.0.0.1" && o.internal_listen_address == "127.0.0.1") {
      LOG_WARN << "DAPR_HOST_IP is " << host << " but the internal port listens on 127.0.0.1 "
               << "only: give --dapr-internal-grpc-listen-address for other hosts to call in";
    }
    if (Status s =
            resolver->registerSelf(o.app_id, {host, internal_server->port()}, http_server.port());
        !s.ok()) {
      LOG_WARN << "name resolution: " << s.message();
    }
  }
  ctx.outbound_ready = true;

  // Once the app listens: its programmatic subscriptions, then delivery starts.
  std::unique_ptr<pubsub::Subscriber> subscriber;
  std::unique_ptr<bindings::InputBindings> input_bindings;
  if (app_channel) {
    auto policies = *resiliency;
    auto inbound = [policies](const char* block) -> pubsub::InboundPolicy {
      return [policies, block](const std::string& component, std::function<Status()> attempt) {
        auto policy = policies->componentInbound(component, block);
        return policy ? policy->run(attempt) : attempt();
      };
    };
    subscriber = std::make_unique<pubsub::Subscriber>(ctx, app_channel, inbound("pubsub"));
    input_bindings =
        std::make_unique<bindings::InputBindings>(ctx, app_channel, inbound("bindings"));
  }
  if (subscriber) subscriber->setDeclarative(declarative);
  runtime::HotReloadHooks hooks;
  hooks.component_loaded = [&](const std::string& name) {
    if (subscriber) subscriber->resubscribe(name);
    if (input_bindings) input_bindings->restart(name);
  };
  hooks.subscriptions_changed = [&](const std::vector<runtime::Resource>& list) {
    auto subs = parse_subscriptions(list);
    if (subscriber && subs.ok()) subscriber->setDeclarative(std::move(*subs));
  };
  reloader.open(&processor, *resources, std::move(hooks));

  std::thread app_waiter;
  if (o.app_port > 0) {
    app_waiter = std::thread([&ctx, &subscriber, &input_bindings] {
      waitForApp(ctx);
      if (ctx.shutting_down || !ctx.app_connected) return;
      std::vector<pubsub::Subscription> programmatic;
      if (ctx.compstore.pubsub.size() > 0) {
        auto fetched = subscriber->fetchProgrammatic();
        if (!fetched.ok()) {
          LOG_WARN << "programmatic subscriptions: " << fetched.status().message();
        } else {
          programmatic = std::move(*fetched);
        }
      }
      subscriber->start(std::move(programmatic));
      input_bindings->start();
      ctx.app_ready = true;
    });
  } else {
    ctx.app_connected = true;
    ctx.app_ready = true;
  }

  // Graceful shutdown: stop accepting, let in-flight requests finish within the window.
  asio::steady_timer drain_timer(ioc);
  auto drain_deadline = std::make_shared<std::chrono::steady_clock::time_point>();
  std::atomic<bool> consumers_closed{false};
  std::thread closer;
  std::function<void()> drain = [&] {
    int in_flight = http_server.inFlight() + internal_server->inFlight();
    if ((in_flight == 0 && consumers_closed) ||
        std::chrono::steady_clock::now() >= *drain_deadline) {
      if (in_flight > 0) {
        LOG_WARN << in_flight << " requests still in flight at the end of the shutdown window";
      }
      for (auto& w : work) w.reset();
      for (auto* c : iocs) c->stop();
      return;
    }
    drain_timer.expires_after(20ms);
    drain_timer.async_wait([&](const boost::system::error_code&) { drain(); });
  };
  shutdown = [&] {
    if (ctx.shutting_down.exchange(true)) return;
    LOG_INFO << "shutting down (graceful window " << o.graceful_shutdown_seconds << "s)";
    reloader.close();  // no component is re-created while they are being closed
    resolver->unregisterSelf();
    http_server.stopAccepting();
    internal_server->stopAccepting();
    if (public_server) public_server->stopAccepting();
    if (metrics_server) metrics_server->stopAccepting();
    *drain_deadline =
        std::chrono::steady_clock::now() + std::chrono::seconds(o.graceful_shutdown_seconds);
    ctx.shutdown_deadline_ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(drain_deadline->time_since_epoch())
            .count();
    // Stop consuming first: messages in delivery finish (or stay unacknowledged with the broker).
    closer = std::thread([&] {
      for (const auto& p : ctx.compstore.pubsub.all()) p->component->close();
      for (const auto& b : ctx.compstore.bindings.all()) b->component->close();
      consumers_closed = true;
    });
    drain();
  };
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  asio::steady_timer block_timer(ioc);
  signals.async_wait([&](const boost::system::error_code& ec, int) {
    if (ec) return;
    if (o.block_shutdown_ms <= 0) return shutdown();
    // --dapr-block-shutdown-duration: the API keeps serving the app while it winds down (with no
    // app health checks, the whole duration).
    LOG_INFO << "blocking graceful shutdown for " << o.block_shutdown_ms << " ms";
    block_timer.expires_after(std::chrono::milliseconds(o.block_shutdown_ms));
    block_timer.async_wait([&](const boost::system::error_code&) {
      LOG_INFO << "block shutdown period expired, entering shutdown";
      shutdown();
    });
  });

  auto ready_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                      std::chrono::steady_clock::now() - start_time)
                      .count();
  LOG_INFO << "outriggerd initialized in " << ready_ms << " ms";

  std::vector<std::thread> io_threads;
  for (unsigned i = 1; i < threads; ++i) {
    io_threads.emplace_back([&iocs, i] {
      outrigger::http::ClientPool::bindCurrentThread(static_cast<int>(i));
      iocs[i]->run();
    });
  }
  outrigger::http::ClientPool::bindCurrentThread(0);
  ioc.run();
  for (auto& t : io_threads) t.join();

  ctx.shutting_down = true;
  // Closing is bounded by the graceful window too (plus a second, so that what closes at once
  // still closes cleanly when draining used the whole window). A call stuck on a hung backend is
  // then left running, and the process ends with std::_Exit: nothing is destroyed, since that
  // call still uses its component, its executor and the connection it answers on.
  auto close_by = std::max(*drain_deadline, std::chrono::steady_clock::now()) + 1s;
  auto teardown = std::async(std::launch::async, [&] {
    reloader.close();
    if (operator_client) operator_client->stop();
    if (app_waiter.joinable()) app_waiter.join();
    if (closer.joinable()) closer.join();
    return processor.closeAll(close_by);
  });
  if (teardown.wait_until(close_by + 500ms) != std::future_status::ready || !teardown.get()) {
    LOG_WARN << "components still busy at the end of the shutdown window (a backend is not "
                "answering); exiting without waiting for them";
    std::fflush(nullptr);
    std::_Exit(0);
  }
  LOG_INFO << "outriggerd stopped";
  return 0;
}

}  // namespace outrigger::sidecar
