#include "jinja/evaluator.hpp"

#include <cmath>
#include <limits>

#include <fmt/format.h>

namespace tern::engine::jinja {
namespace {

std::string describe_expr(const expr& e) {
  if (e.kind == expr_kind::name) return fmt::format("'{}'", e.name);
  if (e.kind == expr_kind::getattr) return fmt::format("'{}'", e.name);
  return "the value";
}

bool contains(const value& container, const value& item, source_pos pos) {
  switch (container.type()) {
    case value::kind::string:
      if (!item.is_string())
        throw_runtime(pos, fmt::format("'in <string>' requires string as left operand, not {}", type_name(item)));
      return container.as_string().find(item.as_string()) != std::string::npos;
    case value::kind::array:
      for (const auto& e : container.as_array())
        if (equals(e, item)) return true;
      return false;
    case value::kind::object:
      if (item.is_array() || item.is_object() || item.is_namespace())
        throw_runtime(pos, fmt::format("unhashable type: '{}'", type_name(item)));
      return item.is_string() && container.as_object().find(item.as_string()) != nullptr;
    case value::kind::undefined: return false;
    default:
      throw_runtime(pos, fmt::format("argument of type '{}' is not iterable", type_name(container)));
  }
}

std::int64_t int_of(const value& v) { return v.is_bool() ? std::int64_t{v.as_bool()} : v.as_int(); }

[[noreturn]] void unsupported_operands(const std::string& op, const value& a, const value& b, source_pos pos) {
  if (a.is_undefined() || b.is_undefined())
    throw_runtime(pos, fmt::format("an undefined value is used with '{}'", op));
  throw_runtime(pos, fmt::format("unsupported operand type(s) for {}: '{}' and '{}'", op, type_name(a), type_name(b)));
}

}  // namespace

evaluator::evaluator(const template_program& program, const render_settings& settings)
    : program_(program), settings_(settings) {}

evaluator::~evaluator() {
  frames_.clear();
  for (auto& ns : namespaces_) {
    // Move the entries out first: destroying them may release other namespaces.
    auto entries = std::move(ns->entries);
    ns->entries.clear();
  }
}

std::string evaluator::render(object vars) {
  frames_.clear();
  frames_.push_back(frame{std::move(vars.entries), 0, next_serial_++});
  current_ = 0;
  std::string out;
  out.reserve(4096);
  out_ = &out;
  exec(program_.root);
  out_ = nullptr;
  return out;
}

void evaluator::charge_iterations(std::size_t n, source_pos pos) {
  iterations_ += n;
  if (iterations_ > settings_.max_loop_iterations)
    throw_limit(pos, fmt::format("more than {} loop iterations in one render", settings_.max_loop_iterations));
}

void evaluator::check_size(std::size_t bytes, source_pos pos) const {
  if (bytes > settings_.max_output_bytes)
    throw_limit(pos, fmt::format("a value or the output would exceed {} bytes", settings_.max_output_bytes));
}

void evaluator::write(std::string_view s, source_pos pos) {
  check_size(out_->size() + s.size(), pos);
  out_->append(s);
}

std::string evaluator::capture(const body& b) {
  std::string buf;
  std::string* saved = out_;
  out_ = &buf;
  exec(b);  // a break/continue cannot cross a capture: the parser rejects it
  out_ = saved;
  return buf;
}

std::size_t evaluator::push_frame(std::size_t parent) {
  const std::size_t previous = current_;
  frames_.push_back(frame{{}, parent, next_serial_++});
  current_ = frames_.size() - 1;
  return previous;
}

void evaluator::pop_frame(std::size_t previous) {
  frames_.pop_back();
  current_ = previous;
}

const value* evaluator::lookup(std::string_view name) const {
  std::size_t f = current_;
  while (true) {
    for (const auto& [k, v] : frames_[f].vars)
      if (k == name) return &v;
    if (f == 0) break;
    f = frames_[f].parent;
  }
  return find_global(name);
}

void evaluator::assign(std::string name, value v) {
  auto& vars = frames_[current_].vars;
  for (auto& [k, slot] : vars)
    if (k == name) {
      slot = std::move(v);
      return;
    }
  vars.emplace_back(std::move(name), std::move(v));
}

// --- statements -------------------------------------------------------------

evaluator::flow evaluator::exec(const body& b) {
  for (const auto& s : b) {
    const flow f = exec(*s);
    if (f != flow::normal) return f;
  }
  return flow::normal;
}

evaluator::flow evaluator::exec(const stmt& s) {
  switch (s.kind) {
    case stmt_kind::text: write(s.text, s.pos); return flow::normal;
    case stmt_kind::output: {
      const value v = eval(*s.value);
      append_str(*out_, v);
      check_size(out_->size(), s.pos);
      return flow::normal;
    }
    case stmt_kind::if_:
      for (const auto& [cond, b] : s.branches)
        if (truthy(eval(*cond))) return exec(b);
      return exec(s.else_body);
    case stmt_kind::for_: return exec_for(s);
    case stmt_kind::set: exec_set(s); return flow::normal;
    case stmt_kind::macro: exec_macro(s); return flow::normal;
    case stmt_kind::call_block: exec_call_block(s); return flow::normal;
    case stmt_kind::filter_block: {
      const value text(capture(s.body_main));
      const value filtered = eval_filter(*s.value, &text);
      append_str(*out_, filtered);
      check_size(out_->size(), s.pos);
      return flow::normal;
    }
    case stmt_kind::with: {
      std::vector<value> values;
      for (const auto& e : s.with_values) values.push_back(eval(*e));
      const std::size_t previous = push_frame(current_);
      for (std::size_t i = 0; i < s.targets.size(); ++i) assign(s.targets[i], std::move(values[i]));
      const flow f = exec(s.body_main);
      pop_frame(previous);
      return f;
    }
    case stmt_kind::break_: return flow::break_;
    case stmt_kind::continue_: return flow::continue_;
  }
  return flow::normal;
}

namespace {

void bind_targets(const std::vector<std::string>& targets, const value& item, source_pos pos,
                  const std::function<void(const std::string&, value)>& assign) {
  if (targets.size() == 1) {
    assign(targets[0], item);
    return;
  }
  std::vector<value> parts = iterate(item, pos);
  if (parts.size() != targets.size())
    throw_runtime(pos, fmt::format("cannot unpack {} value(s) into {} names", parts.size(), targets.size()));
  for (std::size_t i = 0; i < targets.size(); ++i) assign(targets[i], std::move(parts[i]));
}

}  // namespace

evaluator::flow evaluator::exec_for(const stmt& s) {
  std::vector<value> items = iterate(eval(*s.value), s.pos);
  auto assign_fn = [this](const std::string& n, value v) { assign(n, std::move(v)); };
  if (s.cond) {
    std::vector<value> kept;
    const std::size_t previous = push_frame(current_);
    for (auto& item : items) {
      charge_iterations(1, s.pos);
      frames_[current_].vars.clear();
      bind_targets(s.targets, item, s.pos, assign_fn);
      if (truthy(eval(*s.cond))) kept.push_back(std::move(item));
    }
    pop_frame(previous);
    items = std::move(kept);
  }
  if (items.empty()) {
    exec(s.else_body);
    return flow::normal;
  }

  const std::size_t n = items.size();
  const std::size_t previous = push_frame(current_);
  for (std::size_t i = 0; i < n; ++i) {
    charge_iterations(1, s.pos);
    frames_[current_].vars.clear();
    bind_targets(s.targets, items[i], s.pos, assign_fn);
    object loop;
    loop.entries.reserve(13);
    loop.entries.emplace_back("index0", value(static_cast<std::int64_t>(i)));
    loop.entries.emplace_back("index", value(static_cast<std::int64_t>(i + 1)));
    loop.entries.emplace_back("revindex0", value(static_cast<std::int64_t>(n - i - 1)));
    loop.entries.emplace_back("revindex", value(static_cast<std::int64_t>(n - i)));
    loop.entries.emplace_back("first", value(i == 0));
    loop.entries.emplace_back("last", value(i + 1 == n));
    loop.entries.emplace_back("length", value(static_cast<std::int64_t>(n)));
    loop.entries.emplace_back("depth", value(1));
    loop.entries.emplace_back("depth0", value(0));
    loop.entries.emplace_back("previtem", i > 0 ? items[i - 1] : value());
    loop.entries.emplace_back("nextitem", i + 1 < n ? items[i + 1] : value());
    auto cycle = std::make_shared<function>();
    cycle->name = "loop.cycle";
    cycle->call = [i](evaluator&, call_args& a, source_pos pos) -> value {
      if (a.positional.empty()) throw_runtime(pos, "loop.cycle() needs at least one argument");
      return a.positional[i % a.positional.size()];
    };
    loop.entries.emplace_back("cycle", value(std::shared_ptr<const function>(std::move(cycle))));
    assign("loop", value(std::move(loop)));
    const flow f = exec(s.body_main);
    if (f == flow::break_) break;
  }
  pop_frame(previous);
  return flow::normal;
}

void evaluator::exec_set(const stmt& s) {
  value v;
  if (s.value) {
    v = eval(*s.value);
  } else {
    v = value(capture(s.body_main));
    if (s.cond) v = eval_filter(*s.cond, &v);
  }
  if (!s.attr.empty()) {
    const value* target = lookup(s.targets[0]);
    if (!target || !target->is_namespace())
      throw_runtime(s.pos, fmt::format("cannot assign attribute '{}' on '{}': it is not a namespace", s.attr, s.targets[0]));
    target->as_namespace()->set(s.attr, std::move(v));
    return;
  }
  bind_targets(s.targets, v, s.pos, [this](const std::string& n, value x) { assign(n, std::move(x)); });
}

void evaluator::exec_macro(const stmt& s) {
  auto fn = std::make_shared<function>();
  fn->name = s.text;
  const stmt* macro = &s;
  fn->call = [macro](evaluator& ev, call_args& args, source_pos pos) {
    return ev.invoke_macro(*macro, args, pos, nullptr);
  };
  assign(s.text, value(std::shared_ptr<const function>(std::move(fn))));
}

void evaluator::exec_call_block(const stmt& s) {
  // `caller()` renders the block's body in the scope of the call site.
  const std::size_t site = current_;
  const std::uint64_t serial = frames_[site].serial;
  const stmt* block = &s;
  auto caller = std::make_shared<function>();
  caller->name = "caller";
  caller->call = [block, site, serial](evaluator& ev, call_args& args, source_pos pos) -> value {
    if (site >= ev.frames_.size() || ev.frames_[site].serial != serial)
      throw_runtime(pos, "caller() used outside of its call block");
    if (++ev.depth_ > ev.settings_.max_recursion_depth)
      throw_limit(pos, fmt::format("calls nested deeper than {} levels", ev.settings_.max_recursion_depth));
    const std::size_t previous = ev.push_frame(site);
    for (std::size_t i = 0; i < block->params.size(); ++i) {
      const auto& p = block->params[i];
      const value* arg = args.get(i, p.name);
      ev.assign(p.name, arg ? *arg : (p.default_value ? ev.eval(*p.default_value) : value()));
    }
    std::string text = ev.capture(block->body_main);
    ev.pop_frame(previous);
    --ev.depth_;
    return value(std::move(text));
  };
  const value caller_value(std::shared_ptr<const function>(std::move(caller)));

  const expr& call = *s.value;
  const value callee = eval(*call.args[0]);
  call_args args;
  eval_args(call, 1, args);
  if (!callee.is_function()) throw_runtime(call.pos, "the 'call' tag needs a macro to call");
  args.named.emplace_back("caller", caller_value);
  const value result = this->call(callee, args, call.pos);
  append_str(*out_, result);
  check_size(out_->size(), s.pos);
}

value evaluator::invoke_macro(const stmt& macro, call_args& args, source_pos pos, const value*) {
  if (++macro_calls_ > settings_.max_macro_calls)
    throw_limit(pos, fmt::format("more than {} macro calls in one render", settings_.max_macro_calls));
  if (++depth_ > settings_.max_recursion_depth)
    throw_limit(pos, fmt::format("macro '{}': calls nested deeper than {} levels", macro.text,
                                 settings_.max_recursion_depth));
  std::vector<value> bound;
  bound.reserve(macro.params.size());
  for (std::size_t i = 0; i < macro.params.size(); ++i) {
    const value* a = args.get(i, macro.params[i].name);
    bound.push_back(a ? *a : value());
  }
  array varargs;
  for (std::size_t i = macro.params.size(); i < args.positional.size(); ++i) varargs.push_back(args.positional[i]);
  object kwargs;
  value caller;
  for (auto& [k, v] : args.named) {
    if (k == "caller") {
      caller = v;
      continue;
    }
    bool is_param = false;
    for (const auto& p : macro.params) is_param = is_param || p.name == k;
    if (!is_param) kwargs.set(k, v);
  }
  // Macros see their arguments and the template's top-level variables.
  const std::size_t previous = push_frame(0);
  for (std::size_t i = 0; i < macro.params.size(); ++i) {
    value v = bound[i];
    if (v.is_undefined() && macro.params[i].default_value) v = eval(*macro.params[i].default_value);
    assign(macro.params[i].name, std::move(v));
  }
  assign("varargs", value(std::move(varargs)));
  assign("kwargs", value(std::move(kwargs)));
  if (!caller.is_undefined()) assign("caller", caller);
  std::string text = capture(macro.body_main);
  pop_frame(previous);
  --depth_;
  return value(std::move(text));
}

// --- expressions ------------------------------------------------------------

value evaluator::eval(const expr& e) {
  switch (e.kind) {
    case expr_kind::literal: return e.literal;
    case expr_kind::name: return eval_name(e);
    case expr_kind::list:
    case expr_kind::tuple: {
      array a;
      a.reserve(e.args.size());
      for (const auto& x : e.args) a.push_back(eval(*x));
      return value(std::move(a));
    }
    case expr_kind::dict: {
      object o;
      for (std::size_t i = 0; i + 1 < e.args.size(); i += 2) {
        const value k = eval(*e.args[i]);
        if (!k.is_string()) throw_runtime(e.args[i]->pos, fmt::format("dict keys must be strings, not {}", type_name(k)));
        o.set(k.as_string(), eval(*e.args[i + 1]));
      }
      return value(std::move(o));
    }
    case expr_kind::getattr: return eval_getattr(e);
    case expr_kind::getitem: {
      const value obj = eval(*e.args[0]);
      if (obj.is_undefined())
        throw_runtime(e.pos, fmt::format("{} is undefined and cannot be indexed", describe_expr(*e.args[0])));
      return get_item(*this, obj, eval(*e.args[1]), e.pos);
    }
    case expr_kind::slice: {
      const value obj = eval(*e.args[0]);
      value bounds[3];
      for (int i = 0; i < 3; ++i)
        if (e.args[static_cast<std::size_t>(i) + 1]) bounds[i] = eval(*e.args[static_cast<std::size_t>(i) + 1]);
      call_args a;
      for (auto& b : bounds) a.positional.push_back(b.is_undefined() ? value(nullptr) : b);
      value result;
      call_method(*this, obj, "__slice__", a, e.pos, result);
      return result;
    }
    case expr_kind::call: return eval_call(e);
    case expr_kind::filter: return eval_filter(e, nullptr);
    case expr_kind::test: {
      const value subject = eval(*e.args[0]);
      call_args a;
      eval_args(e, 1, a);
      const bool r = e.test(*this, subject, a, e.pos);
      return value(e.negated ? !r : r);
    }
    case expr_kind::unary: {
      const value v = eval(*e.args[0]);
      if (e.name == "not") return value(!truthy(v));
      if (v.is_int() || v.is_bool()) {
        const std::int64_t i = int_of(v);
        if (e.name == "-") {
          if (i == std::numeric_limits<std::int64_t>::min()) throw_runtime(e.pos, "integer overflow");
          return value(-i);
        }
        return value(i);
      }
      if (v.is_double()) return value(e.name == "-" ? -v.as_double() : v.as_double());
      throw_runtime(e.pos, fmt::format("bad operand type for unary {}: '{}'", e.name, type_name(v)));
    }
    case expr_kind::binary: return eval_binary(e);
    case expr_kind::compare: return eval_compare(e);
    case expr_kind::concat: {
      std::string s;
      for (const auto& x : e.args) {
        append_str(s, eval(*x));
        check_size(s.size(), e.pos);
      }
      return value(std::move(s));
    }
    case expr_kind::condexpr:
      if (truthy(eval(*e.args[0]))) return eval(*e.args[1]);
      return e.args[2] ? eval(*e.args[2]) : value();
  }
  return value();
}

value evaluator::eval_name(const expr& e) {
  const value* v = lookup(e.name);
  return v ? *v : value();
}

value evaluator::eval_getattr(const expr& e) {
  const value obj = eval(*e.args[0]);
  if (obj.is_undefined())
    throw_runtime(e.pos, fmt::format("{} is undefined, so it has no attribute '{}'", describe_expr(*e.args[0]), e.name));
  return get_attribute(*this, obj, e.name, e.pos);
}

void evaluator::eval_args(const expr& e, std::size_t first, call_args& out) {
  for (std::size_t i = first; i < e.args.size(); ++i) out.positional.push_back(eval(*e.args[i]));
  for (const auto& [k, x] : e.kwargs) out.named.emplace_back(k, eval(*x));
}

value evaluator::eval_call(const expr& e) {
  const expr& callee = *e.args[0];
  call_args args;
  if (callee.kind == expr_kind::getattr) {
    // A method call: dispatch directly, without a bound-method object.
    const value self = eval(*callee.args[0]);
    if (self.is_undefined())
      throw_runtime(callee.pos,
                    fmt::format("{} is undefined, so it has no method '{}'", describe_expr(*callee.args[0]), callee.name));
    eval_args(e, 1, args);
    value result;
    if (call_method(*this, self, callee.name, args, e.pos, result)) return result;
    const value fn = get_attribute(*this, self, callee.name, callee.pos);
    if (fn.is_undefined())
      throw_runtime(e.pos, fmt::format("'{}' object has no method '{}'", type_name(self), callee.name));
    return call(fn, args, e.pos);
  }
  const value fn = eval(callee);
  if (fn.is_undefined()) throw_runtime(e.pos, fmt::format("{} is undefined and cannot be called", describe_expr(callee)));
  eval_args(e, 1, args);
  return call(fn, args, e.pos);
}

value evaluator::call(const value& callee, call_args& args, source_pos pos) {
  if (!callee.is_function()) throw_runtime(pos, fmt::format("'{}' object is not callable", type_name(callee)));
  return callee.as_function().call(*this, args, pos);
}

value evaluator::eval_filter(const expr& e, const value* input_override) {
  value input;
  if (!e.args[0]) input = *input_override;
  else if (e.args[0]->kind == expr_kind::filter) input = eval_filter(*e.args[0], input_override);
  else input = eval(*e.args[0]);
  call_args a;
  eval_args(e, 1, a);
  return e.filter(*this, input, a, e.pos);
}

value evaluator::eval_binary(const expr& e) {
  const std::string& op = e.name;
  if (op == "and") {
    value a = eval(*e.args[0]);
    return truthy(a) ? eval(*e.args[1]) : a;
  }
  if (op == "or") {
    value a = eval(*e.args[0]);
    return truthy(a) ? a : eval(*e.args[1]);
  }
  const value a = eval(*e.args[0]);
  const value b = eval(*e.args[1]);
  const source_pos pos = e.pos;
  const bool ints = (a.is_int() || a.is_bool()) && (b.is_int() || b.is_bool());
  const bool nums = a.is_numeric() && b.is_numeric();
  auto overflow = [&] { throw_runtime(pos, fmt::format("integer overflow in '{}'", op)); };
  if (op == "+") {
    if (ints) {
      std::int64_t r;
      if (__builtin_add_overflow(int_of(a), int_of(b), &r)) overflow();
      return value(r);
    }
    if (nums) return value(a.to_double() + b.to_double());
    if (a.is_string() && b.is_string()) {
      check_size(a.as_string().size() + b.as_string().size(), pos);
      std::string s;
      s.reserve(a.as_string().size() + b.as_string().size());
      s += a.as_string();
      s += b.as_string();
      return value(std::move(s));
    }
    if (a.is_array() && b.is_array()) {
      charge_iterations(a.as_array().size() + b.as_array().size(), pos);
      array r = a.as_array();
      r.insert(r.end(), b.as_array().begin(), b.as_array().end());
      return value(std::move(r));
    }
    if (a.is_string() && !b.is_undefined())
      throw_runtime(pos, fmt::format("can only concatenate str (not \"{}\") to str", type_name(b)));
    unsupported_operands(op, a, b, pos);
  }
  if (op == "-") {
    if (ints) {
      std::int64_t r;
      if (__builtin_sub_overflow(int_of(a), int_of(b), &r)) overflow();
      return value(r);
    }
    if (nums) return value(a.to_double() - b.to_double());
    unsupported_operands(op, a, b, pos);
  }
  if (op == "*") {
    if (ints) {
      std::int64_t r;
      if (__builtin_mul_overflow(int_of(a), int_of(b), &r)) overflow();
      return value(r);
    }
    if (nums) return value(a.to_double() * b.to_double());
    const value* seq = (a.is_string() || a.is_array()) ? &a : ((b.is_string() || b.is_array()) ? &b : nullptr);
    const value* count = seq == &a ? &b : &a;
    if (seq && (count->is_int() || count->is_bool())) {
      const std::int64_t n = std::max<std::int64_t>(0, int_of(*count));
      if (seq->is_string()) {
        const std::size_t len = seq->as_string().size();
        if (len && static_cast<std::uint64_t>(n) > settings_.max_output_bytes / len) check_size(SIZE_MAX, pos);
        std::string s;
        s.reserve(len * static_cast<std::size_t>(n));
        for (std::int64_t i = 0; i < n; ++i) s += seq->as_string();
        return value(std::move(s));
      }
      const std::size_t len = seq->as_array().size();
      if (len && static_cast<std::uint64_t>(n) > settings_.max_loop_iterations / len) charge_iterations(SIZE_MAX / 2, pos);
      charge_iterations(len * static_cast<std::size_t>(n), pos);
      array r;
      for (std::int64_t i = 0; i < n; ++i) r.insert(r.end(), seq->as_array().begin(), seq->as_array().end());
      return value(std::move(r));
    }
    unsupported_operands(op, a, b, pos);
  }
  if (op == "/" || op == "//" || op == "%") {
    if (!nums) {
      if (op == "%" && a.is_string())
        throw template_error(errc::unsupported, pos, "printf-style '%' formatting of strings is not supported");
      unsupported_operands(op, a, b, pos);
    }
    if (op == "/") {
      if (b.to_double() == 0.0) throw_runtime(pos, "division by zero");
      return value(a.to_double() / b.to_double());
    }
    if (ints) {
      const std::int64_t x = int_of(a), y = int_of(b);
      if (y == 0) throw_runtime(pos, op == "%" ? "integer modulo by zero" : "integer division by zero");
      if (x == std::numeric_limits<std::int64_t>::min() && y == -1) overflow();
      std::int64_t q = x / y, r = x % y;
      if (r != 0 && ((r < 0) != (y < 0))) {  // Python floors
        --q;
        r += y;
      }
      return value(op == "//" ? q : r);
    }
    const double x = a.to_double(), y = b.to_double();
    if (y == 0.0) throw_runtime(pos, "float division by zero");
    if (op == "//") return value(std::floor(x / y));
    double r = std::fmod(x, y);
    if (r != 0 && ((r < 0) != (y < 0))) r += y;
    return value(r);
  }
  if (op == "**") {
    if (ints && int_of(b) >= 0) {
      std::int64_t base = int_of(a), exp = int_of(b), r = 1;
      while (exp-- > 0)
        if (__builtin_mul_overflow(r, base, &r)) overflow();
      return value(r);
    }
    if (nums) return value(std::pow(a.to_double(), b.to_double()));
    unsupported_operands(op, a, b, pos);
  }
  throw_runtime(pos, fmt::format("unknown operator '{}'", op));
}

value evaluator::eval_compare(const expr& e) {
  value left = eval(*e.args[0]);
  for (std::size_t i = 0; i < e.ops.size(); ++i) {
    value right = eval(*e.args[i + 1]);
    const std::string& op = e.ops[i];
    bool r;
    if (op == "==") r = equals(left, right);
    else if (op == "!=") r = !equals(left, right);
    else if (op == "in") r = contains(right, left, e.pos);
    else if (op == "not in") r = !contains(right, left, e.pos);
    else {
      const int c = compare(left, right, e.pos);
      r = op == "<" ? c < 0 : op == "<=" ? c <= 0 : op == ">" ? c > 0 : c >= 0;
    }
    if (!r) return value(false);
    left = std::move(right);
  }
  return value(true);
}

}  // namespace tern::engine::jinja
