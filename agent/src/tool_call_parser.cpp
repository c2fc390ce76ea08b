#include <tern/agent/tool_call_parser.hpp>
#include <tern/core/json.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace tern::agent {

namespace {

namespace bj = boost::json;

std::string_view trim(std::string_view s) {
  const auto ws = [](char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; };
  while (!s.empty() && ws(s.front())) s.remove_prefix(1);
  while (!s.empty() && ws(s.back())) s.remove_suffix(1);
  return s;
}

constexpr std::string_view k_think_open = "<think>";
constexpr std::string_view k_think_close = "</think>";
constexpr std::string_view k_call_open = "<tool_call>";
constexpr std::string_view k_call_close = "</tool_call>";
constexpr std::string_view k_python_tag = "<|python_tag|>";
// DeepSeek-R1 markers (added tokens; U+FF5C and U+2581 inside).
constexpr std::string_view k_ds_calls_begin = "<｜tool▁calls▁begin｜>";
constexpr std::string_view k_ds_calls_end = "<｜tool▁calls▁end｜>";
constexpr std::string_view k_ds_call_begin = "<｜tool▁call▁begin｜>";
constexpr std::string_view k_ds_call_end = "<｜tool▁call▁end｜>";
constexpr std::string_view k_ds_sep = "<｜tool▁sep｜>";

constexpr std::size_t npos = std::string_view::npos;

// A short, single-line quote of model text for problem messages.
std::string excerpt(std::string_view s) {
  std::string out;
  for (char c : s.substr(0, 40)) out += (c == '\n' || c == '\r' || c == '\t') ? ' ' : c;
  return s.size() > 40 ? out + "..." : out;
}

// Splits off the reasoning; returns the remaining text.
std::string_view split_reasoning(std::string_view text, std::string& reasoning) {
  const std::string_view t = trim(text);
  if (t.starts_with(k_think_open)) {
    const auto body = t.substr(k_think_open.size());
    const auto close = body.find(k_think_close);
    if (close == npos) {  // cut off mid-thought
      reasoning = trim(body);
      return {};
    }
    reasoning = trim(body.substr(0, close));
    return body.substr(close + k_think_close.size());
  }
  // The chat template opened the thought in the prompt: only the close is ours.
  if (const auto close = t.find(k_think_close); close != npos && t.find(k_think_open) == npos) {
    reasoning = trim(t.substr(0, close));
    return t.substr(close + k_think_close.size());
  }
  return text;
}

// From s[start] (an opening bracket) to its matching close: the index one past
// it, or npos when the text ends first; then `open` holds the brackets still
// open, innermost last, and in_string whether the text ended inside a string.
std::size_t json_extent(std::string_view s, std::size_t start, std::string& open, bool& in_string) {
  open.clear();
  in_string = false;
  bool escaped = false;
  for (std::size_t i = start; i < s.size(); ++i) {
    const char c = s[i];
    if (in_string) {
      if (escaped) escaped = false;
      else if (c == '\\') escaped = true;
      else if (c == '"') in_string = false;
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      open += c;
    } else if (c == '}' || c == ']') {
      if (open.empty() || open.back() != (c == '}' ? '{' : '[')) return npos;  // mismatched: not JSON
      open.pop_back();
      if (open.empty()) return i + 1;
    }
  }
  return npos;
}

// Where `marker` follows the JSON object that starts at the first non-blank
// byte from `from` (only blanks between), or npos. String-aware, so a marker
// inside an argument string ("</tool_call>" in a note) does not end the block.
std::size_t marker_after_json(std::string_view s, std::size_t from, std::string_view marker) {
  const auto j = s.find_first_not_of(" \t\r\n", from);
  if (j == npos || s[j] != '{') return npos;
  std::string open;
  bool in_string = false;
  const auto e = json_extent(s, j, open, in_string);
  if (e == npos) return npos;
  const auto m = s.find_first_not_of(" \t\r\n", e);
  return m != npos && s.substr(m).starts_with(marker) ? m : npos;
}

class parser {
 public:
  parser(const parse_options& o, parsed_output& out) : o_(o), out_(out) {}

