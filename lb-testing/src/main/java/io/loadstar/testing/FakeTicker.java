package io.loadstar.testing;

import io.loadstar.api.Ticker;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicLong;

/** A {@link Ticker} that moves only when told. Thread-safe. Shared with other modules' tests. */
public final class FakeTicker implements Ticker {

  private static final long DAY = Duration.ofDays(1).toNanos();

  private final AtomicLong nanos;

  /** A ticker at one second. */
  public FakeTicker() {
    this(1_000_000_000L);
  }

  /** A ticker at {@code startNanos}, which may be any value, negative included. */
  public FakeTicker(long startNanos) {
    this.nanos = new AtomicLong(startNanos);
  }

  /**
   * The readings a timed test starts from: {@code System.nanoTime()} counts from an arbitrary
   * origin, so code that works only from 0 is wrong. Zero, ten days (a host that has been up a
   * while), minus ten days (the origin may be negative), and a minute before the long wraps to its
   * most negative value (differences still hold across it).
   */
  public static List<Long> origins() {
    return List.of(0L, 10 * DAY, -10 * DAY, Long.MAX_VALUE - Duration.ofMinutes(1).toNanos());
  }

  @Override
  public long nanoTime() {
    return nanos.get();
  }

  /** Moves time forward. */
  public FakeTicker advance(Duration duration) {
    nanos.addAndGet(duration.toNanos());
    return this;
  }

  @Override
  public String toString() {
    return "FakeTicker{" + nanos.get() + "}";
  }
}
