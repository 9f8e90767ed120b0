package io.loadstar.api;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.internal.Checks;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;

/**
 * How long an attempt may wait for its answer before it is given up and the call retried on another
 * endpoint: a backend that accepts connections and never answers then costs a call a small multiple
 * of the service's usual latency, not the client's read timeout.
 *
 * <p>The timeout applies to an attempt only when giving up on it can help: the call may be retried
 * (it is not its last allowed attempt, the retry budget has room, and another endpoint is usable).
 * An attempt that could not be retried keeps the client's own timeouts, so no call fails sooner
 * than it would have without this. What a driver bounds with it: the wait for the connection, for
 * every call (a connect that times out was never sent); the wait for the answer (headers and the
 * body the driver reads ahead), for idempotent calls only, since only they are retried once sent. A
 * body read after it was handed to the caller keeps the client's read timeout.
 *
 * <p>{@link #adaptive()}, the default, follows the service's live latency: a multiple of the p99 of
 * its successful attempts over the last 10 s (the last 60 s if those had fewer than 20), never less
 * than a floor that rides out a client's own GC pauses; until 20 successes are measured, a fixed
 * initial value. (lb-core measures every success with round robin, random and consistent hashing,
 * and one in 8, by each endpoint's own count, with least request, peak EWMA and probing, which keep
 * exact counts: about 160 calls there.) A timed-out attempt counts as the endpoint's failure
 * (outlier detection ejects an endpoint that keeps hanging).
 *
 * <p>Immutable and thread-safe.
 */
public final class AttemptTimeout {

  /**
   * The request header in which the HTTP drivers tell a server how long an attempt has, in whole
   * milliseconds ({@link #budgetMillis}): the attempt's timeout where it applies to the answer, or
   * the call's time left if sooner. A server can stop work the caller will no longer wait for, or
   * pass the budget on to its own calls. Each driver can rename it or send none.
   */
  public static final String BUDGET_HEADER = "Loadstar-Timeout-Ms";

  private static final AttemptTimeout NONE = new AttemptTimeout(0, 0, 0, 0);
  private static final AttemptTimeout ADAPTIVE =
      new AttemptTimeout(4.0, 100_000_000L, 1_000_000_000L, 0);

  private final double multiplier; // 0: not adaptive
  private final long minNanos;
  private final long initialNanos;
  private final long fixedNanos; // 0: not fixed

  private AttemptTimeout(double multiplier, long minNanos, long initialNanos, long fixedNanos) {
    this.multiplier = multiplier;
    this.minNanos = minNanos;
    this.initialNanos = initialNanos;
    this.fixedNanos = fixedNanos;
  }

  /** No attempt timeout: attempts wait as long as the client's own timeouts allow. */
  public static AttemptTimeout none() {
    return NONE;
  }

  /**
   * The same timeout for every attempt that could be retried.
   *
   * @throws IllegalArgumentException if not in {@code 1ms..5m}
   */
  public static AttemptTimeout fixed(Duration timeout) {
    requireNonNull(timeout, "timeout");
    Checks.duration("attempt timeout", timeout, Duration.ofMillis(1), Duration.ofMinutes(5));
    return new AttemptTimeout(0, 0, 0, timeout.toNanos());
  }

  /**
   * The default: 4 times the p99 of the service's successful attempts over the last 10 s, at least
   * 100 ms; 1 s until 20 successes are measured.
   */
  public static AttemptTimeout adaptive() {
    return ADAPTIVE;
  }

  /**
   * {@code multiplier} times the p99 of the service's successful attempts over the last 10 s (60 s
   * if fewer than 20 successes were measured in the last 10 s), at least {@code min}; {@code
   * initial} while fewer than 20 were measured in the last 60 s.
   *
   * @throws IllegalArgumentException if {@code multiplier} is not in {@code 1.5..100}, {@code min}
   *     not in {@code 1ms..1m}, or {@code initial} not in {@code min..5m}
   */
  public static AttemptTimeout adaptive(double multiplier, Duration min, Duration initial) {
    requireNonNull(min, "min");
    requireNonNull(initial, "initial");
    if (!(multiplier >= 1.5 && multiplier <= 100)) {
      throw new IllegalArgumentException(
          "attempt timeout multiplier: " + multiplier + " (expected: 1.5..100)");
    }
    Checks.duration("attempt timeout min", min, Duration.ofMillis(1), Duration.ofMinutes(1));
    if (initial.compareTo(min) < 0 || initial.compareTo(Duration.ofMinutes(5)) > 0) {
      throw new IllegalArgumentException(
          "attempt timeout initial: " + initial + " (expected: " + min + "..PT5M, at least min)");
    }
    return new AttemptTimeout(multiplier, min.toNanos(), initial.toNanos(), 0);
  }