  void run(std::string_view text) {
    const std::string_view rest = split_reasoning(text, out_.reasoning);
    tool_call_syntax syntax = o_.syntax;
    if (syntax == tool_call_syntax::automatic) {
      if (rest.find(k_call_open) != npos) syntax = tool_call_syntax::hermes;
      else if (rest.find(k_ds_calls_begin) != npos || rest.find(k_ds_call_begin) != npos)
        syntax = tool_call_syntax::deepseek_r1;
      else syntax = tool_call_syntax::llama3_json;
    }
    switch (syntax) {
      case tool_call_syntax::hermes: hermes(rest); break;
      case tool_call_syntax::deepseek_r1: deepseek(rest); break;
      case tool_call_syntax::llama3_json:
        if (!llama3(rest)) out_.content = trim(rest);
        break;
      case tool_call_syntax::none:
      case tool_call_syntax::automatic: out_.content = trim(rest); break;
    }
  }

 private:
  void repaired(std::string_view where, std::string_view what) {
    out_.problems.push_back(fmt::format("{}: repaired: {}", where, what));
  }

  // One JSON value from text that should be exactly that value. Repairs: a
  // code fence around it, text before/after it, brackets left open when the
  // text is the end of the output (at_end).
  result<bj::value> json_value(std::string_view body, std::string_view where, bool at_end) {
    body = trim(body);
    auto first = json::parse(body);
    if (first || !o_.repair) return first;
    if (body.starts_with("```")) {
      std::string_view inner = body.substr(3);
      const auto nl = inner.find('\n');
      // "```json\n...": drop the info string; "```{...}```": nothing to drop.
      if (nl != npos && inner.substr(0, nl).find_first_of("{[") == npos) inner = inner.substr(nl + 1);
      inner = trim(inner);
      if (inner.ends_with("```")) inner = trim(inner.substr(0, inner.size() - 3));
      auto v = json_value(inner, where, at_end);
      if (v) repaired(where, "removed a code fence around the JSON");
      return v;
    }
    const auto start = body.find_first_of("{[");
    if (start == npos) return first;
    std::string open;
    bool in_string = false;
    const auto end = json_extent(body, start, open, in_string);
    if (end != npos) {
      auto v = json::parse(body.substr(start, end - start));
      if (!v) return first;
      if (start > 0) repaired(where, fmt::format("ignored text before the JSON ('{}')", excerpt(body.substr(0, start))));
      if (end < body.size()) repaired(where, fmt::format("ignored text after the JSON ('{}')", excerpt(body.substr(end))));
      return v;
    }
    if (!at_end || in_string || open.empty() || start > 0) return first;
    std::string closed(body);
    for (auto it = open.rbegin(); it != open.rend(); ++it) closed += *it == '{' ? '}' : ']';
    auto v = json::parse(closed);
    if (!v) return first;
    repaired(where, fmt::format("closed {} bracket(s) left open at the end of the output", open.size()));
    return v;
  }

  // {"name": ..., "arguments"|"parameters": {...} | "<json>"} -> tool_call.
  result<tool_call> call_from_json(const bj::value& v, bool strict_keys, std::string_view where) {
    const auto* o = v.if_object();
    if (!o) return fail(errc::parse_error, "a tool call must be a JSON object");
    const auto* name = o->if_contains("name");
    if (!name || !name->is_string() || name->as_string().empty())
      return fail(errc::parse_error, "a tool call needs a string 'name'");
    const bj::value* args = o->if_contains("arguments");
    if (!args) args = o->if_contains("parameters");
    if (strict_keys) {
      for (const auto& kv : *o)
        if (kv.key() != "name" && kv.key() != "arguments" && kv.key() != "parameters" && kv.key() != "type")
          return fail(errc::parse_error, fmt::format("unexpected key '{}' in a tool call", std::string_view(kv.key())));
      if (!args) return fail(errc::parse_error, "a tool call needs 'parameters' or 'arguments'");
      if (!known_name(name->as_string()))
        return fail(errc::not_found, fmt::format("'{}' is not one of the tools", std::string_view(name->as_string())));
    }
    tool_call call;
    call.name = name->as_string();
    if (args && !args->is_null()) {
      TERN_TRY(call.arguments, arguments(*args, call.name, where));
    }
    return call;
  }

