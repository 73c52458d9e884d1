// The serving sections of the text report: what users of each model endpoint saw, what
// it cost, how autoscaling behaved, and where a new replica's start-up time went.
#pragma once

#include <string>

#include "results/results.h"

namespace gputwin::sim {
class Simulation;
}

namespace gputwin::report {

std::string ServingText(const sim::Simulation& sim, const results::Results& res);

}  // namespace gputwin::report
