package io.loadstar.core;

import io.loadstar.api.Ticker;
import java.util.concurrent.atomic.AtomicLongArray;

/**
 * Counts calls, retries and hedges over a sliding window of ten slots and allows a retry while
 * retries (hedges included) stay within {@code max(percent x calls, floor)}, a hedge while hedges
 * also stay within their own share of the calls. Lock-free and allocation-free: each slot is one
 * long packing the slot's epoch (high 24 bits) with its count (low 40 bits), so a slot that has
 * fallen out of the window restarts at its next increment without a separate reset.
 *
 * <p>A retry is counted first and taken back if it overdrew the budget, so concurrent callers can
 * refuse each other but never overdraw it together.
 */
final class RetryBudget {

  private static final int SLOTS = 10;
  private static final int COUNT_BITS = 40;
  private static final long COUNT_MASK = (1L << COUNT_BITS) - 1;
  private static final long EPOCH_MASK = (1L << 24) - 1;

  private final Ticker ticker;
  private final long slotNanos;
  private final int percent;
  private final long floor;
  private final AtomicLongArray calls = new AtomicLongArray(SLOTS);
  private final AtomicLongArray retries = new AtomicLongArray(SLOTS);
  private final AtomicLongArray hedges = new AtomicLongArray(SLOTS);

  RetryBudget(Ticker ticker, long windowNanos, int percent, long floor) {
    this.ticker = ticker;
    this.slotNanos = Math.max(1, windowNanos / SLOTS);
    this.percent = percent;
    this.floor = floor;
  }

  /** Counts one call. */
  void recordCall() {
    add(calls, epoch(), 1);
  }

  /** Counts a retry and returns true if the budget allows it; else counts nothing. */
  boolean tryRetry() {
    long epoch = epoch();
    long allowed = allowed(epoch);
    add(retries, epoch, 1);
    if (sum(retries, epoch) <= allowed) {
      return true;
    }
    add(retries, epoch, -1);
    return false;
  }

  /**
   * Counts a hedge, as a retry and as a hedge, and returns true if both allow it: retries within
   * the budget, and hedges within {@code maxShare} of the window's calls (or the floor, if more);
   * else counts nothing.
   */
  boolean tryHedge(double maxShare) {
    long epoch = epoch();
    long allowed = allowedHedges(epoch, maxShare);
    add(hedges, epoch, 1);
    if (sum(hedges, epoch) <= allowed && tryRetry()) {
      return true;
    }
    add(hedges, epoch, -1);
    return false;
  }

  /** Returns whether a hedge would be allowed now; counts nothing. */
  boolean hasHedgeRoom(double maxShare) {
    long epoch = epoch();
    return sum(hedges, epoch) < allowedHedges(epoch, maxShare)
        && sum(retries, epoch) < allowed(epoch);
  }

  private long allowedHedges(long epoch, double maxShare) {
    return Math.max(floor, (long) (sum(calls, epoch) * maxShare));
  }

  /** Returns the hedges counted in the current window. */
  long hedges() {
    return sum(hedges, epoch());
  }

  /** Returns whether a retry would be allowed now; counts nothing. */
  boolean hasRoom() {
    long epoch = epoch();
    return sum(retries, epoch) < allowed(epoch);
  }

  /** The retries the window of {@code epoch} allows: a share of its calls, at least the floor. */
  private long allowed(long epoch) {
    return Math.max(floor, sum(calls, epoch) * percent / 100);
  }

  /** Returns the calls counted in the current window. */
  long calls() {
    return sum(calls, epoch());
  }

  /** Returns the retries counted in the current window. */
  long retries() {
    return sum(retries, epoch());
  }

  private long epoch() {
    return Math.floorDiv(ticker.nanoTime(), slotNanos);
  }

  private static void add(AtomicLongArray slots, long epoch, int delta) {
    int i = (int) Math.floorMod(epoch, SLOTS);
    long stamp = (epoch & EPOCH_MASK) << COUNT_BITS;
    for (; ; ) {
      long v = slots.get(i);
      long next;
      if ((v & ~COUNT_MASK) == stamp) {
        next = v + delta;
      } else if (delta > 0) {
        next = stamp | delta; // the slot held an older epoch: start it again
      } else {
        return; // taking back a count whose slot has moved on: nothing left to take
      }
      if (slots.compareAndSet(i, v, next)) {
        return;
      }
    }
  }

  private static long sum(AtomicLongArray slots, long epoch) {
    long total = 0;
    for (int k = 0; k < SLOTS; k++) {
      long e = epoch - k;
      long v = slots.get((int) Math.floorMod(e, SLOTS));
      if ((v >>> COUNT_BITS) == (e & EPOCH_MASK)) {
        total += v & COUNT_MASK;
      }
    }
    return total;
  }
}
