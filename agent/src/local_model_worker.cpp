// local_model's engine side: one worker thread serving the FIFO queue, the
// LRU cache of sessions (KV caches) chosen by longest shared prefix, and one
// generation per request. Nothing here runs on an Asio executor: results and
// stream pieces go back through job::push.
#include "local_model_impl.hpp"

#include <tern/core/log.hpp>

#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>
#include <exception>

namespace tern::agent {

using detail::job;

result<std::shared_ptr<local_model::impl>> local_model::impl::create(std::shared_ptr<const engine::model> m,
                                                                     local_model_options o) {
  if (!m) return fail(errc::invalid_argument, "local_model needs a loaded model");
  if (o.max_sessions < 1) return fail(errc::invalid_argument, "max_sessions must be at least 1");
  if (o.context_length < 0) return fail(errc::invalid_argument, "context_length must not be negative");
  if (o.default_max_tokens < 1) return fail(errc::invalid_argument, "default_max_tokens must be at least 1");
  if (o.max_thinking_tokens && *o.max_thinking_tokens < 0)
    return fail(errc::invalid_argument, "max_thinking_tokens must not be negative");
  if (o.max_parallel_calls < 1) return fail(errc::invalid_argument, "max_parallel_calls must be at least 1");
  if (!m->vocab()) return fail(errc::invalid_argument, "the model file has no tokenizer (tokenizer.ggml.* keys)");

  auto p = std::make_shared<impl>();
  p->model = std::move(m);
  p->tok = p->model->vocab();
  const auto train_ctx = p->model->params().n_ctx_train;
  p->n_ctx = o.context_length > 0 ? o.context_length : std::min<std::int64_t>(train_ctx > 0 ? train_ctx : 8192, 8192);

  TERN_TRY(p->format.special, engine::read_special_tokens(p->model->file()));
  std::string source = o.chat_template, tmpl_name = "options.chat_template";
  if (source.empty()) {
    auto t = engine::read_chat_template(p->model->file());
    if (!t)
      return std::move(t.error()).at("the model has no chat template; pass local_model_options::chat_template");
    source = std::move(t->source);
    tmpl_name = std::move(t->name);
  }
  TERN_TRY(auto tmpl, engine::chat_template::parse(source, tmpl_name));
  p->format.tmpl = std::move(tmpl);
  p->format.calls = engine::detect_tool_call_format(p->model->params().arch, source);
  p->format.syntax = syntax_of(p->format.calls);
  p->format.reasoning_model = source.find("<think>") != std::string::npos;

  std::string file = o.path.filename().string();
  if (file.empty()) file = p->model->params().arch;
  p->name = o.name.empty() ? "local:" + file : o.name;
  p->opts = std::move(o);
  return p;
}

local_model::impl::~impl() { shutdown(); }

void local_model::impl::start() {
  worker = std::thread([this] { run(); });
}

void local_model::impl::shutdown() {
  std::deque<std::shared_ptr<job>> dropped;
  {
    std::lock_guard lock(mu);
    if (stopping && !worker.joinable()) return;
    stopping = true;
    dropped.swap(queue);
    if (running) running->cancel_requested = true;
    for (auto& j : dropped) j->where = job::phase::done;
    counters.n_cancelled += static_cast<std::int64_t>(dropped.size());
  }
  cv.notify_all();
  for (auto& j : dropped) j->push(j, error(errc::cancelled, "the local model was shut down before this request ran"));
  if (worker.joinable() && worker.get_id() != std::this_thread::get_id()) worker.join();
}

bool local_model::impl::enqueue(const std::shared_ptr<job>& j) {
  {
    std::lock_guard lock(mu);
    if (stopping) return false;
    j->serial = next_serial++;
    j->where = job::phase::queued;
    queue.push_back(j);
  }
  cv.notify_one();
  return true;
}

void local_model::impl::cancel(const std::shared_ptr<job>& j) {
  j->cancel_requested = true;
  bool removed = false;
  {
    std::lock_guard lock(mu);
    if (j->where == job::phase::queued) {
      if (auto it = std::find(queue.begin(), queue.end(), j); it != queue.end()) {
        queue.erase(it);
        j->where = job::phase::done;
        ++counters.n_cancelled;
        removed = true;
      }
    }
  }
  if (removed) j->push(j, error(errc::cancelled, "cancelled while waiting in the local model's queue"));
}

void local_model::impl::run() {
  for (;;) {
    std::shared_ptr<job> j;
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return stopping || !queue.empty(); });
      if (stopping) return;
      j = std::move(queue.front());
      queue.pop_front();
      j->where = job::phase::running;
      running = j;
    }
    serve(j);
    std::lock_guard lock(mu);
    running.reset();
    j->where = job::phase::done;
  }
}

void local_model::impl::serve(const std::shared_ptr<job>& j) {
  result<model_response> r = error(errc::internal, "generation did not run");
  try {
    r = generate(*j);
  } catch (const std::exception& e) {  // bad_alloc and the like: reported, never thrown across the worker
    r = error(errc::internal, fmt::format("the engine failed: {}", e.what()));
  }
  {
    std::lock_guard lock(mu);
    ++counters.n_requests;
    if (!r && r.error().code() == errc::cancelled) ++counters.n_cancelled;
  }
  j->push(j, std::move(r));
}

