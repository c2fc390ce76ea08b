// The script host: one Lua state, its tasks (Lua threads driven as coroutines on an
// Asio executor), the allocator that enforces the memory limit and the count hook
// that enforces the instruction limit.
//
// Rules every lua_CFunction here follows (Lua is compiled as C and raises errors and
// yields with longjmp): no object with a non-trivial destructor is alive in a frame
// when a Lua API call that may raise (or lua_yieldk/lua_error) runs. C++ work is done
// in helper functions that return before the Lua calls, or in objects owned by Lua
// userdata ("boxes", destroyed by __gc) or by the host on the heap. No C++ exception
// ever leaves a function called by Lua.
#pragma once

#include <tern/agent/model.hpp>
#include <tern/scripting/script.hpp>
#include <tern/tools/http_client.hpp>
#include <tern/tools/tool.hpp>

#include <lua.hpp>

#include <boost/asio/cancellation_signal.hpp>
#include <boost/asio/co_spawn.hpp>
#include <boost/asio/bind_cancellation_slot.hpp>
#include <boost/asio/post.hpp>

#include <cstdio>
#include <exception>
#include <memory>
#include <new>
#include <string>
#include <type_traits>
#include <vector>

namespace tern::scripting::detail {

namespace asio = boost::asio;

// An operation a task awaits. push() runs inside the resumed Lua thread (a protected
// context): it pushes the results (returning their count) or raises the error.
struct pending_op {
  virtual ~pending_op() = default;
  virtual int push(lua_State* L) = 0;
};

struct task : std::enable_shared_from_this<task> {
  lua_State* thread = nullptr;  // anchored in the registry under `ref`
  int ref = LUA_NOREF;
  task* parent = nullptr;       // the task waiting in tern.parallel, for its children
  std::size_t index = 0;        // position among the parent's children

  std::shared_ptr<pending_op> pending;  // what this task awaits, if anything
  pending_op* delivering = nullptr;     // the op whose results the continuation pushes
  asio::cancellation_signal cancel;

  // tern.parallel bookkeeping (as parent).
  std::vector<std::shared_ptr<task>> children;
  std::size_t n_children_left = 0;
  bool child_failed = false;
  std::string child_error;

  bool done = false;    // returned, failed or was cancelled; never resumed again
  int n_results = 0;    // results left on `thread`'s stack when it returned
  int n_args = 0;       // arguments on `thread`'s stack for its first resume

  // A call started from C++ (a Lua tool's run function): gets the first result as
  // JSON, or the error. Runs once.
  std::function<void(result<boost::json::value>)> on_done;
};

class host : public std::enable_shared_from_this<host> {
 public:
  host(asio::any_io_executor executor, script_options options);
  ~host();

  // Creates the state, installs the sandbox and the tern module, compiles the chunk.
  result<void> load(std::string_view source, const std::string& chunk_name,
                    const std::filesystem::path& script_dir);
  void start(std::function<void(result<boost::json::value>)> done);
  void cancel();

  static host* of(lua_State* L) {
    void* ud = nullptr;
    lua_getallocf(L, &ud);
    return static_cast<host*>(ud);
  }
  static task* task_of(lua_State* L) { return *static_cast<task**>(lua_getextraspace(L)); }

  // Resumes a task now (or posts it when a Lua call of this host is in progress).
  void resume(const std::shared_ptr<task>& t);
  void post_resume(const std::shared_ptr<task>& t);
  // A new child task running the function on top of `parent_thread`'s stack (popped).
  // Only call from a lua_CFunction context: allocates on the Lua side first.
  bool adopt_child(task* parent, lua_State* child_thread, int ref) noexcept;
  // Drops a parent's finished children (after their results were collected).
  void release_children(lua_State* L, task* parent) noexcept;

  // Calls the function anchored at `fn_ref` with `args` (converted to Lua) as a new
  // task; `done` runs once (posted) with its first result as JSON or its error.
  void start_call(int fn_ref, boost::json::value args, std::function<void(result<boost::json::value>)> done);

  // Calls the function anchored at `fn_ref` with `arg` (converted to Lua) right now,
  // on the main thread: the function cannot wait (tern.sleep and the like raise
  // "cannot wait here"). The first result comes back as JSON; a Lua error is
  // invalid_argument with its message (file:line). Used for callbacks C++ calls
  // synchronously (a scripted model's turn function, on_event). When a limit stops the
  // script inside the call, the error is the limit's and the script is over.
  result<boost::json::value> call_sync(int fn_ref, const boost::json::value& arg) noexcept;

