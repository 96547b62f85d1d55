#include "sidecar/components/state/store.h"

#include <algorithm>

namespace outrigger::sidecar::components::state {

Status etagMismatch(const std::string& key) {
  return abortedError("possible etag mismatch: the etag does not match the stored one for key " +
                      key);
}

Status etagInvalid(const std::string& etag) {
  return invalidArgumentError("invalid etag value: '" + etag + "'");
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
