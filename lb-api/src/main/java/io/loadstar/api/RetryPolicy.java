package io.loadstar.api;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.internal.Checks;
import java.time.Duration;
import java.util.Arrays;
import java.util.Objects;
import org.jspecify.annotations.Nullable;

/**
 * When a failed call is tried again on another endpoint, how soon, and how many retries a service
 * may add to its load.
 *
 * <p>A retry always goes to an endpoint the call has not tried yet. Whether a failure may be
 * retried depends on its {@link CallFailure.Kind}: {@code NOT_SENT} always may; {@code
 * POSSIBLY_PROCESSED} and retryable statuses (502, 503, 504 by default) only when the call is
 * idempotent. The first retry goes out at once; later ones wait an exponential backoff with full
 * jitter, or a server's {@code Retry-After} if that is longer and within {@link #retryAfterMax()}.
 * The retry budget keeps retries to {@link #budgetPercent()} of the calls of the last {@link
 * #budgetWindow()}, but always allows {@link #minRetriesPerSecond()} (Envoy's and Finagle's
 * budgets): a service in trouble gets at most that much extra load from its callers.
 *
 * <p>Immutable and thread-safe. Start from {@link #defaults()} or {@link #disabled()}.
 */
public final class RetryPolicy {

  private static final RetryPolicy DEFAULTS = new Builder().build();
  private static final RetryPolicy DISABLED = new Builder().maxAttempts(1).build();

  private final int maxAttempts;
  private final Duration backoffBase;
  private final Duration backoffMax;
  private final Duration retryAfterMax;
  private final int budgetPercent;
  private final Duration budgetWindow;
  private final int minRetriesPerSecond;
  private final boolean retryPossiblyProcessed;
  private final int[] retryableStatuses;
  private final AttemptTimeout attemptTimeout;
  private final Hedging hedging;

  private RetryPolicy(Builder b) {
    this.maxAttempts = b.maxAttempts;
    this.backoffBase = b.backoffBase;
    this.backoffMax = b.backoffMax;
    this.retryAfterMax = b.retryAfterMax;
    this.budgetPercent = b.budgetPercent;
    this.budgetWindow = b.budgetWindow;
    this.minRetriesPerSecond = b.minRetriesPerSecond;
    this.retryPossiblyProcessed = b.retryPossiblyProcessed;
    this.retryableStatuses = b.retryableStatuses.clone();
    this.attemptTimeout = b.attemptTimeout;
    this.hedging = b.hedging;
  }

  /**
   * Returns the default policy: 3 attempts, backoff 25 ms doubling to 250 ms, Retry-After honoured
   * up to 1 s, budget 20% over 10 s with at least 3 retries per second, statuses 502/503/504, only
   * idempotent calls retried after they may have been processed, an {@link
   * AttemptTimeout#adaptive() adaptive attempt timeout}, and no hedging.
   */
  public static RetryPolicy defaults() {
    return DEFAULTS;
  }

  /** Returns the policy that makes one attempt per call. */
  public static RetryPolicy disabled() {
    return DISABLED;
  }

  /** Returns a builder starting from the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /** Returns a builder initialised with this policy's values. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.maxAttempts = maxAttempts;
    b.backoffBase = backoffBase;
    b.backoffMax = backoffMax;
    b.retryAfterMax = retryAfterMax;
    b.budgetPercent = budgetPercent;
    b.budgetWindow = budgetWindow;
    b.minRetriesPerSecond = minRetriesPerSecond;
    b.retryPossiblyProcessed = retryPossiblyProcessed;
    b.retryableStatuses = retryableStatuses.clone();
    b.attemptTimeout = attemptTimeout;
    b.hedging = hedging;
    return b;
  }

  /** Returns the most attempts per call, the first included; 1 means no retries. */
  public int maxAttempts() {
    return maxAttempts;
  }

  /** Returns the backoff ceiling before the second retry; it doubles for each later one. */
  public Duration backoffBase() {
    return backoffBase;
  }

  /** Returns the largest backoff ceiling. */
  public Duration backoffMax() {
    return backoffMax;
  }

  /** Returns the longest {@code Retry-After} waited for; a longer one ends the retries. */
  public Duration retryAfterMax() {
    return retryAfterMax;
  }

  /** Returns the share of calls, in percent, that may be retries. */
  public int budgetPercent() {
    return budgetPercent;
  }

