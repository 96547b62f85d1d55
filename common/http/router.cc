#include "common/http/router.h"

#include <algorithm>
#include <cctype>

namespace outrigger::http {
namespace {

std::vector<std::string_view> splitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t i = 0;
  while (i < path.size()) {
    if (path[i] == '/') {
      ++i;
      continue;
    }
    size_t j = path.find('/', i);
    if (j == std::string_view::npos) j = path.size();
    parts.push_back(path.substr(i, j - i));
    i = j;
  }
  return parts;
}

int hexValue(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

}  // namespace

std::string_view RouteParams::get(std::string_view name) const {
  for (const auto& [k, v] : values) {
    if (k == name) return v;
  }
  return {};
}

void Router::add(std::vector<bhttp::verb> methods, std::string pattern, RouteHandler handler) {
  Route route;
  route.methods = std::move(methods);
  route.name = pattern;
  for (auto part : splitPath(pattern)) route.segments.emplace_back(part);
  route.pattern = std::move(pattern);
  route.handler = std::move(handler);
  routes_.push_back(std::move(route));
}

bool Router::matchOne(const Route& route, const std::vector<std::string_view>& parts,
                      std::string_view path, RouteParams* params, bool* bad_escape) const {
  const auto& segs = route.segments;
  bool wildcard = !segs.empty() && segs.back() == "*";
  size_t fixed = wildcard ? segs.size() - 1 : segs.size();
  if (wildcard ? parts.size() < fixed : parts.size() != fixed) return false;
  for (size_t i = 0; i < fixed; ++i) {
    const std::string& seg = segs[i];
    if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') continue;
    if (seg != parts[i]) return false;
  }
  params->values.clear();
  params->rest.clear();
  for (size_t i = 0; i < fixed; ++i) {
    const std::string& seg = segs[i];
    if (seg.size() >= 2 && seg.front() == '{' && seg.back() == '}') {
      // Query-unescaped, as daprd does its path parameters: '+' reads as a space.
      std::string value;
      if (!urlDecode(parts[i], &value, true)) {
        *bad_escape = true;
        return false;
      }
      params->values.emplace_back(seg.substr(1, seg.size() - 2), std::move(value));
    }
  }
  if (wildcard && parts.size() > fixed) {
    // The rest keeps its own slashes (a method name may contain '/').
    size_t offset = parts[fixed].data() - path.data();
    params->rest = std::string(path.substr(offset));
  }
  return true;
}

const Route* Router::match(bhttp::verb method, std::string_view path, RouteParams* params,
                           bool* bad_escape) const {
  *bad_escape = false;
  auto parts = splitPath(path);
  for (const auto& route : routes_) {
    if (!matchOne(route, parts, path, params, bad_escape)) {
      if (*bad_escape) return nullptr;
      continue;
    }
    if (!route.methods.empty() &&
        std::find(route.methods.begin(), route.methods.end(), method) == route.methods.end()) {
      continue;
    }
    return &route;
  }
  return nullptr;
}

std::string cleanPath(std::string_view path) {
  if (path.empty()) return "/";
  bool trailing = path.size() > 1 && path.back() == '/';
  std::vector<std::string_view> out;
  for (auto part : splitPath(path)) {
    if (part == ".") continue;
    if (part == "..") {
      if (!out.empty()) out.pop_back();
      continue;
    }
    out.push_back(part);
  }
  std::string result;
  for (auto p : out) {
    result.push_back('/');
    result.append(p);
  }
  if (result.empty()) return "/";
  // path.Clean drops a trailing slash; Dapr's router then retries with it, so keep the hint.
  if (trailing) result.push_back('/');
  return result;
}

bool urlDecode(std::string_view in, std::string* out, bool plus_as_space) {
  out->clear();
  out->reserve(in.size());
  for (size_t i = 0; i < in.size(); ++i) {
    char c = in[i];
    if (c == '%') {
      if (i + 2 >= in.size()) return false;
      int hi = hexValue(in[i + 1]);
      int lo = hexValue(in[i + 2]);
      if (hi < 0 || lo < 0) return false;
      out->push_back(static_cast<char>(hi * 16 + lo));
      i += 2;
    } else if (c == '+' && plus_as_space) {
      out->push_back(' ');
    } else {
      out->push_back(c);
    }
  }
  return true;
}

std::string urlEncode(std::string_view in) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : in) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(hex[c >> 4]);
      out.push_back(hex[c & 15]);
    }
  }
  return out;
}

void splitTarget(std::string_view target, std::string_view* path, std::string_view* query) {
  size_t q = target.find('?');
  if (q == std::string_view::npos) {
    *path = target;
    *query = {};
  } else {
    *path = target.substr(0, q);
    *query = target.substr(q + 1);
  }
}

std::vector<std::pair<std::string, std::string>> parseQuery(std::string_view query) {
  std::vector<std::pair<std::string, std::string>> out;
  size_t i = 0;
  while (i <= query.size() && !query.empty()) {
    size_t amp = query.find('&', i);
    if (amp == std::string_view::npos) amp = query.size();
    std::string_view pair = query.substr(i, amp - i);
    if (!pair.empty()) {
      size_t eq = pair.find('=');
      std::string key, value;
      std::string_view raw_key = pair.substr(0, eq);
      std::string_view raw_value = eq == std::string_view::npos ? "" : pair.substr(eq + 1);
      if (!urlDecode(raw_key, &key, true)) key = std::string(raw_key);
      if (!urlDecode(raw_value, &value, true)) value = std::string(raw_value);
      out.emplace_back(std::move(key), std::move(value));
    }
    if (amp >= query.size()) break;
    i = amp + 1;
  }
  return out;
}

}  // namespace outrigger::http