  result<bj::object> arguments(const bj::value& args, std::string_view name, std::string_view where) {
    if (args.is_object()) return args.as_object();
    if (!args.is_string()) return fail(errc::parse_error, fmt::format("arguments of '{}' must be an object", name));
    if (!o_.repair) return fail(errc::parse_error, fmt::format("arguments of '{}' are a JSON string, not an object", name));
    auto parsed = json::parse(args.as_string());
    if (!parsed) return std::move(parsed).error().at(fmt::format("arguments of '{}'", name));
    if (!parsed->is_object()) return fail(errc::parse_error, fmt::format("arguments of '{}' are not a JSON object", name));
    repaired(where, "arguments were a JSON string");
    return std::move(parsed->as_object());
  }

  bool known_name(std::string_view name) const {
    if (!o_.known_tools.empty())
      return std::find(o_.known_tools.begin(), o_.known_tools.end(), name) != o_.known_tools.end();
    return o_.validators.empty() || o_.validators.find(name) != o_.validators.end();
  }

  // Validates and files a parsed call (ids follow output order).
  void add(tool_call call, std::string_view where) {
    call.id = fmt::format("{}_{}", o_.id_prefix, n_calls_++);
    if (auto it = o_.validators.find(call.name); it != o_.validators.end()) {
      auto violations = it->second.check(bj::value(call.arguments));
      if (!violations.empty()) {
        std::string list;
        for (const auto& v : violations)
          list += fmt::format("{}{}: {}", list.empty() ? "" : "; ", v.pointer.empty() ? "/" : v.pointer, v.message);
        out_.problems.push_back(
            fmt::format("{}: arguments of '{}' do not match its schema: {}", where, call.name, list));
        out_.invalid_calls.push_back(std::move(call));
        return;
      }
    }
    out_.tool_calls.push_back(std::move(call));
  }

  void hermes(std::string_view text) {
    std::string content;
    std::size_t pos = 0;
    int n_block = 0;
    while (pos < text.size()) {
      const auto open = text.find(k_call_open, pos);
      if (open == npos) {
        content.append(text.substr(pos));
        break;
      }
      content.append(text.substr(pos, open - pos));
      const auto body_start = open + k_call_open.size();
      auto close = marker_after_json(text, body_start, k_call_close);
      const bool exact = close != npos;
      if (!exact) close = text.find(k_call_close, body_start);
      const auto reopen = exact ? npos : text.find(k_call_open, body_start);
      const std::string where = fmt::format("<tool_call> block {}", ++n_block);
      const std::size_t mark = out_.problems.size();  // repairs count only if the call is kept
      std::size_t body_end = close, next = close == npos ? npos : close + k_call_close.size();
      bool at_end = false;
      if (reopen < close) {  // covers close == npos too
        body_end = next = reopen;
        if (o_.repair) repaired(where, "no </tool_call> before the next <tool_call>");
      } else if (close == npos) {
        // Generation may stop at end-of-turn before the closing tag.
        body_end = next = text.size();
        at_end = true;
        if (o_.repair && !trim(text.substr(body_start)).empty()) repaired(where, "no </tool_call> at the end");
      }
      const auto body = text.substr(body_start, body_end - body_start);
      result<tool_call> call = fail(errc::parse_error, "no </tool_call>");
      if (o_.repair || (close != npos && reopen > close)) {
        auto parsed = json_value(body, where, at_end);
        call = parsed ? call_from_json(*parsed, false, where) : result<tool_call>(std::move(parsed).error());
      }
      if (call) {
        add(std::move(*call), where);
      } else {
        out_.problems.resize(mark);
        out_.problems.push_back(fmt::format("{}: {}", where, call.error().describe()));
        content.append(text.substr(open, next - open));
      }
      pos = next;
    }
    out_.content = trim(content);
  }

