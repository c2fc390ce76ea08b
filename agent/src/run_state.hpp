// The state of one run: what a checkpoint holds (serialised by to_json /
// state_from_json in records.cpp) and what the loop in agent.cpp mutates.
#pragma once

#include <tern/agent/agent.hpp>

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace tern::agent {

struct agent::run_state {
  std::string run_id;
  std::string task;
  int step = 0;                         // model turns completed
  std::vector<message> messages;        // system, user, assistant, tool ...
  std::vector<step_record> steps;
  std::vector<tool_call_record> calls;
  model_usage usage;
  std::map<std::string, int, std::less<>> per_tool;  // calls per tool name
  std::optional<tern::agent::plan> plan;
  int replans = 0;
  double prior_wall_ms = 0;             // wall time of earlier attempts (before a resume)
  double model_ms = 0;
  double tool_ms = 0;
  bool resumed = false;
};

boost::json::object state_to_json(const agent::run_state& st);
result<agent::run_state> state_from_json(const boost::json::value& v);

}  // namespace tern::agent
