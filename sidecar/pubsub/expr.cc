#include "sidecar/pubsub/expr.h"

#include <cctype>
#include <cstdlib>
#include <variant>
#include <vector>

namespace outrigger::sidecar::pubsub {

struct RoutingExpression::Node {
  enum class Kind { kLiteral, kField, kNot, kAnd, kOr, kCompare, kMethod };
  Kind kind = Kind::kLiteral;
  // kLiteral
  std::variant<std::monostate, bool, double, std::string> literal;
  // kField: path below `event`
  std::vector<std::string> path;
  // operators
  std::string op;  // "==", "!=", "<", ">", "<=", ">=", or the method name
  std::shared_ptr<Node> left, right;
};

namespace {

using Node = RoutingExpression::Node;

struct Token {
  enum class Type { kIdent, kString, kNumber, kOp, kEnd } type;
  std::string text;
  size_t pos;
};

StatusOr<std::vector<Token>> tokenize(const std::string& s) {
  std::vector<Token> out;
  size_t i = 0;
  while (i < s.size()) {
    char c = s[i];
    if (std::isspace(static_cast<unsigned char>(c))) {
      ++i;
      continue;
    }
    size_t start = i;
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      while (i < s.size() && (std::isalnum(static_cast<unsigned char>(s[i])) || s[i] == '_')) ++i;
      out.push_back({Token::Type::kIdent, s.substr(start, i - start), start});
    } else if (std::isdigit(static_cast<unsigned char>(c))) {
      while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.')) ++i;
      out.push_back({Token::Type::kNumber, s.substr(start, i - start), start});
    } else if (c == '"' || c == '\'') {
      std::string text;
      ++i;
      while (i < s.size() && s[i] != c) {
        if (s[i] == '\\' && i + 1 < s.size()) ++i;
        text.push_back(s[i++]);
      }
      if (i >= s.size())
        return invalidArgumentError("unterminated string at offset " + std::to_string(start));
      ++i;
      out.push_back({Token::Type::kString, text, start});
    } else {
      static const char* two[] = {"==", "!=", "<=", ">=", "&&", "||"};
      bool matched = false;
      for (const char* op : two) {
        if (s.compare(i, 2, op) == 0) {
          out.push_back({Token::Type::kOp, op, start});
          i += 2;
          matched = true;
          break;
        }
      }
      if (matched) continue;
      if (std::string("<>!().,[]").find(c) != std::string::npos) {
        out.push_back({Token::Type::kOp, std::string(1, c), start});
        ++i;
        continue;
      }
      return invalidArgumentError("unsupported character '" + std::string(1, c) + "' at offset " +
                                  std::to_string(start));
    }
  }
  out.push_back({Token::Type::kEnd, "", s.size()});
  return out;
}

// Parsing, evaluating and freeing a rule recurse on its depth: a rule is one line of a
// subscription, so its length and nesting are bounded (an app's 5000 parentheses overflowed the
// stack, found by tests/fuzz/route_expr_fuzz).
constexpr size_t kMaxTokens = 1024;
constexpr int kMaxNesting = 64;

class Parser {
 public:
  explicit Parser(std::vector<Token> tokens) : t_(std::move(tokens)) {}

  StatusOr<std::shared_ptr<Node>> parse() {
    if (t_.size() > kMaxTokens) {
      return invalidArgumentError("the expression is longer than " + std::to_string(kMaxTokens) +
                                  " elements");
    }
    ASSIGN_OR_RETURN(auto n, parseOr());
    if (peek().type != Token::Type::kEnd) return unsupported(peek());
    return n;
  }

 private:
  const Token& peek() const { return t_[i_]; }
  bool accept(const char* op) {
    if (peek().type == Token::Type::kOp && peek().text == op) {
      ++i_;
      return true;
    }
    return false;
  }
  Status unsupported(const Token& tok) const {
    return invalidArgumentError("unsupported expression element '" + tok.text + "' at offset " +
                                std::to_string(tok.pos) +
                                " (supported: event fields, literals, == != < > <= >=, && || !, "
                                "startsWith/endsWith/contains)");
  }

  // Counts one level of nesting while it lives.
  class Nested {
   public:
    explicit Nested(int* depth) : depth_(depth) { ++*depth_; }
    ~Nested() { --*depth_; }
    bool tooDeep() const { return *depth_ > kMaxNesting; }

   private:
    int* depth_;
  };
  Status tooDeep() const {
    return invalidArgumentError("the expression nests deeper than " + std::to_string(kMaxNesting) +
                                " levels");
  }

