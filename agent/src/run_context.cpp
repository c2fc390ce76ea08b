#include "run_context.hpp"

#include <tern/core/json.hpp>
#include <tern/core/log.hpp>

#include <boost/asio/as_tuple.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/deferred.hpp>
#include <boost/asio/experimental/parallel_group.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace tern::agent {

namespace bj = boost::json;

namespace {

bool is_cancelled(const asio::cancellation_state& cs) { return cs.cancelled() != asio::cancellation_type::none; }

constexpr std::string_view k_stub_prefix = R"({"dropped":true)";

bj::value cap_observation(bj::value v, std::size_t max_bytes) {
  if (max_bytes == 0) return v;
  std::string text = json::serialize(v);
  if (text.size() <= max_bytes) return v;
  std::size_t keep = max_bytes / 2;
  // Never cut a UTF-8 sequence in half.
  while (keep > 0 && (static_cast<unsigned char>(text[keep]) & 0xC0) == 0x80) --keep;
  return bj::object{{"truncated", true},
                    {"original_bytes", text.size()},
                    {"note", "the result was larger than the agent's cap; preview is its beginning as JSON text"},
                    {"preview", text.substr(0, keep)}};
}

std::string replace_all(std::string s, std::string_view from, std::string_view to) {
  for (std::size_t p = s.find(from); p != std::string::npos; p = s.find(from, p + to.size()))
    s.replace(p, from.size(), to);
  return s;
}

}  // namespace

run_context::run_context(const agent& a, agent::run_state& st, asio::any_io_executor ex)
    : a_(a), settings_(a.settings()), st_(st), ex_(std::move(ex)) {
  const auto wall = settings_.limits.max_wall_time;
  if (wall.count() > 0) {
    const double left_ms = std::max(0.0, static_cast<double>(wall.count()) - st_.prior_wall_ms);
    deadline_ = mono_clock::now() + std::chrono::microseconds(static_cast<std::int64_t>(left_ms * 1000));
  }
  if (!settings_.trace_path.empty()) {
    const std::string path = replace_all(settings_.trace_path, "{run_id}", st_.run_id);
    trace_.open(path, std::ios::app);
    if (!trace_) log::warn("agent: cannot open the trace file {}", path);
  }
}

bool run_context::wall_exceeded() const { return deadline_ && mono_clock::now() >= *deadline_; }

void run_context::emit(event_kind kind, bj::object data) {
  event ev{kind, st_.run_id, st_.step, elapsed_ms(), std::move(data)};
  if (trace_.is_open()) {
    trace_ << json::serialize(ev.to_json()) << '\n';
    trace_.flush();
  }
  if (settings_.on_event) asio::post(ex_, [cb = settings_.on_event, ev = std::move(ev)] { cb(ev); });
}

std::vector<message> run_context::request_messages() const {
  std::vector<message> out = st_.messages;
  if (!settings_.feed_back_reasoning)
    for (auto& m : out) m.reasoning.clear();
  return out;
}

std::optional<stop_reason> run_context::fit_context() {
  const std::int64_t n_ctx = a_.get_model().context_length();
  if (n_ctx <= 0) return std::nullopt;
  const std::int64_t reserve = settings_.generation.max_tokens.value_or(settings_.context_reserve_tokens);
  const double room = static_cast<double>(n_ctx - reserve);
  if (room <= 0) return stop_reason::context_overflow;
  const auto& specs = a_.specs();
  std::int64_t before = a_.get_model().count_tokens(request_messages(), specs);
  if (static_cast<double>(before) <= settings_.context_high_water * room) return std::nullopt;
  // Oldest tool results first: they are the largest and the least relevant,
  // and replacing them in place keeps everything before them a stable prefix.
  bj::array dropped;
  std::int64_t now = before;
  for (auto& m : st_.messages) {
    if (static_cast<double>(now) <= settings_.context_low_water * room) break;
    if (m.role != role::tool || m.content.starts_with(k_stub_prefix)) continue;
    const std::size_t bytes = m.content.size();
    m.content = json::serialize(bj::object{
        {"dropped", true},
        {"original_bytes", bytes},
        {"note", "this tool result was removed to keep the conversation within the model's context"}});
    dropped.emplace_back(m.tool_call_id);
    now = a_.get_model().count_tokens(request_messages(), specs);
  }
  if (!dropped.empty())
    emit(event_kind::context_trimmed,
         bj::object{{"dropped", std::move(dropped)}, {"tokens_before", before}, {"tokens_after", now},
                    {"limit", n_ctx}, {"reserve", reserve}});
  if (static_cast<double>(now) > room) return stop_reason::context_overflow;
  return std::nullopt;
}