  /**
   * A time budget as {@link #BUDGET_HEADER} carries it: whole milliseconds, rounded up, at least 1.
   *
   * @throws IllegalArgumentException if {@code nanos} is negative or {@code Long.MAX_VALUE} (no
   *     budget: send no header)
   */
  public static String budgetMillis(long nanos) {
    if (nanos < 0 || nanos == Long.MAX_VALUE) {
      throw new IllegalArgumentException(
          "nanos: " + nanos + " (expected: 0..Long.MAX_VALUE - 1; Long.MAX_VALUE is no budget)");
    }
    return Long.toString(Math.max(1, nanos / 1_000_000 + (nanos % 1_000_000 == 0 ? 0 : 1)));
  }

  /**
   * The failure a driver reports for an attempt its timeout cut, and hands to the caller if the
   * call cannot go on: a read timeout naming the endpoint, the service and the timeout.
   *
   * @param timeoutNanos the attempt's timeout ({@link Attempt#timeoutNanos()})
   */
  public static SocketTimeoutException expired(
      Endpoint endpoint, String service, long timeoutNanos) {
    requireNonNull(endpoint, "endpoint");
    requireNonNull(service, "service");
    return new SocketTimeoutException(
        "no answer from "
            + endpoint.key()
            + " (an endpoint of "
            + service
            + ") within the attempt timeout of "
            + TimeUnit.NANOSECONDS.toMillis(timeoutNanos)
            + " ms");
  }

  /** Returns whether attempts are given a timeout at all. */
  public boolean isEnabled() {
    return multiplier > 0 || fixedNanos > 0;
  }

  /** Returns whether the timeout follows the service's live latency. */
  public boolean isAdaptive() {
    return multiplier > 0;
  }

  /** Returns the multiple of the recent p99 an adaptive timeout allows (0 if not adaptive). */
  public double multiplier() {
    return multiplier;
  }

  /** Returns the least an adaptive timeout allows ({@link Duration#ZERO} if not adaptive). */
  public Duration min() {
    return Duration.ofNanos(minNanos);
  }

  /** Returns an adaptive timeout's value before enough calls succeeded (zero if not adaptive). */
  public Duration initial() {
    return Duration.ofNanos(initialNanos);
  }

  /** Returns the fixed timeout ({@link Duration#ZERO} if not fixed). */
  public Duration fixed() {
    return Duration.ofNanos(fixedNanos);
  }

  /**
   * The timeout in nanoseconds when the service's recent p99 is {@code p99Nanos} (negative when too
   * few calls succeeded to tell); {@code Long.MAX_VALUE} when disabled.
   */
  public long timeoutNanos(long p99Nanos) {
    if (fixedNanos > 0) {
      return fixedNanos;
    }
    if (multiplier == 0) {
      return Long.MAX_VALUE;
    }
    if (p99Nanos < 0) {
      return initialNanos;
    }
    double t = multiplier * p99Nanos;
    return t >= Long.MAX_VALUE ? Long.MAX_VALUE : Math.max(minNanos, (long) t);
  }

  @Override
  public boolean equals(@Nullable Object o) {
    if (!(o instanceof AttemptTimeout)) {
      return false;
    }
    AttemptTimeout t = (AttemptTimeout) o;
    return Double.compare(multiplier, t.multiplier) == 0
        && minNanos == t.minNanos
        && initialNanos == t.initialNanos
        && fixedNanos == t.fixedNanos;
  }

  @Override
  public int hashCode() {
    return Double.hashCode(multiplier) * 31 * 31 * 31
        + Long.hashCode(minNanos) * 31 * 31
        + Long.hashCode(initialNanos) * 31
        + Long.hashCode(fixedNanos);
  }

  @Override
  public String toString() {
    if (fixedNanos > 0) {
      return "AttemptTimeout{fixed " + fixed() + '}';
    }
    if (multiplier == 0) {
      return "AttemptTimeout{none}";
    }
    return "AttemptTimeout{" + multiplier + " x p99, min " + min() + ", initial " + initial() + '}';
  }
}
