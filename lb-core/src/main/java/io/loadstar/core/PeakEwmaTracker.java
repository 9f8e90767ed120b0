package io.loadstar.core;

import io.loadstar.api.Ticker;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

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
 * The two hot fields share one cache line of their own (class-hierarchy padding): they are written
 * by every outcome and read by picks on other cores, and must not drag neighbouring objects'
 * lines along. The blend weight exp(-td/tau) uses its Taylor series when td is under 1% of tau
 * (a busy endpoint), to within 1e-7, saving one exp per outcome.
 */
abstract class PeakEwmaLeftPad {
  long p01, p02, p03, p04, p05, p06, p07, p08;
  long p09, p10, p11, p12, p13, p14, p15, p16;
}

abstract class PeakEwmaFields extends PeakEwmaLeftPad {
  volatile long keyBits;
  volatile long stamp;
}

/** Peak-sensitive, time-decaying latency estimate of one endpoint. Thread-safe, lock-free. */
final class PeakEwmaTracker extends PeakEwmaFields {

  private static final VarHandle KEY_BITS;

  static {
    try {
      KEY_BITS = MethodHandles.lookup().findVarHandle(PeakEwmaFields.class, "keyBits", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  long q01, q02, q03, q04, q05, q06, q07, q08;
  long q09, q10, q11, q12, q13, q14, q15, q16;

  private final Ticker ticker;
  private final long origin;
  private final double tauNanos;
  private final double failurePenaltyNanos;

  PeakEwmaTracker(Ticker ticker, long origin, long tauNanos, long seedNanos, long penaltyNanos) {
    this.ticker = ticker;
    this.origin = origin;
    this.tauNanos = tauNanos;
    this.failurePenaltyNanos = penaltyNanos;
    long now = ticker.nanoTime();
    this.stamp = now;
    this.keyBits = Double.doubleToRawLongBits(Math.log(Math.max(seedNanos, 1)) + elapsedTaus(now));
  }

  /** Returns k: the log of the estimate plus the decay time, comparable across endpoints. */
  double key() {
    return Double.longBitsToDouble(keyBits);
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
    double x = -Math.max(now - stamp, 0) / tauNanos;
    double w = x > -0.01 ? 1 + x + x * x / 2 : Math.exp(x);
    while (true) {
      long bits = keyBits;
      double current = Math.exp(Double.longBitsToDouble(bits) - t);
      double next = rtt >= current ? rtt : current * w + rtt * (1 - w);
      if (KEY_BITS.compareAndSet(this, bits, Double.doubleToRawLongBits(Math.log(next) + t))) {
        break;
      }
    }
    stamp = now;
  }

  private double elapsedTaus(long now) {
    return (now - origin) / tauNanos;
  }
}