model_request run_context::build_request() {
  model_request req;
  req.messages = request_messages();
  req.tools = a_.specs();
  req.choice = settings_.reset_tool_choice && !st_.calls.empty() ? tool_choice::automatic() : settings_.choice;
  req.settings = settings_.generation;
  if (settings_.on_event || trace_.is_open())
    req.stream.on_token = [this](std::string_view text) {
      emit(event_kind::token, bj::object{{"text", text}});
    };
  return req;
}

asio::awaitable<std::vector<tool_call_record>> run_context::run_calls(const std::vector<tool_call>& calls) {
  auto slots = std::make_shared<std::vector<tool_call_record>>(calls.size());
  for (std::size_t i = 0; i < calls.size(); ++i) {
    auto& r = (*slots)[i];
    r.step = st_.step;
    r.call = calls[i];
    r.original_arguments = calls[i].arguments;
    // Stable across a resume: the same run, step and position give the same key.
    r.idempotency_key = fmt::format("{}:{}:{}", st_.run_id, st_.step, i + 1);
    r.error = tools::tool_error{tools::tool_error_kind::cancelled, "the call did not start", false, 0, calls[i].name};
    r.observation = r.error->to_json();
  }
  using op_t = decltype(asio::co_spawn(ex_, std::declval<asio::awaitable<void>>(), asio::deferred));
  std::vector<op_t> ops;
  ops.reserve(calls.size());
  for (std::size_t i = 0; i < calls.size(); ++i) ops.push_back(asio::co_spawn(ex_, execute_call(slots, i), asio::deferred));
  auto all = [](std::vector<op_t> ops) -> asio::awaitable<bool> {
    co_await asio::experimental::make_parallel_group(std::move(ops))
        .async_wait(asio::experimental::wait_for_all(), asio::use_awaitable);
    co_return true;
  };
  co_await with_deadline(all(std::move(ops)));
  co_return std::move(*slots);
}

