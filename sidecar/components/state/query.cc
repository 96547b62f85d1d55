#include "sidecar/components/state/query.h"

#include <algorithm>
#include <cstring>

namespace outrigger::sidecar::components::state {

namespace {

StatusOr<QueryFilter> parseFilter(const json::Value& v, const std::string& where);

// EQ and IN: an object of exactly one key/value pair.
StatusOr<QueryFilter> parseLeaf(QueryFilter::Op op, const char* name, const json::Value& v,
                                const std::string& where) {
  if (!v.IsObject()) return invalidArgumentError(where + ": " + name + " filter must be a map");
  if (v.MemberCount() != 1) {
    return invalidArgumentError(where + ": " + name +
                                " filter must contain a single key/value pair");
  }
  const auto& m = *v.MemberBegin();
  QueryFilter f;
  f.op = op;
  f.key.assign(m.name.GetString(), m.name.GetStringLength());
  if (f.key.empty()) return invalidArgumentError(where + ": " + name + " filter key is empty");
  f.values = std::make_shared<json::Document>(rapidjson::kArrayType);
  auto& alloc = f.values->GetAllocator();
  if (op == QueryFilter::Op::kIn) {
    if (!m.value.IsArray()) {
      return invalidArgumentError(where + ": IN filter value must be an array");
    }
    for (const auto& item : m.value.GetArray()) {
      f.values->PushBack(json::Value(item, alloc), alloc);
    }
  } else {
    f.values->PushBack(json::Value(m.value, alloc), alloc);
  }
  return f;
}

StatusOr<QueryFilter> parseFilter(const json::Value& v, const std::string& where) {
  if (!v.IsObject()) return invalidArgumentError(where + ": filter unit must be a map");
  if (v.MemberCount() != 1) {
    return invalidArgumentError(where + ": filter unit must have a single element");
  }
  const auto& m = *v.MemberBegin();
  std::string op(m.name.GetString(), m.name.GetStringLength());
  if (op == "EQ") return parseLeaf(QueryFilter::Op::kEq, "EQ", m.value, where + ".EQ");
  if (op == "IN") return parseLeaf(QueryFilter::Op::kIn, "IN", m.value, where + ".IN");
  if (op == "AND" || op == "OR") {
    if (!m.value.IsArray())
      return invalidArgumentError(where + ": " + op + " filter must be an array");
    if (m.value.Size() < 2) {
      return invalidArgumentError(where + ": " + op + " filter must contain at least two entries");
    }
    QueryFilter f;
    f.op = op == "AND" ? QueryFilter::Op::kAnd : QueryFilter::Op::kOr;
    for (rapidjson::SizeType i = 0; i < m.value.Size(); ++i) {
      ASSIGN_OR_RETURN(QueryFilter child,
                       parseFilter(m.value[i], where + "." + op + "[" + std::to_string(i) + "]"));
      f.children.push_back(std::move(child));
    }
    return f;
  }
  return invalidArgumentError(where + ": unsupported filter \"" + op + "\"");
}

// The value at a dotted path, or null when a step is missing.
const json::Value* at(const json::Value& doc, const std::string& path) {
  const json::Value* v = &doc;
  size_t start = 0;
  while (true) {
    size_t dot = path.find('.', start);
    std::string step =
        path.substr(start, dot == std::string::npos ? std::string::npos : dot - start);
    if (!v->IsObject()) return nullptr;
    auto it = v->FindMember(rapidjson::StringRef(step.data(), step.size()));
    if (it == v->MemberEnd()) return nullptr;
    v = &it->value;
    if (dot == std::string::npos) return v;
    start = dot + 1;
  }
}

bool equal(const json::Value& a, const json::Value& b) {
  if (a.IsNumber() && b.IsNumber()) return a.GetDouble() == b.GetDouble();
  return a == b;
}

bool matchFilter(const QueryFilter& f, const json::Value& doc) {
  switch (f.op) {
    case QueryFilter::Op::kAnd:
      for (const auto& c : f.children) {
        if (!matchFilter(c, doc)) return false;
      }
      return true;
    case QueryFilter::Op::kOr:
      for (const auto& c : f.children) {
        if (matchFilter(c, doc)) return true;
      }
      return false;
    case QueryFilter::Op::kEq:
    case QueryFilter::Op::kIn: {
      const json::Value* v = at(doc, f.key);
      if (!v) return false;
      for (const auto& want : f.values->GetArray()) {
        if (equal(*v, want)) return true;
      }
      return false;
    }
  }
  return false;
}

// Missing < null < false < true < numbers < strings < arrays/objects (by their JSON text).
int rank(const json::Value* v) {
  if (!v) return 0;
  if (v->IsNull()) return 1;
  if (v->IsBool()) return 2;
  if (v->IsNumber()) return 3;
  if (v->IsString()) return 4;
  return 5;
}

int compare(const json::Value* a, const json::Value* b) {
  int ra = rank(a), rb = rank(b);
  if (ra != rb) return ra < rb ? -1 : 1;
  switch (ra) {
    case 2: return static_cast<int>(a->GetBool()) - static_cast<int>(b->GetBool());
    case 3: {
      double x = a->GetDouble(), y = b->GetDouble();
      return x < y ? -1 : (x > y ? 1 : 0);
    }
    case 4: {
      int c = std::string_view(a->GetString(), a->GetStringLength())
                  .compare(std::string_view(b->GetString(), b->GetStringLength()));
      return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    case 5: {
      int c = json::serialize(*a).compare(json::serialize(*b));
      return c < 0 ? -1 : (c > 0 ? 1 : 0);
    }
    default: return 0;
  }
}

bool parseOffset(const std::string& token, size_t* out) {
  if (token.empty() || token.size() > 18) return false;
  size_t n = 0;
  for (char c : token) {
    if (c < '0' || c > '9') return false;
    n = n * 10 + static_cast<size_t>(c - '0');
  }
  *out = n;
  return true;
}

}  // namespace

StatusOr<Query> parseQuery(std::string_view text) {
  auto doc = json::parse(text);
  if (!doc.ok()) return doc.status();
  if (!doc->IsObject()) return invalidArgumentError("the query must be a JSON object");
  Query q;
  if (const json::Value* filter = json::find(*doc, "filter")) {
    // An empty filter object is what the SDKs send for "no filter".
    if (!(filter->IsObject() && filter->MemberCount() == 0) && !filter->IsNull()) {
      ASSIGN_OR_RETURN(QueryFilter f, parseFilter(*filter, "filter"));
      q.filter = std::move(f);
    }
  }
  if (const json::Value* sort = json::find(*doc, "sort"); sort && !sort->IsNull()) {
    if (!sort->IsArray()) return invalidArgumentError("\"sort\" must be an array");
    for (rapidjson::SizeType i = 0; i < sort->Size(); ++i) {
      const json::Value& s = (*sort)[i];
      std::string where = "sort[" + std::to_string(i) + "]";
      if (!s.IsObject()) return invalidArgumentError(where + " must be an object");
      const json::Value* key = json::find(s, "key");
      if (!key || !key->IsString() || key->GetStringLength() == 0) {
        return invalidArgumentError(where + ".key is required and must be a string");
      }
      QuerySort qs;
      qs.key = key->GetString();
      if (const json::Value* order = json::find(s, "order"); order && !order->IsNull()) {
        std::string o = order->IsString() ? order->GetString() : "?";
        if (o != "ASC" && o != "DESC" && !o.empty()) {
          return invalidArgumentError(where + ".order must be ASC or DESC");
        }
        qs.descending = o == "DESC";
      }
      q.sort.push_back(std::move(qs));
    }
  }
  if (const json::Value* page = json::find(*doc, "page"); page && !page->IsNull()) {
    if (!page->IsObject()) return invalidArgumentError("\"page\" must be a map");
    if (const json::Value* limit = json::find(*page, "limit"); limit && !limit->IsNull()) {
      if (!limit->IsInt64() || limit->GetInt64() < 0) {
        return invalidArgumentError("page.limit must be a non-negative integer");
      }
      q.limit = limit->GetInt64();
    }
    if (const json::Value* token = json::find(*page, "token"); token && !token->IsNull()) {
      if (!token->IsString()) return invalidArgumentError("page.token must be a string");
      q.token = token->GetString();
    }
  }
  return q;
}

bool QueryEvaluator::matches(const json::Value& value) const {
  return !query_.filter || matchFilter(*query_.filter, value);
}

void QueryEvaluator::add(QueryItem item) {
  auto doc = std::make_shared<json::Document>();
  doc->Parse(item.data.data(), item.data.size());
  if (doc->HasParseError()) {
    if (query_.filter) return;
    doc.reset();
  } else if (!matches(*doc)) {
    return;
  }
  if (query_.sort.empty()) doc.reset();  // only sorting looks at it again
  matched_.push_back(Candidate{std::move(item), std::move(doc)});
}

StatusOr<QueryResponse> QueryEvaluator::finish() {
  size_t offset = 0;
  if (!query_.token.empty() && !parseOffset(query_.token, &offset)) {
    return invalidArgumentError("invalid page token '" + query_.token + "'");
  }
  std::stable_sort(matched_.begin(), matched_.end(), [&](const Candidate& a, const Candidate& b) {
    for (const auto& s : query_.sort) {
      const json::Value* va = a.doc ? at(*a.doc, s.key) : nullptr;
      const json::Value* vb = b.doc ? at(*b.doc, s.key) : nullptr;
      int c = compare(va, vb);
      if (c != 0) return s.descending ? c > 0 : c < 0;
    }
    return a.item.key < b.item.key;
  });
  size_t limit = static_cast<size_t>(query_.limit > 0 ? std::min(query_.limit, kMaxQueryResults)
                                                      : kMaxQueryResults);
  QueryResponse out;
  if (offset >= matched_.size()) return out;
  size_t end = std::min(matched_.size(), offset + limit);
  out.results.reserve(end - offset);
  for (size_t i = offset; i < end; ++i) out.results.push_back(std::move(matched_[i].item));
  // Dapr's stores hand out a token whenever a limit cut the page short of the end.
  if (end < matched_.size()) out.token = std::to_string(end);
  matched_.clear();
  return out;
}

}  // namespace outrigger::sidecar::components::state