  // The HTTP client the script's HTTP tools, OpenAPI imports and MCP clients share
  // (one connection pool per script), created on first use on the script's executor.
  // Empty (nullptr) once the script has ended.
  std::shared_ptr<tern::tools::http_client> http_client() noexcept;

  // Stops everything: the script is over with `outcome`.
  void finish(result<boost::json::value> outcome) noexcept;
  // Marks the script as stopped by a limit or a cancel while Lua code runs; the count
  // hook then ends it (a pcall cannot catch this).
  void kill(errc code, const char* message) noexcept;

  bool closed() const noexcept { return L_ == nullptr; }

  // --- state read by the C functions ---
  lua_State* L_ = nullptr;
  asio::any_io_executor executor_;
  script_options options_;
  std::filesystem::path script_dir_;
  std::string scratch_;  // a host-owned string C functions hand to Lua (require paths, messages)
  std::string traceback_;
  std::vector<tern::tools::tool_ptr> tools_;  // defined with tern.tool, in order
  std::shared_ptr<tern::tools::http_client> http_;

  // Memory accounting (bytes held by the Lua state).
  std::size_t mem_used_ = 0;
  std::size_t mem_peak_ = 0;
  // Instruction accounting.
  std::uint64_t instructions_ = 0;
  bool killed_ = false;
  errc kill_code_ = errc::limit_exceeded;
  char kill_message_[256] = {};
  char kill_where_[256] = {};

 private:
  friend void count_hook(lua_State* L, lua_Debug* ar);
  void after_resume(const std::shared_ptr<task>& t, int status, int n_results);
  void task_failed(const std::shared_ptr<task>& t, int status);
  void task_returned(const std::shared_ptr<task>& t, int n_results);
  void fail_task(const std::shared_ptr<task>& t, errc code, std::string message, std::string traceback);
  void cancel_task(task& t) noexcept;
  tern::error kill_error() const;

  void complete_call(const std::shared_ptr<task>& t, result<boost::json::value> outcome) noexcept;

