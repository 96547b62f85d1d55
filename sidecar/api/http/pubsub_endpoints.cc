// HTTP routes of pub/sub publishing: /v1.0/publish and bulk publish.

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>
#include <strings.h>

#include <boost/beast/core/detail/base64.hpp>
#include <set>

#include "common/json/json.h"
#include "sidecar/api/http/endpoints.h"
#include "sidecar/api/http/respond.h"
#include "sidecar/api/universal/pubsub.h"

namespace outrigger::sidecar::api::http {

namespace bhttp = outrigger::http::bhttp;

namespace {

Status bulkError(const std::string& message) {
  return invalidArgumentError(message).withErrorCode("ERR_PUBSUB_EVENTS_SER", 400);
}

std::string header(const Request& req, std::string_view name) {
  auto it = req.find(name);
  return it == req.end() ? std::string() : std::string(it->value());
}

StatusOr<std::string> eventBytes(const json::Value& event, const std::string& content_type,
                                 const std::string& where) {
  std::string media = content_type.substr(0, content_type.find(';'));
  if (media == "application/octet-stream") {
    if (!event.IsString())
      return bulkError(where + ": an application/octet-stream event must be a base64 string");
    std::string_view enc(event.GetString(), event.GetStringLength());
    std::string out(boost::beast::detail::base64::decoded_size(enc.size()), '\0');
    auto n = boost::beast::detail::base64::decode(out.data(), enc.data(), enc.size());
    if (n.second != enc.size()) return bulkError(where + ": the event is not valid base64");
    out.resize(n.first);
    return out;
  }
  if (media.rfind("text/", 0) == 0 || media == "application/xml") {
    if (!event.IsString()) return bulkError(where + ": a " + media + " event must be a string");
    return std::string(event.GetString(), event.GetStringLength());
  }
  if (media == "application/json" || media == "application/cloudevents+json") {
    return json::serialize(event);
  }
  return bulkError(where + ": unsupported contentType '" + content_type + "'");
}

void onPublish(Apis& apis, Request&& req, RouteParams&& params, Responder respond) {
  universal::PublishRequest r;
  r.pubsub = params.get("pubsubname");
  r.topic = params.rest;
  r.content_type = header(req, "content-type");
  if (r.content_type.empty()) r.content_type = "text/plain";
  r.metadata = queryMetadata(req.target());
  r.traceparent = header(req, "traceparent");
  r.tracestate = header(req, "tracestate");
  r.data = std::move(req.body());
  apis.pubsub->publish(std::move(r), [respond](Status st) {
    respond(st.ok() ? emptyResponse(204) : errorResponse(st));
  });
}

void onBulkPublish(Apis& apis, Request&& req, RouteParams&& params, Responder respond) {
  universal::BulkPublishRequest r;
  r.pubsub = params.get("pubsubname");
  r.topic = params.rest;
  r.metadata = queryMetadata(req.target());
  r.traceparent = header(req, "traceparent");
  auto doc = json::parse(req.body());
  if (!doc.ok()) {
    return respond(errorResponse(
        bulkError("failed to parse the bulk publish body: " + doc.status().message())));
  }
  if (!doc->IsArray())
    return respond(errorResponse(bulkError("the body must be a JSON array of entries")));
  std::set<std::string> ids;
  for (rapidjson::SizeType i = 0; i < doc->Size(); ++i) {
    const json::Value& e = (*doc)[i];
    std::string where = "entry " + std::to_string(i);
    if (!e.IsObject()) return respond(errorResponse(bulkError(where + " must be an object")));
    universal::BulkPublishEntry entry;
    // JSON keys are matched case-insensitively: the JS SDK sends entryID.
    const json::Value* id = json::findCaseInsensitive(e, "entryId");
    if (!id || !id->IsString() || id->GetStringLength() == 0) {
      return respond(errorResponse(bulkError(where + ": entryId is required")));
    }
    entry.entry_id = std::string(id->GetString(), id->GetStringLength());
    if (!ids.insert(entry.entry_id).second) {
      return respond(
          errorResponse(bulkError(where + ": duplicate entryId '" + entry.entry_id + "'")));
    }
    const json::Value* ct = json::findCaseInsensitive(e, "contentType");
    entry.content_type = ct && ct->IsString() ? json::scalarToString(*ct) : "";
    const json::Value* event = json::findCaseInsensitive(e, "event");
    if (!event) return respond(errorResponse(bulkError(where + ": event is required")));
    if (entry.content_type.empty())
      entry.content_type = event->IsString() ? "text/plain" : "application/json";
    auto bytes = eventBytes(*event, entry.content_type, where);
    if (!bytes.ok()) return respond(errorResponse(bytes.status()));
    entry.event = std::move(*bytes);
    if (const json::Value* md = json::findCaseInsensitive(e, "metadata"); md && !md->IsNull()) {
      if (!md->IsObject())
        return respond(errorResponse(bulkError(where + ": metadata must be an object")));
      for (auto it = md->MemberBegin(); it != md->MemberEnd(); ++it) {
        entry.metadata[json::scalarToString(it->name)] = json::scalarToString(it->value);
      }
    }
    r.entries.push_back(std::move(entry));
  }
  apis.pubsub->bulkPublish(std::move(r),
                           [respond](StatusOr<std::vector<universal::FailedEntry>> res) {
                             if (!res.ok()) return respond(errorResponse(res.status()));
                             if (res->empty()) return respond(emptyResponse(204));
                             rapidjson::StringBuffer b;
                             rapidjson::Writer<rapidjson::StringBuffer> w(b);
                             w.StartObject();
                             w.Key("failedEntries");
                             w.StartArray();
                             for (const auto& f : *res) {
                               w.StartObject();
                               w.Key("entryId");
                               w.String(f.entry_id.c_str());
                               w.Key("error");
                               w.String(f.error.c_str());
                               w.EndObject();
                             }
                             w.EndArray();
                             w.Key("errorCode");
                             w.String("ERR_PUBSUB_PUBLISH_MESSAGE");
                             w.EndObject();
                             respond(jsonResponse(500, std::string(b.GetString(), b.GetSize())));
                           });
}

}  // namespace

void addPubSubEndpoints(outrigger::http::Router& router, Apis& apis) {
  using V = bhttp::verb;
  Apis* a = &apis;
  auto bind = [a](auto fn) {
    return [a, fn](Request&& req, RouteParams&& params, Responder respond) {
      fn(*a, std::move(req), std::move(params), std::move(respond));
    };
  };
  router.add({V::post, V::put}, "/v1.0-alpha1/publish/bulk/{pubsubname}/*", bind(onBulkPublish));
  router.add({V::post, V::put}, "/v1.0/publish/bulk/{pubsubname}/*", bind(onBulkPublish));
  router.add({V::post, V::put}, "/v1.0/publish/{pubsubname}/*", bind(onPublish));
}

}  // namespace outrigger::sidecar::api::http
