package io.loadstar.core;

import org.jspecify.annotations.Nullable;

/**
 * The control loop's bookkeeping for one endpoint. Fields are written only by the control loop; the
 * volatile ones are also read by snapshot() on other threads.
 */
final class EndpointControl {
  volatile boolean healthy = true;
  volatile String healthReason = "";

  /** Excluded until its first probe passes (initiallyHealthy off); not a panic candidate. */
  volatile boolean awaitingFirstCheck;

  /** The slow-start factor in effect (1 when not ramping). */
  volatile double rampFactor = 1;

  volatile boolean draining;
  volatile int weightOverride = -1;

  HealthCheckService.@Nullable Watch watch;

  /** When the current slow-start ramp began, or Long.MIN_VALUE when not ramping. */
  long rampStartNanos = Long.MIN_VALUE;

  /**
   * For sticky affinity: when the endpoint last became usable after not being usable, or
   * Long.MIN_VALUE if it has been usable since it was listed (or never was). Snapshot builds only.
   */
  long usableSinceNanos = Long.MIN_VALUE;

  /** Whether it was usable at the last snapshot build. */
  boolean wasUsable = true;
}
