#pragma once

namespace outrigger::operator_ {

// outrigger-operator: watches Components and workloads, serves sidecars, reconciles Services.
int run(int argc, char** argv);

}  // namespace outrigger::operator_
