package io.loadstar.api;

import java.util.function.BooleanSupplier;

/**
 * One call through a {@link LoadBalancer}, for integrations that send the attempts themselves (an
 * HTTP or RPC client, a driver of your own): its attempts, as the balancer's {@link RetryPolicy}
 * and retry budget allow. A service has one policy, one budget, one selection timeout and one event
 * listener whichever driver its calls go through. {@link AttemptLoop} is the loop every Loadstar
 * driver runs on; docs/DRIVERS.md shows a complete driver.
 *
 * <pre>{@code
 * BalancedCall call = balancer.newCall(PickContext.empty(), idempotent);
 * Attempt attempt = call.first(Long.MAX_VALUE);
 * while (attempt.isAvailable()) {
 *   try {
 *     Answer answer = send(attempt.endpoint());
 *     attempt.succeeded(attempt.elapsedNanos());
 *     return answer;
 *   } catch (IOException e) {
 *     RetryDecision decision = attempt.failed(CallFailure.classify(e), attempt.elapsedNanos());
 *     if (!decision.isRetry()) throw e;
 *     call.awaitBackoff(decision.delayNanos(), () -> false); // no endpoint is held meanwhile
 *     attempt = call.next();
 *   }
 * }
 * throw new NoEndpointAvailableException(balancer.name(), attempt.reason(), null);
 * }</pre>
 *
 * <p>Not thread-safe: one call, attempted from one thread at a time (its attempts may be reported
 * from any thread, and its hedge taken on another: {@link #hedge()}, {@link #cancelHedge()}).
 */
public interface BalancedCall {

  /**
   * Picks the first attempt's endpoint. If the balancer has not discovered any endpoint yet (it is
   * starting up), first waits for discovery's first answer, up to the balancer's selection timeout
   * and at most {@code maxWaitNanos} (the call's time).
   *
   * @return the attempt, or an unavailable one saying why nothing can be picked
   * @throws InterruptedException if interrupted while waiting
   * @throws IllegalStateException if called twice
   */
  Attempt first(long maxWaitNanos) throws InterruptedException;

  /**
   * Picks the retry that the last attempt's {@link Attempt#failed} or {@link Attempt#refused}
   * allowed, on an endpoint the call has not tried; call it once the decision's delay has passed.
   * The retry carries what the call's {@linkplain PickContext#timeBudgetNanos() time budget} has
   * left now; if nothing is left (the decision was taken late: a hedge's, acted on once the first
   * attempt had ended too), no endpoint is picked and the attempt is unavailable.
   *
   * @return the attempt, or an unavailable one if nothing is left to pick now or the call's time
   *     budget is spent
   * @throws IllegalStateException if the last decision was not a retry, or was taken already
   */
  Attempt next();

  /**
   * Waits out a retry's backoff on the balancer's clock: parks the calling thread until {@code
   * delayNanos} have passed, the balancer closes, or {@code giveUp} turns true (checked whenever
   * the thread is woken: whoever makes it true unparks the waiting thread). Holds no endpoint. A
   * delay of 0 or less returns at once.
   *
   * @throws InterruptedException if the thread is interrupted while waiting
   */
  void awaitBackoff(long delayNanos, BooleanSupplier giveUp) throws InterruptedException;

  /**
   * Arms the call's hedge ({@link RetryPolicy#hedging()}): if the policy hedges this call, runs
   * {@code send} once its first attempt has waited the hedging delay, on a thread of the balancer's
   * that may block, unless {@link #cancelHedge()} came first. {@code send} takes the hedge's
   * attempt from {@link #hedge()} and sends it. Call it once, right after {@link #first} returned
   * an available attempt; {@link AttemptLoop} does, for drivers that can {@link
   * AttemptLoop.Driver#hedges() hedge}.
   *
   * @return whether a hedge was armed: false when this call is not hedged (hedging off, the call
   *     not idempotent, one usable endpoint, panic, no retry budget, no delay known yet)
   */
  default boolean scheduleHedge(Runnable send) {
    return false;
  }

  /** Disarms the hedge if it has not run yet; any thread. */
  default void cancelHedge() {}

  /**
   * Picks the hedge's endpoint, one the call has not tried, and counts it against the retry budget;
   * for the task given to {@link #scheduleHedge}, on its thread. The hedge is an attempt like any
   * other, reported once; while it is in flight, a report of the first attempt decides nothing (it
   * returns {@link RetryDecision#stop()}): the hedge's decides whether the call goes on.
   *
   * @return the hedge, or an unavailable attempt saying why none is sent (the first attempt was
   *     reported already, the budget is spent, the service is in panic, nothing else to pick)
   */
  default Attempt hedge() {
    throw new UnsupportedOperationException("this call cannot be hedged: " + this);
  }

  /** Returns whether the call may be repeated after an attempt that may have been processed. */
  boolean idempotent();

  /** Returns the attempts picked so far. */
  int attempts();

  /** Returns the pick context of the next attempt: the call's, with every tried endpoint. */
  PickContext context();
}
