#include <tern/engine/maskbench.hpp>

#include "grammar/schema_compiler.hpp"
#include "grammar/token_index.hpp"

#include <tern/core/json.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <fstream>
#include <map>

namespace tern::engine::maskbench {
namespace bj = boost::json;
using clock = std::chrono::steady_clock;

std::string_view to_string(outcome o) {
  switch (o) {
    case outcome::passed: return "passed";
    case outcome::failed: return "failed";
    case outcome::refused: return "refused";
    case outcome::crashed: return "crashed";
    case outcome::timeout: return "timeout";
  }
  return "?";
}

result<std::vector<int32_t>> greedy_tokenize(const token_vocabulary& vocab, std::string_view text) {
  const auto& t = vocab.internals().trie;
  std::vector<int32_t> out;
  size_t i = 0;
  while (i < text.size()) {
    uint32_t node = 0;
    int32_t best = -1;
    size_t best_len = 0, len = 0;
    for (;;) {
      if (i + len >= text.size()) break;
      uint8_t b = uint8_t(text[i + len]);
      uint32_t found = 0;
      for (uint32_t c = node + 1; c < t.end[node]; c = t.end[c])
        if (t.byte[c] == b) {
          found = c;
          break;
        }
      if (!found) break;
      node = found;
      ++len;
      if (t.tok_begin[node] != t.tok_begin[node + 1]) {
        best = t.toks[t.tok_begin[node]];
        best_len = len;
      }
    }
    if (best < 0) return fail(errc::not_found, fmt::format("no token covers byte {} of the text", i));
    out.push_back(best);
    i += best_len;
  }
  return out;
}

std::vector<std::filesystem::path> list_files(const std::vector<std::filesystem::path>& paths) {
  std::vector<std::filesystem::path> out;
  for (const auto& p : paths) {
    std::error_code ec;
    if (std::filesystem::is_directory(p, ec)) {
      for (const auto& e : std::filesystem::directory_iterator(p, ec))
        if (e.is_regular_file() && e.path().filename() != "README.md" && e.path().extension() != ".md")
          out.push_back(e.path());
    } else {
      out.push_back(p);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

namespace {

std::string keyword_of(const tern::error& e) {
  // Errors name the keyword in quotes: "'uniqueItems' is not supported".
  const std::string& m = e.message();
  if (m.starts_with("pattern /")) return "pattern";
  auto a = m.find('\'');
  if (a != std::string::npos) {
    auto b = m.find('\'', a + 1);
    if (b != std::string::npos) return m.substr(a + 1, b - a - 1);
  }
  return std::string(tern::to_string(e.code()));
}

}  // namespace

result<schema_result> run_file(const std::filesystem::path& file, const std::shared_ptr<const token_vocabulary>& vocab,
                               clock::time_point deadline) {
  schema_result r;
  r.file = file.filename().string();
  std::ifstream f(file, std::ios::binary);
  if (!f) return fail(errc::io_error, "cannot open").at(file.string());
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto doc = json::parse(text);
  if (!doc) return std::move(doc).error().at(file.string());
  if (!doc->is_object() || !doc->get_object().if_contains("schema"))
    return fail(errc::parse_error, "not a MaskBench file (no \"schema\")").at(file.string());
  const auto& obj = doc->get_object();

  auto t0 = clock::now();
  std::string schema_text = json::serialize(obj.at("schema"));
  auto g = compile_json_schema(schema_text);
  if (!g) {
    r.result = outcome::refused;
    r.detail = g.error().describe();
    r.refused_keyword = keyword_of(g.error());
    return r;
  }
  auto c = make_constraint(*g, vocab);
  const bj::array* tests = nullptr;
  if (auto* t = obj.if_contains("tests"); t && t->is_array()) tests = &t->get_array();
  r.result = outcome::passed;
  std::vector<uint32_t> mask;
  bool first = true;
  if (!tests || tests->empty()) {
    auto m = grammar_matcher::create(c);
    if (!m) return std::move(m).error().at(file.string());
    mask.resize(m->mask_words());
    m->fill_mask(mask);
    r.first_mask_ns = uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - t0).count());
    return r;
  }
  for (size_t ti = 0; ti < tests->size(); ++ti) {
    const auto& t = (*tests)[ti];
    if (!t.is_object() || !t.get_object().if_contains("data")) continue;
    bool valid = t.get_object().if_contains("valid") && t.get_object().at("valid").is_bool() &&
                 t.get_object().at("valid").get_bool();
    std::string instance;
    grammar_detail::write_canonical(t.get_object().at("data"), instance);
    TERN_TRY(auto tokens, greedy_tokenize(*vocab, instance));
    auto m = grammar_matcher::create(c);
    if (!m) return std::move(m).error().at(file.string());
    mask.resize(m->mask_words());
    ++r.n_tests;
    bool accepted = true;
    std::string why;
    for (size_t k = 0; k <= tokens.size(); ++k) {
      if (clock::now() > deadline) {
        r.result = outcome::timeout;
        r.detail = fmt::format("test {}: deadline passed", ti);
        return r;
      }
      auto s = clock::now();
      m->fill_mask(mask);
      auto ns = uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - s).count());
      r.mask_ns.push_back(uint32_t(std::min<uint64_t>(ns, UINT32_MAX)));
      if (first) {
        r.first_mask_ns = uint64_t(std::chrono::duration_cast<std::chrono::nanoseconds>(clock::now() - t0).count());
        first = false;
      }
      if (k == tokens.size()) {
        if (!m->is_complete()) {
          accepted = false;
          why = "incomplete at the end";
        }
        break;
      }
      int32_t tok = tokens[k];
      bool in_mask = (mask[size_t(tok) >> 5] >> (tok & 31)) & 1u;
      auto acc = m->accept_token(tok);
      if (in_mask != acc.has_value()) {
        r.result = outcome::failed;
        r.detail = fmt::format("test {}: mask and accept_token disagree on token {} at position {}", ti, tok, k);
        return r;
      }
      if (!in_mask) {
        accepted = false;
        why = fmt::format("token {} ({}) refused at byte offset {}", k, vocab->token_bytes(tok), 0);
        break;
      }
    }
    if (accepted != valid) {
      if (valid) ++r.n_valid_rejected;
      else ++r.n_invalid_accepted;
      if (r.result == outcome::passed) {
        r.result = outcome::failed;
        r.detail = fmt::format("test {} ({}): {}: {}", ti, valid ? "valid" : "invalid",
                               valid ? "rejected, " + why : "accepted", instance.substr(0, 300));
      }
    }
  }
  return r;
}

