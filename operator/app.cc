#include "operator/app.h"

#include <prometheus/counter.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <signal.h>

#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <iostream>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/http/server.h"
#include "common/kube/kube_client.h"
#include "common/logging/log.h"
#include "common/metrics/metrics.h"
#include "operator/api/resource_streams.h"
#include "operator/handlers/service_reconciler.h"
#include "operator/informer.h"
#include "operator/leader_election.h"
#include "operator/options.h"

namespace outrigger::operator_ {

namespace asio = boost::asio;

int run(int argc, char** argv) {
  auto parsed = parseOptions(argc, argv);
  if (!parsed.ok()) {
    std::cerr << "outrigger-operator: " << parsed.status().message() << std::endl;
    return 1;
  }
  const Options& o = *parsed;
  if (o.print_help) {
    std::cout << o.help_text;
    return 0;
  }
  logging::Level level;
  logging::parseLevel(o.log_level, &level);
  logging::setLevel(level);
  logging::setJson(o.log_as_json);
  logging::setScope("outrigger-operator");

  auto config =
      o.kubeconfig.empty() ? kube::loadInClusterConfig() : kube::loadKubeconfig(o.kubeconfig);
  if (!config.ok()) {
    LOG_ERROR << "kubernetes configuration: " << config.status().message();
    return 1;
  }
  kube::KubeClient client(*config);

  LeaderElection election(client, LeaderElectionOptions{o.lease_namespace, "outrigger-operator",
                                                        o.identity, o.lease_duration_seconds,
                                                        o.renew_deadline_ms, o.retry_period_ms});
  std::atomic<bool> always_leader{!o.leader_elect};
  auto is_leader = [&] { return always_leader || election.isLeader(); };

  api::ResourceStreams streams(client);
  if (o.authenticate_sidecars) {
    streams.requireTokens(o.token_audiences);
  } else {
    LOG_WARN << "sidecars are not authenticated (--authenticate-sidecars=false): any pod can read "
                "the resources and resolved secrets of any namespace";
  }
  if (Status st = streams.listen(o.listen_address, static_cast<uint16_t>(o.port)); !st.ok()) {
    LOG_ERROR << "sidecar API: " << st.message();
    return 1;
  }
  LOG_INFO << "serving resources to sidecars on port " << streams.port();

  handlers::ServiceReconciler services(client, is_leader);
  // One informer per streamed kind; the stream is ready once all of them listed.
  std::vector<std::unique_ptr<Informer>> resources;
  for (const auto& k : api::streamedKinds()) {
    std::string kind = k.kind;
    resources.push_back(std::make_unique<Informer>(
        client, k.path,
        Informer::Handlers{
            [&streams, kind](const json::Value& items) { streams.onList(kind, items); },
            [&streams, kind](const std::string& type, const json::Value& obj) {
              streams.onEvent(kind, type, obj);
            }}));
  }
  auto resources_synced = [&] {
    for (const auto& r : resources)
      if (!r->synced()) return false;
    return true;
  };
  Informer deployments(client, "/apis/apps/v1/deployments",
                       {[&](const json::Value& items) { services.onList("Deployment", items); },
                        [&](const std::string& type, const json::Value& obj) {
                          services.onEvent("Deployment", type, obj);
                        }});
  Informer statefulsets(client, "/apis/apps/v1/statefulsets",
                        {[&](const json::Value& items) { services.onList("StatefulSet", items); },
                         [&](const std::string& type, const json::Value& obj) {
                           services.onEvent("StatefulSet", type, obj);
                         }});
  if (o.leader_elect) election.start();
  for (auto& r : resources) r->start();
  deployments.start();
  statefulsets.start();

  // Resync on becoming leader, and every 5 s as a safety net.
  std::atomic<bool> stop_resync{false};
  std::thread resyncer([&] {
    bool was_leader = false;
    int ticks = 0;
    while (!stop_resync) {
      std::this_thread::sleep_for(std::chrono::milliseconds(200));
      bool now_leader = is_leader();
      if ((now_leader && !was_leader) || (now_leader && ++ticks % 25 == 0)) {
        services.resync(deployments.synced() && statefulsets.synced());
      }
      was_leader = now_leader;
    }
  });

  asio::io_context ioc;
  auto registry = std::make_shared<prometheus::Registry>();
  auto& created = prometheus::BuildCounter()
                      .Name("dapr_operator_service_created_total")
                      .Help("Services created.")
                      .Register(*registry)
                      .Add({});
  auto& updated = prometheus::BuildCounter()
                      .Name("dapr_operator_service_updated_total")
                      .Help("Services updated.")
                      .Register(*registry)
                      .Add({});
  auto& deleted = prometheus::BuildCounter()
                      .Name("dapr_operator_service_deleted_total")
                      .Help("Services deleted.")
                      .Register(*registry)
                      .Add({});
  auto& sidecars = prometheus::BuildGauge()
                       .Name("outrigger_operator_sidecars_connected")
                       .Help("Sidecars streaming resources.")
                       .Register(*registry)
                       .Add({});
  auto& relists = prometheus::BuildCounter()
                      .Name("outrigger_operator_relists_total")
                      .Help("Relists after a watch found its resourceVersion gone (410).")
                      .Register(*registry);
  struct RelistCount {
    const Informer* informer;
    prometheus::Counter* counter;
    uint64_t reported = 0;
  };
  std::vector<RelistCount> relist_counts;
  std::vector<const Informer*> informers = {&deployments, &statefulsets};
  for (const auto& r : resources) informers.push_back(r.get());
  for (const Informer* i : informers) {
    std::string resource = i->path().substr(i->path().rfind('/') + 1);
    relist_counts.push_back({i, &relists.Add({{"resource", resource}})});
  }
  auto& leader = prometheus::BuildGauge()
                     .Name("outrigger_operator_leader")
                     .Help("1 on the leader replica.")
                     .Register(*registry)
                     .Add({});

  http::ServerOptions hopts;
  hopts.port = static_cast<uint16_t>(o.healthz_port);
  http::Server healthz(ioc, hopts, [&](http::Request&&, http::Responder respond) {
    bool ready = resources_synced();
    respond(http::makeResponse(ready ? 200 : 503, ready ? "ok" : "not synced", "text/plain"));
  });
  http::ServerOptions mopts;
  mopts.port = static_cast<uint16_t>(o.metrics_port);
  http::Server metrics(ioc, mopts, [&](http::Request&&, http::Responder respond) {
    created.Increment(services.created.exchange(0));
    updated.Increment(services.updated.exchange(0));
    deleted.Increment(services.deleted.exchange(0));
    sidecars.Set(static_cast<double>(streams.sessionCount()));
    leader.Set(is_leader() ? 1 : 0);
    for (auto& r : relist_counts) {
      uint64_t now = r.informer->relists();
      r.counter->Increment(static_cast<double>(now - r.reported));
      r.reported = now;
    }
    respond(http::makeResponse(200, metrics::renderText(*registry), "text/plain; version=0.0.4"));
  });
  for (auto* s : {&healthz, &metrics}) {
    if (Status st = s->start(); !st.ok()) {
      LOG_ERROR << st.message();
      return 1;
    }
  }
  asio::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](const boost::system::error_code&, int) {
    LOG_INFO << "shutting down";
    ioc.stop();
  });
  ioc.run();
  stop_resync = true;
  resyncer.join();
  for (auto& r : resources) r->stop();
  deployments.stop();
  statefulsets.stop();
  election.stop();
  streams.stop();
  return 0;
}

}  // namespace outrigger::operator_
