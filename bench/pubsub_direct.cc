// The broker baselines of bench/pubsub.sh: the same events bench_pubsub_pub sends through the
// sidecar, published and consumed with the broker's own C client library, no sidecar. One
// producer connection (main thread) and one consumer connection (a second thread), the
// command pattern a broker component uses:
//   redis:    XADD <stream> * data <json> contentType application/json; a consumer group read
//             with XREADGROUP COUNT 10 BLOCK, one XACK per message (hiredis, synchronous).
//   rabbitmq: a fanout exchange and a queue bound to it; basic.publish (transient, no
//             publisher confirms); basic.consume with manual acks, one basic.ack per message
//             (librabbitmq).
//
// Usage: bench_pubsub_direct <redis|rabbitmq> <port> <rate/s, 0 = max> <count> <max_seconds>
//                            <latency_file> [data_bytes]
// Appends each publish -> receive latency (ns) to latency_file; prints "sent received span_ns"
// (span: last receive minus first send).

#include <amqp.h>
#include <amqp_tcp_socket.h>
#include <hiredis/hiredis.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

namespace {

int64_t nowNs() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return int64_t{ts.tv_sec} * 1'000'000'000 + ts.tv_nsec;
}

struct Received {
  std::mutex mutex;
  std::vector<int64_t> latencies;
  int64_t max_recv = 0;
  std::atomic<int64_t> count{0};

  void record(const char* data, size_t len) {
    int64_t now = nowNs();
    std::string_view body(data, len);
    size_t at = body.find("\"sent_ns\":");
    if (at == std::string_view::npos) return;
    int64_t sent = std::strtoll(std::string(body.substr(at + 10, 24)).c_str(), nullptr, 10);
    std::lock_guard<std::mutex> lock(mutex);
    latencies.push_back(now - sent);
    max_recv = std::max(max_recv, now);
    count.fetch_add(1);
  }
};

std::atomic<bool> stop{false};

// ---- redis ----------------------------------------------------------------------------------

redisContext* redisConnectTo(int port) {
  timeval tv{5, 0};
  redisContext* c = redisConnectWithTimeout("127.0.0.1", port, tv);
  if (!c || c->err) {
    std::fprintf(stderr, "bench_pubsub_direct: redis connect: %s\n", c ? c->errstr : "oom");
    std::exit(1);
  }
  redisSetTimeout(c, tv);
  return c;
}

redisReply* redisRun(redisContext* c, const std::vector<std::string>& args) {
  std::vector<const char*> argv;
  std::vector<size_t> lens;
  for (const auto& a : args) {
    argv.push_back(a.data());
    lens.push_back(a.size());
  }
  auto* r = static_cast<redisReply*>(
      redisCommandArgv(c, static_cast<int>(argv.size()), argv.data(), lens.data()));
  if (!r) {
    std::fprintf(stderr, "bench_pubsub_direct: redis: %s\n", c->errstr);
    std::exit(1);
  }
  return r;
}

void redisConsume(int port, const std::string& stream, Received& got) {
  redisContext* c = redisConnectTo(port);
  while (!stop) {
    redisReply* r = redisRun(c, {"XREADGROUP", "GROUP", "g", "c", "COUNT", "10", "BLOCK", "200",
                                 "STREAMS", stream, ">"});
    if (r->type == REDIS_REPLY_ARRAY && r->elements > 0 && r->element[0]->elements >= 2) {
      redisReply* entries = r->element[0]->element[1];
      for (size_t i = 0; i < entries->elements; ++i) {
        redisReply* e = entries->element[i];
        redisReply* fields = e->element[1];
        for (size_t f = 0; f + 1 < fields->elements; f += 2) {
          if (std::strcmp(fields->element[f]->str, "data") == 0) {
            got.record(fields->element[f + 1]->str, fields->element[f + 1]->len);
          }
        }
        freeReplyObject(redisRun(c, {"XACK", stream, "g", std::string(e->element[0]->str)}));
      }
    }
    freeReplyObject(r);
  }
  redisFree(c);
}

// ---- rabbitmq -------------------------------------------------------------------------------

void amqpCheck(amqp_connection_state_t conn, const char* what) {
  amqp_rpc_reply_t r = amqp_get_rpc_reply(conn);
  if (r.reply_type != AMQP_RESPONSE_NORMAL) {
    std::fprintf(stderr, "bench_pubsub_direct: rabbitmq %s failed (reply type %d)\n", what,
                 static_cast<int>(r.reply_type));
    std::exit(1);
  }
}

