package io.loadstar.core;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import java.util.Collection;
import java.util.concurrent.ScheduledExecutorService;

/**
 * What a balancer's parts (outlier detection, active health) see of it. Every method runs on the
 * balancer's control loop.
 */
interface BalancerHost {
  /** The endpoints listed now. */
  Collection<EndpointState> states();

  /** Whether {@code state} is still listed and the balancer open. */
  boolean isCurrent(EndpointState state);

  /** The scheduler for timers. */
  ScheduledExecutorService scheduler();

  /** Starts slow start for an endpoint let back in. */
  void startRamp(EndpointState state);

  /** Rebuilds and publishes the snapshot after a state changed. */
  void republish();

  /** Tells the event listener that {@code endpoint}'s state changed. */
  void stateChanged(Endpoint endpoint, EndpointSnapshot.State state, String reason);
}
