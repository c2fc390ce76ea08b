#include "host.hpp"

#include "lua_json.hpp"

#include <fmt/format.h>

#include <cstdlib>
#include <cstring>

namespace tern::scripting::detail {
namespace {

// Instructions between two checks of the count hook.
constexpr int hook_period = 1000;
// Memory the host may still allocate after the script was stopped by its memory
// limit, so that building the error (message, traceback) and closing can proceed;
// the script itself never runs again once stopped.
constexpr std::size_t memory_grace = std::size_t{1} << 20;

void* host_alloc(void* ud, void* ptr, std::size_t osize, std::size_t nsize) {
  auto* h = static_cast<host*>(ud);
  const std::size_t old = ptr ? osize : 0;  // without a block, osize encodes the object type
  if (nsize == 0) {
    std::free(ptr);
    h->mem_used_ -= old;
    return nullptr;
  }
  const std::size_t limit = h->options_.limits.max_memory_bytes;
  if (limit != 0 && nsize > old) {
    const std::size_t allowed = h->killed_ ? limit + memory_grace : limit;
    if (h->mem_used_ - old + nsize > allowed) {
      char msg[160];
      std::snprintf(msg, sizeof msg, "memory limit of %zu bytes (%.1f MiB) exceeded (raise it with --max-memory)",
                    limit, static_cast<double>(limit) / (1024.0 * 1024.0));
      h->kill(errc::limit_exceeded, msg);
      return nullptr;  // Lua raises its memory error (LUA_ERRMEM)
    }
  }
  void* p = std::realloc(ptr, nsize);
  if (p == nullptr) return nullptr;
  h->mem_used_ = h->mem_used_ - old + nsize;
  if (h->mem_used_ > h->mem_peak_) h->mem_peak_ = h->mem_used_;
  return p;
}

void assign(std::string& s, const char* p, std::size_t n) noexcept {
  try {
    s.assign(p, n);
  } catch (...) {
  }
}

// file:line of the innermost Lua function on co's stack ("" when none).
void innermost_position(lua_State* co, char* out, std::size_t size) {
  lua_Debug ar;
  for (int level = 0; lua_getstack(co, level, &ar); ++level) {
    if (lua_getinfo(co, "Sl", &ar) && ar.currentline > 0) {
      std::snprintf(out, size, "%s:%d", ar.short_src, ar.currentline);
      return;
    }
  }
}

struct setup_args {
  host* h;
  std::string_view source;
  const std::string* chunk_name;
  task* root;
};

int setup_glue(lua_State* L) {
  auto* a = static_cast<setup_args*>(lua_touserdata(L, 1));
  open_libraries(L, a->h->options_.unsafe, a->h->script_dir_);
  open_tern_module(L);
  lua_pushliteral(L, "@");
  lua_pushlstring(L, a->chunk_name->data(), a->chunk_name->size());
  lua_concat(L, 2);
  if (luaL_loadbufferx(L, a->source.data(), a->source.size(), lua_tostring(L, -1), "t") != LUA_OK)
    return lua_error(L);
  lua_State* co = lua_newthread(L);
  *static_cast<task**>(lua_getextraspace(co)) = a->root;
  lua_insert(L, -2);
  lua_xmove(L, co, 1);  // the main chunk becomes the root task's function
  a->root->thread = co;
  a->root->ref = luaL_ref(L, LUA_REGISTRYINDEX);
  return 0;
}

struct failure_args {
  lua_State* co;
  std::string* message;
  std::string* traceback;
};

int failure_glue(lua_State* L) {
  auto* a = static_cast<failure_args*>(lua_touserdata(L, 1));
  luaL_checkstack(L, 4, nullptr);
  lua_xmove(a->co, L, 1);  // the error object
  std::size_t n = 0;
  const char* msg = luaL_tolstring(L, -1, &n);
  assign(*a->message, msg, n);
  luaL_traceback(L, a->co, nullptr, 0);
  msg = lua_tolstring(L, -1, &n);
  assign(*a->traceback, msg, n);
  return 0;
}

struct result_args {
  lua_State* co;
  int n_results;
  boost::json::value* value;
  std::string* error;
  bool ok;
};

int result_glue(lua_State* L) {
  auto* a = static_cast<result_args*>(lua_touserdata(L, 1));
  if (a->n_results == 0) {
    a->ok = true;
    return 0;
  }
  luaL_checkstack(L, 2, nullptr);
  lua_settop(a->co, lua_gettop(a->co) - a->n_results + 1);  // keep the first result
  lua_xmove(a->co, L, 1);
  a->ok = to_json(L, -1, *a->value, *a->error);
  return 0;
}

}  // namespace

void count_hook(lua_State* L, lua_Debug* ar) {
  host* h = host::of(L);
  if (!h->killed_) {
    h->instructions_ += static_cast<std::uint64_t>(hook_period);
    const std::uint64_t max = h->options_.limits.max_instructions;
    if (max == 0 || h->instructions_ <= max) return;
    char msg[160];
    std::snprintf(msg, sizeof msg, "instruction limit of %llu exceeded (raise it with --max-instructions)",
                  static_cast<unsigned long long>(max));
    h->kill(errc::limit_exceeded, msg);
  }
  if (h->kill_where_[0] == '\0' && lua_getinfo(L, "Sl", ar) && ar->currentline > 0)
    std::snprintf(h->kill_where_, sizeof h->kill_where_, "%s:%d", ar->short_src, ar->currentline);
  // Stopped: check at every instruction from now on. Yielding leaves the task for
  // good (no pcall can intercept a yield); where Lua cannot yield (inside a C call
  // such as table.sort), raise instead, and the next check further out yields.
  lua_sethook(L, count_hook, LUA_MASKCOUNT, 1);
  if (lua_isyieldable(L)) {
    lua_yield(L, 0);
    return;
  }
  lua_pushstring(L, h->kill_message_);
  lua_error(L);
}

host::host(asio::any_io_executor executor, script_options options)
    : executor_(std::move(executor)), options_(std::move(options)) {}

host::~host() {
  if (L_ != nullptr) lua_close(L_);
}

bool protected_call(lua_State* L, lua_CFunction f, void* ud, std::string& message) noexcept {
  const int top = lua_gettop(L);
  lua_pushcfunction(L, f);
  lua_pushlightuserdata(L, ud);
  const int status = lua_pcall(L, 1, 0, 0);
  if (status != LUA_OK) {
    std::size_t n = 0;
    const char* s = lua_type(L, -1) == LUA_TSTRING ? lua_tolstring(L, -1, &n) : nullptr;
    if (s)
      assign(message, s, n);
    else
      assign(message, "(error object is not a string)", 30);
  }
  lua_settop(L, top);
  return status == LUA_OK;
}

result<void> host::load(std::string_view source, const std::string& chunk_name,
                        const std::filesystem::path& script_dir) {
  script_dir_ = script_dir;
  L_ = lua_newstate(&host_alloc, this);
  if (L_ == nullptr) return tern::fail(errc::limit_exceeded, "cannot create a Lua state within the memory limit");
  *static_cast<task**>(lua_getextraspace(L_)) = nullptr;  // coroutine.create threads copy this: no task
  const std::uint64_t max = options_.limits.max_instructions;
  lua_sethook(L_, count_hook, LUA_MASKCOUNT,
              max != 0 && max < static_cast<std::uint64_t>(hook_period) ? static_cast<int>(max) : hook_period);

  root_ = std::make_shared<task>();
  setup_args args{this, source, &chunk_name, root_.get()};
  std::string message;
  if (!protected_call(L_, &setup_glue, &args, message)) {
    tern::error err = killed_ ? kill_error() : tern::error(errc::parse_error, message);
    lua_close(L_);
    L_ = nullptr;
    return err;
  }
  return tern::ok();
}

void host::start(std::function<void(result<boost::json::value>)> done) {
  if (started_ || closed()) {
    asio::post(executor_, [done = std::move(done)] {
      done(tern::fail(errc::invalid_argument, "the script was already started or has no state"));
    });
    return;
  }
  started_ = true;
  done_ = std::move(done);
  post_resume(root_);
}

void host::post_resume(const std::shared_ptr<task>& t) {
  asio::post(executor_, [hp = shared_from_this(), t] { hp->resume(t); });
}

void host::resume(const std::shared_ptr<task>& t) {
  if (closed() || finished_ || t->done) return;
  if (running_ > 0) {  // a completion arrived from inside a Lua call: not reentrant
    post_resume(t);
    return;
  }
  auto keep = shared_from_this();
  std::shared_ptr<pending_op> delivering = std::move(t->pending);
  t->delivering = delivering.get();
  int n_results = 0;
  ++running_;
  const int n_args = t->n_args;
  t->n_args = 0;
  const int status = lua_resume(t->thread, nullptr, n_args, &n_results);
  --running_;
  t->delivering = nullptr;
  after_resume(t, status, n_results);
}

void host::after_resume(const std::shared_ptr<task>& t, int status, int n_results) {
  if (killed_) {
    // A limit was hit (or cancel() called) during this run, even if a pcall caught the
    // error it raised or a coroutine.wrap absorbed the yield: the script is over.
    if (kill_where_[0] == '\0' && status != LUA_OK) innermost_position(t->thread, kill_where_, sizeof kill_where_);
    traceback_.clear();
    finish(kill_error());
    return;
  }
  if (status == LUA_YIELD) {
    lua_pop(t->thread, n_results);
    if (!t->pending && t->n_children_left == 0) {
      // A bare coroutine.yield() at the top of a task: nothing would ever resume it.
      char where[300] = {};
      innermost_position(t->thread, where, sizeof where);
      fail_task(t, errc::invalid_argument,
                fmt::format("{}{}coroutine.yield() outside a coroutine: the script body and tern.parallel "
                            "functions cannot yield (use coroutine.wrap for generators)",
                            where, where[0] ? ": " : ""),
                {});
    }
    return;
  }
  if (status == LUA_OK)
    task_returned(t, n_results);
  else
    task_failed(t, status);
}

void host::task_returned(const std::shared_ptr<task>& t, int n_results) {
  t->done = true;
  const bool is_root = t.get() == root_.get();
  if (is_root || t->on_done) {
    boost::json::value value;
    std::string error;
    result_args args{t->thread, n_results, &value, &error, false};
    std::string message;
    const char* what = is_root ? "the script's return value: " : "the function's return value: ";
    result<boost::json::value> outcome = std::move(value);
    if (!protected_call(L_, &result_glue, &args, message))
      outcome = killed_ ? kill_error() : tern::error(errc::internal, std::string(what) + message);
    else if (!args.ok)
      outcome = tern::error(errc::invalid_argument, what + error);
    else
      outcome = std::move(value);
    if (is_root)
      finish(std::move(outcome));
    else
      complete_call(t, std::move(outcome));
    return;
  }
  t->n_results = n_results;
  task* parent = t->parent;
  if (parent->child_failed) return;
  if (--parent->n_children_left == 0) post_resume(parent->shared_from_this());
}

void host::task_failed(const std::shared_ptr<task>& t, int status) {
  std::string message, traceback;
  failure_args args{t->thread, &message, &traceback};
  std::string glue_error;
  if (!protected_call(L_, &failure_glue, &args, glue_error))
    message = "(error while describing an error: " + glue_error + ")";
  fail_task(t, status == LUA_ERRMEM ? errc::limit_exceeded : errc::invalid_argument, std::move(message),
            std::move(traceback));
}

void host::fail_task(const std::shared_ptr<task>& t, errc code, std::string message, std::string traceback) {
  lua_resetthread(t->thread);
  t->done = true;
  if (t.get() == root_.get()) {
    traceback_ = std::move(traceback);
    finish(tern::error(code, std::move(message)));
    return;
  }
  if (t->on_done) {
    complete_call(t, tern::error(code, std::move(message)));
    return;
  }
  task* parent = t->parent;
  if (parent->child_failed) return;
  parent->child_failed = true;
  parent->child_error = fmt::format("tern.parallel: function #{} failed: {}", t->index + 1, message);
  for (auto& c : parent->children) cancel_task(*c);  // the rest stop now
  parent->n_children_left = 0;
  post_resume(parent->shared_from_this());
}

namespace {
struct call_args {
  int fn_ref;
  const boost::json::value* args;
  task* t;
};

int call_glue(lua_State* L) {
  auto* a = static_cast<call_args*>(lua_touserdata(L, 1));
  lua_State* co = lua_newthread(L);
  lua_rawgeti(L, LUA_REGISTRYINDEX, a->fn_ref);
  push_json(L, *a->args);
  lua_xmove(L, co, 2);
  *static_cast<task**>(lua_getextraspace(co)) = a->t;
  a->t->thread = co;
  a->t->n_args = 1;
  a->t->ref = luaL_ref(L, LUA_REGISTRYINDEX);  // pops the thread
  return 0;
}
}  // namespace

void host::start_call(int fn_ref, boost::json::value args, std::function<void(result<boost::json::value>)> done) {
  auto post_error = [&](tern::error err) {
    asio::post(executor_, [done = std::move(done), err = std::move(err)]() mutable { done(std::move(err)); });
  };
  if (closed() || finished_) return post_error(tern::error(errc::cancelled, "the script has ended"));
  auto t = std::make_shared<task>();
  call_args ca{fn_ref, &args, t.get()};
  std::string message;
  if (!protected_call(L_, &call_glue, &ca, message))
    return post_error(killed_ ? kill_error() : tern::error(errc::limit_exceeded, "starting the call: " + message));
  t->on_done = std::move(done);
  calls_.push_back(t);
  post_resume(t);
}

namespace {
struct sync_args {
  int fn_ref;
  const boost::json::value* arg;
  boost::json::value* out;
  std::string* error;
  bool ok;
};

int sync_glue(lua_State* L) {
  auto* a = static_cast<sync_args*>(lua_touserdata(L, 1));
  lua_rawgeti(L, LUA_REGISTRYINDEX, a->fn_ref);
  push_json(L, *a->arg);
  lua_call(L, 1, 1);
  a->ok = to_json(L, -1, *a->out, *a->error);
  return 0;
}
}  // namespace

result<boost::json::value> host::call_sync(int fn_ref, const boost::json::value& arg) noexcept {
  try {
    if (closed() || finished_) return tern::fail(errc::cancelled, "the script has ended");
    boost::json::value out;
    std::string error, message;
    sync_args a{fn_ref, &arg, &out, &error, false};
    auto keep = shared_from_this();
    ++running_;
    const bool ok = protected_call(L_, &sync_glue, &a, message);
    --running_;
    if (killed_) {
      tern::error err = kill_error();
      if (running_ == 0) finish(err);
      return err;
    }
    if (!ok) return tern::error(errc::invalid_argument, std::move(message));
    if (!a.ok) return tern::error(errc::invalid_argument, "the function's return value: " + error);
    return out;
  } catch (...) {
    return tern::error(errc::internal, "out of memory calling a Lua function");
  }
}

std::shared_ptr<tern::tools::http_client> host::http_client() noexcept {
  if (closed() || finished_) return nullptr;
  try {
    if (!http_) http_ = std::make_shared<tern::tools::http_client>(executor_);
    return http_;
  } catch (...) {
    return nullptr;
  }
}

void host::complete_call(const std::shared_ptr<task>& t, result<boost::json::value> outcome) noexcept {
  if (!t->on_done) return;
  auto done = std::move(t->on_done);
  t->on_done = nullptr;
  if (!closed() && t->ref != LUA_NOREF) luaL_unref(L_, LUA_REGISTRYINDEX, t->ref);
  t->ref = LUA_NOREF;
  t->thread = nullptr;
  try {
    std::erase(calls_, t);
    asio::post(executor_, [done = std::move(done), outcome = std::move(outcome)]() mutable { done(std::move(outcome)); });
  } catch (...) {
  }
}

void host::cancel_task(task& t) noexcept {
  for (auto& c : t.children) cancel_task(*c);
  if (t.done) return;
  t.done = true;
  t.cancel.emit(asio::cancellation_type::terminal);
  t.pending.reset();
  // Closes the suspended thread's pending to-be-closed variables (Lua code, protected).
  if (!closed() && t.thread != nullptr) lua_resetthread(t.thread);
}

bool host::adopt_child(task* parent, lua_State* child_thread, int ref) noexcept {
  try {
    auto child = std::make_shared<task>();
    child->thread = child_thread;
    child->ref = ref;
    child->parent = parent;
    child->index = parent->children.size();
    parent->children.push_back(child);
    *static_cast<task**>(lua_getextraspace(child_thread)) = child.get();
    ++parent->n_children_left;
    return true;
  } catch (...) {
    return false;
  }
}

void host::release_children(lua_State* L, task* parent) noexcept {
  for (auto& c : parent->children) {
    if (c->ref != LUA_NOREF) luaL_unref(L, LUA_REGISTRYINDEX, c->ref);
    c->ref = LUA_NOREF;
    c->thread = nullptr;
  }
  parent->children.clear();
  parent->n_children_left = 0;
  parent->child_failed = false;
  parent->child_error.clear();
}

void host::kill(errc code, const char* message) noexcept {
  if (killed_) return;
  killed_ = true;
  kill_code_ = code;
  std::snprintf(kill_message_, sizeof kill_message_, "%s", message);
}

tern::error host::kill_error() const {
  tern::error err(kill_code_, kill_message_);
  if (kill_where_[0] != '\0') err.at(kill_where_);
  return err;
}

void host::cancel() {
  if (finished_ || closed()) return;
  if (running_ > 0) {  // called from inside the script's own call chain
    kill(errc::cancelled, "the script was cancelled");
    return;
  }
  finish(tern::fail(errc::cancelled, "the script was cancelled"));
}

void host::finish(result<boost::json::value> outcome) noexcept {
  if (finished_) return;
  finished_ = true;
  if (root_) cancel_task(*root_);
  // Calls in flight (Lua tools) end with the script's error, or as cancelled.
  auto calls = std::move(calls_);
  for (auto& c : calls) {
    cancel_task(*c);
    complete_call(c, outcome.has_value() ? tern::error(errc::cancelled, "the script that defined this function has ended")
                                         : outcome.error());
  }
  if (http_) {
    // Idle keep-alive connections would hold servers (and the io_context) open.
    try {
      http_->close_idle();
    } catch (...) {
    }
    http_.reset();
  }
  if (L_ != nullptr) {
    lua_close(L_);  // runs __gc of remaining boxes; frees every thread
    L_ = nullptr;
  }
  if (!done_) return;
  try {
    asio::post(executor_, [done = std::move(done_), outcome = std::move(outcome)]() mutable {
      done(std::move(outcome));
    });
  } catch (...) {
  }
}

int await_continuation(lua_State* L, int, lua_KContext) {
  task* t = host::task_of(L);
  if (t == nullptr || t->delivering == nullptr) return luaL_error(L, "internal error: resumed without a result");
  return t->delivering->push(L);
}

int raise_await_failure(lua_State* L, await_status st, const char* what) {
  if (st == await_status::not_in_task)
    return luaL_error(L,
                      "%s cannot wait here: call it from the script body or a tern.parallel function, not "
                      "from inside coroutine.wrap/create, a metamethod or a C callback such as table.sort",
                      what);
  return luaL_error(L, "%s: out of memory starting the operation", what);
}


void name_box(lua_State* L, int idx, const char* type_name, lua_CFunction index) {
  lua_getmetatable(L, idx);
  lua_pushstring(L, type_name);
  lua_setfield(L, -2, "__name");
  lua_pushstring(L, type_name);
  lua_setfield(L, -2, "__metatable");
  lua_pushcfunction(L, index);
  lua_setfield(L, -2, "__index");
  lua_pop(L, 1);
}

void* test_box(lua_State* L, int idx, std::string_view type_name) {
  idx = lua_absindex(L, idx);
  if (lua_type(L, idx) != LUA_TUSERDATA) return nullptr;
  luaL_checkstack(L, 2, nullptr);
  if (!lua_getmetatable(L, idx)) return nullptr;
  lua_getfield(L, -1, "__name");
  const bool ours = lua_type(L, -1) == LUA_TSTRING && std::string_view(lua_tostring(L, -1)) == type_name;
  lua_pop(L, 2);
  return ours ? lua_touserdata(L, idx) : nullptr;
}

}  // namespace tern::scripting::detail
