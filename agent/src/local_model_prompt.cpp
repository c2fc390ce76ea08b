// local_model: the prompt a request becomes, and how generated text is split
// into reasoning and answer while it streams.
#include "local_model_impl.hpp"

#include <boost/json.hpp>

#include <algorithm>

namespace tern::agent::detail {

namespace bj = boost::json;

namespace {

constexpr std::string_view k_think_open = "<think>";
constexpr std::string_view k_think_close = "</think>";
constexpr std::string_view k_call_markers[] = {"<tool_call>", "<|python_tag|>"};

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// Bytes at the end of text that could begin `tag` (held back until known).
std::size_t partial_tag(std::string_view text, std::string_view tag) {
  for (std::size_t n = std::min(tag.size() - 1, text.size()); n > 0; --n)
    if (text.substr(text.size() - n) == tag.substr(0, n)) return n;
  return 0;
}

void add(std::vector<stream_splitter::piece>& out, stream_splitter::kind k, std::string_view text) {
  if (text.empty()) return;
  if (!out.empty() && out.back().k == k)
    out.back().text.append(text);
  else
    out.push_back({k, std::string(text)});
}

}  // namespace

bj::object template_variables(const prompt_format& f, const std::vector<message>& messages,
                              const std::vector<tools::tool_spec>& tools, bool keep_reasoning) {
  bj::array msgs;
  msgs.reserve(messages.size());
  for (const auto& m : messages) {
    bj::object o = m.to_json(false);
    if (!keep_reasoning) o.erase("reasoning_content");
    msgs.push_back(std::move(o));
  }
  bj::object vars;
  vars["messages"] = std::move(msgs);
  if (!tools.empty()) {
    bj::array ts;
    ts.reserve(tools.size());
    for (const auto& t : tools) ts.push_back(t.to_openai_json());
    vars["tools"] = std::move(ts);
  } else {
    vars["tools"] = nullptr;  // what transformers passes for "no tools"
  }
  vars["add_generation_prompt"] = true;
  vars["bos_token"] = f.special.bos_token ? bj::value(*f.special.bos_token) : bj::value(nullptr);
  vars["eos_token"] = f.special.eos_token ? bj::value(*f.special.eos_token) : bj::value(nullptr);
  return vars;
}

bool prompt_opens_thought(std::string_view prompt) {
  while (!prompt.empty() && is_space(prompt.back())) prompt.remove_suffix(1);
  return prompt.ends_with(k_think_open);
}

bool prompt_closes_thought(std::string_view prompt) {
  const auto tail = prompt.substr(prompt.size() > 64 ? prompt.size() - 64 : 0);
  return tail.find(k_think_close) != std::string_view::npos;
}

std::string constraint_key(const model_request& r) {
  std::string key;
  switch (r.choice.kind) {
    case tool_choice::mode::automatic: key = "auto"; break;
    case tool_choice::mode::required: key = "required"; break;
    case tool_choice::mode::none: key = "none"; break;
    case tool_choice::mode::named: key = "named:" + r.choice.name; break;
  }
  for (const auto& t : r.tools) {
    key += '\x1f';
    key += t.name;
    key += '\x1e';
    key += bj::serialize(t.parameters);
  }
  if (r.response_schema) {
    key += "\x1dschema:";
    key += bj::serialize(*r.response_schema);
  }
  return key;
}

std::vector<stream_splitter::piece> stream_splitter::feed(std::string_view text) {
  buf_.append(text);
  std::vector<piece> out;
  advance(out, false);
  return out;
}

// A small state machine over buf_[pos_..]: each pass either consumes bytes or
// waits for more (returns) because what is left could still be a tag.
void stream_splitter::advance(std::vector<piece>& out, bool final) {
  if (!started_) {
    started_ = true;
    st_ = in_thought_ ? state::thought : state::answer_start;
  }
  for (;;) {
    std::string_view rest = std::string_view(buf_).substr(pos_);
    switch (st_) {
      case state::thought: {
        const auto close = rest.find(k_think_close);
        if (close != std::string_view::npos) {
          add(out, kind::reasoning, rest.substr(0, close));
          pos_ += close + k_think_close.size();
          st_ = state::answer_start;
          continue;
        }
        const std::size_t hold = final ? 0 : partial_tag(rest, k_think_close);
        add(out, kind::reasoning, rest.substr(0, rest.size() - hold));
        pos_ += rest.size() - hold;
        return;
      }
      case state::answer_start: {
        std::size_t i = 0;
        while (i < rest.size() && is_space(rest[i])) ++i;
        pos_ += i;  // leading blanks of an answer are not shown
        rest.remove_prefix(i);
        if (rest.empty()) return;
        if (rest.starts_with(k_think_open)) {
          pos_ += k_think_open.size();
          st_ = state::thought;
          continue;
        }
        bool marker = false, maybe = false;
        for (auto m : k_call_markers) {
          if (rest.starts_with(m)) marker = true;
          else if (m.starts_with(rest)) maybe = true;
        }
        if (k_think_open.starts_with(rest)) maybe = true;
        if (marker) {
          st_ = state::calls;
          continue;
        }
        if (maybe && !final) return;
        st_ = (tools_offered_ && (rest.front() == '{' || rest.front() == '[')) ? state::withheld : state::answer;
        continue;
      }
      case state::answer: {
        std::size_t cut = std::string_view::npos;
        for (auto m : k_call_markers) cut = std::min(cut, rest.find(m));
        if (cut != std::string_view::npos) {
          add(out, kind::answer, rest.substr(0, cut));
          if (cut > 0) answered_ = true;
          pos_ += cut;
          st_ = state::calls;
          continue;
        }
        std::size_t hold = 0;
        if (!final)
          for (auto m : k_call_markers) hold = std::max(hold, partial_tag(rest, m));
        add(out, kind::answer, rest.substr(0, rest.size() - hold));
        if (rest.size() > hold) answered_ = true;
        pos_ += rest.size() - hold;
        return;
      }
      case state::calls:
      case state::withheld:
        pos_ = buf_.size();
        return;
    }
  }
}

std::vector<stream_splitter::piece> stream_splitter::finish(const std::string& parsed_content, bool has_calls) {
  std::vector<piece> out;
  advance(out, true);
  // An answer held back because it might have been a JSON call.
  if (st_ == state::withheld && !has_calls && !answered_) add(out, kind::answer, parsed_content);
  return out;
}

}  // namespace tern::agent::detail