void prewarm(const std::shared_ptr<const token_vocabulary>& vocab) {
  // The string and number shapes that recur across JSON schemas (free and
  // non-empty strings, the asserted formats, short length limits, keys of
  // additional properties, numbers, integers): equal DFAs share token tables
  // per vocabulary, so building them here, before checkers are forked, is the
  // "once per model" work a long-running server does on its first schemas.
  static const char* shapes = R"({"type":"object","additionalProperties":{"anyOf":[
      {"type":"string"},{"type":"string","minLength":1},{"type":"string","minLength":2},
      {"type":"string","format":"date-time"},{"type":"string","format":"date"},{"type":"string","format":"time"},
      {"type":"string","format":"uri"},{"type":"string","format":"email"},{"type":"string","format":"uuid"},
      {"type":"string","format":"hostname"},{"type":"string","format":"ipv4"},
      {"type":"string","maxLength":255},{"type":"string","minLength":1,"maxLength":255},
      {"type":"string","maxLength":128},{"type":"string","maxLength":64},
      {"type":"number"},{"type":"integer"},{"type":"boolean"},{"type":"null"},
      {"type":"array","items":{"type":"string"}},{"type":"object","additionalProperties":{"type":"integer"}}]}})";
  auto g = compile_json_schema(shapes);
  if (!g) return;
  auto c = make_constraint(*g, vocab);
  const auto& terms = c->g().terms;
  // Small machines completely; long length-counting strings up to their
  // first characters (states are numbered breadth-first from the start).
  constexpr size_t all_states = 256, first_states = 48;
  for (size_t t = 0; t < terms.size(); ++t) {
    size_t n = terms[t].n_states();
    for (size_t q = 0; q < (n <= all_states ? n : first_states); ++q) (void)c->entry(int32_t(t), int32_t(q));
  }
}

summary summarize(const std::vector<schema_result>& results) {
  summary s;
  std::vector<uint32_t> all;
  double first_sum = 0;
  size_t first_n = 0;
  std::map<std::string, size_t> kw;
  for (const auto& r : results) {
    switch (r.result) {
      case outcome::passed: ++s.passed; break;
      case outcome::failed: ++s.failed; break;
      case outcome::refused: ++s.refused; kw[r.refused_keyword]++; break;
      case outcome::crashed: ++s.crashed; break;
      case outcome::timeout: ++s.timeout; break;
    }
    all.insert(all.end(), r.mask_ns.begin(), r.mask_ns.end());
    if (r.first_mask_ns) {
      first_sum += double(r.first_mask_ns);
      ++first_n;
    }
  }
  if (!all.empty()) {
    double sum = 0;
    for (auto x : all) sum += x;
    s.mask_us_mean = sum / double(all.size()) / 1000.0;
    std::sort(all.begin(), all.end());
    s.mask_us_p50 = all[all.size() / 2] / 1000.0;
    s.mask_us_p99 = all[std::min(all.size() - 1, all.size() * 99 / 100)] / 1000.0;
  }
  if (first_n) s.first_mask_ms_mean = first_sum / double(first_n) / 1e6;
  s.refused_by_keyword.assign(kw.begin(), kw.end());
  std::sort(s.refused_by_keyword.begin(), s.refused_by_keyword.end(),
            [](const auto& a, const auto& b) { return a.second > b.second || (a.second == b.second && a.first < b.first); });
  return s;
}

std::string summary_line(const summary& s) {
  return fmt::format(
      "maskbench: passed {}/{} failed {} refused {} crashed {} timeout {} mask_us mean {:.1f} p50 {:.1f} p99 {:.1f} "
      "first_mask_ms {:.2f}",
      s.passed, s.total(), s.failed, s.refused, s.crashed, s.timeout, s.mask_us_mean, s.mask_us_p50, s.mask_us_p99,
      s.first_mask_ms_mean);
}

}  // namespace tern::engine::maskbench
