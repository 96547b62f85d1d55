#include "injector/patcher/values.h"

#include <cctype>
#include <charconv>
#include <cstdlib>

namespace outrigger::injector::patcher {

namespace {

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

bool isLowerAlnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }
bool isDigit(char c) { return c >= '0' && c <= '9'; }

std::string quoted(std::string_view v) { return "\"" + std::string(v) + "\""; }

}  // namespace

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

bool isTruthy(std::string_view value) {
  value = trim(value);
  for (std::string_view t : {"1", "true", "t", "yes", "y", "on"}) {
    if (iequals(value, t)) return true;
  }
  return false;
}

StatusOr<bool> parseBool(std::string_view annotation, std::string_view value) {
  if (isTruthy(value)) return true;
  std::string_view v = trim(value);
  for (std::string_view f : {"0", "false", "f", "no", "n", "off"}) {
    if (iequals(v, f)) return false;
  }
  return invalidArgumentError("invalid annotation " + std::string(annotation) + ": " +
                              quoted(value) + " is not a boolean (expected true or false)");
}

StatusOr<int> parseInt(std::string_view annotation, std::string_view value, int min, int max,
                       std::string_view expected) {
  std::string_view v = trim(value);
  long long n = 0;
  auto begin = v.data(), end = v.data() + v.size();
  if (!v.empty() && *begin == '+') ++begin;
  auto [ptr, ec] = std::from_chars(begin, end, n);
  if (v.empty() || ec != std::errc() || ptr != end || n < min || n > max) {
    return invalidArgumentError("invalid annotation " + std::string(annotation) + ": " +
                                quoted(value) + " is not " + std::string(expected));
  }
  return static_cast<int>(n);
}

StatusOr<int> parsePort(std::string_view annotation, std::string_view value) {
  return parseInt(annotation, value, 1, 65535, "a port (expected a number from 1 to 65535)");
}

bool parseQuantity(std::string_view text, long double* value) {
  // <number><suffix>: number = digits[.digits] | .digits; suffix = binary SI (Ki..Ei), decimal SI
  // (m, k, M, G, T, P, E) or a decimal exponent (e3, E-2).
  std::string_view s = text;
  if (s.empty() || s.size() > 64) return false;
  if (s.front() == '+') s.remove_prefix(1);
  size_t i = 0, int_digits = 0, frac_digits = 0;
  while (i < s.size() && isDigit(s[i])) ++i, ++int_digits;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && isDigit(s[i])) ++i, ++frac_digits;
  }
  if (int_digits + frac_digits == 0) return false;
  std::string number(s.substr(0, i));
  std::string_view suffix = s.substr(i);
  long double scale = 1;
  static constexpr std::pair<std::string_view, long double> kSuffixes[] = {
      {"", 1},
      {"m", 1e-3},
      {"k", 1e3},
      {"M", 1e6},
      {"G", 1e9},
      {"T", 1e12},
      {"P", 1e15},
      {"E", 1e18},
      {"Ki", 1024},
      {"Mi", 1048576.0L},
      {"Gi", 1073741824.0L},
      {"Ti", 1099511627776.0L},
      {"Pi", 1125899906842624.0L},
      {"Ei", 1152921504606846976.0L}};
  bool known = false;
  for (const auto& [name, factor] : kSuffixes) {
    if (suffix == name) {
      scale = factor, known = true;
      break;
    }
  }
  if (!known) {
    if (suffix.size() < 2 || (suffix[0] != 'e' && suffix[0] != 'E')) return false;
    std::string_view exp = suffix.substr(1);
    if (exp[0] == '+' || exp[0] == '-') exp.remove_prefix(1);
    if (exp.empty() || exp.size() > 3) return false;
    for (char c : exp) {
      if (!isDigit(c)) return false;
    }
    // 10 to that power, read as "1e<exponent>" (no powl: libm is not worth mapping for it).
    std::string power = "1";
    power += suffix;
    scale = std::strtold(power.c_str(), nullptr);
  }
  *value = std::strtold(number.c_str(), nullptr) * scale;
  return true;
}

bool isByteSize(std::string_view text) {
  size_t i = 0;
  while (i < text.size() && isDigit(text[i])) ++i;
  if (i == 0 || i > 18) return false;
  std::string_view unit = text.substr(i);
  for (std::string_view u : {"", "k", "K", "M", "G", "Ki", "Mi", "Gi"}) {
    if (unit == u) return true;
  }
  return false;
}

bool isDuration(std::string_view text) {
  if (text.empty()) return false;
  if (text == "0") return true;
  size_t i = 0;
  while (i < text.size()) {
    size_t digits = 0;
    while (i < text.size() && isDigit(text[i])) ++i, ++digits;
    if (i < text.size() && text[i] == '.') {
      ++i;
      while (i < text.size() && isDigit(text[i])) ++i, ++digits;
    }
    if (digits == 0) return false;
    bool unit = false;
    for (std::string_view u : {"ns", "us", "\xC2\xB5s", "ms", "s", "m", "h"}) {
      if (text.substr(i, u.size()) == u) {
        // "m" must not swallow the m of "ms".
        if (u == "m" && text.substr(i, 2) == "ms") continue;
        i += u.size();
        unit = true;
        break;
      }
    }
    if (!unit) return false;
  }
  return true;
}

bool isDnsLabel(std::string_view name) {
  if (name.empty() || name.size() > 63) return false;
  if (!isLowerAlnum(name.front()) || !isLowerAlnum(name.back())) return false;
  for (char c : name) {
    if (!isLowerAlnum(c) && c != '-') return false;
  }
  return true;
}

bool isDnsSubdomain(std::string_view name) {
  if (name.empty() || name.size() > 253) return false;
  size_t start = 0;
  while (true) {
    size_t dot = name.find('.', start);
    std::string_view part =
        name.substr(start, dot == std::string_view::npos ? name.npos : dot - start);
    if (!isDnsLabel(part)) return false;
    if (dot == std::string_view::npos) return true;
    start = dot + 1;
  }
}

bool isEnvVarName(std::string_view name) {
  if (name.empty()) return false;
  auto ok = [](char c, bool first) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == '-' || c == '.' ||
           (!first && isDigit(c));
  };
  for (size_t i = 0; i < name.size(); ++i) {
    if (!ok(name[i], i == 0)) return false;
  }
  return true;
}

bool isSecretKey(std::string_view key) {
  if (key.empty() || key.size() > 253) return false;
  for (char c : key) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '.' && c != '_') {
      return false;
    }
  }
  return true;
}

}  // namespace outrigger::injector::patcher