  // Whole-output JSON calls (Llama 3.x): a call, several separated by ';' or
  // newlines, or an array of them. Leaves out untouched unless all of it
  // parses; with repairs, a fence around them or prose around them.
  bool llama3(std::string_view text) {
    std::string_view t = trim(text);
    const bool tagged = t.starts_with(k_python_tag);
    if (tagged) t = trim(t.substr(k_python_tag.size()));
    const std::size_t mark = out_.problems.size();
    if (llama3_calls(t, tagged)) return true;
    if (!o_.repair) return false;
    // Why the plain reading failed matters only if no repair works either.
    std::vector<std::string> failure(out_.problems.begin() + std::ptrdiff_t(mark), out_.problems.end());
    out_.problems.resize(mark);
    if (llama3_repaired(t, tagged)) return true;
    out_.problems.resize(mark);
    out_.problems.insert(out_.problems.end(), failure.begin(), failure.end());
    return false;
  }

  bool llama3_repaired(std::string_view t, bool tagged) {
    if (t.starts_with("```")) {
      std::string_view inner = t.substr(3);
      const auto nl = inner.find('\n');
      if (nl != npos && inner.substr(0, nl).find_first_of("{[") == npos) inner = inner.substr(nl + 1);
      inner = trim(inner);
      if (inner.ends_with("```")) inner = trim(inner.substr(0, inner.size() - 3));
      if (llama3_calls(inner, tagged)) {
        repaired("JSON tool call", "removed a code fence around the calls");
        return true;
      }
    }
    // Calls inside prose: only with a tool list to recognise them by.
    if (o_.known_tools.empty() && o_.validators.empty()) return false;
    std::string prose;
    std::vector<tool_call> calls;
    std::size_t pos = 0;
    while (pos < t.size()) {
      const auto start = t.find('{', pos);
      if (start == npos) break;
      std::string open;
      bool in_string = false;
      auto end = json_extent(t, start, open, in_string);
      std::string candidate;
      if (end == npos) {
        // Left open at the very end: close it if that makes a call.
        if (in_string || open.empty()) break;
        candidate = std::string(t.substr(start));
        for (auto it = open.rbegin(); it != open.rend(); ++it) candidate += *it == '{' ? '}' : ']';
        end = t.size();
      } else {
        candidate = std::string(t.substr(start, end - start));
      }
      auto v = json::parse(candidate);
      auto call = v ? call_from_json(*v, true, "JSON tool call") : result<tool_call>(std::move(v).error());
      if (call) {
        if (end == t.size() && candidate.size() != end - start)
          repaired("JSON tool call", "closed bracket(s) left open at the end of the output");
        prose.append(t.substr(pos, start - pos));
        calls.push_back(std::move(*call));
        pos = end;
      } else if (end < t.size() || candidate.size() == end - start) {
        // Not a call: skip the whole value, so calls nested in an answer stay text.
        prose.append(t.substr(pos, end - pos));
        pos = end;
      } else {
        break;
      }
    }
    if (calls.empty()) return false;
    prose.append(t.substr(std::min(pos, t.size())));
    std::string rest;  // prose without the separators between calls
    for (char c : prose)
      if (c != ';') rest += c;
    if (!trim(rest).empty())
      repaired("JSON tool call", fmt::format("took {} call(s) out of surrounding text", calls.size()));
    for (auto& c : calls) add(std::move(c), "JSON tool call");
    out_.content = trim(prose);
    if (trim(rest).empty()) out_.content.clear();
    return true;
  }

