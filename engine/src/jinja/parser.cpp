#include "jinja/parser.hpp"

#include <algorithm>
#include <initializer_list>

#include <fmt/format.h>

namespace tern::engine::jinja {
namespace {

std::string describe(const token& t) {
  switch (t.type) {
    case tok::text: return "template text";
    case tok::var_begin: return "'{{'";
    case tok::var_end: return "'}}'";
    case tok::block_begin: return "'{%'";
    case tok::block_end: return "'%}'";
    case tok::name: return fmt::format("'{}'", t.text);
    case tok::integer:
    case tok::floating: return fmt::format("number {}", t.text);
    case tok::string: return "a string";
    case tok::op: return fmt::format("'{}'", t.text);
    case tok::eof: return "end of template";
  }
  return "?";
}

class parser {
 public:
  parser(std::vector<token> tokens, const parse_options& opts) : toks_(std::move(tokens)), opts_(opts) {}

  template_program run() {
    template_program prog;
    prog.root = parse_body({}, nullptr);
    return prog;
  }

 private:
  // --- token stream ---------------------------------------------------------
  const token& cur() const { return toks_[i_]; }
  const token& peek(std::size_t k = 1) const { return toks_[std::min(i_ + k, toks_.size() - 1)]; }
  void advance() {
    if (i_ + 1 < toks_.size()) ++i_;
  }
  bool is_op(std::string_view op) const { return cur().type == tok::op && cur().text == op; }
  bool is_name(std::string_view n) const { return cur().type == tok::name && cur().text == n; }
  bool skip_op(std::string_view op) {
    if (!is_op(op)) return false;
    advance();
    return true;
  }
  bool skip_name(std::string_view n) {
    if (!is_name(n)) return false;
    advance();
    return true;
  }
  void expect_op(std::string_view op, std::string_view context) {
    if (!skip_op(op)) throw_parse(cur().pos, fmt::format("expected '{}' {}, got {}", op, context, describe(cur())));
  }
  std::string expect_name(std::string_view context) {
    if (cur().type != tok::name) throw_parse(cur().pos, fmt::format("expected a name {}, got {}", context, describe(cur())));
    std::string n = cur().text;
    advance();
    return n;
  }
  void expect_block_end(std::string_view tag) {
    if (cur().type != tok::block_end)
      throw_parse(cur().pos, fmt::format("expected '%}}' to end the '{}' tag, got {}", tag, describe(cur())));
    advance();
  }

  struct depth_guard {
    parser& p;
    depth_guard(parser& parent, source_pos pos) : p(parent) {
      if (++p.depth_ > p.opts_.max_nesting)
        throw_limit(pos, fmt::format("template nested deeper than {} levels", p.opts_.max_nesting));
    }
    ~depth_guard() { --p.depth_; }
  };

  static expr_ptr make(expr_kind kind, source_pos pos) {
    auto e = std::make_unique<expr>();
    e->kind = kind;
    e->pos = pos;
    return e;
  }

  // --- statements -----------------------------------------------------------
  // Parses until a block tag whose name is in `ends` (left unconsumed, the
  // current token is that name) or the end of the template (only allowed
  // when `ends` is empty). `opener` names the tag being closed, for errors.
  body parse_body(std::initializer_list<std::string_view> ends, const token* opener) {
    depth_guard guard(*this, cur().pos);
    body out;
    while (true) {
      const token& t = cur();
      switch (t.type) {
        case tok::text: {
          auto s = std::make_unique<stmt>();
          s->kind = stmt_kind::text;
          s->pos = t.pos;
          s->text = t.text;
          out.push_back(std::move(s));
          advance();
          break;
        }
        case tok::var_begin: {
          auto s = std::make_unique<stmt>();
          s->kind = stmt_kind::output;
          s->pos = t.pos;
          advance();
          s->value = parse_tuple(true);
          if (cur().type != tok::var_end)
            throw_parse(cur().pos, fmt::format("expected '}}}}' to end the expression, got {}", describe(cur())));
          advance();
          out.push_back(std::move(s));
          break;
        }
        case tok::block_begin: {
          const token& name = peek();
          if (name.type == tok::name && std::find(ends.begin(), ends.end(), name.text) != ends.end()) {
            advance();
            return out;
          }
          advance();
          out.push_back(parse_statement(t.pos));
          break;
        }
        case tok::eof:
          if (ends.size() == 0) return out;
          throw_parse(t.pos, fmt::format("unexpected end of template: '{}' opened at line {}, column {} is never closed "
                                         "(expected '{}')",
                                         opener ? opener->text : "?", opener ? opener->pos.line : 0,
                                         opener ? opener->pos.column : 0, *(ends.end() - 1)));
        default: throw_parse(t.pos, fmt::format("unexpected {}", describe(t)));
      }
    }
  }

