#include <tern/core/json.hpp>

#include <boost/json/serialize.hpp>
#include <boost/json/stream_parser.hpp>

#include <charconv>
#include <cmath>
#include <iterator>
#include <optional>
#include <fmt/format.h>
#include <simdjson.h>

namespace tern::json {
namespace {

namespace od = simdjson::ondemand;

// Converts simdjson values into Boost.JSON ones, recording where it failed.
class converter {
 public:
  converter(std::size_t max_depth, const char* base) : max_depth_(max_depth), base_(base) {}

  // Offset of the failure in the input, when simdjson could tell us.
  std::size_t failure_offset = 0;
  bool failure_offset_known = false;
  std::string failure_message;

  template <class V>
  bool convert(V& in, boost::json::value& out, std::size_t depth) {
    if (depth > max_depth_) return fail_here(in, fmt::format("nesting deeper than {} levels", max_depth_));
    od::json_type type;
    if (auto err = in.type().get(type)) return fail_here(in, simdjson::error_message(err));
    switch (type) {
      case od::json_type::object: {
        od::object obj;
        if (auto err = in.get_object().get(obj)) return fail_here(in, simdjson::error_message(err));
        auto& o = out.emplace_object();
        for (auto field : obj) {
          std::string_view key;
          if (auto err = field.unescaped_key().get(key)) return fail_here(in, simdjson::error_message(err));
          std::string owned_key(key);  // the view dies at the next parse step
          od::value v;
          if (auto err = field.value().get(v)) return fail_here(in, simdjson::error_message(err));
          boost::json::value child;
          if (!convert(v, child, depth + 1)) return false;
          o[owned_key] = std::move(child);
        }
        return true;
      }
      case od::json_type::array: {
        od::array arr;
        if (auto err = in.get_array().get(arr)) return fail_here(in, simdjson::error_message(err));
        auto& a = out.emplace_array();
        for (auto element : arr) {
          od::value v;
          if (auto err = element.get(v)) return fail_here(in, simdjson::error_message(err));
          boost::json::value child;
          if (!convert(v, child, depth + 1)) return false;
          a.push_back(std::move(child));
        }
        return true;
      }
      case od::json_type::string: {
        std::string_view s;
        if (auto err = in.get_string().get(s)) return fail_here(in, simdjson::error_message(err));
        out = boost::json::string(s);
        return true;
      }
      case od::json_type::number: {
        // simdjson 3.0.1 misreads a decimal with more than 19 significant digits
        // ("54.70671370043032188"): get_number() gives 0, and at the top level
        // get_double() too. simdjson still checks the syntax; std::from_chars
        // (correctly rounded) gives the value.
        const simdjson::simdjson_result<std::string_view> raw(in.raw_json_token());  // a view or a result, by V
        if (!raw.error() && raw.value_unsafe().find_first_of(".eE") != std::string_view::npos) {
          std::string_view token = raw.value_unsafe();
          double d;
          if (auto err = in.get_double().get(d)) return fail_here(in, simdjson::error_message(err));
          const auto end = token.find_first_of(" \t\r\n,]}");
          if (end != std::string_view::npos) token = token.substr(0, end);
          double exact;
          const auto [ptr, ec] = std::from_chars(token.data(), token.data() + token.size(), exact);
          out = ec == std::errc() && ptr == token.data() + token.size() ? exact : d;
          return true;
        }
        od::number n;
        if (auto err = in.get_number().get(n)) {
          // Integers too large for 64 bits: keep them as doubles, as most JSON libraries do.
          double d;
          if (err == simdjson::NUMBER_ERROR && !in.get_double().get(d)) {
            out = d;
            return true;
          }
          return fail_here(in, simdjson::error_message(err));
        }
        switch (n.get_number_type()) {
          case od::number_type::signed_integer: out = n.get_int64(); break;
          case od::number_type::unsigned_integer: out = n.get_uint64(); break;
          default: out = n.get_double(); break;
        }
        return true;
      }
      case od::json_type::boolean: {
        bool b;
        if (auto err = in.get_bool().get(b)) return fail_here(in, simdjson::error_message(err));
        out = b;
        return true;
      }
      case od::json_type::null: {
        bool is_null = false;
        if (auto err = in.is_null().get(is_null); err || !is_null)
          return fail_here(in, err ? simdjson::error_message(err) : "invalid literal");
        out = nullptr;
        return true;
      }
    }
    return fail_here(in, "unknown JSON value type");
  }

 private:
  template <class V>
  bool fail_here(V& in, std::string message) {
    failure_message = std::move(message);
    const char* where = nullptr;
    if constexpr (requires { in.current_location(); }) {
      if (!in.current_location().get(where)) {
        failure_offset = static_cast<std::size_t>(where - base_);
        failure_offset_known = true;
      }
    } else {
      // For values, raw_json_token points at the start of the offending token.
      std::string_view raw;
      if (!in.raw_json_token().get(raw)) {
        failure_offset = static_cast<std::size_t>(raw.data() - base_);
        failure_offset_known = true;
      }
    }
    return false;
  }