  // Entered once per level of parentheses or method arguments.
  StatusOr<std::shared_ptr<Node>> parseOr() {
    Nested nested(&depth_);
    if (nested.tooDeep()) return tooDeep();
    ASSIGN_OR_RETURN(auto left, parseAnd());
    while (accept("||")) {
      ASSIGN_OR_RETURN(auto right, parseAnd());
      auto n = std::make_shared<Node>();
      n->kind = Node::Kind::kOr;
      n->left = left;
      n->right = right;
      left = n;
    }
    return left;
  }

  StatusOr<std::shared_ptr<Node>> parseAnd() {
    ASSIGN_OR_RETURN(auto left, parseCompare());
    while (accept("&&")) {
      ASSIGN_OR_RETURN(auto right, parseCompare());
      auto n = std::make_shared<Node>();
      n->kind = Node::Kind::kAnd;
      n->left = left;
      n->right = right;
      left = n;
    }
    return left;
  }

  StatusOr<std::shared_ptr<Node>> parseCompare() {
    ASSIGN_OR_RETURN(auto left, parseUnary());
    for (const char* op : {"==", "!=", "<=", ">=", "<", ">"}) {
      if (accept(op)) {
        ASSIGN_OR_RETURN(auto right, parseUnary());
        auto n = std::make_shared<Node>();
        n->kind = Node::Kind::kCompare;
        n->op = op;
        n->left = left;
        n->right = right;
        return n;
      }
    }
    return left;
  }

  StatusOr<std::shared_ptr<Node>> parseUnary() {
    if (accept("!")) {
      Nested nested(&depth_);
      if (nested.tooDeep()) return tooDeep();
      ASSIGN_OR_RETURN(auto inner, parseUnary());
      auto n = std::make_shared<Node>();
      n->kind = Node::Kind::kNot;
      n->left = inner;
      return n;
    }
    return parsePostfix();
  }

  StatusOr<std::shared_ptr<Node>> parsePostfix() {
    ASSIGN_OR_RETURN(auto n, parsePrimary());
    while (true) {
      if (accept(".")) {
        const Token& name = peek();
        if (name.type != Token::Type::kIdent) return unsupported(name);
        ++i_;
        if (accept("(")) {
          if (name.text != "startsWith" && name.text != "endsWith" && name.text != "contains") {
            return unsupported(name);
          }
          ASSIGN_OR_RETURN(auto arg, parseOr());
          if (!accept(")")) return unsupported(peek());
          auto m = std::make_shared<Node>();
          m->kind = Node::Kind::kMethod;
          m->op = name.text;
          m->left = n;
          m->right = arg;
          n = m;
        } else {
          if (n->kind != Node::Kind::kField) return unsupported(name);
          n->path.push_back(name.text);
        }
      } else if (accept("[")) {
        const Token& key = peek();
        if (key.type != Token::Type::kString || n->kind != Node::Kind::kField)
          return unsupported(key);
        ++i_;
        if (!accept("]")) return unsupported(peek());
        n->path.push_back(key.text);
      } else {
        return n;
      }
    }
  }

  StatusOr<std::shared_ptr<Node>> parsePrimary() {
    const Token tok = peek();
    auto n = std::make_shared<Node>();
    if (tok.type == Token::Type::kIdent) {
      ++i_;
      if (tok.text == "event") {
        n->kind = Node::Kind::kField;
      } else if (tok.text == "true" || tok.text == "false") {
        n->literal = tok.text == "true";
      } else if (tok.text == "null") {
        n->literal = std::monostate{};
      } else {
        return unsupported(tok);
      }
      return n;
    }
    if (tok.type == Token::Type::kString) {
      ++i_;
      n->literal = tok.text;
      return n;
    }
    if (tok.type == Token::Type::kNumber) {
      ++i_;
      n->literal = std::strtod(tok.text.c_str(), nullptr);
      return n;
    }
    if (accept("(")) {
      ASSIGN_OR_RETURN(auto inner, parseOr());
      if (!accept(")")) return unsupported(peek());
      return inner;
    }
    return unsupported(tok);
  }