asio::awaitable<void> run_context::execute_call(std::shared_ptr<std::vector<tool_call_record>> slots, std::size_t i) {
  co_await asio::this_coro::throw_if_cancelled(false);
  const auto cs = co_await asio::this_coro::cancellation_state;
  tool_call_record& r = (*slots)[i];
  r.started_ms = elapsed_ms();
  stopwatch sw;
  auto fail = [&](tools::tool_error e) {
    e.tool = r.call.name;
    r.ok = false;
    r.observation = e.to_json();
    r.error = std::move(e);
  };
  auto finished = [&] {
    r.latency_ms = sw.elapsed_ms();
    bj::object d{{"call_id", r.call.id}, {"tool", r.call.name}, {"ok", r.ok}, {"latency_ms", r.latency_ms},
                 {"attempts", r.attempts}, {"approval", r.approval}};
    if (r.ok) d["result"] = r.observation;
    else d["error"] = r.observation;
    emit(event_kind::tool_call_finished, std::move(d));
  };

  const tools::tool_ptr* tool = a_.find_tool(r.call.name);
  if (!tool) {
    std::string names;
    for (const auto& t : a_.tools()) names += (names.empty() ? "" : ", ") + t->name();
    fail({tools::tool_error_kind::not_found, fmt::format("no tool named '{}' (tools: {})", r.call.name, names)});
    finished();
    co_return;
  }
  const tool_policy policy = a_.policy_for(r.call.name);

  if (policy.side_effecting && settings_.approve) {
    approval_decision d;
    // A named request, not a braced temporary: GCC 12 destroys an aggregate
    // temporary twice when it is an argument inside a co_await expression.
    approval_request areq;
    areq.run_id = st_.run_id;
    areq.step = st_.step;
    areq.call = r.call;
    try {
      d = co_await settings_.approve(areq);
    } catch (const std::exception& e) {
      d = approval_decision::reject(fmt::format("the approval callback failed: {}", e.what()));
    }
    if (is_cancelled(cs)) {
      fail({tools::tool_error_kind::cancelled, "the run was cancelled while awaiting approval"});
      finished();
      co_return;
    }
    if (d.kind == approval_decision::verdict::reject) {
      r.approval = "rejected";
      r.ok = false;
      r.error = tools::tool_error{tools::tool_error_kind::failed, "rejected by the approver: " + d.reason, false, 0,
                                  r.call.name};
      r.observation = bj::object{{"error", bj::object{{"kind", "rejected"},
                                                       {"message", d.reason},
                                                       {"retryable", false},
                                                       {"tool", r.call.name}}}};
      finished();
      co_return;
    }
    if (d.kind == approval_decision::verdict::edit) {
      r.call.arguments = std::move(d.arguments);
      r.approval = "edited";
    } else {
      r.approval = "approved";
    }
  }

  emit(event_kind::tool_call_started, bj::object{{"call_id", r.call.id},
                                                 {"tool", r.call.name},
                                                 {"arguments", r.call.arguments},
                                                 {"idempotency_key", r.idempotency_key}});
  using namespace boost::asio::experimental::awaitable_operators;
  const int max_attempts = std::max(1, policy.max_attempts);
  tools::tool_outcome out;
  for (int attempt = 1; attempt <= max_attempts; ++attempt) {
    r.attempts = attempt;
    tools::invoke_context ctx(policy.timeout, r.call.id);
    ctx.idempotency_key = r.idempotency_key;
    try {
      if (policy.timeout.count() > 0) {
        asio::steady_timer timer(ex_, policy.timeout);
        auto v = co_await ((*tool)->invoke(bj::value(r.call.arguments), ctx) || timer.async_wait(asio::use_awaitable));
        if (v.index() == 0)
          out = std::move(std::get<0>(v));
        else
          out = tools::tool_error{tools::tool_error_kind::timeout,
                                  fmt::format("no answer within {} ms", policy.timeout.count()), true, 0, r.call.name};
      } else {
        out = co_await (*tool)->invoke(bj::value(r.call.arguments), ctx);
      }
    } catch (const std::exception& e) {
      out = tools::tool_error{tools::tool_error_kind::cancelled, e.what(), false, 0, r.call.name};
    }
    if (is_cancelled(cs)) {
      out = tools::tool_error{tools::tool_error_kind::cancelled, "the run was cancelled during the call", false, 0,
                              r.call.name};
      break;
    }
    if (out.ok() || !out.error().retryable || attempt == max_attempts) break;
    // Exponential backoff before the next attempt; cancellable.
    asio::steady_timer backoff(ex_, policy.retry_base_delay * (1 << std::min(attempt - 1, 10)));
    auto [ec] = co_await backoff.async_wait(asio::as_tuple(asio::use_awaitable));
    if (ec || is_cancelled(cs)) break;
  }
  if (out.ok()) {
    r.ok = true;
    r.error.reset();
    r.result = out.value();
    r.observation = cap_observation(out.value(), settings_.max_tool_result_bytes);
  } else {
    fail(out.error());
  }
  finished();
}