  stmt_ptr parse_statement(source_pos tag_pos) {
    if (cur().type != tok::name) throw_parse(cur().pos, fmt::format("expected a tag name after '{{%', got {}", describe(cur())));
    const token name_tok = cur();
    const std::string& n = name_tok.text;
    auto s = std::make_unique<stmt>();
    s->pos = tag_pos;
    if (n == "if") return parse_if(std::move(s), name_tok);
    if (n == "for") return parse_for(std::move(s), name_tok);
    if (n == "set") return parse_set(std::move(s), name_tok);
    if (n == "macro") return parse_macro(std::move(s), name_tok);
    if (n == "call") return parse_call_block(std::move(s), name_tok);
    if (n == "filter") return parse_filter_block(std::move(s), name_tok);
    if (n == "with") return parse_with(std::move(s), name_tok);
    if (n == "generation") {
      // transformers' AssistantTracker extension marks assistant text for
      // training masks; for rendering the block is its body.
      s->kind = stmt_kind::with;
      advance();
      expect_block_end("generation");
      s->body_main = parse_body({"endgeneration"}, &name_tok);
      advance();
      expect_block_end("endgeneration");
      return s;
    }
    if (n == "break" || n == "continue") {
      if (loop_depth_ == 0) throw_parse(name_tok.pos, fmt::format("'{}' outside of a loop", n));
      s->kind = n == "break" ? stmt_kind::break_ : stmt_kind::continue_;
      advance();
      expect_block_end(n);
      return s;
    }
    static constexpr std::string_view unsupported[] = {"include", "import", "from", "extends", "block",
                                                       "do", "autoescape", "trans", "pluralize"};
    if (std::find(std::begin(unsupported), std::end(unsupported), n) != std::end(unsupported))
      throw template_error(errc::unsupported, name_tok.pos,
                           fmt::format("tag '{}' is not supported (chat templates render from their variables only)", n));
    if (n.rfind("end", 0) == 0 || n == "elif" || n == "else")
      throw_parse(name_tok.pos, fmt::format("unexpected '{}': no open tag for it", n));
    throw_parse(name_tok.pos, fmt::format("unknown tag '{}'", n));
  }

  stmt_ptr parse_if(stmt_ptr s, const token& opener) {
    s->kind = stmt_kind::if_;
    advance();
    while (true) {
      expr_ptr cond = parse_tuple(false);
      expect_block_end("if");
      body b = parse_body({"elif", "else", "endif"}, &opener);
      s->branches.emplace_back(std::move(cond), std::move(b));
      if (skip_name("elif")) continue;
      if (skip_name("else")) {
        expect_block_end("else");
        s->else_body = parse_body({"endif"}, &opener);
        advance();
        expect_block_end("endif");
        return s;
      }
      advance();  // endif
      expect_block_end("endif");
      return s;
    }
  }

  std::vector<std::string> parse_targets(std::string_view context) {
    std::vector<std::string> names;
    const bool paren = skip_op("(");
    do {
      names.push_back(expect_name(context));
    } while (skip_op(","));
    if (paren) expect_op(")", context);
    return names;
  }

  stmt_ptr parse_for(stmt_ptr s, const token& opener) {
    s->kind = stmt_kind::for_;
    advance();
    s->targets = parse_targets("as the loop variable");
    if (!skip_name("in")) throw_parse(cur().pos, fmt::format("expected 'in' in the 'for' tag, got {}", describe(cur())));
    s->value = parse_tuple(false, /*no_condexpr=*/true);
    if (skip_name("if")) s->cond = parse_expression();
    if (is_name("recursive"))
      throw template_error(errc::unsupported, cur().pos, "recursive for loops are not supported");
    expect_block_end("for");
    ++loop_depth_;
    s->body_main = parse_body({"else", "endfor"}, &opener);
    --loop_depth_;
    if (skip_name("else")) {
      expect_block_end("else");
      s->else_body = parse_body({"endfor"}, &opener);
    }
    advance();
    expect_block_end("endfor");
    return s;
  }