  bool llama3_calls(std::string_view t, bool tagged) {
    if (t.empty() || (t.front() != '{' && t.front() != '[')) return false;
    std::vector<bj::value> items;
    if (auto whole = json::parse(t); whole) {
      if (whole->is_array()) for (auto& v : whole->as_array()) items.push_back(std::move(v));
      else items.push_back(std::move(*whole));
    } else {
      // Several objects separated by ';' or newlines.
      std::size_t start = 0;
      int depth = 0;
      bool in_string = false, escaped = false;
      for (std::size_t i = 0; i <= t.size(); ++i) {
        const char c = i < t.size() ? t[i] : ';';
        if (in_string) {
          if (escaped) escaped = false;
          else if (c == '\\') escaped = true;
          else if (c == '"') in_string = false;
          continue;
        }
        if (c == '"') in_string = true;
        else if (c == '{' || c == '[') ++depth;
        else if (c == '}' || c == ']') --depth;
        else if (depth == 0 && (c == ';' || c == '\n')) {
          const auto piece = trim(t.substr(start, i - start));
          start = i + 1;
          if (piece.empty()) continue;
          auto v = json::parse(piece);
          if (!v) {
            if (tagged || t.find("\"name\"") != npos) out_.problems.push_back("JSON tool call: " + v.error().describe());
            return false;
          }
          items.push_back(std::move(*v));
        }
      }
    }
    if (items.empty()) return false;
    // Calls are filed only when all of them parse; repairs noted meanwhile are
    // kept aside and dropped otherwise.
    std::vector<std::string> saved = std::move(out_.problems);
    out_.problems.clear();
    std::vector<tool_call> calls;
    for (const auto& v : items) {
      auto call = call_from_json(v, /*strict_keys=*/true, "JSON tool call");
      if (!call) {
        out_.problems = std::move(saved);
        if (tagged) out_.problems.push_back("JSON tool call: " + call.error().describe());
        return false;
      }
      calls.push_back(std::move(*call));
    }
    std::vector<std::string> notes = std::move(out_.problems);
    out_.problems = std::move(saved);
    out_.problems.insert(out_.problems.end(), notes.begin(), notes.end());
    for (auto& c : calls) add(std::move(c), "JSON tool call");
    out_.content.clear();
    return true;
  }

  // <｜tool▁calls▁begin｜> (<｜tool▁call▁begin｜>TYPE<｜tool▁sep｜>NAME\n```json\nARGS\n```<｜tool▁call▁end｜>)+ <｜tool▁calls▁end｜>
  void deepseek(std::string_view text) {
    std::string content;
    auto begin = text.find(k_ds_calls_begin);
    std::size_t region_start;
    if (begin != npos) {
      region_start = begin + k_ds_calls_begin.size();
    } else {
      begin = text.find(k_ds_call_begin);
      if (begin == npos || !o_.repair) {
        if (begin != npos) out_.problems.push_back("DeepSeek tool calls: no <｜tool▁calls▁begin｜>");
        out_.content = trim(text);
        return;
      }
      repaired("DeepSeek tool calls", "no <｜tool▁calls▁begin｜>");
      region_start = begin;
    }
    content.append(text.substr(0, begin));
    auto region_end = text.find(k_ds_calls_end, region_start);
    std::size_t after = region_end == npos ? text.size() : region_end + k_ds_calls_end.size();
    if (region_end == npos) {
      region_end = text.size();
      if (!o_.repair) {
        out_.problems.push_back("DeepSeek tool calls: no <｜tool▁calls▁end｜>");
        out_.content = trim(text);
        return;
      }
      repaired("DeepSeek tool calls", "no <｜tool▁calls▁end｜> at the end");
    }
    const std::string_view region = text.substr(0, region_end);
    std::size_t pos = region_start;
    int n_call = 0;
    while (pos < region.size()) {
      const auto b = region.find(k_ds_call_begin, pos);
      if (b == npos) {
        if (!trim(region.substr(pos)).empty()) {
          out_.problems.push_back(
              fmt::format("DeepSeek tool calls: text outside a call ('{}')", excerpt(trim(region.substr(pos)))));
          content.append(region.substr(pos));
        }
        break;
      }
      if (!trim(region.substr(pos, b - pos)).empty()) content.append(region.substr(pos, b - pos));
      const std::string where = fmt::format("DeepSeek tool call {}", ++n_call);
      const std::size_t mark = out_.problems.size();  // repairs count only if the call is kept
      const auto body_start = b + k_ds_call_begin.size();
      auto e = npos;
      // String-aware when the layout is exact: TYPE<｜tool▁sep｜>NAME\n```json\n{...}\n```<｜tool▁call▁end｜>
      if (const auto sep = region.find(k_ds_sep, body_start); sep != npos) {
        const auto nl = region.find('\n', sep);
        if (nl != npos && region.substr(nl + 1).starts_with("```json")) {
          const auto fence = marker_after_json(region, nl + 8, "```");
          if (fence != npos && region.substr(fence + 3).starts_with(k_ds_call_end)) e = fence + 3;
        }
      }
      const bool exact = e != npos;
      if (!exact) e = region.find(k_ds_call_end, body_start);
      const auto next_b = exact ? npos : region.find(k_ds_call_begin, body_start);
      std::size_t body_end, next;
      bool ok_end = true, at_end = false;
      if (next_b < e) {  // covers e == npos
        body_end = next = next_b;
        ok_end = o_.repair;
        if (o_.repair) repaired(where, "no <｜tool▁call▁end｜> before the next call");
      } else if (e == npos) {
        body_end = next = region.size();
        at_end = region_end == text.size();
        ok_end = o_.repair;
        if (o_.repair) repaired(where, "no <｜tool▁call▁end｜>");
      } else {
        body_end = e;
        next = e + k_ds_call_end.size();
      }
      auto call = ok_end ? deepseek_call(region.substr(body_start, body_end - body_start), where, at_end)
                         : result<tool_call>(fail(errc::parse_error, "no <｜tool▁call▁end｜>"));
      if (call) {
        add(std::move(*call), where);
      } else {
        out_.problems.resize(mark);
        out_.problems.push_back(fmt::format("{}: {}", where, call.error().describe()));
        content.append(region.substr(b, next - b));
      }
      pos = next;
    }
    content.append(text.substr(std::min(after, text.size())));
    out_.content = trim(content);
  }

