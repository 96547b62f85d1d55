#include "cli/cli.h"

int main(int argc, char** argv) { return outrigger::cli::run(argc, argv); }
