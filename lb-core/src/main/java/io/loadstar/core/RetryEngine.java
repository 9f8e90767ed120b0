package io.loadstar.core;

import io.github.resilience4j.core.IntervalFunction;
import io.loadstar.api.AttemptLoop;
import io.loadstar.api.AttemptTimeout;
import io.loadstar.api.BalancedCall;
import io.loadstar.api.CallFailure;
import io.loadstar.api.EndpointCall;
import io.loadstar.api.FailureClassifier;
import io.loadstar.api.Hedging;
import io.loadstar.api.LbEventListener;
import io.loadstar.api.NoEndpointAvailableException;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.api.RecentLatency;
import io.loadstar.api.RetryPolicy;
import io.loadstar.api.RetryStats;
import io.loadstar.api.Ticker;
import io.loadstar.core.internal.Listeners;
import io.loadstar.core.internal.Sleeper;
import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.BooleanSupplier;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design notes: one engine per balancer, so a service has one budget however its calls are made
 * (LoadBalancer.execute, the OkHttp interceptor, a user's driver). The engine decides; drivers
 * send, report outcomes and wait. Counting a call is two adder increments (RetryBudget); the rest
 * runs on failures only. The backoff's full jitter draws from a per-thread stream derived from the
 * balancer's seed, so a seeded single-threaded test is exactly repeatable.
 */
/** Applies a service's {@link RetryPolicy} and retry budget. Thread-safe, lock-free. */
final class RetryEngine {

  private static final Logger logger = LoggerFactory.getLogger(RetryEngine.class);

  /** What {@link #retryDelayNanos} returns when the attempt must not be retried. */
  static final long NO_RETRY = -1;

  /** What a call's attempts need from the balancer. */
  interface Picking {
    PickResult pick(PickContext context);

    /**
     * Why a pick with {@code context} would find nothing now, or null if it would find something;
     * acquires nothing.
     */
    @Nullable String nothingLeft(PickContext context);

    /** How many endpoints the published snapshot can pick from (not in panic). */
    int usableEndpoints();

    /** Waits up to {@code nanos} for discovery's first answer; false if closed or timed out. */
    boolean awaitFirstAnswer(long nanos) throws InterruptedException;

    boolean isClosed();

    /** The balancer's timers. */
    ScheduledExecutorService scheduler();

    /** The threads hedged attempts are sent on. */
    Executor hedges();
  }

  private static final String NOT_IDEMPOTENT = "the call is not hedged (not idempotent)";
  private static final String IN_PANIC =
      "the service is in panic: a hedge would add load where it hurts";
  private static final String ONE_USABLE = "no other usable endpoint to hedge on";

  private final String service;
  private final RetryPolicy policy;
  private final LbEventListener eventListener;
  private final RetryBudget budget;
  private final IntervalFunction backoffCeiling;
  private final long retryAfterMaxNanos;
  private final long selectionTimeoutNanos;
  private final Ticker ticker;
  private final long windowNanos;
  private final PerThread random;
  private final Picking picking;
  private final AttemptTimeout attemptTimeout;
  private final Hedging hedging;
  private final String notHedged; // hedgeRefusal's reasons that name the policy
  private final String noHedgeRoom;
  private final @Nullable LatencyDigest latency;
  private final FailureClassifier failureClassifier;
  private final Sleeper sleeper;
  private final ServiceEvents failures;
  private final AtomicBoolean exhausted = new AtomicBoolean();
  private volatile long lastRefusalNanos;
  private final LongAdder retries = new LongAdder();
  private final LongAdder refusedByBudget = new LongAdder();
  private final LongAdder hedges = new LongAdder();

  RetryEngine(
      BalancerSettings b,
      ServiceEvents failures,
      Picking picking,
      @Nullable LatencyDigest latency) {
    this.service = b.name();
    this.policy = b.retryPolicy();
    this.eventListener = failures.listener();
    this.ticker = b.ticker();
    this.selectionTimeoutNanos = b.selectionTimeoutNanos();
    this.failureClassifier = b.failureClassifier();
    this.sleeper = b.sleeper();
    this.failures = failures;
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
    this.random = new PerThread(b.seed() ^ 0x5245545259L);
    this.picking = picking;
    this.attemptTimeout = policy.attemptTimeout();
    this.hedging = policy.hedging();
    this.notHedged = "the call is not hedged (" + hedging + ')';
    this.noHedgeRoom =
        "the retry budget is spent, or hedges are at their share of the calls ("
            + Math.round(hedging.maxExtraLoad() * 1000) / 10.0
            + "%)";
    this.latency = latency;
  }

  RetryPolicy policy() {
    return policy;
  }

  String service() {
    return service;
  }

  Ticker ticker() {
    return ticker;
  }

  PickResult pick(PickContext context) {
    return picking.pick(context);
  }

  @Nullable String nothingLeft(PickContext context) {
    return picking.nothingLeft(context);
  }

  /**
   * The timeout of an attempt numbered {@code number} (from 1) of a call that has tried {@code
   * tried} endpoints: Long.MAX_VALUE unless giving the attempt up could lead to a retry (not the
   * last attempt, budget left, another endpoint usable).
   */
  long attemptTimeoutNanos(int number, int tried) {
    if (number >= policy.maxAttempts() || !attemptTimeout.isEnabled()) {
      return Long.MAX_VALUE;
    }
    if (picking.usableEndpoints() <= tried || !budget.hasRoom()) {
      return Long.MAX_VALUE;
    }
    LatencyDigest l = latency;
    return l != null ? l.timeoutNanos() : attemptTimeout.timeoutNanos(-1);
  }

  /**
   * How long after its first attempt was picked an {@code idempotent} call sends a hedge, or
   * Long.MAX_VALUE for none (hedging off, one attempt allowed, no delay known yet, or {@link
   * #hedgeRefusal} says no).
   */
  long hedgeDelayNanos(boolean idempotent) {
    if (hedgeRefusal(idempotent) != null) {
      return Long.MAX_VALUE;
    }
    LatencyDigest l = latency;
    return l != null ? l.hedgeDelayNanos() : hedging.delayNanos(-1);
  }

  /**
   * Why an {@code idempotent} call's hedge may not go now, or null: not hedged by the policy,
   * panic, a single usable endpoint, no budget room. Asked as every hedged call's first attempt
   * goes out, so the reasons are made once, not per call.
   */
  @Nullable String hedgeRefusal(boolean idempotent) {
    if (!idempotent) {
      return NOT_IDEMPOTENT;
    }
    if (!hedging.isEnabled() || policy.maxAttempts() < 2) {
      return notHedged;
    }
    if (failures.inPanic()) {
      return IN_PANIC;
    }
    if (picking.usableEndpoints() < 2) {
      return ONE_USABLE;
    }
    if (!budget.hasHedgeRoom(hedging.maxExtraLoad())) {
      return noHedgeRoom;
    }
    return null;
  }

  /**
   * Counts a hedge against the retry budget and the hedges' own share of the calls; false if either
   * has no room.
   */
  boolean chargeHedge() {
    if (!budget.tryHedge(hedging.maxExtraLoad())) {
      return false;
    }
    retries.increment();
    hedges.increment();
    return true;
  }

  /**
   * Runs {@code send} on the hedge threads after {@code delayNanos} on the balancer's timers; null
   * if the balancer is closed.
   */
  @Nullable Future<?> scheduleHedge(Runnable send, long delayNanos) {
    try {
      Executor threads = picking.hedges();
      return picking
          .scheduler()
          .schedule(
              () -> {
                try {
                  threads.execute(send);
                } catch (RejectedExecutionException e) {
                  // The balancer was closed meanwhile: the first attempt is the call's.
                }
              },
              delayNanos,
              TimeUnit.NANOSECONDS);
    } catch (IllegalStateException | RejectedExecutionException e) {
      return null; // closed: no hedge
    }
  }

  RecentLatency recentLatency() {
    LatencyDigest l = latency;
    if (l != null) {
      return l.recent();
    }
    // Nothing measured: only fixed values, if any, are in force.
    boolean retries = policy.maxAttempts() > 1;
    long t = retries ? attemptTimeout.timeoutNanos(-1) : Long.MAX_VALUE;
    long h = retries ? hedging.delayNanos(-1) : Long.MAX_VALUE;
    return t == Long.MAX_VALUE && h == Long.MAX_VALUE
        ? RecentLatency.NONE
        : new RecentLatency(
            0,
            null,
            null,
            null,
            t == Long.MAX_VALUE ? null : Duration.ofNanos(t),
            h == Long.MAX_VALUE ? null : Duration.ofNanos(h));
  }

  /** Starts a call: counts it towards the budget. */
  BalancedCall newCall(PickContext context, boolean idempotent) {
    recordCall();
    return new EngineCall(this, context, idempotent);
  }

  /** Counts one call (not attempt) towards the budget. */
  void recordCall() {
    if (policy.maxAttempts() > 1) {
      budget.recordCall();
    }
  }

  /**
   * LoadBalancer.execute: the first attempt is made here, so that a call that succeeds allocates
   * nothing; from its first failure on, the call runs on the shared attempt loop.
   */
  <T> T execute(PickContext context, EndpointCall<T> call) throws Exception {
    recordCall();
    PickResult first = firstPick(context, Long.MAX_VALUE);
    if (!first.isAvailable()) {
      throw new NoEndpointAvailableException(service, first.reason(), failures.discoveryError());
    }
    long start = ticker.nanoTime();
    T value;
    try {
      value = call.call(first.endpoint());
    } catch (Throwable t) {
      EngineCall balanced = new EngineCall(this, context, policy.retryPossiblyProcessed());
      ExecuteDriver<T> driver = new ExecuteDriver<>(this, call);
      try {
        return AttemptLoop.continueFrom(
            balanced, driver.judge(balanced.resume(first, start), t), driver);
      } catch (Throwable failed) {
        throw ExecuteDriver.sneaky(failed);
      }
    }
    first.handle().onSuccess(ticker.nanoTime() - start);
    return value;
  }

  /** Classifies an exception from a call with the user's classifier; null: not a failure. */
  @Nullable CallFailure classify(Throwable t) {
    try {
      return failureClassifier.classify(t);
    } catch (RuntimeException e) {
      logger.warn("[{}] failure classifier {} threw", service, failureClassifier, e);
      return CallFailure.classify(t);
    }
  }

  /** Waits out a backoff; returns early if the balancer closes or {@code giveUp} turns true. */
  void sleep(long nanos, BooleanSupplier giveUp) throws InterruptedException {
    sleeper.sleep(nanos, () -> picking.isClosed() || giveUp.getAsBoolean());
  }

  /** The error of a call for which nothing could be picked. */
  NoEndpointAvailableException unavailable(String reason) {
    return new NoEndpointAvailableException(service, reason, failures.discoveryError());
  }

  /**
   * Picks a call's first endpoint; when nothing is known yet (start-up), waits for discovery's
   * first answer, up to the selection timeout and at most {@code maxWaitNanos}, and picks again:
   * the second pick's reason also names what went wrong meanwhile (a discovery error, say).
   */
  PickResult firstPick(PickContext context, long maxWaitNanos) throws InterruptedException {
    PickResult result = picking.pick(context);
    long wait = Math.min(selectionTimeoutNanos, maxWaitNanos);
    if (!result.isAvailable() && wait > 0) {
      picking.awaitFirstAnswer(wait);
      result = picking.pick(context);
    }
    return result;
  }

  RetryStats stats() {
    return new RetryStats(
        retries.sum(), refusedByBudget.sum(), budget.calls(), budget.retries(), hedges.sum());
  }

  /**
   * Decides whether a failed attempt is retried: the wait before it in nanoseconds (0 for at once),
   * or NO_RETRY.
   */
  long retryDelayNanos(
      int attemptsMade, CallFailure failure, boolean idempotent, long retryAfterNanos) {
    return retryDelayNanos(attemptsMade, failure, idempotent, retryAfterNanos, Long.MAX_VALUE);
  }

  /** As above, for a call with {@code remainingNanos} left: no retry it cannot wait for. */
  long retryDelayNanos(
      int attemptsMade,
      CallFailure failure,
      boolean idempotent,
      long retryAfterNanos,
      long remainingNanos) {
    if (attemptsMade >= policy.maxAttempts() || remainingNanos <= 0) {
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
    long backoff = 0;
    if (attemptsMade > 1) {
      double uniform = (PerThread.nextLong(random.get()) >>> 11) * 0x1.0p-53;
      backoff = (long) (uniform * backoffCeiling.apply(attemptsMade - 1) * 1_000_000L);
    }
    long delay = retryAfterMaxNanos > 0 ? Math.max(backoff, retryAfterNanos) : backoff;
    if (delay >= remainingNanos) {
      return NO_RETRY; // the call would run out of time waiting: the budget is not spent on it
    }
    if (!budget.tryRetry()) {
      budgetRefused();
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
    return delay;
  }

  private void budgetRefused() {
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
  }

  @Override
  public String toString() {
    return "RetryEngine{" + service + ", " + policy + '}';
  }
}
