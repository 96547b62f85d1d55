#include "operator/app.h"

int main(int argc, char** argv) { return outrigger::operator_::run(argc, argv); }
