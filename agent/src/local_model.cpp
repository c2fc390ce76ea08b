// local_model's public side: requests become jobs on the engine worker's
// queue; the awaiting coroutine is resumed on its own executor when the job's
// outcome arrives, after every stream piece that preceded it.
#include "local_model_impl.hpp"

#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/async_result.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <fmt/format.h>

#include <cmath>

namespace tern::agent {

using detail::job;

namespace {

result<void> check_request(const model_request& r) {
  const auto& s = r.settings;
  if (s.temperature && (!std::isfinite(*s.temperature) || *s.temperature < 0))
    return fail(errc::invalid_argument, fmt::format("temperature must be a number >= 0, got {}", *s.temperature))
        .at("settings.temperature");
  if (s.top_p && (!std::isfinite(*s.top_p) || *s.top_p <= 0 || *s.top_p > 1))
    return fail(errc::invalid_argument, fmt::format("top_p must be in (0, 1], got {}", *s.top_p)).at("settings.top_p");
  if (s.max_tokens && *s.max_tokens < 1)
    return fail(errc::invalid_argument, fmt::format("max_tokens must be at least 1, got {}", *s.max_tokens))
        .at("settings.max_tokens");
  for (std::size_t i = 0; i < s.stop.size(); ++i)
    if (s.stop[i].empty()) return fail(errc::invalid_argument, "a stop string is empty").at(fmt::format("settings.stop[{}]", i));
  if (r.messages.empty()) return fail(errc::invalid_argument, "a request needs at least one message");
  if (r.choice.kind == tool_choice::mode::required && r.tools.empty())
    return fail(errc::invalid_argument, "tool_choice 'required' with no tools");
  if (r.choice.kind == tool_choice::mode::named) {
    bool found = false;
    for (const auto& t : r.tools) found = found || t.name == r.choice.name;
    if (!found) return fail(errc::invalid_argument, fmt::format("tool_choice names '{}', which is not among the tools", r.choice.name));
  }
  return {};
}

}  // namespace

namespace detail {

void job::push(std::shared_ptr<job> self, job_event e) {
  bool post = false;
  {
    std::lock_guard lock(events_mu);
    events.push_back(std::move(e));
    if (!drain_posted) drain_posted = post = true;
  }
  if (post) boost::asio::post(executor, [self = std::move(self)] { self->drain(); });
}

// Runs on the caller's executor. Only one drain is posted at a time, so
// pieces reach the callbacks in order and never concurrently, even on a
// multi-threaded executor; the outcome comes after every piece before it.
void job::drain() {
  for (;;) {
    std::deque<job_event> batch;
    {
      std::lock_guard lock(events_mu);
      if (events.empty()) {
        drain_posted = false;
        return;
      }
      batch.swap(events);
    }
    for (auto& e : batch) {
      if (finished) continue;
      if (auto* p = std::get_if<stream_splitter::piece>(&e)) {
        const auto& cb = p->k == stream_splitter::kind::answer ? request.stream.on_token : request.stream.on_reasoning;
        if (!cb) continue;
        try {
          cb(p->text);
        } catch (...) {  // a throwing callback must not take the model's delivery down; it loses that piece
        }
        continue;
      }
      finished = true;
      slot.clear();
      auto done = std::move(complete);
      work.reset();
      done(std::move(std::get<result<model_response>>(e)));
    }
  }
}

}  // namespace detail

local_model::local_model(std::shared_ptr<impl> p) : impl_(std::move(p)) {}

local_model::~local_model() {
  if (impl_) impl_->shutdown();
}

result<std::shared_ptr<local_model>> local_model::open(local_model_options options) {
  if (options.path.empty()) return fail(errc::invalid_argument, "local_model_options::path is empty");
  if (options.threads < 0) return fail(errc::invalid_argument, "threads must not be negative");
  engine::load_options lo;
  lo.n_threads = options.threads;
  TERN_TRY(auto m, engine::model::load(options.path, lo));
  return from_engine(std::move(m), std::move(options));
}

result<std::shared_ptr<local_model>> local_model::from_engine(std::shared_ptr<const engine::model> m,
                                                              local_model_options options) {
  const std::string where = options.path.empty() ? std::string("local model") : options.path.string();
  auto p = impl::create(std::move(m), std::move(options));
  if (!p) return std::move(p.error()).at(where);
  (*p)->start();
  return std::shared_ptr<local_model>(new local_model(std::move(*p)));
}

asio::awaitable<result<model_response>> local_model::complete(model_request request) {
  co_await asio::this_coro::throw_if_cancelled(false);
  if (auto ok = check_request(request); !ok) co_return std::move(ok.error()).at(impl_->name);

  auto j = std::make_shared<job>();
  j->request = std::move(request);
  j->executor = co_await asio::this_coro::executor;

  // Runs synchronously inside async_initiate, while this coroutine (holding
  // j) and *this are alive, so it captures plain pointers: GCC 12 may destroy
  // a capturing temporary in a co_await expression twice, which would release
  // a shared_ptr twice.
  auto initiate = [jp = j.get(), lm = this](auto handler) {
    using handler_t = decltype(handler);
    auto h = std::make_shared<handler_t>(std::move(handler));
    auto jj = jp->shared_from_this();
    jj->complete = [h](result<model_response> out) { std::move(*h)(std::move(out)); };
    jj->work.emplace(jj->executor);
    std::weak_ptr<impl> weak_impl = lm->impl_;
    if (auto slot = asio::get_associated_cancellation_slot(*h); slot.is_connected()) {
      jj->slot = slot;
      slot.assign([wj = std::weak_ptr<job>(jj), weak_impl](asio::cancellation_type) {
        auto cj = wj.lock();
        auto im = weak_impl.lock();
        if (cj && im) im->cancel(cj);
      });
    }
    if (!lm->impl_->enqueue(jj)) jj->push(jj, error(errc::cancelled, "the local model is shutting down"));
  };
  result<model_response> r =
      co_await asio::async_initiate<decltype(asio::use_awaitable), void(result<model_response>)>(initiate,
                                                                                              asio::use_awaitable);
  if (!r) r.error().at(impl_->name);
  co_return r;
}

std::string local_model::name() const { return impl_->name; }

std::int64_t local_model::context_length() const { return impl_->n_ctx; }

std::int64_t local_model::count_tokens(const std::vector<message>& messages,
                                       const std::vector<tools::tool_spec>& tools) const {
  auto text = impl_->render(messages, tools);
  if (!text) return model::count_tokens(messages, tools);
  return static_cast<std::int64_t>(impl_->tokenize(*text).size());
}

result<std::string> local_model::render_prompt(const std::vector<message>& messages,
                                               const std::vector<tools::tool_spec>& tools) const {
  return impl_->render(messages, tools);
}

local_model_stats local_model::stats() const {
  std::lock_guard lock(impl_->mu);
  local_model_stats s = impl_->counters;
  s.queue_depth = impl_->queue.size();
  return s;
}

const engine::model& local_model::engine_model() const noexcept { return *impl_->model; }

}  // namespace tern::agent
