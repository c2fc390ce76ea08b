// openai_compatible_model over HTTPS: the fake server behind TLS with a
// self-signed certificate made at test time (make_test_certificate, OpenSSL),
// trusted through ca_file.
#include "openai_fake_server.hpp"
#include "temp_file.hpp"

#include <boost/asio.hpp>
#include <catch2/catch.hpp>

#include <string>

namespace {
using namespace std::chrono_literals;
using namespace tern::agent;
using namespace tern::test;

scripted_reply streamed_answer(std::string_view text) {
  return keep_alive(sse_reply({chunk_json(bj::object{{"role", "assistant"}}), chunk_json(bj::object{{"content", text}}),
                               chunk_json(bj::object{}, "stop"), "[DONE]"},
                              true));
}

}  // namespace

TEST_CASE("openai tls: the CA file's certificate is verified, streamed and not, on a reused connection") {
  const auto id = make_test_certificate({"localhost"}, {"127.0.0.1"});
  temp_file ca("openai-ca", ".pem", id.cert_pem);
  fake_server server(id);
  REQUIRE(server.base_url().starts_with("https://127.0.0.1:"));
  asio::io_context io;

  auto o = options_for(server);
  o.ca_file = ca.string();
  server.script(keep_alive(answer_reply("secure answer")));
  server.script(keep_alive(answer_reply("secure again")));
  openai_compatible_model plain_json(o);
  auto r = run_complete(io, plain_json, travel_request());
  INFO((r ? std::string() : r.error().describe()));
  REQUIRE(r);
  CHECK(r->reply.content == "secure answer");
  auto again = run_complete(io, plain_json, travel_request());
  REQUIRE(again);
  CHECK(again->reply.content == "secure again");
  CHECK(plain_json.connection_stats().n_connects == 1);  // one handshake for both
  CHECK(plain_json.connection_stats().n_reused == 1);

  o.stream = true;
  server.script(streamed_answer("streamed securely"));
  server.script(streamed_answer("and again"));
  openai_compatible_model streaming(o);
  auto s = run_complete(io, streaming, travel_request());
  INFO((s ? std::string() : s.error().describe()));
  REQUIRE(s);
  CHECK(s->reply.content == "streamed securely");
  auto s2 = run_complete(io, streaming, travel_request());
  REQUIRE(s2);
  CHECK(s2->reply.content == "and again");
  CHECK(streaming.connection_stats().n_reused == 1);
  CHECK(server.n_connections() == 2);
  CHECK(server.received().at(2).headers.at("accept") == "text/event-stream");

  // By host name: the certificate lists localhost too.
  o.base_url = fmt::format("https://localhost:{}", server.port());
  o.stream = false;
  server.script(answer_reply("by name"));
  openai_compatible_model named(o);
  auto n = run_complete(io, named, travel_request());
  INFO((n ? std::string() : n.error().describe()));
  REQUIRE(n);
  CHECK(n->reply.content == "by name");
}

TEST_CASE("openai tls: an untrusted certificate and a host-name mismatch are clear errors") {
  const auto id = make_test_certificate({"localhost"}, {"127.0.0.1"});
  fake_server server(id);
  asio::io_context io;

  // Verification on, and no CA that vouches for the certificate.
  auto o = options_for(server);
  o.max_attempts = 1;
  openai_compatible_model untrusting(o);
  auto r = run_complete(io, untrusting, travel_request());
  REQUIRE(!r);
  CHECK(r.error().code() == tern::errc::transport);
  CHECK_THAT(r.error().describe(), Catch::Contains("TLS handshake with 127.0.0.1") &&
                                       Catch::Contains("certificate verify failed"));
  CHECK(server.received().empty());  // nothing was sent

  // A trusted certificate for another name.
  const auto other = make_test_certificate({"api.example.test"}, {});
  temp_file other_ca("openai-ca2", ".pem", other.cert_pem);
  fake_server wrong_name(other);
  auto w = options_for(wrong_name);
  w.max_attempts = 1;
  w.ca_file = other_ca.string();
  openai_compatible_model mismatched(w);
  auto m = run_complete(io, mismatched, travel_request());
  REQUIRE(!m);
  CHECK(m.error().code() == tern::errc::transport);
  CHECK_THAT(m.error().describe(), Catch::Contains("certificate verify failed"));
  CHECK(wrong_name.received().empty());

  // verify_peer = false accepts it (tests only).
  w.ca_file.clear();
  w.verify_peer = false;
  wrong_name.script(answer_reply("unverified"));
  openai_compatible_model lax(w);
  auto l = run_complete(io, lax, travel_request());
  REQUIRE(l);
  CHECK(l->reply.content == "unverified");

  // A CA file that cannot be read is reported before anything is sent.
  o.ca_file = "/nonexistent/ca.pem";
  openai_compatible_model broken(o);
  auto b = run_complete(io, broken, travel_request());
  REQUIRE(!b);
  CHECK(b.error().code() == tern::errc::invalid_argument);
  CHECK_THAT(b.error().describe(), Catch::Contains("/nonexistent/ca.pem"));
}
