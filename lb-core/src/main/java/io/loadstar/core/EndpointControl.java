package io.loadstar.core;

import org.jspecify.annotations.Nullable;

/*
 * Design notes: the control loop's bookkeeping for one endpoint, in three parts, each written by
 * one class, so that who may change what is visible in the type: active health's marks, the
 * operator's (drain, weight override), and the routing build's (slow start's ramp, sticky keys'
 * return). All are written on the control loop; the volatile fields are also read by snapshot()
 * and explain() on other threads. None is read by a pick: picks read the published snapshot.
 */
/** The control loop's bookkeeping for one endpoint, by writer. Not instantiable. */
final class EndpointControl {

  private EndpointControl() {}

  /** Written by {@link ActiveHealth} only. */
  static final class Health {
    volatile boolean healthy = true;
    volatile String healthReason = "";

    /** Excluded until its first probe passes (initiallyHealthy off); not a panic candidate. */
    volatile boolean awaitingFirstCheck;

    HealthCheckService.@Nullable Watch watch;
  }

  /** Written by {@link BalancerControl} only: what an operator asked for. */
  static final class Operator {
    volatile boolean draining;
    volatile int weightOverride = -1;
  }

  /**
   * Written by the snapshot build ({@link SnapshotBuilder}), but for {@link #rampStartNanos}, which
   * the balancer sets when an endpoint joins or returns and a ramp starts.
   */
  static final class Routing {
    /** The slow-start factor in effect (1 when not ramping). */
    volatile double rampFactor = 1;

    /** When the current slow-start ramp began, or Long.MIN_VALUE when not ramping. */
    long rampStartNanos = Long.MIN_VALUE;

    /**
     * For sticky affinity: when the endpoint last became usable after not being usable, or
     * Long.MIN_VALUE if it has been usable since it was listed (or never was).
     */
    long usableSinceNanos = Long.MIN_VALUE;

    /** Whether it was usable at the last snapshot build. */
    boolean wasUsable = true;
  }
}