result<std::string> local_model::impl::render(const std::vector<message>& messages,
                                              const std::vector<tools::tool_spec>& tools) const {
  const auto vars = detail::template_variables(format, messages, tools, opts.feed_back_reasoning);
  return format.tmpl->render(vars);
}

std::vector<std::int32_t> local_model::impl::tokenize(std::string_view prompt) const {
  // Templates that write the BOS text themselves (Llama 3) must not get a
  // second one from the tokenizer.
  const bool has_bos_text = format.special.bos_token && !format.special.bos_token->empty() &&
                            prompt.starts_with(*format.special.bos_token);
  return tok->encode(prompt, !has_bos_text, true);
}

// The session for a prompt. A session whose last prompt the new one extends
// (the same conversation, one step on) is taken as is: only what the step
// adds is evaluated. Otherwise a new session is allocated while fewer than
// max_sessions exist, so another conversation's cache is not cut back for a
// shorter shared prefix (such as a common system prompt). With all sessions in
// use, the longest shared prefix wins, ties going to the least recently used.
// (A few tokens of slack: BPE may merge the end of the last prompt with the
// start of the reply differently once the reply is rendered by the template.)
constexpr std::size_t k_retokenize_slack = 8;

engine::session& local_model::impl::pick_session(std::span<const std::int32_t> prompt) {
  auto shared = [&](const detail::cached_session& c) {
    const auto& t = c.s->tokens();
    const std::size_t n = std::min(t.size(), prompt.size());
    std::size_t k = 0;
    while (k < n && t[k] == prompt[k]) ++k;
    return k;
  };
  std::size_t best = sessions.size(), best_len = 0;
  std::size_t cont = sessions.size(), cont_len = 0;
  for (std::size_t i = 0; i < sessions.size(); ++i) {
    const std::size_t k = shared(sessions[i]);
    if (k > 0 && k + k_retokenize_slack >= sessions[i].n_prompt && (cont == sessions.size() || k > cont_len)) {
      cont = i;
      cont_len = k;
    }
    if (best == sessions.size() || k > best_len || (k == best_len && sessions[i].last_used < sessions[best].last_used)) {
      best = i;
      best_len = k;
    }
  }
  if (cont < sessions.size()) {
    best = cont;
  } else if (sessions.size() < opts.max_sessions) {
    sessions.push_back({std::make_unique<engine::session>(model, n_ctx), 0, 0});
    best = sessions.size() - 1;
    std::lock_guard lock(mu);
    counters.n_sessions = sessions.size();
  }
  sessions[best].last_used = ++clock;
  sessions[best].n_prompt = prompt.size();
  return *sessions[best].s;
}

result<std::shared_ptr<const engine::constraint>> local_model::impl::constraint_for(const model_request& r) {
  const bool schema = r.response_schema && (r.tools.empty() || r.choice.kind == tool_choice::mode::none);
  const bool calls = !schema && !r.tools.empty() && opts.constrain_tool_calls;
  if (!schema && !calls) return std::shared_ptr<const engine::constraint>();
  auto key = detail::constraint_key(r);
  if (auto it = constraints.find(key); it != constraints.end()) return it->second;

  if (!vocabulary) {
    TERN_TRY(vocabulary, engine::make_token_vocabulary(*tok));
  }
  std::shared_ptr<const engine::grammar> g;
  if (schema) {
    auto compiled = engine::compile_json_schema(boost::json::serialize(*r.response_schema));
    if (!compiled) return std::move(compiled.error()).at("response_schema");
    g = std::move(*compiled);
  } else {
    std::vector<engine::tool_definition> defs;
    defs.reserve(r.tools.size());
    for (const auto& t : r.tools) defs.push_back({t.name, boost::json::serialize(t.parameters)});
    engine::tool_grammar_options go;
    switch (r.choice.kind) {
      case tool_choice::mode::automatic: go.mode = engine::tool_mode::automatic; break;
      case tool_choice::mode::required: go.mode = engine::tool_mode::required; break;
      case tool_choice::mode::none: go.mode = engine::tool_mode::none; break;
      case tool_choice::mode::named:
        go.mode = engine::tool_mode::named;
        go.named_tool = r.choice.name;
        break;
    }
    go.max_calls = opts.max_parallel_calls;
    TERN_TRY(g, engine::compile_tool_call_grammar(format.calls, defs, go));
  }
  auto c = engine::make_constraint(std::move(g), vocabulary);
  // Each constraint keeps its own mask caches; a bound keeps a long-running
  // server with ever-changing tool lists from growing without limit.
  if (constraints.size() >= 64) constraints.clear();
  constraints.emplace(std::move(key), c);
  return c;
}