  result<tool_call> deepseek_call(std::string_view body, std::string_view where, bool at_end) {
    const auto sep = body.find(k_ds_sep);
    if (sep == npos) return fail(errc::parse_error, "no <｜tool▁sep｜> after the call type");
    std::string_view rest = body.substr(sep + k_ds_sep.size());
    const auto nl = rest.find('\n');
    if (nl == npos) return fail(errc::parse_error, "no newline after the tool name");
    tool_call call;
    call.name = std::string(trim(rest.substr(0, nl)));
    if (call.name.empty()) return fail(errc::parse_error, "an empty tool name");
    std::string_view args = trim(rest.substr(nl + 1));
    // The format's own fence: ```json\n{...}\n```.
    if (args.starts_with("```json")) {
      args = args.substr(7);
      if (args.ends_with("```")) {
        args = args.substr(0, args.size() - 3);
      } else if (o_.repair) {
        repaired(where, "no closing ``` after the arguments");
      } else {
        return fail(errc::parse_error, "no closing ``` after the arguments");
      }
    } else if (o_.repair) {
      repaired(where, "no ```json fence around the arguments");
    } else {
      return fail(errc::parse_error, "no ```json fence around the arguments");
    }
    TERN_TRY(bj::value v, json_value(args, where, at_end));
    TERN_TRY(call.arguments, arguments(v, call.name, where));
    return call;
  }

  const parse_options& o_;
  parsed_output& out_;
  std::size_t n_calls_ = 0;
};

}  // namespace

parsed_output parse_model_output(std::string_view text, const parse_options& options) {
  parsed_output out;
  parser(options, out).run(text);
  return out;
}

tool_call_syntax syntax_of(tern::engine::tool_call_format f) noexcept {
  switch (f) {
    case tern::engine::tool_call_format::hermes: return tool_call_syntax::hermes;
    case tern::engine::tool_call_format::llama3_json: return tool_call_syntax::llama3_json;
    case tern::engine::tool_call_format::deepseek_r1: return tool_call_syntax::deepseek_r1;
  }
  return tool_call_syntax::automatic;
}

parsed_output parse_model_output(std::string_view text, tool_call_syntax syntax, const std::vector<std::string>& known_tools,
                                 std::string_view id_prefix) {
  parse_options o;
  o.syntax = syntax;
  o.known_tools = known_tools;
  o.id_prefix = std::string(id_prefix);
  return parse_model_output(text, o);
}

}  // namespace tern::agent
