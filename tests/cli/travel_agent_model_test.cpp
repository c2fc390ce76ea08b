// tern-travel-agent --model FILE.gguf: the travel run driven by local_model.
// A random-weight model books nothing useful; the run must still go through
// the real loop and say plainly what happened.
#include "fixtures.hpp"
#include "process.hpp"

#include <catch2/catch.hpp>

#include <string>

#ifdef TERN_TRAVEL_AGENT_PATH

TEST_CASE("cli: tern-travel-agent --model runs the booking loop on a local model and reports honestly") {
  TERN_NEED_FIXTURE(model, "models/llama-2-tiny-random.gguf");
  TERN_NEED_FIXTURE(tmpl, "chat-templates/Qwen-Qwen2.5-7B-Instruct.jinja");
  const auto r = tern::test::run_command(std::string("'") + TERN_TRAVEL_AGENT_PATH + "' --model '" + model.string() +
                                         "' --chat-template '" + tmpl.string() +
                                         "' --threads 1 --max-tokens 48 2>&1");
  INFO(r.output);
  CHECK(r.output.find("Model: LOCAL (local:llama-2-tiny-random.gguf") != std::string::npos);
  CHECK(r.output.find("Model: SCRIPTED") == std::string::npos);
  CHECK(r.output.find("Totals: stop reason") != std::string::npos);
  CHECK(r.output.find("token counts from its tokenizer") != std::string::npos);
  // A random model does not complete the booking, and the exit status says so.
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("did not complete the booking") != std::string::npos);
}

TEST_CASE("cli: tern-travel-agent --model on a file without a chat template says what to pass") {
  TERN_NEED_FIXTURE(model, "models/stories260K.gguf");
  const auto r = tern::test::run_command(std::string("'") + TERN_TRAVEL_AGENT_PATH + "' --model '" + model.string() +
                                         "' 2>&1");
  CHECK(r.exit_code == 1);
  CHECK(r.output.find("cannot open the model") != std::string::npos);
  CHECK(r.output.find("chat_template") != std::string::npos);
}

#endif