  stmt_ptr parse_set(stmt_ptr s, const token& opener) {
    s->kind = stmt_kind::set;
    advance();
    if (cur().type == tok::name && peek().type == tok::op && peek().text == ".") {
      s->targets.push_back(cur().text);
      advance();
      advance();
      s->attr = expect_name("as the namespace attribute");
    } else {
      s->targets = parse_targets("as the variable to set");
    }
    if (skip_op("=")) {
      s->value = parse_tuple(true);
      expect_block_end("set");
      return s;
    }
    if (!s->attr.empty() || s->targets.size() != 1)
      throw_parse(cur().pos, fmt::format("expected '=' in the 'set' tag, got {}", describe(cur())));
    // Block set: {% set x | filter %}...{% endset %}
    if (is_op("|")) s->cond = parse_filter_chain(nullptr);
    expect_block_end("set");
    s->body_main = parse_body({"endset"}, &opener);
    advance();
    expect_block_end("endset");
    return s;
  }

  void parse_params(std::vector<param>& params, std::string_view context) {
    expect_op("(", context);
    while (!is_op(")")) {
      if (!params.empty()) expect_op(",", context);
      if (is_op(")")) break;
      param p;
      p.name = expect_name(context);
      if (skip_op("=")) p.default_value = parse_expression();
      params.push_back(std::move(p));
    }
    advance();
  }

  stmt_ptr parse_macro(stmt_ptr s, const token& opener) {
    s->kind = stmt_kind::macro;
    advance();
    s->text = expect_name("as the macro name");
    parse_params(s->params, "in the macro's parameters");
    expect_block_end("macro");
    const int saved = loop_depth_;
    loop_depth_ = 0;
    s->body_main = parse_body({"endmacro"}, &opener);
    loop_depth_ = saved;
    advance();
    expect_block_end("endmacro");
    return s;
  }

  stmt_ptr parse_call_block(stmt_ptr s, const token& opener) {
    s->kind = stmt_kind::call_block;
    advance();
    if (is_op("(")) parse_params(s->params, "in the call block's parameters");
    s->value = parse_expression();
    if (s->value->kind != expr_kind::call) throw_parse(s->value->pos, "expected a macro call in the 'call' tag");
    expect_block_end("call");
    const int saved = loop_depth_;
    loop_depth_ = 0;
    s->body_main = parse_body({"endcall"}, &opener);
    loop_depth_ = saved;
    advance();
    expect_block_end("endcall");
    return s;
  }

  stmt_ptr parse_filter_block(stmt_ptr s, const token& opener) {
    s->kind = stmt_kind::filter_block;
    advance();
    s->value = parse_filter_chain(nullptr, /*leading_bar=*/false);
    expect_block_end("filter");
    s->body_main = parse_body({"endfilter"}, &opener);
    advance();
    expect_block_end("endfilter");
    return s;
  }

  stmt_ptr parse_with(stmt_ptr s, const token& opener) {
    s->kind = stmt_kind::with;
    advance();
    while (cur().type != tok::block_end) {
      if (!s->targets.empty()) expect_op(",", "in the 'with' tag");
      s->targets.push_back(expect_name("in the 'with' tag"));
      expect_op("=", "in the 'with' tag");
      s->with_values.push_back(parse_expression());
    }
    expect_block_end("with");
    s->body_main = parse_body({"endwith"}, &opener);
    advance();
    expect_block_end("endwith");
    return s;
  }

  // --- expressions ----------------------------------------------------------
  bool at_tuple_end(bool no_condexpr) const {
    if (cur().type == tok::var_end || cur().type == tok::block_end || cur().type == tok::eof) return true;
    if (is_op(")")) return true;
    if (no_condexpr && (is_name("if") || is_name("recursive"))) return true;
    return false;
  }

