package io.loadstar.core;

import static java.util.Objects.requireNonNull;

import io.github.resilience4j.core.IntervalFunction;
import io.loadstar.api.CallFailure;
import io.loadstar.api.LbEventListener;
import io.loadstar.api.RetryPolicy;
import io.loadstar.api.Ticker;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Applies a {@link RetryPolicy} for one service: decides whether a failed attempt is retried, how
 * long to wait first, and keeps the service's retry budget. Used by {@link
 * io.loadstar.api.LoadBalancer#execute} and by the integration modules (lb-okhttp); the caller
 * picks the next endpoint with the tried ones excluded.
 *
 * <p>Thread-safe, lock-free; counting a call allocates nothing.
 */
public final class Retrier {

  /** Returned by {@link #retryDelayNanos} when the attempt must not be retried. */
  public static final long NO_RETRY = -1;

  private static final Logger logger = LoggerFactory.getLogger(Retrier.class);

  private final String service;
  private final RetryPolicy policy;
  private final LbEventListener eventListener;
  private final RetryBudget budget;
  private final IntervalFunction backoffCeiling;
  private final long retryAfterMaxNanos;
  private final Ticker ticker;
  private final long windowNanos;
  private final AtomicBoolean exhausted = new AtomicBoolean();
  private volatile long lastRefusalNanos;
  private final LongAdder retries = new LongAdder();
  private final LongAdder refusedByBudget = new LongAdder();

  private Retrier(String service, RetryPolicy policy, Ticker ticker, LbEventListener listener) {
    this.service = service;
    this.policy = policy;
    this.eventListener = listener;
    this.ticker = ticker;
    this.windowNanos = policy.budgetWindow().toNanos();
    this.budget =
        new RetryBudget(
            ticker,
            windowNanos,
            policy.budgetPercent(),
            (long) policy.minRetriesPerSecond() * Math.max(1, windowNanos / 1_000_000_000L));
    // Resilience4j gives the exponential ceiling; full jitter draws uniformly below it.
    this.backoffCeiling =
        IntervalFunction.ofExponentialBackoff(policy.backoffBase(), 2.0, policy.backoffMax());
    this.retryAfterMaxNanos = policy.retryAfterMax().toNanos();
  }

  /** Returns a retrier for {@code service} whose budget reads time from {@code ticker}. */
  public static Retrier create(
      String service, RetryPolicy policy, Ticker ticker, LbEventListener eventListener) {
    return new Retrier(
        requireNonNull(service, "service"),
        requireNonNull(policy, "policy"),
        requireNonNull(ticker, "ticker"),
        requireNonNull(eventListener, "eventListener"));
  }

  /** Returns the policy applied. */
  public RetryPolicy policy() {
    return policy;
  }

  /** Counts one call (not attempt) towards the budget. Call once per call, before its attempts. */
  public void recordCall() {
    if (policy.maxAttempts() > 1) {
      budget.recordCall();
    }
  }

  /**
   * Decides whether a failed attempt is retried on another endpoint.
   *
   * @param attemptsMade attempts made so far by this call, the failed one included (1 after the
   *     first)
   * @param failure how the attempt failed
   * @param idempotent whether the call may be repeated after it may have been processed
   * @param retryAfterNanos the wait the server asked for ({@code Retry-After}), or a negative value
   *     if it asked none
   * @return the wait before the retry in nanoseconds (0 for at once), or {@link #NO_RETRY}
   */
  public long retryDelayNanos(
      int attemptsMade, CallFailure failure, boolean idempotent, long retryAfterNanos) {
    if (attemptsMade >= policy.maxAttempts()) {
      return NO_RETRY;
    }
    switch (failure.kind()) {
      case NOT_SENT:
        break;
      case RESPONSE_STATUS:
        if (!policy.isRetryableStatus(failure.status())) {
          return NO_RETRY;
        }
      // fall through: the server may have done part of the work
      default:
        if (!idempotent) {
          return NO_RETRY;
        }
    }
    if (retryAfterNanos > retryAfterMaxNanos && retryAfterMaxNanos > 0) {
      return NO_RETRY; // the server asked for a longer pause than the caller accepts
    }
    if (!budget.tryRetry()) {
      refusedByBudget.increment();
      lastRefusalNanos = ticker.nanoTime();
      if (exhausted.compareAndSet(false, true)) {
        long calls = budget.calls();
        long retried = budget.retries();
        logger.warn(
            "[{}] retry budget spent ({} retries for {} calls in {}): failed calls are not retried",
            service,
            retried,
            calls,
            policy.budgetWindow());
        Listeners.notify(
            logger,
            service,
            eventListener,
            () -> eventListener.retryBudgetExhausted(service, calls, retried));
      }
      return NO_RETRY;
    }
    // The episode ends once the budget has refused nothing for a whole window.
    if (exhausted.get()
        && ticker.nanoTime() - lastRefusalNanos >= windowNanos
        && exhausted.compareAndSet(true, false)) {
      logger.info("[{}] retry budget refilled: retries resume", service);
      Listeners.notify(
          logger, service, eventListener, () -> eventListener.retryBudgetRestored(service));
    }
    retries.increment();
    long backoff =
        attemptsMade == 1
            ? 0
            : (long)
                (ThreadLocalRandom.current().nextDouble()
                    * backoffCeiling.apply(attemptsMade - 1)
                    * 1_000_000L);
    return retryAfterMaxNanos > 0 ? Math.max(backoff, retryAfterNanos) : backoff;
  }

  /** Returns the retries allowed since this retrier was created. */
  public long retries() {
    return retries.sum();
  }

  /** Returns the retries refused because the budget was spent, since this retrier was created. */
  public long retriesRefusedByBudget() {
    return refusedByBudget.sum();
  }

  /** Returns the calls counted in the budget's current window. */
  public long budgetWindowCalls() {
    return budget.calls();
  }

  /** Returns the retries counted in the budget's current window. */
  public long budgetWindowRetries() {
    return budget.retries();
  }

  @Override
  public String toString() {
    return "Retrier{" + service + ", " + policy + '}';
  }
}