  std::vector<Token> t_;
  size_t i_ = 0;
  int depth_ = 0;
};

// A runtime value; `missing` when a field does not exist.
struct Val {
  enum class Type { kMissing, kNull, kBool, kNumber, kString, kOther } type = Type::kMissing;
  bool b = false;
  double d = 0;
  std::string s;
};

Val evaluate(const Node& n, const json::Value& event);

Val fromJson(const json::Value* v) {
  Val out;
  if (!v) return out;
  if (v->IsNull())
    out.type = Val::Type::kNull;
  else if (v->IsBool()) {
    out.type = Val::Type::kBool;
    out.b = v->GetBool();
  } else if (v->IsNumber()) {
    out.type = Val::Type::kNumber;
    out.d = v->GetDouble();
  } else if (v->IsString()) {
    out.type = Val::Type::kString;
    out.s = v->GetString();
  } else
    out.type = Val::Type::kOther;
  return out;
}

bool truthy(const Val& v) { return v.type == Val::Type::kBool && v.b; }

bool compare(const std::string& op, const Val& a, const Val& b) {
  if (a.type == Val::Type::kMissing || b.type == Val::Type::kMissing) return false;
  if (a.type != b.type) return op == "!=";
  int c = 0;
  switch (a.type) {
    case Val::Type::kNull: c = 0; break;
    case Val::Type::kBool: c = static_cast<int>(a.b) - static_cast<int>(b.b); break;
    case Val::Type::kNumber: c = a.d < b.d ? -1 : (a.d > b.d ? 1 : 0); break;
    case Val::Type::kString: c = a.s.compare(b.s); break;
    default: return false;
  }
  if (op == "==") return c == 0;
  if (op == "!=") return c != 0;
  if (op == "<") return c < 0;
  if (op == ">") return c > 0;
  if (op == "<=") return c <= 0;
  return c >= 0;
}

Val boolVal(bool b) {
  Val v;
  v.type = Val::Type::kBool;
  v.b = b;
  return v;
}

Val evaluate(const Node& n, const json::Value& event) {
  switch (n.kind) {
    case Node::Kind::kLiteral: {
      Val v;
      if (std::holds_alternative<std::monostate>(n.literal))
        v.type = Val::Type::kNull;
      else if (auto* b = std::get_if<bool>(&n.literal)) {
        v.type = Val::Type::kBool;
        v.b = *b;
      } else if (auto* d = std::get_if<double>(&n.literal)) {
        v.type = Val::Type::kNumber;
        v.d = *d;
      } else {
        v.type = Val::Type::kString;
        v.s = std::get<std::string>(n.literal);
      }
      return v;
    }
    case Node::Kind::kField: {
      const json::Value* cur = &event;
      for (const auto& key : n.path) {
        cur = json::find(*cur, key.c_str());
        if (!cur) return Val{};
      }
      return fromJson(cur);
    }
    case Node::Kind::kNot: return boolVal(!truthy(evaluate(*n.left, event)));
    case Node::Kind::kAnd:
      return boolVal(truthy(evaluate(*n.left, event)) && truthy(evaluate(*n.right, event)));
    case Node::Kind::kOr:
      return boolVal(truthy(evaluate(*n.left, event)) || truthy(evaluate(*n.right, event)));
    case Node::Kind::kCompare:
      return boolVal(compare(n.op, evaluate(*n.left, event), evaluate(*n.right, event)));
    case Node::Kind::kMethod: {
      Val target = evaluate(*n.left, event);
      Val arg = evaluate(*n.right, event);
      if (target.type != Val::Type::kString || arg.type != Val::Type::kString)
        return boolVal(false);
      const std::string& s = target.s;
      const std::string& a = arg.s;
      if (n.op == "startsWith") return boolVal(s.rfind(a, 0) == 0);
      if (n.op == "endsWith")
        return boolVal(s.size() >= a.size() && s.compare(s.size() - a.size(), a.size(), a) == 0);
      return boolVal(s.find(a) != std::string::npos);
    }
  }
  return Val{};
}

}  // namespace

StatusOr<std::shared_ptr<RoutingExpression>> RoutingExpression::compile(const std::string& text) {
  auto tokens = tokenize(text);
  if (!tokens.ok())
    return invalidArgumentError("match '" + text + "': " + tokens.status().message());
  Parser parser(std::move(*tokens));
  auto root = parser.parse();
  if (!root.ok()) return invalidArgumentError("match '" + text + "': " + root.status().message());
  auto out = std::make_shared<RoutingExpression>();
  out->text_ = text;
  out->root_ = *root;
  return out;
}

bool RoutingExpression::matches(const json::Value& event) const {
  return truthy(evaluate(*root_, event));
}

}  // namespace outrigger::sidecar::pubsub
