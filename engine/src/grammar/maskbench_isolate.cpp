// Running MaskBench files in a worker process, so that a schema that crashes
// or hangs the checker is counted instead of ending the run (POSIX fork).
//
// Protocol over a socket pair (send with MSG_NOSIGNAL, so a dead worker is an
// error here, not SIGPIPE): the parent sends one frame per file, the path;
// the worker answers with one frame, the encoded schema_result. A frame is a
// u64 byte count and the bytes. End of stream asks the worker to exit.
#include <tern/engine/maskbench.hpp>

#include <fmt/format.h>

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>

namespace tern::engine::maskbench {
namespace {

template <class T>
void put(std::string& out, const T& v) {
  out.append(reinterpret_cast<const char*>(&v), sizeof v);
}
void put_str(std::string& out, const std::string& s) {
  put(out, uint64_t(s.size()));
  out += s;
}

struct reader {
  std::string_view d;
  size_t pos = 0;
  template <class T>
  bool get(T& v) {
    if (d.size() - pos < sizeof v) return false;
    std::memcpy(&v, d.data() + pos, sizeof v);
    pos += sizeof v;
    return true;
  }
  bool get_str(std::string& s) {
    uint64_t n;
    if (!get(n) || n > d.size() - pos) return false;
    s.assign(d.data() + pos, n);
    pos += n;
    return true;
  }
};

std::string encode(const schema_result& r) {
  std::string out;
  put(out, uint8_t(r.result));
  put(out, uint64_t(r.n_tests));
  put(out, uint64_t(r.n_invalid_accepted));
  put(out, uint64_t(r.n_valid_rejected));
  put(out, r.first_mask_ns);
  put_str(out, r.detail);
  put_str(out, r.refused_keyword);
  put(out, uint64_t(r.mask_ns.size()));
  if (!r.mask_ns.empty()) out.append(reinterpret_cast<const char*>(r.mask_ns.data()), r.mask_ns.size() * sizeof(uint32_t));
  return out;
}

bool decode(std::string_view d, schema_result& r) {
  reader rd{d};
  uint8_t o;
  uint64_t a, b, c, n;
  if (!rd.get(o) || o > uint8_t(outcome::timeout) || !rd.get(a) || !rd.get(b) || !rd.get(c) || !rd.get(r.first_mask_ns))
    return false;
  r.result = outcome(o);
  r.n_tests = a, r.n_invalid_accepted = b, r.n_valid_rejected = c;
  if (!rd.get_str(r.detail) || !rd.get_str(r.refused_keyword) || !rd.get(n)) return false;
  if (n > (d.size() - rd.pos) / 4) return false;
  r.mask_ns.resize(n);
  if (n > 0) std::memcpy(r.mask_ns.data(), d.data() + rd.pos, n * 4);  // data() may be null when empty
  return true;
}


bool send_all(int fd, const char* p, size_t n) {
  while (n > 0) {
    ssize_t w = send(fd, p, n, MSG_NOSIGNAL);
    if (w < 0 && errno == EINTR) continue;
    if (w <= 0) return false;
    p += w;
    n -= size_t(w);
  }
  return true;
}

bool send_frame(int fd, const std::string& bytes) {
  uint64_t n = bytes.size();
  return send_all(fd, reinterpret_cast<const char*>(&n), sizeof n) && send_all(fd, bytes.data(), bytes.size());
}

// Blocking read of exactly n bytes (the worker's side). False at end of stream.
bool recv_all(int fd, char* p, size_t n) {
  while (n > 0) {
    ssize_t got = recv(fd, p, n, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return false;
    p += got;
    n -= size_t(got);
  }
  return true;
}

[[noreturn]] void worker_loop(int fd, const isolated_runner::check_fn& check) {
  for (;;) {
    uint64_t n = 0;
    if (!recv_all(fd, reinterpret_cast<char*>(&n), sizeof n) || n > (1u << 20)) _exit(0);
    std::string path(n, '\0');
    if (!recv_all(fd, path.data(), n)) _exit(0);
    int64_t limit_ms = 0;
    if (!recv_all(fd, reinterpret_cast<char*>(&limit_ms), sizeof limit_ms)) _exit(0);
    auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(limit_ms);
    auto res = check(std::filesystem::path(path), deadline);
    schema_result out;
    if (res) {
      out = std::move(res).value();
    } else {
      out.result = outcome::failed;
      out.detail = res.error().describe();
    }
    if (!send_frame(fd, encode(out))) _exit(0);
  }
}

enum class wait_result { ok, timed_out, closed };

// The worker checks its own deadline between masks; one mask or one compile
// may overrun it, so the parent waits a little longer before killing.
std::chrono::milliseconds grace(std::chrono::milliseconds limit) {
  return std::min<std::chrono::milliseconds>(limit, std::chrono::seconds(2));
}

// Reads one answer frame before the deadline (the parent's side).
wait_result recv_frame(int fd, std::string& out, std::chrono::steady_clock::time_point deadline) {
  std::string data;
  char buf[65536];
  for (;;) {
    if (data.size() >= 8) {
      uint64_t n;
      std::memcpy(&n, data.data(), 8);
      if (data.size() - 8 >= n) {
        out.assign(data, 8, size_t(n));
        return wait_result::ok;
      }
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) return wait_result::timed_out;
    pollfd p{fd, POLLIN, 0};
    int n = poll(&p, 1, int(std::min<int64_t>(left.count(), 1 << 30)));
    if (n < 0 && errno == EINTR) continue;
    if (n == 0) return wait_result::timed_out;
    if (n < 0) return wait_result::closed;
    ssize_t got = recv(fd, buf, sizeof buf, 0);
    if (got < 0 && errno == EINTR) continue;
    if (got <= 0) return wait_result::closed;
    data.append(buf, size_t(got));
  }
}

}  // namespace

isolated_runner::isolated_runner(check_fn check, bool fresh_each) : check_(std::move(check)), fresh_each_(fresh_each) {}

isolated_runner::~isolated_runner() { stop_worker(false); }

bool isolated_runner::start_worker() {
  int fds[2];
  if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, fds) != 0) return false;
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    return false;
  }
  if (pid == 0) {
    close(fds[0]);
    worker_loop(fds[1], check_);
  }
  close(fds[1]);
  fd_ = fds[0];
  pid_ = int(pid);
  ++started_;
  return true;
}