  std::shared_ptr<task> root_;
  std::vector<std::shared_ptr<task>> calls_;  // tasks started by start_call, running
  std::function<void(result<boost::json::value>)> done_;
  int running_ = 0;       // depth of lua_resume calls in progress
  bool finished_ = false;
  bool started_ = false;
};

// Runs f(L, ud) in protected mode on the main thread of L (used for host-side
// glue that may allocate). Returns false and sets `message` on a Lua error.
bool protected_call(lua_State* L, lua_CFunction f, void* ud, std::string& message) noexcept;

// Installs the sandboxed or full standard library (sandbox.cpp).
void open_libraries(lua_State* L, bool unsafe, const std::filesystem::path& script_dir);
// Installs the global `tern` table (module.cpp).
void open_tern_module(lua_State* L);
// Adds tern.tool to the table at tern_idx (lua_tool.cpp).
void open_tool_functions(lua_State* L, int tern_idx);
// Adds tern.model (lua_model.cpp).
void open_model_functions(lua_State* L, int tern_idx);
// Adds tern.agent (lua_agent.cpp).
void open_agent_functions(lua_State* L, int tern_idx);
// Adds tern.http_tool, tern.openapi and tern.mcp (lua_http_tools.cpp).
void open_http_tool_functions(lua_State* L, int tern_idx);

// --- boxes: C++ objects owned by Lua userdata, destroyed by __gc ---
template <class T>
int box_gc(lua_State* L) {
  static_cast<T*>(lua_touserdata(L, 1))->~T();
  return 0;
}
// Pushes a new userdata holding a default-constructed T with a __gc that destroys
// it. Everything that may raise (allocation) happens before T exists.
template <class T>
T* new_box(lua_State* L) {
  static_assert(std::is_nothrow_default_constructible_v<T>);
  lua_createtable(L, 0, 1);
  lua_pushcfunction(L, &box_gc<T>);
  lua_setfield(L, -2, "__gc");
  void* mem = lua_newuserdatauv(L, sizeof(T), 0);
  T* obj = new (mem) T();
  lua_insert(L, -2);
  lua_setmetatable(L, -2);  // no allocation: marks the userdata for finalisation
  return obj;
}
// Names the box at idx as a Lua type: __name (error messages, test_box),
// __metatable (hides __gc from getmetatable) and __index (its methods).
void name_box(lua_State* L, int idx, const char* type_name, lua_CFunction index);
// The box at idx when it is a userdata named type_name by name_box, else nullptr.
void* test_box(lua_State* L, int idx, std::string_view type_name);

// --- tools as Lua values (lua_tool.cpp) ---

// What a "tern.tool" userdata holds: every tool a script sees (tern.tool, tern.http_tool,
// tern.openapi, tern.mcp) is one, so all of them work with tool:call and tern.agent.
struct tool_box {
  tools::tool_ptr tool;
  boost::json::value parameters;  // the schema as Lua reads it back (tool.parameters)
  std::string error;
};
// Pushes a new empty tool userdata (metatable with __index, __name "tern.tool").
tool_box* new_tool_box(lua_State* L);
// Pushes `t` as a tool userdata. `t` must be owned by a box or the host (Lua may raise).
void push_tool(lua_State* L, const tools::tool_ptr& t);
// The tool at idx, or nullptr when the value is not a tool userdata.
const tools::tool_ptr* test_tool(lua_State* L, int idx);

// Runs the Lua function anchored at fn_ref as a new task of the host (it may wait);
// completes on the awaiting coroutine's executor with its first result as JSON or its
// error. Not a coroutine: see lua_tool.cpp.
asio::awaitable<result<boost::json::value>> call_lua(std::shared_ptr<host> h, int fn_ref, boost::json::value args);

// --- models as Lua values (lua_model.cpp) ---

// The model of a "tern.model" userdata at idx, or nullptr when it is not one.
const std::shared_ptr<agent::model>* test_model(lua_State* L, int idx);

// --- awaiting C++ async work from Lua ---
enum class await_status { started, not_in_task, failed };

template <class T>
struct awaitable_op final : pending_op {
  std::optional<T> value;
  std::string failure;  // what an escaped exception said
  int (*pusher)(lua_State*, T&) = nullptr;
  int push(lua_State* L) override {
    if (!value) {
      luaL_where(L, 1);
      lua_pushlstring(L, failure.data(), failure.size());
      lua_concat(L, 2);
      return lua_error(L);
    }
    return pusher(L, *value);
  }
};

template <class T>
asio::awaitable<void> drive_op(asio::awaitable<T> aw, std::shared_ptr<awaitable_op<T>> op) {
  try {
    op->value.emplace(co_await std::move(aw));
  } catch (const std::exception& e) {
    op->failure = e.what();
  } catch (...) {
    op->failure = "unknown C++ exception";
  }
}

// Starts the awaitable make() returns on the host's executor and records it as what
// the task running on L awaits. The caller then returns yield_for_op(L). `make` must
// be trivially destructible (it lives in a frame Lua may longjmp over).
template <class T, class Make>
await_status begin_await(lua_State* L, const Make& make, int (*pusher)(lua_State*, T&)) noexcept {
  static_assert(std::is_trivially_destructible_v<Make>);
  task* t = host::task_of(L);
  if (t == nullptr || t->thread != L || !lua_isyieldable(L)) return await_status::not_in_task;
  host* h = host::of(L);
  try {
    auto op = std::make_shared<awaitable_op<T>>();
    op->pusher = pusher;
    t->pending = op;
    asio::co_spawn(h->executor_, drive_op<T>(make(), op),
                   asio::bind_cancellation_slot(
                       t->cancel.slot(),
                       [hp = h->shared_from_this(), tp = t->shared_from_this()](std::exception_ptr) {
                         if (!hp->closed() && !tp->done) hp->resume(tp);
                       }));
    return await_status::started;
  } catch (...) {
    t->pending.reset();
    return await_status::failed;
  }
}

// Continuation that delivers the awaited op's results.
int await_continuation(lua_State* L, int status, lua_KContext ctx);
inline int yield_for_op(lua_State* L) { return lua_yieldk(L, 0, 0, &await_continuation); }
// Raises the Lua error matching a failed begin_await.
int raise_await_failure(lua_State* L, await_status st, const char* what);

}  // namespace tern::scripting::detail
