#include "host.hpp"

#include <boost/asio/async_result.hpp>
#include <boost/asio/associated_cancellation_slot.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_awaitable.hpp>

#include <fstream>
#include <iterator>
#include <sstream>

namespace tern::scripting {

namespace asio = boost::asio;

script::script(std::shared_ptr<detail::host> host) : host_(std::move(host)) {}

script::~script() {
  // Pending completions keep the host alive; stop them from resuming anything.
  if (host_) host_->cancel();
}

result<std::shared_ptr<script>> script::from_string(asio::any_io_executor executor, std::string_view source,
                                                    std::string chunk_name, script_options options) {
  auto h = std::make_shared<detail::host>(std::move(executor), std::move(options));
  TERN_CHECK(h->load(source, chunk_name, std::filesystem::path()));
  return std::shared_ptr<script>(new script(std::move(h)));
}

result<std::shared_ptr<script>> script::from_file(asio::any_io_executor executor, const std::filesystem::path& file,
                                                  script_options options) {
  std::ifstream in(file, std::ios::binary);
  if (!in) return tern::fail(errc::io_error, "cannot open the script").at(file.string());
  std::string source((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (in.bad()) return tern::fail(errc::io_error, "cannot read the script").at(file.string());
  auto h = std::make_shared<detail::host>(std::move(executor), std::move(options));
  std::filesystem::path dir = file.parent_path();
  if (dir.empty()) dir = ".";
  TERN_CHECK(h->load(source, file.string(), dir));
  return std::shared_ptr<script>(new script(std::move(h)));
}

void script::start(std::function<void(result<boost::json::value>)> done) { host_->start(std::move(done)); }

namespace {
struct run_initiation {
  std::shared_ptr<detail::host> h;
  template <class Handler>
  void operator()(Handler&& handler) {
    auto slot = asio::get_associated_cancellation_slot(handler);
    if (slot.is_connected()) slot.assign([h = h](asio::cancellation_type) { h->cancel(); });
    auto shared = std::make_shared<std::decay_t<Handler>>(std::forward<Handler>(handler));
    h->start([shared](result<boost::json::value> r) { std::move(*shared)(std::move(r)); });
  }
};
}  // namespace

// Not a coroutine itself: GCC 12 destroys some temporaries of a co_await expression
// twice, so no lambda or by-value argument is built inside one.
asio::awaitable<result<boost::json::value>> script::run() {
  return asio::async_initiate<const asio::use_awaitable_t<>&, void(result<boost::json::value>)>(
      run_initiation{host_}, asio::use_awaitable);
}

void script::cancel() { host_->cancel(); }

const std::string& script::traceback() const { return host_->traceback_; }

const std::vector<tools::tool_ptr>& script::tools() const { return host_->tools_; }

script_stats script::stats() const {
  return {host_->instructions_, host_->mem_used_, host_->mem_peak_};
}

result<boost::json::value> run_file(const std::filesystem::path& file, script_options options,
                                    std::string* traceback) {
  asio::io_context io;
  TERN_TRY(auto s, script::from_file(io.get_executor(), file, std::move(options)));
  std::optional<result<boost::json::value>> outcome;
  s->start([&outcome](result<boost::json::value> r) { outcome.emplace(std::move(r)); });
  io.run();
  if (traceback) *traceback = s->traceback();
  if (!outcome) return tern::fail(errc::internal, "the script ended without a result").at(file.string());
  return std::move(*outcome);
}

}  // namespace tern::scripting