void isolated_runner::stop_worker(bool kill_it) {
  if (pid_ < 0) return;
  if (kill_it) kill(pid_t(pid_), SIGKILL);
  close(fd_);  // end of stream: a live worker exits
  int status = 0;
  while (waitpid(pid_t(pid_), &status, 0) < 0 && errno == EINTR) {
  }
  fd_ = -1;
  pid_ = -1;
}

schema_result isolated_runner::run(const std::filesystem::path& file, std::chrono::milliseconds limit) {
  schema_result r;
  r.file = file.filename().string();
  if (pid_ < 0 && !start_worker()) {
    r.result = outcome::crashed;
    r.detail = fmt::format("cannot start a checker process: {}", std::strerror(errno));
    return r;
  }
  std::string request;
  put_str(request, file.string());
  put(request, int64_t(limit.count()));
  std::string answer;
  wait_result w = send_all(fd_, request.data(), request.size())
                      ? recv_frame(fd_, answer, std::chrono::steady_clock::now() + limit + grace(limit))
                      : wait_result::closed;
  if (w == wait_result::ok && decode(answer, r)) {
    if (fresh_each_) stop_worker(false);
    return r;
  }
  // The worker is gone or stuck: find out which, and start a new one next time.
  if (w == wait_result::timed_out) {
    stop_worker(true);
    r.result = outcome::timeout;
    r.detail = fmt::format("no answer within {} ms", limit.count());
    return r;
  }
  // A closed socket means the worker died; give it a moment to be reaped
  // before making sure of it (a garbled answer ends a live worker at once).
  int status = 0;
  bool reaped = false;
  for (int i = 0; w == wait_result::closed && i < 100 && !reaped; ++i) {
    pid_t got = waitpid(pid_t(pid_), &status, WNOHANG);
    reaped = got == pid_t(pid_);
    if (!reaped) usleep(10'000);
  }
  if (!reaped) {
    kill(pid_t(pid_), SIGKILL);
    while (waitpid(pid_t(pid_), &status, 0) < 0 && errno == EINTR) {
    }
  }
  close(fd_);
  bool signalled = reaped && WIFSIGNALED(status);
  fd_ = -1;
  pid_ = -1;
  r.result = outcome::crashed;
  r.detail = signalled ? fmt::format("checker died with signal {}", WTERMSIG(status))
                       : w == wait_result::ok ? "checker sent a malformed result" : "checker exited without a result";
  return r;
}

isolated_runner::check_fn file_checker(std::shared_ptr<const token_vocabulary> vocab) {
  return [vocab = std::move(vocab)](const std::filesystem::path& f, std::chrono::steady_clock::time_point deadline) {
    return run_file(f, vocab, deadline);
  };
}

}  // namespace tern::engine::maskbench
