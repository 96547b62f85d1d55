#pragma once

namespace outrigger::injector {

// Parses the flags, serves the webhook until SIGINT/SIGTERM; the process exit code.
int run(int argc, char** argv);

}  // namespace outrigger::injector
