package io.loadstar.core;

import io.github.resilience4j.core.IntervalFunction;
import io.loadstar.api.CallFailure;
import io.loadstar.api.CallHandle;
import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointCall;
import io.loadstar.api.FailureClassifier;
import io.loadstar.api.LbEventListener;
import io.loadstar.api.NoEndpointAvailableException;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.api.RetryDecision;
import io.loadstar.api.RetryPolicy;
import io.loadstar.api.RetryState;
import io.loadstar.api.RetryStats;
import io.loadstar.api.Ticker;
import io.loadstar.core.internal.Listeners;
import io.loadstar.core.internal.Sleeper;
import java.io.InterruptedIOException;
import java.net.SocketTimeoutException;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
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

    /** Waits up to {@code nanos} for discovery's first answer; false if closed or timed out. */
    boolean awaitFirstAnswer(long nanos) throws InterruptedException;

    boolean isClosed();
  }

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
  private final FailureClassifier failureClassifier;
  private final Sleeper sleeper;
  private final ServiceEvents failures;
  private final AtomicBoolean exhausted = new AtomicBoolean();
  private volatile long lastRefusalNanos;
  private final LongAdder retries = new LongAdder();
  private final LongAdder refusedByBudget = new LongAdder();

  RetryEngine(LoadBalancers.Builder b, ServiceEvents failures, Picking picking) {
    this.service = b.name;
    this.policy = b.retryPolicy;
    this.eventListener = b.eventListener;
    this.ticker = b.ticker;
    this.selectionTimeoutNanos = b.selectionTimeoutNanos;
    this.failureClassifier = b.failureClassifier;
    this.sleeper = b.sleeper;
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
    this.random = new PerThread(b.seed ^ 0x5245545259L);
    this.picking = picking;
  }

  RetryPolicy policy() {
    return policy;
  }

  /** Starts a call: counts it towards the budget. */
  RetryState newCall(PickContext context) {
    recordCall();
    return new Call(context);
  }

  /** Counts one call (not attempt) towards the budget. */
  void recordCall() {
    if (policy.maxAttempts() > 1) {
      budget.recordCall();
    }
  }

  /**
   * LoadBalancer.execute: the driver for calls made through an EndpointCall. The failure classifier
   * decides what a thrown exception says about the endpoint; interruption says nothing.
   */
  <T> T execute(PickContext context, EndpointCall<T> call) throws Exception {
    recordCall();
    PickResult result = firstPick(context, Long.MAX_VALUE);
    // The call's retry state is made on its first failure: a call that succeeds allocates nothing.
    Call retry = null;
    if (!result.isAvailable()) {
      throw new NoEndpointAvailableException(service, result.reason(), failures.discoveryError());
    }
    boolean idempotent = policy.retryPossiblyProcessed();
    Throwable previous = null;
    while (true) {
      CallHandle handle = result.handle();
      long start = ticker.nanoTime();
      CallFailure failure;
      Throwable thrown;
      try {
        T value = call.call(result.endpoint());
        handle.onSuccess(ticker.nanoTime() - start);
        return value;
      } catch (Throwable t) {
        if (t instanceof InterruptedException
            || (t instanceof InterruptedIOException && !(t instanceof SocketTimeoutException))) {
          // The caller gave up: says nothing about the endpoint.
          handle.onCancel();
          throw t;
        }
        CallFailure classified = classify(t);
        if (classified == null) {
          // The application's answer (a constraint violation, say): the endpoint did its job.
          handle.onSuccess(ticker.nanoTime() - start);
          throw t;
        }
        failure = classified;
        handle.onFailure(failure, ticker.nanoTime() - start);
        thrown = t;
      }
      if (previous != null) {
        thrown.addSuppressed(previous);
      }
      if (retry == null) {
        retry = new Call(context, result.endpoint());
      }
      RetryDecision next = retry.onFailure(failure, idempotent, -1, Long.MAX_VALUE);
      if (!next.isRetry()) {
        String unavailable = next.unavailableReason();
        if (unavailable != null) {
          // Every endpoint has been tried: the last attempt's failure is the call's.
          thrown.addSuppressed(
              new NoEndpointAvailableException(service, unavailable, failures.discoveryError()));
        }
        throw sneaky(thrown);
      }
      if (next.delayNanos() > 0) {
        try {
          sleeper.sleep(next.delayNanos(), picking::isClosed);
        } catch (InterruptedException e) {
          next.next().handle().onCancel();
          throw e;
        }
      }
      previous = thrown;
      result = next.next();
    }
  }

  /** Classifies an exception from a call with the user's classifier; null: not a failure. */
  private @Nullable CallFailure classify(Throwable t) {
    try {
      return failureClassifier.classify(t);
    } catch (RuntimeException e) {
      logger.warn("[{}] failure classifier {} threw", service, failureClassifier, e);
      return CallFailure.classify(t);
    }
  }

  @SuppressWarnings("unchecked")
  private static <E extends Throwable> E sneaky(Throwable t) throws E {
    throw (E) t;
  }

  /**
   * Picks a call's first endpoint; when nothing is known yet (start-up), waits for discovery's
   * first answer, up to the selection timeout and at most {@code maxWaitNanos}, and picks again:
   * the second pick's reason also names what went wrong meanwhile (a discovery error, say).
   */
  private PickResult firstPick(PickContext context, long maxWaitNanos) throws InterruptedException {
    PickResult result = picking.pick(context);
    long wait = Math.min(selectionTimeoutNanos, maxWaitNanos);
    if (!result.isAvailable() && wait > 0) {
      picking.awaitFirstAnswer(wait);
      result = picking.pick(context);
    }
    return result;
  }

  RetryStats stats() {
    return new RetryStats(retries.sum(), refusedByBudget.sum(), budget.calls(), budget.retries());
  }

  /**
   * Decides whether a failed attempt is retried: the wait before it in nanoseconds (0 for at once),
   * or NO_RETRY.
   */
  long retryDelayNanos(
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
    long backoff = 0;
    if (attemptsMade > 1) {
      double uniform = (PerThread.nextLong(random.get()) >>> 11) * 0x1.0p-53;
      backoff = (long) (uniform * backoffCeiling.apply(attemptsMade - 1) * 1_000_000L);
    }
    return retryAfterMaxNanos > 0 ? Math.max(backoff, retryAfterNanos) : backoff;
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

  /** One call's attempts. */
  private final class Call implements RetryState {
    private PickContext context;
    private int attempts;
    private @Nullable Endpoint current;

    Call(PickContext context) {
      this.context = context;
    }

    /** A call whose first attempt, on {@code first}, is under way. */
    Call(PickContext context, Endpoint first) {
      this.context = context;
      this.attempts = 1;
      this.current = first;
    }

    @Override
    public PickResult firstPick(long maxWaitNanos) throws InterruptedException {
      if (attempts != 0 || current != null) {
        throw new IllegalStateException("firstPick() was called already");
      }
      PickResult result = RetryEngine.this.firstPick(context, maxWaitNanos);
      if (result.isAvailable()) {
        attempts = 1;
        current = result.endpoint();
      }
      return result;
    }

    @Override
    public RetryDecision onFailure(
        CallFailure failure, boolean idempotent, long retryAfterNanos, long remainingNanos) {
      Endpoint failed = current;
      if (failed == null) {
        throw new IllegalStateException("no attempt under way: call firstPick() first");
      }
      current = null;
      context = context.withTried(failed);
      long delay = retryDelayNanos(attempts, failure, idempotent, retryAfterNanos);
      if (delay == NO_RETRY || delay >= remainingNanos) {
        return RetryDecision.stop();
      }
      PickResult next = picking.pick(context);
      if (!next.isAvailable()) {
        return RetryDecision.noEndpoint(next.reason());
      }
      attempts++;
      current = next.endpoint();
      return RetryDecision.retry(next, delay);
    }

    @Override
    public int attempts() {
      return attempts;
    }

    @Override
    public PickContext context() {
      return context;
    }

    @Override
    public String toString() {
      return "RetryState{" + service + ", attempts=" + attempts + ", " + context + '}';
    }
  }
}