  // An expression, or a tuple when commas separate several.
  expr_ptr parse_tuple(bool allow_tuple, bool no_condexpr = false) {
    const source_pos pos = cur().pos;
    expr_ptr first = no_condexpr ? parse_or() : parse_expression();
    if (!allow_tuple && !no_condexpr) return first;
    if (!is_op(",")) return first;
    auto t = make(expr_kind::tuple, pos);
    t->args.push_back(std::move(first));
    while (skip_op(",")) {
      if (at_tuple_end(no_condexpr)) break;
      t->args.push_back(no_condexpr ? parse_or() : parse_expression());
    }
    return t;
  }

  expr_ptr parse_expression() {
    depth_guard guard(*this, cur().pos);
    expr_ptr e = parse_or();
    while (is_name("if")) {
      const source_pos pos = cur().pos;
      advance();
      auto c = make(expr_kind::condexpr, pos);
      expr_ptr cond = parse_or();
      expr_ptr otherwise;
      if (skip_name("else")) otherwise = parse_expression();
      c->args.push_back(std::move(cond));
      c->args.push_back(std::move(e));
      c->args.push_back(std::move(otherwise));
      e = std::move(c);
    }
    return e;
  }

  expr_ptr binary(std::string op, expr_ptr a, expr_ptr b, source_pos pos) {
    auto e = make(expr_kind::binary, pos);
    e->name = std::move(op);
    e->args.push_back(std::move(a));
    e->args.push_back(std::move(b));
    return e;
  }

  expr_ptr parse_or() {
    expr_ptr e = parse_and();
    while (is_name("or")) {
      const source_pos pos = cur().pos;
      advance();
      e = binary("or", std::move(e), parse_and(), pos);
    }
    return e;
  }

  expr_ptr parse_and() {
    expr_ptr e = parse_not();
    while (is_name("and")) {
      const source_pos pos = cur().pos;
      advance();
      e = binary("and", std::move(e), parse_not(), pos);
    }
    return e;
  }

  expr_ptr parse_not() {
    if (is_name("not")) {
      depth_guard guard(*this, cur().pos);
      auto e = make(expr_kind::unary, cur().pos);
      advance();
      e->name = "not";
      e->args.push_back(parse_not());
      return e;
    }
    return parse_compare();
  }

  expr_ptr parse_compare() {
    const source_pos pos = cur().pos;
    expr_ptr first = parse_math1();
    expr_ptr cmp;
    while (true) {
      std::string op;
      if (cur().type == tok::op && (cur().text == "==" || cur().text == "!=" || cur().text == "<" ||
                                    cur().text == "<=" || cur().text == ">" || cur().text == ">=")) {
        op = cur().text;
        advance();
      } else if (is_name("in")) {
        op = "in";
        advance();
      } else if (is_name("not") && peek().type == tok::name && peek().text == "in") {
        op = "not in";
        advance();
        advance();
      } else {
        break;
      }
      if (!cmp) {
        cmp = make(expr_kind::compare, pos);
        cmp->args.push_back(std::move(first));
      }
      cmp->ops.push_back(std::move(op));
      cmp->args.push_back(parse_math1());
    }
    return cmp ? std::move(cmp) : std::move(first);
  }

  expr_ptr parse_math1() {
    expr_ptr e = parse_concat();
    while (is_op("+") || is_op("-")) {
      const std::string op = cur().text;
      const source_pos pos = cur().pos;
      advance();
      e = binary(op, std::move(e), parse_concat(), pos);
    }
    return e;
  }

  expr_ptr parse_concat() {
    const source_pos pos = cur().pos;
    expr_ptr e = parse_math2();
    if (!is_op("~")) return e;
    auto c = make(expr_kind::concat, pos);
    c->args.push_back(std::move(e));
    while (skip_op("~")) c->args.push_back(parse_math2());
    return c;
  }

  expr_ptr parse_math2() {
    expr_ptr e = parse_pow();
    while (is_op("*") || is_op("/") || is_op("//") || is_op("%")) {
      const std::string op = cur().text;
      const source_pos pos = cur().pos;
      advance();
      e = binary(op, std::move(e), parse_pow(), pos);
    }
    return e;
  }

  expr_ptr parse_pow() {
    expr_ptr e = parse_unary(true);
    while (is_op("**")) {
      const source_pos pos = cur().pos;
      advance();
      e = binary("**", std::move(e), parse_unary(true), pos);
    }
    return e;
  }

