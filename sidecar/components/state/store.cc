#include "sidecar/components/state/store.h"

#include <algorithm>
#include <charconv>

#include "sidecar/runtime/metadata.h"

namespace outrigger::sidecar::components::state {

Status etagMismatch(const std::string& key) {
  return abortedError("possible etag mismatch: the etag does not match the stored one for key " +
                      key);
}

Status etagInvalid(const std::string& etag) {
  return invalidArgumentError("invalid etag value: '" + etag + "'");
}

StatusOr<int64_t> parseVersionEtag(const std::string& etag) {
  int64_t version = 0;
  const char* end = etag.data() + etag.size();
  auto [ptr, ec] = std::from_chars(etag.data(), end, version);
  if (etag.empty() || ec != std::errc() || ptr != end) return etagInvalid(etag);
  return version;
}

Status checkTtl(const std::optional<int64_t>& ttl_seconds) {
  if (!ttl_seconds || (*ttl_seconds >= -1 && *ttl_seconds <= kMaxTtlSeconds)) return okStatus();
  return invalidArgumentError("invalid ttlInSeconds " + std::to_string(*ttl_seconds) +
                              ": it must be -1 or greater, and at most " +
                              std::to_string(kMaxTtlSeconds));
}

StatusOr<std::optional<int64_t>> parseTtl(const RequestMetadata& metadata) {
  auto it = metadata.find("ttlInSeconds");
  if (it == metadata.end() || it->second.empty()) return std::optional<int64_t>();
  int64_t ttl = 0;
  if (!runtime::parseInt(it->second, &ttl)) {
    return invalidArgumentError("invalid ttlInSeconds '" + it->second +
                                "': expected a whole number of seconds");
  }
  RETURN_IF_ERROR(checkTtl(ttl));
  return std::optional<int64_t>(ttl);
}

Status checkOperations(const std::vector<Operation>& operations, bool version_etags) {
  for (const auto& op : operations) {
    bool upsert = op.kind == Operation::Kind::kUpsert;
    if (upsert) RETURN_IF_ERROR(checkTtl(op.set.ttl_seconds));
    const auto& etag = upsert ? op.set.etag : op.del.etag;
    if (version_etags && etag) RETURN_IF_ERROR(parseVersionEtag(*etag).status());
  }
  return okStatus();
}

StatusOr<std::vector<GetResponse>> Store::bulkGet(const std::vector<GetRequest>& requests) {
  std::vector<GetResponse> out;
  out.reserve(requests.size());
  for (const auto& r : requests) {
    auto res = get(r);
    if (!res.ok()) return res.status();
    out.push_back(std::move(*res));
  }
  return out;
}

bool hasFeature(const Store& store, const char* feature) {
  auto f = store.features();
  return std::find(f.begin(), f.end(), feature) != f.end();
}

}  // namespace outrigger::sidecar::components::state
