#pragma once

namespace outrigger::sidecar {

// outriggerd's entry point: parse flags, load components, serve until a signal or /shutdown.
int run(int argc, char** argv);

}  // namespace outrigger::sidecar
