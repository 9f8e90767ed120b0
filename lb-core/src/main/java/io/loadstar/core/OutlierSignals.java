package io.loadstar.core;

/**
 * What an endpoint's call outcomes tell outlier detection: only the threshold crossings and trial
 * outcomes, from the hot path (any thread); the balancer hands them to its control loop.
 */
interface OutlierSignals {
  /** The consecutive failures reached the threshold, or another multiple of it. */
  void consecutiveFailures(EndpointState state);

  /** A success ended a run of failures at least as long as the threshold. */
  void failureRunEnded(EndpointState state);

  /** A trial call after an ejection ended, passing or failing. */
  void trialOutcome(EndpointState state, boolean success);
}