amqp_connection_state_t amqpConnect(int port) {
  amqp_connection_state_t conn = amqp_new_connection();
  amqp_socket_t* socket = amqp_tcp_socket_new(conn);
  if (!socket || amqp_socket_open(socket, "127.0.0.1", port) != AMQP_STATUS_OK) {
    std::fprintf(stderr, "bench_pubsub_direct: cannot connect to rabbitmq on port %d\n", port);
    std::exit(1);
  }
  amqp_rpc_reply_t r =
      amqp_login(conn, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest");
  if (r.reply_type != AMQP_RESPONSE_NORMAL) {
    std::fprintf(stderr, "bench_pubsub_direct: rabbitmq login failed\n");
    std::exit(1);
  }
  amqp_channel_open(conn, 1);
  amqpCheck(conn, "channel.open");
  return conn;
}

void amqpClose(amqp_connection_state_t conn) {
  amqp_channel_close(conn, 1, AMQP_REPLY_SUCCESS);
  amqp_connection_close(conn, AMQP_REPLY_SUCCESS);
  amqp_destroy_connection(conn);
}

void amqpConsume(amqp_connection_state_t conn, Received& got) {
  timeval tv{0, 200000};
  while (!stop) {
    amqp_envelope_t env;
    amqp_maybe_release_buffers(conn);
    amqp_rpc_reply_t r = amqp_consume_message(conn, &env, &tv, 0);
    if (r.reply_type == AMQP_RESPONSE_LIBRARY_EXCEPTION && r.library_error == AMQP_STATUS_TIMEOUT) {
      continue;
    }
    if (r.reply_type != AMQP_RESPONSE_NORMAL) {
      std::fprintf(stderr, "bench_pubsub_direct: rabbitmq consume failed\n");
      return;
    }
    got.record(static_cast<const char*>(env.message.body.bytes), env.message.body.len);
    amqp_basic_ack(conn, 1, env.delivery_tag, 0);
    amqp_destroy_envelope(&env);
  }
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 7) {
    std::fprintf(stderr,
                 "usage: bench_pubsub_direct <redis|rabbitmq> <port> <rate> <count> <max_s> "
                 "<latency_file> [data_bytes]\n");
    return 2;
  }
  std::string broker = argv[1];
  int port = std::atoi(argv[2]);
  double rate = std::atof(argv[3]);
  int64_t count = std::atoll(argv[4]);
  int64_t max_ns = static_cast<int64_t>(std::atof(argv[5]) * 1e9);
  std::string out_path = argv[6];
  size_t data_bytes = argc > 7 ? std::strtoul(argv[7], nullptr, 10) : 1024;
  const std::string pad(data_bytes > 60 ? data_bytes - 60 : 1, 'a');
  const std::string topic = "bench-direct-" + std::to_string(getpid());

  Received got;
  std::thread consumer;
  std::function<void(const std::string&)> publish;
  redisContext* rp = nullptr;
  amqp_connection_state_t ap = nullptr;
  if (broker == "redis") {
    rp = redisConnectTo(port);
    freeReplyObject(redisRun(rp, {"XGROUP", "CREATE", topic, "g", "$", "MKSTREAM"}));
    consumer = std::thread([port, topic, &got] { redisConsume(port, topic, got); });
    publish = [rp, &topic](const std::string& body) {
      freeReplyObject(
          redisRun(rp, {"XADD", topic, "*", "data", body, "contentType", "application/json"}));
    };
  } else if (broker == "rabbitmq") {
    ap = amqpConnect(port);
    amqp_connection_state_t cc = amqpConnect(port);
    amqp_bytes_t ex = amqp_cstring_bytes(topic.c_str());
    amqp_exchange_declare(cc, 1, ex, amqp_cstring_bytes("fanout"), 0, 0, 1, 0, amqp_empty_table);
    amqpCheck(cc, "exchange.declare");
    amqp_queue_declare(cc, 1, ex, 0, 0, 0, 1, amqp_empty_table);
    amqpCheck(cc, "queue.declare");
    amqp_queue_bind(cc, 1, ex, ex, amqp_empty_bytes, amqp_empty_table);
    amqpCheck(cc, "queue.bind");
    amqp_basic_consume(cc, 1, ex, amqp_empty_bytes, 0, 0, 0, amqp_empty_table);
    amqpCheck(cc, "basic.consume");
    consumer = std::thread([cc, &got] {
      amqpConsume(cc, got);
      amqpClose(cc);
    });
    publish = [ap, ex](const std::string& body) {
      amqp_basic_properties_t props{};
      props._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
      props.content_type = amqp_cstring_bytes("application/json");
      props.delivery_mode = 1;  // transient
      amqp_bytes_t b{body.size(), const_cast<char*>(body.data())};
      if (amqp_basic_publish(ap, 1, ex, amqp_empty_bytes, 0, 0, &props, b) != AMQP_STATUS_OK) {
        std::fprintf(stderr, "bench_pubsub_direct: rabbitmq publish failed\n");
        std::exit(1);
      }
    };
  } else {
    std::fprintf(stderr, "bench_pubsub_direct: unknown broker '%s'\n", broker.c_str());
    return 2;
  }

  const int64_t start = nowNs();
  int64_t sent = 0;
  while (sent < count && nowNs() - start < max_ns) {
    if (rate > 0) {
      int64_t due = start + static_cast<int64_t>(static_cast<double>(sent) * 1e9 / rate);
      int64_t wait = due - nowNs();
      if (wait > 0) std::this_thread::sleep_for(std::chrono::nanoseconds(wait));
    }
    publish("{\"sent_ns\":" + std::to_string(nowNs()) + ",\"seq\":" + std::to_string(sent) +
            ",\"pad\":\"" + pad + "\"}");
    ++sent;
  }
  // Bounded wait for the consumer to catch up.
  int64_t limit = nowNs() + 10'000'000'000;
  while (got.count < sent && nowNs() < limit) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  }
  stop = true;
  consumer.join();
  if (rp) {
    freeReplyObject(redisRun(rp, {"DEL", topic}));
    redisFree(rp);
  }
  if (ap) {
    amqp_exchange_delete(ap, 1, amqp_cstring_bytes(topic.c_str()), 0);
    amqpClose(ap);
  }
  FILE* f = std::fopen(out_path.c_str(), "a");
  if (!f) {
    std::perror("bench_pubsub_direct: latency file");
    return 1;
  }
  for (int64_t l : got.latencies) std::fprintf(f, "%lld\n", static_cast<long long>(l));
  std::fclose(f);
  std::printf("%lld %lld %lld\n", static_cast<long long>(sent),
              static_cast<long long>(got.count.load()),
              static_cast<long long>(got.latencies.empty() ? 0 : got.max_recv - start));
  return 0;
}
