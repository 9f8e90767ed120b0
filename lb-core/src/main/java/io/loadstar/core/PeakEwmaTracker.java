package io.loadstar.core;

import io.loadstar.api.Ticker;
import java.util.concurrent.atomic.AtomicLong;

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
 */
/** Peak-sensitive, time-decaying latency estimate of one endpoint. Thread-safe, lock-free. */
final class PeakEwmaTracker {

  private final Ticker ticker;
  private final long origin;
  private final double tauNanos;
  private final double failurePenaltyNanos;
  private final AtomicLong keyBits = new AtomicLong();
  private volatile long stamp;

  PeakEwmaTracker(Ticker ticker, long origin, long tauNanos, long seedNanos, long penaltyNanos) {
    this.ticker = ticker;
    this.origin = origin;
    this.tauNanos = tauNanos;
    this.failurePenaltyNanos = penaltyNanos;
    long now = ticker.nanoTime();
    this.stamp = now;
    keyBits.set(Double.doubleToRawLongBits(Math.log(Math.max(seedNanos, 1)) + elapsedTaus(now)));
  }

  /** Returns k: the log of the estimate plus the decay time, comparable across endpoints. */
  double key() {
    return Double.longBitsToDouble(keyBits.get());
  }

  /** Returns the current estimate in nanoseconds. */
  double estimateNanos() {
    return Math.exp(key() - elapsedTaus(ticker.nanoTime()));
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
    double w = Math.exp(-Math.max(now - stamp, 0) / tauNanos);
    while (true) {
      long bits = keyBits.get();
      double current = Math.exp(Double.longBitsToDouble(bits) - t);
      double next = rtt >= current ? rtt : current * w + rtt * (1 - w);
      if (keyBits.compareAndSet(bits, Double.doubleToRawLongBits(Math.log(next) + t))) {
        break;
      }
    }
    stamp = now;
  }

  private double elapsedTaus(long now) {
    return (now - origin) / tauNanos;
  }
}
