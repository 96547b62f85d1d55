#pragma once

#include <string>
#include <vector>

namespace outrigger::cli {

// The `outrigger` command: `outrigger run ... -- COMMAND`, `outrigger version`, `--help`.
int run(int argc, char** argv);

struct RunOptions {
  std::string app_id;
  int app_port = 0;
  int dapr_http_port = 0;  // 0: 3500 when free, else any free port
  std::vector<std::string> resources_paths;
  std::vector<std::string> config;
  std::string log_level = "info";
  std::vector<std::string> command;
  std::vector<std::string> sidecar_args;  // further flags passed to outriggerd as they are
};

// Parses the arguments after "run"; an error message in *error on failure.
bool parseRunOptions(const std::vector<std::string>& args, RunOptions* out, std::string* error);

// Writes the embedded default components (SQLite state, in-memory pub/sub) into dir, keeping
// files that are already there. Returns dir.
std::string writeDefaultComponents(const std::string& dir, const std::string& data_dir);

}  // namespace outrigger::cli
