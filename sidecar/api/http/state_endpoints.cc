// HTTP routes of the state building block (/v1.0/state): parsing and rendering only.

#include <rapidjson/stringbuffer.h>
#include <rapidjson/writer.h>

#include "common/json/json.h"
#include "sidecar/api/http/endpoints.h"
#include "sidecar/api/http/respond.h"
#include "sidecar/api/universal/state.h"

namespace outrigger::sidecar::api::http {

namespace universal = api::universal;
namespace bhttp = outrigger::http::bhttp;

namespace {

Status malformed(const std::string& message) {
  return invalidArgumentError(message).withErrorCode("ERR_MALFORMED_REQUEST", 400);
}

StatusOr<json::Document> parseBody(const Request& req) {
  auto doc = json::parse(req.body());
  if (!doc.ok()) return malformed("failed to parse the request body: " + doc.status().message());
  return doc;
}

// A JSON string's bytes, NULs included: the checks after this one must see what the client sent.
std::string text(const json::Value& v) { return std::string(v.GetString(), v.GetStringLength()); }

Status readStringMap(const json::Value* v, const std::string& where, universal::Metadata* out) {
  if (!v || v->IsNull()) return okStatus();
  if (!v->IsObject()) return malformed(where + " must be an object of strings");
  for (auto it = v->MemberBegin(); it != v->MemberEnd(); ++it) {
    if (!it->value.IsString()) {
      return malformed(where + "." + text(it->name) + " must be a string");
    }
    (*out)[text(it->name)] = text(it->value);
  }
  return okStatus();
}

Status readOptionalString(const json::Value& obj, const char* name, const std::string& where,
                          std::optional<std::string>* out) {
  const json::Value* v = json::find(obj, name);
  if (!v || v->IsNull()) return okStatus();
  if (!v->IsString()) return malformed(where + "." + name + " must be a string");
  *out = std::string(v->GetString(), v->GetStringLength());
  return okStatus();
}

// One {key, value, etag, metadata, options} object, as in a save array or a transaction.
Status readStateItem(const json::Value& obj, const std::string& where, universal::StateItem* item) {
  if (!obj.IsObject()) return malformed(where + " must be an object");
  const json::Value* key = json::find(obj, "key");
  if (!key || !key->IsString()) return malformed(where + ".key is required and must be a string");
  item->key = text(*key);
  const json::Value* value = json::find(obj, "value");
  item->value = value ? json::serialize(*value) : "null";
  std::optional<std::string> etag;
  RETURN_IF_ERROR(readOptionalString(obj, "etag", where, &etag));
  if (etag && !etag->empty()) item->etag = std::move(etag);
  RETURN_IF_ERROR(readStringMap(json::find(obj, "metadata"), where + ".metadata", &item->metadata));
  const json::Value* options = json::find(obj, "options");
  if (options && !options->IsNull()) {
    if (!options->IsObject()) return malformed(where + ".options must be an object");
    std::optional<std::string> c;
    RETURN_IF_ERROR(readOptionalString(*options, "concurrency", where + ".options", &c));
    item->options.concurrency = c.value_or("");
    c.reset();
    RETURN_IF_ERROR(readOptionalString(*options, "consistency", where + ".options", &c));
    item->options.consistency = c.value_or("");
  }
  return okStatus();
}

void mergeQueryMetadata(const Request& req, universal::Metadata* metadata) {
  for (auto& [k, v] : queryMetadata(req.target())) (*metadata)[k] = v;
}

void writeData(rapidjson::Writer<rapidjson::StringBuffer>& w, const std::string& data) {
  // Stored values are the JSON the app saved; anything else is returned as a string.
  if (json::parse(data).ok()) {
    w.RawValue(data.data(), data.size(), rapidjson::kObjectType);
  } else {
    w.String(data.data(), data.size());
  }
}

void onGet(Apis& apis, Request&& req, RouteParams&& params, Responder respond) {
  universal::GetStateRequest r;
  r.store = params.get("storeName");
  r.key = params.get("key");
  r.consistency = queryValue(req.target(), "consistency");
  r.metadata = queryMetadata(req.target());
  apis.state->get(std::move(r), [respond](StatusOr<universal::GetStateResponse> res) {
    if (!res.ok()) return respond(errorResponse(res.status()));
    if (!res->found) return respond(emptyResponse(204));
    Response out = jsonResponse(200, std::move(res->data));
    if (!res->etag.empty()) setHeaderIfValid(out, bhttp::field::etag, res->etag, "state get");
    setMetadataHeaders(out, res->metadata, "state get");
    respond(std::move(out));
  });
}

void onSave(Apis& apis, Request&& req, RouteParams&& params, Responder respond) {
  auto doc = parseBody(req);
  if (!doc.ok()) return respond(errorResponse(doc.status()));
  if (!doc->IsArray()) {
    return respond(
        errorResponse(malformed("the request body must be a JSON array of state items")));
  }
  universal::SaveStateRequest r;
  r.store = params.get("storeName");
  for (rapidjson::SizeType i = 0; i < doc->Size(); ++i) {
    universal::StateItem item;
    Status st = readStateItem((*doc)[i], "[" + std::to_string(i) + "]", &item);
    if (!st.ok()) return respond(errorResponse(st));
    mergeQueryMetadata(req, &item.metadata);
    r.items.push_back(std::move(item));
  }
  apis.state->save(std::move(r), [respond](Status st) {
    respond(st.ok() ? emptyResponse(204) : errorResponse(st));
  });
}

void onDelete(Apis& apis, Request&& req, RouteParams&& params, Responder respond) {
  universal::DeleteStateRequest r;
  r.store = params.get("storeName");
  r.key = params.get("key");
  auto if_match = req.find(bhttp::field::if_match);
  if (if_match != req.end()) r.etag = std::string(if_match->value());
  r.options.concurrency = queryValue(req.target(), "concurrency");
  r.options.consistency = queryValue(req.target(), "consistency");
  r.metadata = queryMetadata(req.target());
  apis.state->remove(std::move(r), [respond](Status st) {
    respond(st.ok() ? emptyResponse(204) : errorResponse(st));
  });
}

void onBulkGet(Apis& apis, Request&& req, RouteParams&& params, Responder respond) {
  auto doc = parseBody(req);
  if (!doc.ok()) return respond(errorResponse(doc.status()));
  if (!doc->IsObject())
    return respond(errorResponse(malformed("the request body must be an object")));
  universal::BulkGetRequest r;
  r.store = params.get("storeName");
  const json::Value* keys = json::find(*doc, "keys");
  if (keys && !keys->IsNull()) {
    if (!keys->IsArray())
      return respond(errorResponse(malformed("keys must be an array of strings")));
    for (const auto& k : keys->GetArray()) {
      if (!k.IsString())
        return respond(errorResponse(malformed("keys must be an array of strings")));
      r.keys.emplace_back(k.GetString(), k.GetStringLength());
    }
  }
  const json::Value* parallelism = json::find(*doc, "parallelism");
  if (parallelism && !parallelism->IsNull() && !parallelism->IsInt()) {
    return respond(errorResponse(malformed("parallelism must be an integer")));
  }
  Status st = readStringMap(json::find(*doc, "metadata"), "metadata", &r.metadata);
  if (!st.ok()) return respond(errorResponse(st));
  mergeQueryMetadata(req, &r.metadata);
  apis.state->bulkGet(std::move(r), [respond](StatusOr<std::vector<universal::BulkGetItem>> res) {
    if (!res.ok()) return respond(errorResponse(res.status()));
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    w.StartArray();
    for (const auto& item : *res) {
      w.StartObject();
      w.Key("key");
      w.String(item.key.data(), item.key.size());
      if (item.found) {
        w.Key("data");
        writeData(w, item.data);
        if (!item.etag.empty()) {
          w.Key("etag");
          w.String(item.etag.data(), item.etag.size());
        }
      }
      if (!item.error.empty()) {
        w.Key("error");
        w.String(item.error.data(), item.error.size());
      }
      w.EndObject();
    }
    w.EndArray();
    respond(jsonResponse(200, std::string(buffer.GetString(), buffer.GetSize())));
  });
}

void onTransaction(Apis& apis, Request&& req, RouteParams&& params, Responder respond) {
  auto doc = parseBody(req);
  if (!doc.ok()) return respond(errorResponse(doc.status()));
  if (!doc->IsObject())
    return respond(errorResponse(malformed("the request body must be an object")));
  universal::TransactionRequest r;
  r.store = params.get("storeName");
  const json::Value* ops = json::find(*doc, "operations");
  if (ops && !ops->IsNull() && !ops->IsArray()) {
    return respond(errorResponse(malformed("operations must be an array")));
  }
  for (rapidjson::SizeType i = 0; ops && ops->IsArray() && i < ops->Size(); ++i) {
    const json::Value& op = (*ops)[i];
    std::string where = "operations[" + std::to_string(i) + "]";
    if (!op.IsObject()) return respond(errorResponse(malformed(where + " must be an object")));
    universal::TransactionOp t;
    const json::Value* kind = json::find(op, "operation");
    if (!kind || !kind->IsString()) {
      return respond(
          errorResponse(malformed(where + ".operation is required and must be a string")));
    }
    t.operation = text(*kind);
    const json::Value* request = json::find(op, "request");
    if (!request) return respond(errorResponse(malformed(where + ".request is required")));
    Status st = readStateItem(*request, where + ".request", &t.request);
    if (!st.ok()) return respond(errorResponse(st));
    r.operations.push_back(std::move(t));
  }
  Status st = readStringMap(json::find(*doc, "metadata"), "metadata", &r.metadata);
  if (!st.ok()) return respond(errorResponse(st));
  mergeQueryMetadata(req, &r.metadata);
  apis.state->transaction(std::move(r), [respond](Status st) {
    respond(st.ok() ? emptyResponse(204) : errorResponse(st));
  });
}

// POST|PUT /v1.0-alpha1/state/{store}/query: Dapr's query language in, a page of results out.
void onQuery(Apis& apis, Request&& req, RouteParams&& params, Responder respond) {
  auto query = components::state::parseQuery(req.body());
  if (!query.ok()) {
    return respond(
        errorResponse(malformed("failed to parse the query: " + query.status().message())));
  }
  universal::QueryStateRequest r;
  r.store = params.get("storeName");
  r.query = std::move(*query);
  r.metadata = queryMetadata(req.target());
  apis.state->query(std::move(r), [respond](StatusOr<universal::QueryStateResponse> res) {
    if (!res.ok()) return respond(errorResponse(res.status()));
    if (res->results.empty()) return respond(emptyResponse(204));
    rapidjson::StringBuffer buffer;
    rapidjson::Writer<rapidjson::StringBuffer> w(buffer);
    w.StartObject();
    w.Key("results");
    w.StartArray();
    for (const auto& item : res->results) {
      w.StartObject();
      w.Key("key");
      w.String(item.key.data(), item.key.size());
      w.Key("data");
      writeData(w, item.data);
      if (!item.etag.empty()) {
        w.Key("etag");
        w.String(item.etag.data(), item.etag.size());
      }
      w.EndObject();
    }
    w.EndArray();
    if (!res->token.empty()) {
      w.Key("token");
      w.String(res->token.data(), res->token.size());
    }
    w.EndObject();
    respond(jsonResponse(200, std::string(buffer.GetString(), buffer.GetSize())));
  });
}

}  // namespace

void addStateEndpoints(outrigger::http::Router& router, Apis& apis) {
  using V = bhttp::verb;
  Apis* a = &apis;
  auto bind = [a](auto fn) {
    return [a, fn](Request&& req, RouteParams&& params, Responder respond) {
      fn(*a, std::move(req), std::move(params), std::move(respond));
    };
  };
  // Fixed sub-resources first so "bulk" and "transaction" are not taken for keys.
  router.add({V::post, V::put}, "/v1.0/state/{storeName}/bulk", bind(onBulkGet));
  router.add({V::post, V::put}, "/v1.0/state/{storeName}/transaction", bind(onTransaction));
  router.add({V::get}, "/v1.0/state/{storeName}/{key}", bind(onGet));
  router.add({V::delete_}, "/v1.0/state/{storeName}/{key}", bind(onDelete));
  router.add({V::post, V::put}, "/v1.0/state/{storeName}", bind(onSave));
  router.add({V::post, V::put}, "/v1.0-alpha1/state/{storeName}/query", bind(onQuery));
}

}  // namespace outrigger::sidecar::api::http
