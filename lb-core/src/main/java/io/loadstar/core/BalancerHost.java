package io.loadstar.core;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.Ticker;
import io.loadstar.core.internal.SerialExecutor;
import java.util.Collection;
import java.util.concurrent.ScheduledExecutorService;

/**
 * What a balancer's parts (outlier detection, active health, the canary driver) see of it: the one
 * seam they are built on, so each can be tested with a fake host and no balancer. Every method but
 * the accessors runs on the balancer's control loop.
 */
interface BalancerHost {
  /** The service name, for logs. */
  String name();

  /** The balancer's clock. */
  Ticker ticker();

  /** The balancer's control loop, which the parts queue their work on. */
  SerialExecutor controlLoop();

  /** What the balancer logs and tells its listeners. */
  ServiceEvents events();

  /** The endpoints listed now. */
  Collection<EndpointState> states();

  /** Whether {@code state} is still listed and the balancer open. */
  boolean isCurrent(EndpointState state);

  /** The scheduler for timers. */
  ScheduledExecutorService scheduler();

  /** Starts slow start for an endpoint let back in. */
  void startRamp(EndpointState state);

  /**
   * Asks for the snapshot to be rebuilt and published after a state changed: once, after the
   * current task, however many changes ask.
   */
  void republish();

  /** As {@link #republish()}, then runs {@code then} once the new snapshot is published. */
  void republishThen(Runnable then);

  /** Tells the event listener that {@code endpoint}'s state changed. */
  void stateChanged(Endpoint endpoint, EndpointSnapshot.State state, String reason);
}
