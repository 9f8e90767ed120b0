package io.loadstar.core;

/*
 * Design notes: an endpoint let back in (or added to a running balancer) ramps its weight from
 * slowStartFloorPercent to 100% over the slow-start window. Strategies that ramp see weights x100
 * while slow start is on, so a ramp moves in 1% steps; the build writes each endpoint's factor and
 * the weight strategies see, and ends a ramp whose window is over.
 */
/** Slow start: each endpoint's weight as a ramp gives it now. Control loop only. */
final class SlowStart {

  private final long windowNanos;
  private final int floorPercent;
  private final int weightScale;

  SlowStart(long windowNanos, int floorPercent, int weightScale) {
    this.windowNanos = windowNanos;
    this.floorPercent = floorPercent;
    this.weightScale = weightScale;
  }

  /** Returns the slow-start factor of {@code s} now, ending its ramp when the window is over. */
  double rampFactor(EndpointState s, long now) {
    if (s.routing.rampStartNanos == Long.MIN_VALUE || weightScale == 1) {
      return 1;
    }
    long elapsed = now - s.routing.rampStartNanos;
    if (elapsed >= windowNanos) {
      s.routing.rampStartNanos = Long.MIN_VALUE;
      return 1;
    }
    return Math.max(floorPercent / 100.0, (double) elapsed / windowNanos);
  }

  /** The weight strategies see for base weight {@code base} at ramp {@code factor}. */
  int effectiveWeight(int base, double factor) {
    return weightScale == 1 ? base : (int) Math.max(1, Math.round(base * weightScale * factor));
  }
}