  expr_ptr parse_unary(bool with_filter) {
    depth_guard guard(*this, cur().pos);
    expr_ptr e;
    if (is_op("-") || is_op("+")) {
      e = make(expr_kind::unary, cur().pos);
      e->name = cur().text;
      advance();
      e->args.push_back(parse_unary(false));
    } else {
      e = parse_primary();
    }
    e = parse_postfix(std::move(e));
    if (with_filter) e = parse_filter_expr(std::move(e));
    return e;
  }

  expr_ptr parse_primary() {
    const token& t = cur();
    const source_pos pos = t.pos;
    switch (t.type) {
      case tok::name: {
        auto e = make(expr_kind::literal, pos);
        if (t.text == "true" || t.text == "True") e->literal = value(true);
        else if (t.text == "false" || t.text == "False") e->literal = value(false);
        else if (t.text == "none" || t.text == "None") e->literal = value(nullptr);
        else {
          e->kind = expr_kind::name;
          e->name = t.text;
        }
        advance();
        return e;
      }
      case tok::string: {
        std::string s;
        while (cur().type == tok::string) {
          s += cur().text;
          advance();
        }
        auto e = make(expr_kind::literal, pos);
        e->literal = value(std::move(s));
        return e;
      }
      case tok::integer: {
        auto e = make(expr_kind::literal, pos);
        e->literal = value(t.int_value);
        advance();
        return e;
      }
      case tok::floating: {
        auto e = make(expr_kind::literal, pos);
        e->literal = value(t.float_value);
        advance();
        return e;
      }
      case tok::op:
        if (t.text == "(") {
          advance();
          if (skip_op(")")) return make(expr_kind::tuple, pos);
          expr_ptr inner = parse_expression();
          if (is_op(",")) {
            auto tup = make(expr_kind::tuple, pos);
            tup->args.push_back(std::move(inner));
            while (skip_op(",")) {
              if (is_op(")")) break;
              tup->args.push_back(parse_expression());
            }
            inner = std::move(tup);
          }
          expect_op(")", "to close '('");
          return inner;
        }
        if (t.text == "[") {
          advance();
          auto e = make(expr_kind::list, pos);
          while (!is_op("]")) {
            if (!e->args.empty()) expect_op(",", "between list items");
            if (is_op("]")) break;
            e->args.push_back(parse_expression());
          }
          advance();
          return e;
        }
        if (t.text == "{") {
          advance();
          auto e = make(expr_kind::dict, pos);
          while (!is_op("}")) {
            if (!e->args.empty()) expect_op(",", "between dict items");
            if (is_op("}")) break;
            e->args.push_back(parse_expression());
            expect_op(":", "after a dict key");
            e->args.push_back(parse_expression());
          }
          advance();
          return e;
        }
        break;
      default: break;
    }
    throw_parse(pos, fmt::format("unexpected {} in an expression", describe(t)));
  }

