package io.loadstar.core;

import io.loadstar.api.Ticker;

/*
 * Design notes: Finagle's peak EWMA (a latency estimate that jumps up to any higher sample and
 * otherwise decays exponentially with time constant tau), stored so that picks need no clock.
 *
 * The estimate at time t is c(t) = exp(k - t/tau), where k = ln(c(s)) + s/tau was fixed at the
 * last sample time s. Comparing two endpoints' costs c_a(t)*(in_a+1)/w_a and c_b(t)*(in_b+1)/w_b
 * at the same t, the common factor exp(-t/tau) cancels: it is enough to compare
 * k_a + ln(in_a+1) - ln(w_a) with k_b + ln(in_b+1) - ln(w_b). So the picker reads one double per
 * candidate and never calls the ticker; only recording an outcome does (exp and log, ~40 ns).
 *
 * Updates are a CAS loop on the bits of k, so concurrent outcomes are neither lost nor locked;
 * the stamp of the last sample (used for the blend weight) is a separate volatile, and a race
 * there only changes one blend weight slightly. t is measured from the tracker's origin so that k
 * stays small enough for full double precision.
 *
 * The two hot fields live in the endpoint's PaddedCounter, on the cache line that also holds its
 * in-flight count: a pick compares two candidates by reading one line each, and an outcome
 * writes one line. The blend weight exp(-td/tau) uses its Taylor series when td is under 1% of
 * tau (a busy endpoint), to within 1e-7, saving one exp per outcome.
 */
/** Peak-sensitive, time-decaying latency estimate of one endpoint. Thread-safe, lock-free. */
final class PeakEwmaTracker {

  private final PaddedCounter cell;
  private final Ticker ticker;
  private final long origin;
  private final double tauNanos;
  private final double failurePenaltyNanos;

  PeakEwmaTracker(
      PaddedCounter cell,
      Ticker ticker,
      long origin,
      long tauNanos,
      long seedNanos,
      long penaltyNanos) {
    this.cell = cell;
    this.ticker = ticker;
    this.origin = origin;
    this.tauNanos = tauNanos;
    this.failurePenaltyNanos = penaltyNanos;
    long now = ticker.nanoTime();
    cell.ewmaStamp = now;
    cell.ewmaKeyBits =
        Double.doubleToRawLongBits(Math.log(Math.max(seedNanos, 1)) + elapsedTaus(now));
  }

  /** Returns k: the log of the estimate plus the decay time, comparable across endpoints. */
  double key() {
    return Double.longBitsToDouble(cell.ewmaKeyBits);
  }

  void observe(long rttNanos) {
    update(Math.max(rttNanos, 1));
  }

  void observeFailure(long rttNanos) {
    update(Math.max(rttNanos, failurePenaltyNanos));
  }

  private void update(double rtt) {
    long now = ticker.nanoTime();
    double t = elapsedTaus(now);
    double x = -Math.max(now - cell.ewmaStamp, 0) / tauNanos;
    double w = x > -0.01 ? 1 + x + x * x / 2 : Math.exp(x);
    while (true) {
      long bits = cell.ewmaKeyBits;
      double current = Math.exp(Double.longBitsToDouble(bits) - t);
      double next = rtt >= current ? rtt : current * w + rtt * (1 - w);
      if (cell.casEwmaKeyBits(bits, Double.doubleToRawLongBits(Math.log(next) + t))) {
        break;
      }
    }
    cell.ewmaStamp = now;
  }

  private double elapsedTaus(long now) {
    return (now - origin) / tauNanos;
  }
}
