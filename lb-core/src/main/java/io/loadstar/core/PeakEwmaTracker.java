package io.loadstar.core;

import io.loadstar.api.Ticker;

/*
 * Design notes: Finagle's peak EWMA (a latency estimate that jumps up to any higher sample and
 * otherwise decays exponentially with time constant tau), stored so that picks need no clock.
 *
 * The estimate at time t is c(t) = 2^(k - t/(tau ln 2)), where k = log2(c(s)) + s/(tau ln 2) was
 * fixed at the last sample time s. Comparing two endpoints' costs c_a(t)*(in_a+1)/w_a and
 * c_b(t)*(in_b+1)/w_b at the same t, the common factor cancels: it is enough to compare
 * k_a + log2(in_a+1) - log2(w_a) with k_b + log2(in_b+1) - log2(w_b). So the picker reads one
 * double per candidate and never calls the clock.
 *
 * Recording a sample costs no Math.exp, no Math.log and no System.nanoTime() (together ~70 ns
 * here): the time comes from CoarseClock (at most ~1 ms behind) when the balancer runs on the
 * system ticker, and log2/exp2 from FastMath (error under 1.6e-7 in log2 units, monotonic; tested
 * against the exact formula). With a coarse clock, samples that arrive within one tick of the last
 * stored one have zero weight unless they are peaks: the exact weight of a sample is about
 * (its distance from the previous one)/tau, which a tick of 1 ms against tau of seconds makes
 * negligible; per tick, the first later sample carries the whole tick's weight instead of all
 * samples sharing it, which leaves the expected estimate unchanged. Such a sample writes nothing
 * (read before write), so at high call rates an endpoint's estimate is written about once per
 * millisecond, plus on peaks, rather than on every call; and it costs no exp2 either, being
 * compared with the estimate's value as of the last stored sample (ewmaValue), which within the
 * same tick is the estimate. (That value is written just after the key: a sample racing a write
 * may compare with the value before it, which at worst skips, within that tick, a peak the write
 * already raised the estimate close to.)
 *
 * Updates are a CAS loop on the bits of k, so concurrent outcomes are neither lost nor locked; the
 * stamp of the last sample (used for the blend weight) is a separate volatile, and a race there
 * only changes one blend weight slightly. t is measured from the tracker's origin so that k stays
 * small enough for full double precision.
 *
 * The two hot fields live in the endpoint's PaddedCounter, on the cache line that also holds its
 * in-flight count: a pick compares two candidates by reading one line each, and an outcome
 * writes one line.
 */
/** Peak-sensitive, time-decaying latency estimate of one endpoint. Thread-safe, lock-free. */
final class PeakEwmaTracker {

  private static final double LN2 = Math.log(2);

  private final PaddedCounter cell;
  private final Ticker clock;
  private final long origin;
  private final double perTauLn2; // 1 / (tau ln 2): nanoseconds to log2 units of decay
  private final double failurePenaltyNanos;

  PeakEwmaTracker(
      PaddedCounter cell,
      Ticker ticker,
      long origin,
      long tauNanos,
      long seedNanos,
      long penaltyNanos) {
    this.cell = cell;
    // The system clock costs more than the rest of a sample: read the coarse one instead.
    this.clock = ticker == Ticker.system() ? CoarseClock.get() : ticker;
    this.origin = origin;
    this.perTauLn2 = 1 / (tauNanos * LN2);
    this.failurePenaltyNanos = penaltyNanos;
    long now = clock.nanoTime();
    cell.ewmaStamp = now;
    cell.ewmaKeyBits =
        Double.doubleToRawLongBits(FastMath.log2(Math.max(seedNanos, 1)) + elapsed(now));
    cell.ewmaValue = Math.max(seedNanos, 1);
  }

  /** Returns k: log2 of the estimate plus the decay time, comparable across endpoints. */
  double key() {
    return Double.longBitsToDouble(cell.ewmaKeyBits);
  }

  /** Returns the estimate now, in nanoseconds; for tests and diagnostics. */
  double estimateNanos() {
    return FastMath.exp2(key() - elapsed(clock.nanoTime()));
  }

  void observe(long rttNanos) {
    update(Math.max(rttNanos, 1));
  }

  /**
   * A call given up after {@code elapsedNanos} without an answer (another attempt of it answered
   * first): its latency is at least that, so a lower estimate rises to it as to a peak; a higher
   * one learns nothing.
   */
  void observeAtLeast(long elapsedNanos) {
    if (elapsedNanos > estimateNanos()) {
      update(elapsedNanos);
    }
  }

  void observeFailure(long rttNanos) {
    update(Math.max(rttNanos, failurePenaltyNanos));
  }

  private void update(double rtt) {
    long now = clock.nanoTime();
    long sinceLast = now - cell.ewmaStamp;
    if (sinceLast <= 0 && rtt < cell.ewmaValue) {
      return; // the common case at high call rates: no time has passed and no peak
    }
    double t = elapsed(now);
    while (true) {
      long bits = cell.ewmaKeyBits;
      double current = FastMath.exp2(Double.longBitsToDouble(bits) - t);
      double next;
      if (rtt >= current) {
        next = rtt; // a peak: taken at once
      } else if (sinceLast <= 0) {
        return; // no time since the last sample: no weight, nothing to write
      } else {
        double w = FastMath.exp2(-sinceLast * perTauLn2);
        next = current * w + rtt * (1 - w);
      }
      if (cell.casEwmaKeyBits(bits, Double.doubleToRawLongBits(FastMath.log2(next) + t))) {
        cell.ewmaValue = next;
        break;
      }
    }
    if (sinceLast > 0) {
      cell.ewmaStamp = now;
    }
  }

  private double elapsed(long now) {
    return (now - origin) * perTauLn2;
  }
}
