// The training operators' sections of summary.json: jobSets, trainJobs, pyTorchJobs,
// rayClusters, rayJobs and rayServices, each present only when the run has such objects.
#pragma once

#include "report/summary.h"
#include "sim/simulation.h"

namespace gputwin::report {

void AddTrainingSections(Json* summary, const sim::Simulation& sim);

}  // namespace gputwin::report