asio::awaitable<std::optional<stop_info>> run_context::make_plan(std::string note) {
  const auto cs = co_await asio::this_coro::cancellation_state;
  model_request req;
  std::string sys = settings_.instructions;
  if (!sys.empty()) sys += "\n\n";
  sys += "Before acting, write a plan: a JSON object {\"steps\":[{\"id\":1,\"description\":\"...\",\"tool\":\"...\"}]} "
         "where tool names the tool the step will call (omit it for the final answer).";
  req.messages.push_back(message::system(std::move(sys)));
  if (note.empty()) {
    req.messages.push_back(message::user(st_.task));
  } else {
    for (auto& m : request_messages())
      if (m.role != role::system) req.messages.push_back(std::move(m));
    req.messages.push_back(message::user(note + " Write a revised plan for what remains."));
  }
  req.tools = a_.specs();
  req.choice = tool_choice::none();
  req.response_schema = plan::schema();
  req.settings = settings_.generation;
  stopwatch sw;
  auto reply = co_await with_deadline(a_.get_model().complete(std::move(req)));
  st_.model_ms += sw.elapsed_ms();
  if (is_cancelled(cs)) co_return stop_info{stop_reason::cancelled, "cancelled while planning"};
  if (!reply && !last_exception_.empty())
    co_return stop_info{stop_reason::plan_failed, "the model threw while planning: " + last_exception_};
  if (!reply) co_return stop_info{stop_reason::max_wall_time, "wall-time budget ran out while planning"};
  if (!*reply) co_return stop_info{stop_reason::plan_failed, reply->error().at("planning").describe()};
  st_.usage += (*reply)->usage;
  const std::string& text = (*reply)->reply.content;
  auto doc = json::parse(text);
  if (!doc) co_return stop_info{stop_reason::plan_failed, doc.error().at("the plan").describe()};
  auto p = plan::from_json(*doc);
  if (!p) co_return stop_info{stop_reason::plan_failed, p.error().at("the plan").describe()};
  p->revision = st_.plan ? st_.plan->revision + 1 : 0;
  for (auto& s : p->steps) s.status = "pending";
  st_.plan = std::move(*p);
  emit(event_kind::plan, bj::object{{"plan", st_.plan->to_json()}, {"revision", st_.plan->revision}});
  std::string listing = fmt::format("Plan (revision {}):", st_.plan->revision);
  for (const auto& s : st_.plan->steps)
    listing += fmt::format("\n{}. {}{}", s.id, s.description, s.tool.empty() ? "" : " [" + s.tool + "]");
  st_.messages.push_back(message::assistant(listing));
  st_.messages.push_back(message::user("Carry out the plan, one step after another."));
  save_checkpoint();
  co_return std::nullopt;
}

bool run_context::check_plan(std::size_t first_new_call) {
  if (!st_.plan) return false;
  bool failed = false;
  for (std::size_t i = first_new_call; i < st_.calls.size(); ++i) {
    const auto& c = st_.calls[i];
    auto it = std::find_if(st_.plan->steps.begin(), st_.plan->steps.end(),
                           [&](const plan_step& s) { return s.status != "done" && s.tool == c.call.name; });
    if (it == st_.plan->steps.end()) continue;
    it->status = c.ok ? "done" : "failed";
    failed = failed || !c.ok;
  }
  return failed;
}

void run_context::mark_plan_answered() {
  if (!st_.plan) return;
  for (auto& s : st_.plan->steps)
    if (s.tool.empty() && s.status == "pending") s.status = "done";
}

void run_context::save_checkpoint() {
  if (!settings_.checkpoints) return;
  const double saved = st_.prior_wall_ms;
  st_.prior_wall_ms = elapsed_ms();
  auto text = json::serialize(state_to_json(st_));
  st_.prior_wall_ms = saved;
  if (auto r = settings_.checkpoints->save(st_.run_id, st_.step, text); !r)
    checkpoint_failure_ = r.error().describe();
}

void run_context::step_finished(std::size_t n_calls) {
  const step_record& s = st_.steps.back();
  emit(event_kind::step_finished, bj::object{{"prompt_tokens", s.usage.prompt_tokens},
                                             {"cached_prompt_tokens", s.usage.cached_prompt_tokens},
                                             {"completion_tokens", s.usage.completion_tokens},
                                             {"model_ms", s.model_ms},
                                             {"tools_ms", s.tools_ms},
                                             {"n_tool_calls", n_calls}});
  save_checkpoint();
}

run_result run_context::finish(stop_reason reason, std::string error, std::string answer) {
  run_result r;
  r.run_id = st_.run_id;
  r.reason = reason;
  r.error = std::move(error);
  r.answer = std::move(answer);
  r.steps = st_.steps;
  r.tool_calls = st_.calls;
  r.plan = st_.plan;
  r.usage = st_.usage;
  r.wall_ms = elapsed_ms();
  r.model_ms = st_.model_ms;
  r.tool_ms = st_.tool_ms;
  r.messages = st_.messages;
  emit(event_kind::run_finished,
       bj::object{{"stop_reason", to_string(reason)},
                  {"answer", r.answer},
                  {"error", r.error},
                  {"prompt_tokens", r.usage.prompt_tokens},
                  {"cached_prompt_tokens", r.usage.cached_prompt_tokens},
                  {"completion_tokens", r.usage.completion_tokens},
                  {"wall_ms", r.wall_ms},
                  {"model_ms", r.model_ms},
                  {"tool_ms", r.tool_ms},
                  {"n_steps", st_.step},
                  {"n_tool_calls", st_.calls.size()}});
  return r;
}

}  // namespace tern::agent