  /** Returns the window over which the budget counts calls and retries. */
  public Duration budgetWindow() {
    return budgetWindow;
  }

  /** Returns the retries per second allowed whatever the budget says. */
  public int minRetriesPerSecond() {
    return minRetriesPerSecond;
  }

  /**
   * Returns whether calls are retried after failures that may have been processed, for callers that
   * do not say per call whether it is idempotent ({@link LoadBalancer#execute}).
   */
  public boolean retryPossiblyProcessed() {
    return retryPossiblyProcessed;
  }

  /**
   * Returns how long an attempt that could be retried may wait before it is given up and retried on
   * another endpoint.
   */
  public AttemptTimeout attemptTimeout() {
    return attemptTimeout;
  }

  /**
   * Returns when an idempotent call sends a second attempt to another endpoint while its first is
   * still waiting ({@link Hedging#off()} unless set).
   */
  public Hedging hedging() {
    return hedging;
  }

  /** Returns true if a response with {@code status} may be retried (for idempotent calls). */
  public boolean isRetryableStatus(int status) {
    for (int s : retryableStatuses) {
      if (s == status) {
        return true;
      }
    }
    return false;
  }

  /** Policies are equal when every setting is. */
  @Override
  public boolean equals(@Nullable Object o) {
    if (this == o) {
      return true;
    }
    if (!(o instanceof RetryPolicy)) {
      return false;
    }
    RetryPolicy p = (RetryPolicy) o;
    return maxAttempts == p.maxAttempts
        && backoffBase.equals(p.backoffBase)
        && backoffMax.equals(p.backoffMax)
        && retryAfterMax.equals(p.retryAfterMax)
        && budgetPercent == p.budgetPercent
        && budgetWindow.equals(p.budgetWindow)
        && minRetriesPerSecond == p.minRetriesPerSecond
        && retryPossiblyProcessed == p.retryPossiblyProcessed
        && Arrays.equals(retryableStatuses, p.retryableStatuses)
        && attemptTimeout.equals(p.attemptTimeout)
        && hedging.equals(p.hedging);
  }

  @Override
  public int hashCode() {
    return Objects.hash(
                maxAttempts,
                backoffBase,
                backoffMax,
                retryAfterMax,
                budgetPercent,
                budgetWindow,
                minRetriesPerSecond,
                retryPossiblyProcessed,
                attemptTimeout,
                hedging)
            * 31
        + Arrays.hashCode(retryableStatuses);
  }

  @Override
  public String toString() {
    return "RetryPolicy{maxAttempts="
        + maxAttempts
        + ", backoff="
        + backoffBase
        + ".."
        + backoffMax
        + ", retryAfterMax="
        + retryAfterMax
        + ", budget="
        + budgetPercent
        + "% over "
        + budgetWindow
        + " + "
        + minRetriesPerSecond
        + "/s, retryPossiblyProcessed="
        + retryPossiblyProcessed
        + ", retryableStatuses="
        + Arrays.toString(retryableStatuses)
        + ", attemptTimeout="
        + attemptTimeout
        + ", hedging="
        + hedging
        + '}';
  }

  /** Builds a {@link RetryPolicy}. Setters validate at once. Not thread-safe. */
  public static final class Builder {
    private int maxAttempts = 3;
    private Duration backoffBase = Duration.ofMillis(25);
    private Duration backoffMax = Duration.ofMillis(250);
    private Duration retryAfterMax = Duration.ofSeconds(1);
    private int budgetPercent = 20;
    private Duration budgetWindow = Duration.ofSeconds(10);
    private int minRetriesPerSecond = 3;
    private boolean retryPossiblyProcessed;
    private int[] retryableStatuses = {502, 503, 504};
    private AttemptTimeout attemptTimeout = AttemptTimeout.adaptive();
    private Hedging hedging = Hedging.off();

    private Builder() {}

    /**
     * Sets the most attempts per call, the first included. Defaults to 3.
     *
     * @throws IllegalArgumentException if not in {@code 1..10}
     */
    public Builder maxAttempts(int maxAttempts) {
      if (maxAttempts < 1 || maxAttempts > 10) {
        throw new IllegalArgumentException("maxAttempts: " + maxAttempts + " (expected: 1..10)");
      }
      this.maxAttempts = maxAttempts;
      return this;
    }

