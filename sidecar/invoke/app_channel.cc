#include "sidecar/invoke/app_channel.h"

namespace outrigger::sidecar::invoke {

namespace bhttp = outrigger::http::bhttp;

AppChannel::AppChannel(std::shared_ptr<outrigger::http::ClientPool> pool, AppChannelOptions options)
    : pool_(std::move(pool)), options_(std::move(options)) {}

void AppChannel::call(outrigger::http::Request req, outrigger::http::ResponseCallback done) {
  if (!options_.app_token.empty()) req.set("dapr-api-token", options_.app_token);
  req.set(bhttp::field::host, options_.host + ":" + std::to_string(options_.port));
  if (options_.max_concurrency > 0) {
    std::unique_lock<std::mutex> lock(mutex_);
    if (in_flight_ >= options_.max_concurrency) {
      if (waiting_.size() >= options_.max_waiting) {
        lock.unlock();
        return done(resourceExhaustedError("too many requests waiting for the app"));
      }
      waiting_.emplace_back(std::move(req), std::move(done));
      return;
    }
    in_flight_++;
  }
  start(std::move(req), std::move(done));
}

void AppChannel::start(outrigger::http::Request req, outrigger::http::ResponseCallback done) {
  if (options_.max_concurrency <= 0) {
    return pool_->send(options_.host, options_.port, std::move(req), std::move(done),
                       options_.timeout);
  }
  pool_->send(
      options_.host, options_.port, std::move(req),
      [this, done = std::move(done)](StatusOr<outrigger::http::Response> res) {
        done(std::move(res));
        finished();
      },
      options_.timeout);
}

void AppChannel::finished() {
  std::unique_lock<std::mutex> lock(mutex_);
  if (waiting_.empty()) {
    in_flight_--;
    return;
  }
  auto next = std::move(waiting_.front());
  waiting_.pop_front();
  lock.unlock();
  start(std::move(next.first), std::move(next.second));
}

}  // namespace outrigger::sidecar::invoke
