// Load driver of bench/injector.sh: POSTs one request body over HTTPS at a fixed rate (or as fast
// as it can) and prints the latency distribution as one JSON line. Open loop: each request has a
// scheduled send time. When the previous answer came after it, the latency counts from the
// scheduled time, so a slow server shows in the requests it delayed (no coordinated omission);
// otherwise from the actual send, so the driver's own late wake-ups are not charged to the server.
// Microsecond resolution, which hey's CSV (0.1 ms) lacks.
//
//   injector_load --port P [--path /mutate] --body FILE [--rate 200] [--seconds 10]
//                 [--connections 1] [--new-connection-per-request] [--samples FILE]
//   --rate 0: closed loop, each connection as fast as it can.
//   --samples: every latency (us) appended to FILE, one a line, to pool several runs.
//
// Built by bench/injector.sh with the system compiler (Beast is header-only): it is a tool, not a
// part of the product.

#include <algorithm>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace asio = boost::asio;
namespace ssl = asio::ssl;
namespace beast = boost::beast;
namespace bhttp = beast::http;
using tcp = asio::ip::tcp;
using Clock = std::chrono::steady_clock;

namespace {

struct Config {
  int port = 0;
  std::string path = "/mutate";
  std::string body;
  double rate = 200;
  double seconds = 10;
  int connections = 1;
  bool fresh = false;  // a new TCP + TLS connection for every request
  std::string samples;
};

struct Result {
  std::vector<uint32_t> latencies_us;
  uint64_t errors = 0;
};

class Connection {
 public:
  Connection(asio::io_context& ioc, ssl::context& ctx, int port) : stream_(ioc, ctx) {
    stream_.next_layer().connect(tcp::endpoint(asio::ip::make_address("127.0.0.1"), port));
    stream_.next_layer().set_option(tcp::no_delay(true));
    stream_.handshake(ssl::stream_base::client);
  }
  bool post(const bhttp::request<bhttp::string_body>& req) {
    beast::error_code ec;
    bhttp::write(stream_, req, ec);
    if (ec) return false;
    bhttp::response<bhttp::string_body> res;
    bhttp::read(stream_, buffer_, res, ec);
    return !ec && res.result_int() == 200 && !res.body().empty();
  }

 private:
  ssl::stream<tcp::socket> stream_;
  beast::flat_buffer buffer_;
};

void worker(const Config& c, Clock::time_point start, Result* out) {
  asio::io_context ioc;
  ssl::context ctx(ssl::context::tls_client);
  ctx.set_verify_mode(ssl::verify_none);  // the same for every target; not what is measured
  bhttp::request<bhttp::string_body> req(bhttp::verb::post, c.path, 11);
  req.set(bhttp::field::host, "127.0.0.1");
  req.set(bhttp::field::content_type, "application/json");
  req.body() = c.body;
  req.prepare_payload();

  std::unique_ptr<Connection> conn;
  const double per_conn = c.rate / c.connections;
  const auto interval = per_conn > 0 ? std::chrono::duration_cast<Clock::duration>(
                                           std::chrono::duration<double>(1.0 / per_conn))
                                     : Clock::duration::zero();
  const auto end =
      start + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(c.seconds));
  out->latencies_us.reserve(per_conn > 0 ? static_cast<size_t>(per_conn * c.seconds) + 16
                                         : 1 << 20);
  Clock::time_point previous_done;
  for (uint64_t i = 0;; ++i) {
    auto scheduled = per_conn > 0 ? start + interval * static_cast<int64_t>(i) : Clock::now();
    if (scheduled >= end) break;
    std::this_thread::sleep_until(scheduled);
    auto from = previous_done > scheduled ? scheduled : Clock::now();
    bool ok = false;
    try {
      if (!conn || c.fresh) conn = std::make_unique<Connection>(ioc, ctx, c.port);
      ok = conn->post(req);
    } catch (const std::exception&) {
      ok = false;
    }
    auto done = Clock::now();
    previous_done = done;
    if (!ok) {
      ++out->errors;
      conn.reset();
      continue;
    }
    auto us = std::chrono::duration_cast<std::chrono::microseconds>(done - from).count();
    out->latencies_us.push_back(static_cast<uint32_t>(std::max<int64_t>(us, 0)));
  }
}

bool parse(int argc, char** argv, Config* c) {
  std::string body_file;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : ""; };
    if (a == "--port") {
      c->port = std::atoi(next());
    } else if (a == "--path") {
      c->path = next();
    } else if (a == "--body") {
      body_file = next();
    } else if (a == "--rate") {
      c->rate = std::atof(next());
    } else if (a == "--seconds") {
      c->seconds = std::atof(next());
    } else if (a == "--connections") {
      c->connections = std::max(1, std::atoi(next()));
    } else if (a == "--samples") {
      c->samples = next();
    } else if (a == "--new-connection-per-request") {
      c->fresh = true;
    } else {
      std::fprintf(stderr, "injector_load: unknown argument %s\n", a.c_str());
      return false;
    }
  }
  std::ifstream in(body_file, std::ios::binary);
  if (c->port <= 0 || !in) {
    std::fprintf(stderr, "injector_load: --port and a readable --body are required\n");
    return false;
  }
  c->body.assign(std::istreambuf_iterator<char>(in), {});
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  Config c;
  if (!parse(argc, argv, &c)) return 2;
  std::vector<Result> results(c.connections);
  std::vector<std::thread> threads;
  auto start = Clock::now() + std::chrono::milliseconds(50);
  for (int i = 0; i < c.connections; ++i) {
    // Connections start staggered over one interval, so a fixed rate is spread evenly.
    auto offset =
        c.rate > 0
            ? std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(i / c.rate))
            : Clock::duration::zero();
    threads.emplace_back(worker, std::cref(c), start + offset, &results[i]);
  }
  for (auto& t : threads) t.join();
  double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
  std::vector<uint32_t> all;
  uint64_t errors = 0;
  for (auto& r : results) {
    all.insert(all.end(), r.latencies_us.begin(), r.latencies_us.end());
    errors += r.errors;
  }
  if (!c.samples.empty()) {
    std::ofstream out(c.samples, std::ios::app);
    for (uint32_t us : all) out << us << '\n';
  }
  std::sort(all.begin(), all.end());
  auto pct = [&](double p) -> uint32_t {
    if (all.empty()) return 0;
    size_t i = static_cast<size_t>(p * all.size() + 0.999999);
    return all[std::min(all.size(), std::max<size_t>(i, 1)) - 1];
  };
  std::printf(
      "{\"n\":%zu,\"errors\":%llu,\"seconds\":%.3f,\"rate\":%.1f,\"p50_us\":%u,\"p90_us\":%u,"
      "\"p99_us\":%u,\"p999_us\":%u,\"max_us\":%u}\n",
      all.size(), static_cast<unsigned long long>(errors), elapsed, all.size() / elapsed, pct(0.5),
      pct(0.9), pct(0.99), pct(0.999), all.empty() ? 0 : all.back());
  return 0;
}
