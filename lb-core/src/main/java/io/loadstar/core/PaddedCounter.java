package io.loadstar.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/*
 * Design notes: an int counter alone on its cache line (and the adjacent-line prefetch pair), by
 * class-hierarchy padding: HotSpot lays out superclass fields first, so the value sits between
 * two 64-byte runs of longs whatever the field-ordering rules. Without it, a counter written on
 * every call shares a line with neighbouring read-mostly objects (endpoint states, pick results),
 * and every write would evict them from the other cores' caches.
 *
 * One long holds two counts: calls in flight in the low 24 bits (up to 16,777,215, above the
 * largest in-flight limit) and calls completed in the high 40 bits (10^12 calls: 30 years at 1,000
 * calls per second). A release moves one call from in flight to completed with a single atomic
 * add of 2^24 - 1, so counting completions costs nothing extra on the hot path.
 */
abstract class PaddedCounterLeft {
  long p01, p02, p03, p04, p05, p06, p07, p08;
  long p09, p10, p11, p12, p13, p14, p15, p16;
}

abstract class PaddedCounterValue extends PaddedCounterLeft {
  volatile long value;
  // Peak-EWMA state of the same endpoint (see PeakEwmaTracker): written by the same calls and
  // read by the same picks as the counts, so it shares their cache line.
  volatile long ewmaKeyBits;
  volatile long ewmaStamp;
  // The estimate's value in nanoseconds as of ewmaStamp (written after ewmaKeyBits): within the
  // stamp's clock tick it is the estimate, so a sample that is no peak needs no exp.
  volatile double ewmaValue;
}

/** An in-flight and completed-calls counter on its own cache line. Thread-safe, lock-free. */
final class PaddedCounter extends PaddedCounterValue {
  long q01, q02, q03, q04, q05, q06, q07, q08;
  long q09, q10, q11, q12, q13, q14, q15, q16;

  private static final VarHandle VALUE;
  private static final VarHandle EWMA_KEY_BITS;
  private static final long IN_FLIGHT_MASK = (1L << 24) - 1;
  private static final long RELEASE = (1L << 24) - 1; // +1 completed, -1 in flight

  static {
    try {
      MethodHandles.Lookup lookup = MethodHandles.lookup();
      VALUE = lookup.findVarHandle(PaddedCounterValue.class, "value", long.class);
      EWMA_KEY_BITS = lookup.findVarHandle(PaddedCounterValue.class, "ewmaKeyBits", long.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  /** Returns the calls in flight. */
  int get() {
    return (int) (value & IN_FLIGHT_MASK);
  }

  boolean casEwmaKeyBits(long expected, long updated) {
    return EWMA_KEY_BITS.compareAndSet(this, expected, updated);
  }

  /** Returns the calls completed (released) so far. */
  long completed() {
    return value >>> 24;
  }

  void increment() {
    VALUE.getAndAdd(this, 1L);
  }

  /** Moves one call from in flight to completed; returns the calls completed before it. */
  long release() {
    return (long) VALUE.getAndAdd(this, RELEASE) >>> 24;
  }

  /** Increments in-flight unless it is already at least {@code limit}; returns false then. */
  boolean incrementIfBelow(int limit) {
    long current;
    do {
      current = value;
      if ((current & IN_FLIGHT_MASK) >= limit) {
        return false;
      }
    } while (!VALUE.weakCompareAndSet(this, current, current + 1));
    return true;
  }
}