result<model_response> local_model::impl::generate(job& j) {
  const model_request& req = j.request;
  if (j.cancel_requested) return fail(errc::cancelled, "cancelled before generation started");

  TERN_TRY(auto prompt_text, render(req.messages, req.tools));
  const auto prompt = tokenize(prompt_text);
  if (prompt.empty()) return fail(errc::invalid_argument, "the rendered prompt is empty");
  const auto n_prompt = static_cast<std::int64_t>(prompt.size());
  if (n_prompt + 1 > n_ctx)
    return fail(errc::limit_exceeded, fmt::format("context overflow: the prompt takes {} tokens and the context "
                                                  "holds {} (prompt plus at least one generated token)",
                                                  n_prompt, n_ctx));

  const generation_settings& gs = req.settings;
  engine::generate_options go;
  std::int64_t max_tokens = gs.max_tokens.value_or(opts.default_max_tokens);
  max_tokens = std::min<std::int64_t>(max_tokens, n_ctx - n_prompt);
  go.max_tokens = static_cast<int>(std::min<std::int64_t>(max_tokens, 1 << 30));
  go.sampling.temperature = static_cast<float>(gs.temperature.value_or(0.0));
  go.sampling.top_p = static_cast<float>(gs.top_p.value_or(1.0));
  go.sampling.seed = gs.seed.value_or(j.serial);
  go.stop = gs.stop;

  TERN_TRY(go.constraint, constraint_for(req));

  // A reasoning model thinks first. With a grammar (or a thought budget) the
  // engine runs the thought and then constrains the answer; the thought then
  // reaches on_reasoning in one piece at the end. Otherwise the splitter
  // streams thought and answer as they come.
  const bool in_thought = detail::prompt_opens_thought(prompt_text);
  const bool thought_closed = !in_thought && detail::prompt_closes_thought(prompt_text);
  const bool engine_thinks = (go.constraint || opts.max_thinking_tokens) &&
                             (in_thought || (format.reasoning_model && !thought_closed));
  if (engine_thinks) {
    go.reasoning.enabled = true;
    go.reasoning.opened_by_prompt = in_thought;
    go.reasoning.max_thinking_tokens = opts.max_thinking_tokens.value_or(-1);
  }
  const bool offers_calls = !req.tools.empty() && req.choice.kind != tool_choice::mode::none;
  detail::stream_splitter splitter(in_thought && !engine_thinks, offers_calls);
  const bool streaming = req.stream.on_token || req.stream.on_reasoning;
  auto self = j.shared_from_this();
  auto deliver = [&](std::vector<detail::stream_splitter::piece> pieces) {
    if (!streaming) return;
    for (auto& p : pieces) self->push(self, std::move(p));
  };

  engine::session& s = pick_session(prompt);
  TERN_TRY(auto gen, engine::generate(s, *tok, prompt, go, [&](std::string_view piece) {
             if (j.cancel_requested) return false;
             deliver(splitter.feed(piece));
             return true;
           }));
  {
    std::lock_guard lock(mu);
    counters.n_prompt_tokens += gen.stats.n_prompt;
    counters.n_prompt_evaluated += gen.stats.n_prompt - gen.stats.n_prompt_reused;
    counters.n_generated += gen.stats.n_generated;
  }
  if (gen.reason == engine::stop_reason::cancelled) return fail(errc::cancelled, "cancelled during generation");

  // Without the engine's reasoning phase the parser splits the thought, and
  // must see its opening when the template wrote it.
  const std::string text = in_thought && !engine_thinks ? "<think>" + gen.text : gen.text;
  parse_options po;
  po.syntax = offers_calls ? format.syntax : tool_call_syntax::none;
  po.known_tools.reserve(req.tools.size());
  for (const auto& t : req.tools) po.known_tools.push_back(t.name);
  po.id_prefix = fmt::format("call_{}", j.serial);
  po.repair = !go.constraint;  // a grammar-made turn is exact; repairs would hide a bug
  auto parsed = parse_model_output(text, po);
  for (const auto& p : parsed.problems) log::debug("{}: {}", name, p);
  if (engine_thinks && !gen.reasoning.empty()) {
    if (parsed.reasoning.empty()) parsed.reasoning = gen.reasoning;
    deliver({{detail::stream_splitter::kind::reasoning, gen.reasoning}});
  }
  deliver(splitter.finish(parsed.content, !parsed.tool_calls.empty()));

  model_response resp;
  resp.reply.role = role::assistant;
  resp.reply.content = std::move(parsed.content);
  resp.reply.reasoning = std::move(parsed.reasoning);
  resp.reply.tool_calls = std::move(parsed.tool_calls);
  resp.usage.prompt_tokens = gen.stats.n_prompt;
  resp.usage.cached_prompt_tokens = gen.stats.n_prompt_reused;
  resp.usage.completion_tokens = gen.stats.n_generated;
  if (!resp.reply.tool_calls.empty())
    resp.finish_reason = "tool_calls";
  else if (gen.reason == engine::stop_reason::max_tokens || gen.reason == engine::stop_reason::context_full)
    resp.finish_reason = "length";
  else
    resp.finish_reason = "stop";
  return resp;
}

}  // namespace tern::agent
