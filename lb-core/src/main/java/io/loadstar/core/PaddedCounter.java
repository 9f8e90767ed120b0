package io.loadstar.core;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

/*
 * Design notes: an int counter alone on its cache line (and the adjacent-line prefetch pair), by
 * class-hierarchy padding: HotSpot lays out superclass fields first, so the value sits between
 * two 64-byte runs of longs whatever the field-ordering rules. Without it, a counter written on
 * every call shares a line with neighbouring read-mostly objects (endpoint states, pick results),
 * and every write would evict them from the other cores' caches.
 */
abstract class PaddedCounterLeft {
  long p01, p02, p03, p04, p05, p06, p07, p08;
  long p09, p10, p11, p12, p13, p14, p15, p16;
}

abstract class PaddedCounterValue extends PaddedCounterLeft {
  volatile int value;
}

/** An atomic int counter on its own cache line. Thread-safe, lock-free. */
final class PaddedCounter extends PaddedCounterValue {
  long q01, q02, q03, q04, q05, q06, q07, q08;
  long q09, q10, q11, q12, q13, q14, q15, q16;

  private static final VarHandle VALUE;

  static {
    try {
      VALUE = MethodHandles.lookup().findVarHandle(PaddedCounterValue.class, "value", int.class);
    } catch (ReflectiveOperationException e) {
      throw new ExceptionInInitializerError(e);
    }
  }

  int get() {
    return value;
  }

  void increment() {
    VALUE.getAndAdd(this, 1);
  }

  void decrement() {
    VALUE.getAndAdd(this, -1);
  }

  /** Increments unless the value is already at least {@code limit}; returns false then. */
  boolean incrementIfBelow(int limit) {
    int current;
    do {
      current = value;
      if (current >= limit) {
        return false;
      }
    } while (!VALUE.weakCompareAndSet(this, current, current + 1));
    return true;
  }
}
