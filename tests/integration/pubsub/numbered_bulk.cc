#include "tests/integration/pubsub/numbered_bulk.h"

#include "common/json/json.h"

namespace outrigger::testing {

http::Response answerNumberedBulk(const http::Request& req,
                                  const std::function<std::string(int n)>& status_of) {
  json::Document env;
  env.Parse(req.body().c_str());
  if (!env.IsObject() || !env.HasMember("entries") || !env["entries"].IsArray())
    return http::makeResponse(400);
  std::string statuses;
  for (const auto& e : env["entries"].GetArray()) {
    const json::Value* id = json::find(e, "entryId");
    const json::Value* event = json::find(e, "event");
    const json::Value* data = event ? json::find(*event, "data") : nullptr;
    const json::Value* n = data && data->IsObject() ? json::find(*data, "n") : nullptr;
    if (!id || !id->IsString() || !n || !n->IsInt()) return http::makeResponse(400);
    statuses += std::string(statuses.empty() ? "" : ",") + R"({"entryId":")" + id->GetString() +
                R"(","status":")" + status_of(n->GetInt()) + R"("})";
  }
  return http::makeResponse(200, R"({"statuses":[)" + statuses + "]}", "application/json");
}

}  // namespace outrigger::testing
