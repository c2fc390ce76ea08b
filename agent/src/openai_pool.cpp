#include "openai_pool.hpp"

#include <boost/asio/execution/context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/query.hpp>

#include <algorithm>
#include <cerrno>
#include <sys/socket.h>

namespace tern::agent::detail {

namespace asio = boost::asio;
using tcp = asio::ip::tcp;

bool pooled_connection::looks_alive() {
  auto& s = lowest().socket();
  if (!s.is_open()) return false;
  char byte = 0;
  const auto n = ::recv(s.native_handle(), &byte, 1, MSG_PEEK | MSG_DONTWAIT);
  return n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK);
}

void pooled_connection::close() {
  boost::system::error_code ignored;
  auto& s = lowest().socket();
  s.shutdown(tcp::socket::shutdown_both, ignored);
  s.close(ignored);
}

std::unique_ptr<pooled_connection> idle_shelf::take(std::uint64_t pool, const asio::any_io_executor& ex,
                                                    std::chrono::milliseconds idle_timeout) {
  std::vector<std::unique_ptr<pooled_connection>> dead;  // closed outside the lock
  std::unique_ptr<pooled_connection> found;
  {
    std::lock_guard lock(mutex_);
    auto it = idle_.find(pool);
    if (it == idle_.end()) return nullptr;
    auto& v = it->second;
    const auto now = pooled_connection::clock::now();
    for (std::size_t i = v.size(); i-- > 0;) {
      if (now - v[i]->idle_since >= idle_timeout) {
        dead.push_back(std::move(v[i]));
      } else if (!found && v[i]->executor() == ex) {
        if (v[i]->looks_alive()) found = std::move(v[i]);
        else dead.push_back(std::move(v[i]));
      }
    }
    std::erase(v, nullptr);
  }
  for (auto& c : dead) c->close();
  return found;
}

bool idle_shelf::put(std::uint64_t pool, std::unique_ptr<pooled_connection> c, std::size_t max_idle) {
  std::unique_ptr<pooled_connection> evicted;
  {
    std::lock_guard lock(mutex_);
    if (!shut_ && max_idle > 0) {
      auto& v = idle_[pool];
      if (v.size() >= max_idle) {
        evicted = std::move(v.front());
        v.erase(v.begin());
      }
      c->idle_since = pooled_connection::clock::now();
      v.push_back(std::move(c));
    }
  }
  if (evicted) evicted->close();
  if (c) {
    c->close();
    return false;
  }
  return true;
}

void idle_shelf::drop(std::uint64_t pool) {
  std::vector<std::unique_ptr<pooled_connection>> dropped;
  {
    std::lock_guard lock(mutex_);
    if (auto it = idle_.find(pool); it != idle_.end()) {
      dropped = std::move(it->second);
      idle_.erase(it);
    }
  }
  for (auto& c : dropped) c->close();
}

std::size_t idle_shelf::n_idle(std::uint64_t pool) const {
  std::lock_guard lock(mutex_);
  auto it = idle_.find(pool);
  return it == idle_.end() ? 0 : it->second.size();
}

void idle_shelf::shut() {
  decltype(idle_) all;
  {
    std::lock_guard lock(mutex_);
    shut_ = true;
    all.swap(idle_);
  }
  for (auto& [pool, v] : all)
    for (auto& c : v) c->close();
}

namespace {
std::uint64_t next_pool_id() {
  static std::atomic<std::uint64_t> n{1};
  return n.fetch_add(1, std::memory_order_relaxed);
}
}  // namespace

connection_pool::connection_pool() : id_(next_pool_id()) {}

connection_pool::~connection_pool() { close_idle(); }

std::shared_ptr<idle_shelf> connection_pool::shelf_for(const asio::any_io_executor& ex) {
  auto& ctx = asio::query(ex, asio::execution::context_as<asio::execution_context&>);
  return asio::use_service<pool_service>(ctx).shelf();
}

std::unique_ptr<pooled_connection> connection_pool::take(idle_shelf& shelf, const asio::any_io_executor& ex,
                                                         std::chrono::milliseconds idle_timeout) {
  auto c = shelf.take(id_, ex, idle_timeout);
  if (c) ++n_reused;
  return c;
}

void connection_pool::put(const std::shared_ptr<idle_shelf>& shelf, std::unique_ptr<pooled_connection> c,
                          std::size_t max_idle) {
  if (!shelf->put(id_, std::move(c), max_idle)) return;
  std::lock_guard lock(mutex_);
  std::erase_if(shelves_, [](const auto& w) { return w.expired(); });
  for (const auto& w : shelves_)
    if (w.lock() == shelf) return;
  shelves_.push_back(shelf);
}

std::vector<std::shared_ptr<idle_shelf>> connection_pool::live_shelves() const {
  std::lock_guard lock(mutex_);
  std::vector<std::shared_ptr<idle_shelf>> out;
  for (const auto& w : shelves_)
    if (auto s = w.lock()) out.push_back(std::move(s));
  return out;
}

void connection_pool::close_idle() {
  for (const auto& s : live_shelves()) s->drop(id_);
}

std::size_t connection_pool::n_idle() const {
  std::size_t n = 0;
  for (const auto& s : live_shelves()) n += s->n_idle(id_);
  return n;
}

}  // namespace tern::agent::detail
