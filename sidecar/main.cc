#include "sidecar/app.h"

int main(int argc, char** argv) { return outrigger::sidecar::run(argc, argv); }
