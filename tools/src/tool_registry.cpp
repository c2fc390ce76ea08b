#include <tern/tools/tool_registry.hpp>

#include <boost/asio.hpp>
#include <boost/json.hpp>
#include <fmt/format.h>

#include <algorithm>

namespace tern::tools {

namespace bj = boost::json;

namespace {

constexpr auto use_tuple = asio::as_tuple(asio::use_awaitable);

tool_error make_error(tool_error_kind kind, std::string tool, std::string message, bool retryable) {
  tool_error e;
  e.kind = kind;
  e.tool = std::move(tool);
  e.message = std::move(message);
  e.retryable = retryable;
  return e;
}

// A call in flight, shared between the awaiting side and the spawned tool.
struct pending_call {
  explicit pending_call(asio::any_io_executor ex) : wake(ex, asio::steady_timer::time_point::max()) {}
  std::optional<tool_outcome> out;
  asio::steady_timer wake;
  asio::cancellation_signal cancel;
};

}  // namespace

tool_registry::tool_registry(std::chrono::milliseconds default_timeout) : default_timeout_(default_timeout) {}

result<void> tool_registry::add(tool_ptr t) {
  if (!t) return fail(errc::invalid_argument, "null tool");
  if (find(t->name())) return fail(errc::invalid_argument, fmt::format("a tool named '{}' is already registered", t->name()));
  tools_.push_back(std::move(t));
  return ok();
}

void tool_registry::add_or_replace(tool_ptr t) {
  if (!t) return;
  for (auto& existing : tools_)
    if (existing->name() == t->name()) {
      existing = std::move(t);
      return;
    }
  tools_.push_back(std::move(t));
}

bool tool_registry::remove(std::string_view name) {
  auto it = std::find_if(tools_.begin(), tools_.end(), [&](const tool_ptr& t) { return t->name() == name; });
  if (it == tools_.end()) return false;
  tools_.erase(it);
  return true;
}

tool_ptr tool_registry::find(std::string_view name) const {
  for (const auto& t : tools_)
    if (t->name() == name) return t;
  return nullptr;
}

bj::array tool_registry::specs_json() const {
  bj::array out;
  for (const auto& t : tools_) out.push_back(t->spec().to_json());
  return out;
}

bj::array tool_registry::openai_tools_json() const {
  bj::array out;
  for (const auto& t : tools_) out.push_back(t->spec().to_openai_json());
  return out;
}

asio::awaitable<tool_outcome> tool_registry::invoke(std::string_view name, bj::value args, invoke_context ctx) const {
  tool_ptr t = find(name);
  if (!t) {
    std::string known;
    for (const auto& x : tools_) known += (known.empty() ? "" : ", ") + x->name();
    co_return make_error(tool_error_kind::not_found, std::string(name),
                         fmt::format("no tool named '{}' (available: {})", name, known.empty() ? "none" : known), false);
  }
  auto timeout = ctx.timeout.count() > 0 ? ctx.timeout : default_timeout_;
  if (timeout.count() > 0 && ctx.timeout.count() == 0) ctx.timeout = timeout;

  // The tool runs as its own coroutine so that the deadline holds even for a
  // tool that ignores cancellation: on timeout it is asked to stop and then
  // abandoned (it keeps itself alive through the shared state and tool_ptr).
  auto ex = co_await asio::this_coro::executor;
  auto call = std::make_shared<pending_call>(ex);
  asio::co_spawn(ex,
                 [t, args = std::move(args), ctx]() mutable -> asio::awaitable<std::optional<tool_outcome>> {
                   co_return co_await t->invoke(std::move(args), std::move(ctx));
                 },
                 asio::bind_cancellation_slot(call->cancel.slot(), [call](std::exception_ptr e, std::optional<tool_outcome> out) {
                   if (e || !out) {
                     tool_error err;
                     err.kind = tool_error_kind::cancelled;
                     err.message = "the call was cancelled";
                     call->out.emplace(std::move(err));
                   } else {
                     call->out = std::move(out);
                   }
                   call->wake.cancel();
                 }));
  if (!call->out) {
    if (timeout.count() > 0) call->wake.expires_after(timeout);
    co_await call->wake.async_wait(use_tuple);
    if (!call->out) {
      call->cancel.emit(asio::cancellation_type::terminal);
      auto state = co_await asio::this_coro::cancellation_state;
      if (state.cancelled() != asio::cancellation_type::none)
        co_return make_error(tool_error_kind::cancelled, t->name(), "the call was cancelled", false);
      co_return make_error(tool_error_kind::timeout, t->name(),
                           fmt::format("no result within {} ms", timeout.count()), true);
    }
  }
  tool_outcome out = std::move(*call->out);
  if (!out.ok() && out.error().tool.empty()) out.error().tool = t->name();
  co_return out;
}

asio::awaitable<std::vector<tool_outcome>> tool_registry::invoke_all(std::vector<tool_call> calls,
                                                                     std::size_t max_concurrency,
                                                                     std::chrono::milliseconds per_call_timeout) const {
  struct shared_state {
    explicit shared_state(asio::any_io_executor ex) : done(ex, asio::steady_timer::time_point::max()) {}
    std::vector<tool_call> calls;
    std::vector<tool_outcome> outcomes;
    std::size_t next = 0;
    std::size_t n_workers_left = 0;
    asio::steady_timer done;
    std::vector<std::unique_ptr<asio::cancellation_signal>> signals;
  };
  auto ex = co_await asio::this_coro::executor;
  auto st = std::make_shared<shared_state>(ex);
  st->outcomes.resize(calls.size());
  st->calls = std::move(calls);
  if (st->calls.empty()) co_return std::vector<tool_outcome>{};
  std::size_t n_workers = std::min(std::max<std::size_t>(max_concurrency, 1), st->calls.size());
  st->n_workers_left = n_workers;

  for (std::size_t w = 0; w < n_workers; ++w) {
    st->signals.push_back(std::make_unique<asio::cancellation_signal>());
    auto worker = [this, st, per_call_timeout]() -> asio::awaitable<void> {
      while (st->next < st->calls.size()) {
        std::size_t i = st->next++;
        auto& c = st->calls[i];
        invoke_context ctx(per_call_timeout, c.id);
        st->outcomes[i] = co_await invoke(c.name, std::move(c.arguments), std::move(ctx));
      }
    };
    asio::co_spawn(ex, worker, asio::bind_cancellation_slot(st->signals.back()->slot(), [st](std::exception_ptr) {
                     if (--st->n_workers_left == 0) st->done.cancel();
                   }));
  }
  while (st->n_workers_left > 0) {
    co_await st->done.async_wait(use_tuple);
    auto state = co_await asio::this_coro::cancellation_state;
    if (st->n_workers_left > 0 && state.cancelled() != asio::cancellation_type::none) {
      // Stop the workers; calls not started yet end as cancelled.
      for (std::size_t i = st->next; i < st->calls.size(); ++i)
        st->outcomes[i] = make_error(tool_error_kind::cancelled, st->calls[i].name, "the call was cancelled", false);
      st->next = st->calls.size();
      for (auto& s : st->signals) s->emit(asio::cancellation_type::terminal);
      co_await asio::this_coro::reset_cancellation_state();
    }
  }
  co_return std::move(st->outcomes);
}

}  // namespace tern::tools