  std::size_t max_depth_;
  const char* base_;
};

// simdjson reports some errors (stage 1: structure, UTF-8) without a position.
// On that error path only, Boost.JSON's incremental parser tells how many
// bytes form a valid prefix: the offset of the first bad byte.
std::optional<std::size_t> locate_error(std::string_view text) {
  boost::json::stream_parser probe;
  boost::system::error_code ec;
  const std::size_t consumed = probe.write_some(text.data(), text.size(), ec);
  if (ec) return consumed;
  if (consumed < text.size()) return consumed;  // a complete value, then more content
  probe.finish(ec);
  if (ec) return text.size();
  return std::nullopt;
}

}  // namespace

std::string describe_offset(std::string_view text, std::size_t offset) {
  if (offset > text.size()) offset = text.size();
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < offset; ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return fmt::format("byte {} (line {}, column {})", offset, line, column);
}

result<boost::json::value> parse(std::string_view text, const parse_limits& limits) {
  if (text.size() > limits.max_bytes)
    return fail(errc::limit_exceeded,
                fmt::format("JSON text of {} bytes exceeds the limit of {} bytes", text.size(), limits.max_bytes));

  thread_local od::parser parser;
  simdjson::padded_string padded(text);
  od::document doc;
  if (auto err = parser.iterate(padded).get(doc))
    return fail(errc::parse_error, simdjson::error_message(err))
        .at(describe_offset(text, locate_error(text).value_or(0)));

  converter conv(limits.max_depth, padded.data());
  boost::json::value out;
  bool ok = conv.convert(doc, out, 0);
  // After the whole value is consumed the iterator must be at the end of the
  // input; a location means trailing content ("{} extra").
  const char* where = nullptr;
  if (ok && !doc.current_location().get(where)) {
    const auto offset = static_cast<std::size_t>(where - padded.data());
    return fail(errc::parse_error, "unexpected content after the JSON value").at(describe_offset(text, offset));
  }
  if (!ok) {
    // Boost.JSON's offset is exact; simdjson's (the token where it stopped) is the fallback
    // for failures Boost.JSON does not share (the depth limit, say).
    std::size_t offset = locate_error(text).value_or(conv.failure_offset_known ? conv.failure_offset : 0);
    return fail(errc::parse_error, conv.failure_message).at(describe_offset(text, offset));
  }
  return out;
}

namespace {

// Boost.JSON 1.81 writes doubles in exponent form ("8E0", "8.1E0"): valid,
// but odd to read and longer in every prompt a model reads. So the tree walk
// is ours, with Boost.JSON escaping strings and fmt giving each double its
// shortest round-trip form ("8.0", "8.1", "1e+300").
void write(const boost::json::value& v, std::string& out) {
  switch (v.kind()) {
    case boost::json::kind::null: out += "null"; return;
    case boost::json::kind::bool_: out += v.get_bool() ? "true" : "false"; return;
    case boost::json::kind::int64: fmt::format_to(std::back_inserter(out), "{}", v.get_int64()); return;
    case boost::json::kind::uint64: fmt::format_to(std::back_inserter(out), "{}", v.get_uint64()); return;
    case boost::json::kind::double_: {
      const double d = v.get_double();
      if (!std::isfinite(d)) {  // JSON has no NaN or infinity; write null, as JavaScript does
        out += "null";
        return;
      }
      const auto start = out.size();
      fmt::format_to(std::back_inserter(out), "{}", d);
      // Keep it a double when read back: "8" -> "8.0".
      if (out.find_first_of(".e", start) == std::string::npos) out += ".0";
      return;
    }
    case boost::json::kind::string: out += boost::json::serialize(v.get_string()); return;
    case boost::json::kind::array: {
      out += '[';
      bool first = true;
      for (const auto& e : v.get_array()) {
        if (!first) out += ',';
        first = false;
        write(e, out);
      }
      out += ']';
      return;
    }
    case boost::json::kind::object: {
      out += '{';
      bool first = true;
      for (const auto& kv : v.get_object()) {
        if (!first) out += ',';
        first = false;
        out += boost::json::serialize(boost::json::string_view(kv.key()));
        out += ':';
        write(kv.value(), out);
      }
      out += '}';
      return;
    }
  }
}

}  // namespace

std::string serialize(const boost::json::value& value) {
  std::string out;
  write(value, out);
  return out;
}

std::string append_pointer(std::string_view pointer, std::string_view token) {
  std::string out(pointer);
  out += '/';
  for (char c : token) {
    if (c == '~')
      out += "~0";
    else if (c == '/')
      out += "~1";
    else
      out += c;
  }
  return out;
}

std::string append_pointer(std::string_view pointer, std::size_t index) {
  return fmt::format("{}/{}", pointer, index);
}

}  // namespace tern::json
