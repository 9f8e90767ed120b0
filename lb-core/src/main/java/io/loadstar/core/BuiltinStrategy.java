package io.loadstar.core;

import io.loadstar.api.SelectionContext;
import io.loadstar.api.SelectionStrategy;
import org.jspecify.annotations.Nullable;

/**
 * A strategy shipped with lb-core; tells the balancer which per-endpoint tracking it needs, so that
 * balancers pay only for what their strategy reads. Immutable.
 */
abstract class BuiltinStrategy implements SelectionStrategy {

  /** True if pickers read the balancer-wide in-flight total (bounded load). */
  boolean tracksTotalInFlight() {
    return false;
  }

  /** True if pickers honour slow start (weights may ramp without moving keys). */
  boolean ramps() {
    return true;
  }

  /** True if pickers read in-flight counts, which then must be single exact counters. */
  boolean readsInFlight() {
    return tracksTotalInFlight();
  }

  /** The latency tracking settings, or null if pickers do not read latency. */
  @Nullable PeakEwmaSettings latencyTracking() {
    return null;
  }

  static BalancerContext core(SelectionContext context) {
    if (!(context instanceof BalancerContext)) {
      throw new IllegalArgumentException(
          "context: " + context + " (expected: the context of an lb-core balancer)");
    }
    return (BalancerContext) context;
  }

  /** Peak-EWMA parameters, in nanoseconds. */
  static final class PeakEwmaSettings {
    final long decayNanos;
    final long defaultRttNanos;
    final long failurePenaltyNanos;

    PeakEwmaSettings(long decayNanos, long defaultRttNanos, long failurePenaltyNanos) {
      this.decayNanos = decayNanos;
      this.defaultRttNanos = defaultRttNanos;
      this.failurePenaltyNanos = failurePenaltyNanos;
    }
  }
}