  expr_ptr parse_postfix(expr_ptr e) {
    while (true) {
      if (is_op(".")) {
        const source_pos pos = cur().pos;
        advance();
        if (cur().type == tok::name) {
          auto g = make(expr_kind::getattr, pos);
          g->name = cur().text;
          advance();
          g->args.push_back(std::move(e));
          e = std::move(g);
        } else if (cur().type == tok::integer) {
          auto g = make(expr_kind::getitem, pos);
          g->args.push_back(std::move(e));
          auto idx = make(expr_kind::literal, cur().pos);
          idx->literal = value(cur().int_value);
          g->args.push_back(std::move(idx));
          advance();
          e = std::move(g);
        } else {
          throw_parse(cur().pos, fmt::format("expected an attribute name after '.', got {}", describe(cur())));
        }
      } else if (is_op("[")) {
        e = parse_subscript(std::move(e));
      } else if (is_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  expr_ptr parse_subscript(expr_ptr target) {
    const source_pos pos = cur().pos;
    advance();  // [
    expr_ptr parts[3];
    bool is_slice = false;
    int part = 0;
    while (!is_op("]")) {
      if (is_op(":")) {
        is_slice = true;
        if (++part > 2) throw_parse(cur().pos, "a slice takes at most three parts");
        advance();
        continue;
      }
      if (parts[part]) throw_parse(cur().pos, fmt::format("expected ']' or ':' in a subscript, got {}", describe(cur())));
      parts[part] = parse_tuple(true);
    }
    advance();
    if (!is_slice) {
      if (!parts[0]) throw_parse(pos, "empty subscript '[]'");
      auto g = make(expr_kind::getitem, pos);
      g->args.push_back(std::move(target));
      g->args.push_back(std::move(parts[0]));
      return g;
    }
    auto s = make(expr_kind::slice, pos);
    s->args.push_back(std::move(target));
    for (auto& p : parts) s->args.push_back(std::move(p));
    return s;
  }

  void parse_call_args(expr& e) {
    advance();  // (
    bool first = true;
    while (!is_op(")")) {
      if (!first) expect_op(",", "between call arguments");
      first = false;
      if (is_op(")")) break;
      if (is_op("*") || is_op("**")) throw template_error(errc::unsupported, cur().pos, "'*args' and '**kwargs' in calls are not supported");
      if (cur().type == tok::name && peek().type == tok::op && peek().text == "=") {
        std::string key = cur().text;
        advance();
        advance();
        e.kwargs.emplace_back(std::move(key), parse_expression());
      } else {
        if (!e.kwargs.empty()) throw_parse(cur().pos, "positional argument after a keyword argument");
        e.args.push_back(parse_expression());
      }
    }
    advance();
  }

  expr_ptr parse_call(expr_ptr callee) {
    auto c = make(expr_kind::call, cur().pos);
    c->args.push_back(std::move(callee));
    parse_call_args(*c);
    return c;
  }

  std::string dotted_name(std::string_view context) {
    std::string n = expect_name(context);
    while (is_op(".") && peek().type == tok::name) {
      advance();
      n += '.';
      n += cur().text;
      advance();
    }
    return n;
  }

  expr_ptr parse_filter(expr_ptr input) {
    const source_pos pos = cur().pos;
    auto f = make(expr_kind::filter, pos);
    f->name = dotted_name("as the filter name");
    f->filter = find_filter(f->name);
    if (!f->filter) throw template_error(errc::parse_error, pos, fmt::format("no filter named '{}'", f->name));
    f->args.push_back(std::move(input));
    if (is_op("(")) parse_call_args(*f);
    return f;
  }

  // `| f(args) | g` after a block-set target or in a filter block.
  expr_ptr parse_filter_chain(expr_ptr input, bool leading_bar = true) {
    if (leading_bar) expect_op("|", "before a filter");
    expr_ptr e = parse_filter(std::move(input));
    while (skip_op("|")) e = parse_filter(std::move(e));
    return e;
  }

  expr_ptr parse_filter_expr(expr_ptr e) {
    while (true) {
      if (skip_op("|")) {
        e = parse_filter(std::move(e));
      } else if (is_name("is")) {
        const source_pos pos = cur().pos;
        advance();
        auto t = make(expr_kind::test, pos);
        t->negated = skip_name("not");
        t->name = dotted_name("as the test name");
        t->test = find_test(t->name);
        if (!t->test) throw template_error(errc::parse_error, pos, fmt::format("no test named '{}'", t->name));
        t->args.push_back(std::move(e));
        if (is_op("(")) {
          parse_call_args(*t);
        } else if ((cur().type == tok::name || cur().type == tok::string || cur().type == tok::integer ||
                    cur().type == tok::floating || is_op("[") || is_op("{") || is_op("(")) &&
                   !is_name("else") && !is_name("or") && !is_name("and")) {
          if (is_name("is")) throw_parse(cur().pos, "you cannot chain multiple tests with 'is'");
          t->args.push_back(parse_postfix(parse_primary()));
        }
        e = std::move(t);
      } else if (is_op("(")) {
        e = parse_call(std::move(e));
      } else {
        return e;
      }
    }
  }

  std::vector<token> toks_;
  parse_options opts_;
  std::size_t i_ = 0;
  std::size_t depth_ = 0;
  int loop_depth_ = 0;
};

}  // namespace

template_program parse_template(std::string_view source, const parse_options& opts) {
  return parser(lex(source, opts.lex), opts).run();
}

}  // namespace tern::engine::jinja
