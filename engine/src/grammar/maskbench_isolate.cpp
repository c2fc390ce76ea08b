// Running one MaskBench file in a child process, so that a schema that crashes
// or hangs the checker is counted instead of ending the run (POSIX fork).
#include <tern/engine/maskbench.hpp>

#include <fmt/format.h>

#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

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

}  // namespace

schema_result run_file_isolated(const std::filesystem::path& file, const std::shared_ptr<const token_vocabulary>& vocab,
                                std::chrono::milliseconds limit) {
  schema_result r;
  r.file = file.filename().string();
  int fds[2];
  if (pipe(fds) != 0) {
    r.result = outcome::crashed;
    r.detail = "pipe() failed";
    return r;
  }
  pid_t pid = fork();
  if (pid < 0) {
    close(fds[0]);
    close(fds[1]);
    r.result = outcome::crashed;
    r.detail = "fork() failed";
    return r;
  }
  if (pid == 0) {
    close(fds[0]);
    auto deadline = std::chrono::steady_clock::now() + limit;
    auto res = run_file(file, vocab, deadline);
    schema_result out;
    if (res) {
      out = std::move(res).value();
    } else {
      out.result = outcome::failed;
      out.detail = res.error().describe();
    }
    std::string bytes = encode(out);
    size_t off = 0;
    while (off < bytes.size()) {
      ssize_t w = write(fds[1], bytes.data() + off, bytes.size() - off);
      if (w <= 0) break;
      off += size_t(w);
    }
    _exit(0);
  }
  close(fds[1]);
  std::string data;
  auto deadline = std::chrono::steady_clock::now() + limit + std::chrono::seconds(2);
  bool timed_out = false;
  char buf[65536];
  for (;;) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      timed_out = true;
      break;
    }
    pollfd p{fds[0], POLLIN, 0};
    int n = poll(&p, 1, int(left.count()));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) {
      timed_out = n == 0;
      break;
    }
    ssize_t got = read(fds[0], buf, sizeof buf);
    if (got <= 0) break;
    data.append(buf, size_t(got));
  }
  close(fds[0]);
  if (timed_out) kill(pid, SIGKILL);
  int status = 0;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (timed_out) {
    r.result = outcome::timeout;
    r.detail = fmt::format("no answer within {} ms", limit.count());
    return r;
  }
  if (WIFSIGNALED(status)) {
    r.result = outcome::crashed;
    r.detail = fmt::format("checker died with signal {}", WTERMSIG(status));
    return r;
  }
  if (!decode(data, r)) {
    r.result = outcome::crashed;
    r.detail = "checker exited without a result";
  }
  return r;
}

}  // namespace tern::engine::maskbench
