// Keep-alive connections of openai_compatible_model.
//
// Why not the tools library's http_client pool: http_client buffers whole
// bodies (server-sent events must reach the caller as they arrive) and one
// client belongs to one executor, used from one thread; complete() runs on
// any executors at once. So the model pools its own connections here.
//
// Ownership: idle connections live in an idle_shelf owned by an Asio service
// of the execution context they were opened on, so they are closed when that
// context shuts down, whatever order the user destroys the model and the
// io_context in. The model keeps weak references to the shelves it parked on
// and takes its connections back out when it is destroyed.
//
// A connection is handed out again only to a coroutine whose executor equals
// the one it was opened with: a Beast stream runs its timer on its own
// executor, so crossing strands would race.
#pragma once

#include <boost/asio/any_io_executor.hpp>
#include <boost/asio/execution_context.hpp>
#include <boost/asio/ssl/context.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/ssl/ssl_stream.hpp>

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <unordered_map>
#include <vector>

namespace tern::agent::detail {

// One HTTP/1.1 connection to the model's server, plain or TLS. Used by one
// request at a time (whoever holds the unique_ptr).
struct pooled_connection {
  using clock = std::chrono::steady_clock;

  explicit pooled_connection(boost::beast::tcp_stream s) : plain(std::move(s)) {}
  pooled_connection(boost::beast::tcp_stream s, boost::asio::ssl::context& ctx)
      : tls(std::make_unique<boost::beast::ssl_stream<boost::beast::tcp_stream>>(std::move(s), ctx)) {}

  std::optional<boost::beast::tcp_stream> plain;
  std::unique_ptr<boost::beast::ssl_stream<boost::beast::tcp_stream>> tls;
  clock::time_point idle_since{};

  boost::beast::tcp_stream& lowest() { return tls ? boost::beast::get_lowest_layer(*tls) : *plain; }
  boost::asio::any_io_executor executor() { return lowest().get_executor(); }
  // An idle connection is usable only if the server has neither closed it
  // nor sent anything unasked (a non-blocking peek at the socket): a FIN, a
  // TLS alert or stray bytes all mean "do not send a request on this".
  bool looks_alive();
  void close();
};

// The idle connections parked on one execution context, for every model.
class idle_shelf {
 public:
  // The most recently parked live connection of that pool opened with
  // executor ex, or nullptr. Connections idle longer than idle_timeout or
  // closed by the server are closed on the way.
  std::unique_ptr<pooled_connection> take(std::uint64_t pool, const boost::asio::any_io_executor& ex,
                                          std::chrono::milliseconds idle_timeout);
  // Parks c; the oldest idle connection of the pool goes when it already
  // has max_idle. False (c is closed) once the context has shut down.
  bool put(std::uint64_t pool, std::unique_ptr<pooled_connection> c, std::size_t max_idle);
  // Closes the pool's idle connections.
  void drop(std::uint64_t pool);
  std::size_t n_idle(std::uint64_t pool) const;
  // The context is shutting down: close everything, park nothing more.
  void shut();

 private:
  mutable std::mutex mutex_;
  bool shut_ = false;
  std::unordered_map<std::uint64_t, std::vector<std::unique_ptr<pooled_connection>>> idle_;  // oldest first
};

// The Asio service that owns a context's shelf (asio::use_service).
class pool_service final : public boost::asio::execution_context::service {
 public:
  static inline boost::asio::execution_context::id id;
  explicit pool_service(boost::asio::execution_context& ctx)
      : boost::asio::execution_context::service(ctx), shelf_(std::make_shared<idle_shelf>()) {}
  const std::shared_ptr<idle_shelf>& shelf() const noexcept { return shelf_; }

 private:
  void shutdown() override { shelf_->shut(); }
  std::shared_ptr<idle_shelf> shelf_;
};

// One model's side of the pool: its id on the shelves, the shelves it parked
// on, and counters. Thread-safe.
class connection_pool {
 public:
  connection_pool();
  ~connection_pool();  // closes this pool's idle connections on every live shelf
  connection_pool(const connection_pool&) = delete;
  connection_pool& operator=(const connection_pool&) = delete;

  // The shelf of the context ex belongs to.
  static std::shared_ptr<idle_shelf> shelf_for(const boost::asio::any_io_executor& ex);

  std::unique_ptr<pooled_connection> take(idle_shelf& shelf, const boost::asio::any_io_executor& ex,
                                          std::chrono::milliseconds idle_timeout);
  void put(const std::shared_ptr<idle_shelf>& shelf, std::unique_ptr<pooled_connection> c, std::size_t max_idle);
  void close_idle();
  std::size_t n_idle() const;

  std::atomic<std::uint64_t> n_connects{0};
  std::atomic<std::uint64_t> n_reused{0};
  std::atomic<std::uint64_t> n_stale_retries{0};

 private:
  std::vector<std::shared_ptr<idle_shelf>> live_shelves() const;
  const std::uint64_t id_;
  mutable std::mutex mutex_;
  std::vector<std::weak_ptr<idle_shelf>> shelves_;
};

}  // namespace tern::agent::detail
