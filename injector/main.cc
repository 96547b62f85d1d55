#include "injector/app.h"

int main(int argc, char** argv) { return outrigger::injector::run(argc, argv); }