    /**
     * Sets the backoff: the first retry goes at once, the second after a random wait in {@code [0,
     * base)}, each later one with the ceiling doubled, up to {@code max}. Defaults to 25 ms and 250
     * ms.
     *
     * @throws IllegalArgumentException if {@code base} is not in {@code 1ms..1m} or {@code max} is
     *     not in {@code base..5m}
     */
    public Builder backoff(Duration base, Duration max) {
      requireNonNull(base, "base");
      requireNonNull(max, "max");
      Checks.duration("backoff base", base, Duration.ofMillis(1), Duration.ofMinutes(1));
      if (max.compareTo(base) < 0 || max.compareTo(Duration.ofMinutes(5)) > 0) {
        throw new IllegalArgumentException(
            "backoff max: " + max + " (expected: " + base + "..PT5M, at least the base)");
      }
      this.backoffBase = base;
      this.backoffMax = max;
      return this;
    }

    /**
     * Sets the longest {@code Retry-After} a retry waits for; a response asking for longer is
     * returned to the caller. 0 ignores the header's wait but still retries. Defaults to 1 s.
     *
     * @throws IllegalArgumentException if not in {@code 0..5m}
     */
    public Builder retryAfterMax(Duration max) {
      requireNonNull(max, "max");
      Checks.duration("retryAfterMax", max, Duration.ZERO, Duration.ofMinutes(5));
      this.retryAfterMax = max;
      return this;
    }

    /**
     * Sets the retry budget: retries may be at most {@code percent} of the calls of the last {@code
     * window}, or {@code minPerSecond} times the window's seconds if that is more. Defaults to 20%,
     * 10 s and 3 per second. {@code percent} 100 with a large floor turns the budget off.
     *
     * @throws IllegalArgumentException if {@code percent} is not in {@code 0..100}, {@code window}
     *     not in {@code 1s..5m}, or {@code minPerSecond} not in {@code 0..100000}
     */
    public Builder budget(int percent, Duration window, int minPerSecond) {
      requireNonNull(window, "window");
      if (percent < 0 || percent > 100) {
        throw new IllegalArgumentException("budget percent: " + percent + " (expected: 0..100)");
      }
      Checks.duration("budget window", window, Duration.ofSeconds(1), Duration.ofMinutes(5));
      if (minPerSecond < 0 || minPerSecond > 100_000) {
        throw new IllegalArgumentException(
            "budget minPerSecond: " + minPerSecond + " (expected: 0..100000)");
      }
      this.budgetPercent = percent;
      this.budgetWindow = window;
      this.minRetriesPerSecond = minPerSecond;
      return this;
    }

    /**
     * Sets whether calls whose request may have been processed are retried, for callers that do not
     * say per call ({@link LoadBalancer#execute}): only for idempotent work. Defaults to false. The
     * OkHttp integration decides per request from its method instead.
     */
    public Builder retryPossiblyProcessed(boolean retry) {
      this.retryPossiblyProcessed = retry;
      return this;
    }

    /**
     * Sets the response statuses that may be retried for idempotent calls. Defaults to 502, 503 and
     * 504.
     *
     * @throws IllegalArgumentException if a status is not in {@code 100..599}
     */
    public Builder retryableStatuses(int... statuses) {
      requireNonNull(statuses, "statuses");
      for (int s : statuses) {
        if (s < 100 || s > 599) {
          throw new IllegalArgumentException("retryable status: " + s + " (expected: 100..599)");
        }
      }
      this.retryableStatuses = statuses.clone();
      return this;
    }

    /**
     * Sets how long an attempt that could be retried may wait (for its connection; for its answer
     * when the call is idempotent) before it is given up and the call retried on another endpoint.
     * Defaults to {@link AttemptTimeout#adaptive()}: 4 times the service's recent p99, at least 100
     * ms. {@link AttemptTimeout#none()} leaves attempts to the client's own timeouts.
     */
    public Builder attemptTimeout(AttemptTimeout timeout) {
      this.attemptTimeout = requireNonNull(timeout, "timeout");
      return this;
    }

    /**
     * Sets when an idempotent call sends a second attempt to another endpoint while its first is
     * still waiting, the first answer winning ({@link Hedging}): for example {@link
     * Hedging#adaptive()}, at the service's recent p95. Hedges count against the retry budget.
     * Defaults to {@link Hedging#off()}.
     */
    public Builder hedging(Hedging hedging) {
      this.hedging = requireNonNull(hedging, "hedging");
      return this;
    }

    /** Builds the policy. */
    public RetryPolicy build() {
      return new RetryPolicy(this);
    }
  }
}
