package io.loadstar.api;

/**
 * The attempts of one call, as its balancer's {@link RetryPolicy} and retry budget allow: for
 * integrations that make the attempts themselves. {@link LoadBalancer#execute} and lb-okhttp's
 * interceptor are drivers of it, so a service has one policy, one budget, one selection timeout and
 * one event listener whichever way its calls are made.
 *
 * <p>A driver takes the first endpoint from {@link #firstPick}, makes the attempt, reports its
 * outcome on the pick's {@link CallHandle} as usual, and on a failure asks {@link #onFailure} what
 * to do next: retry on the endpoint it picked (excluding every endpoint tried so far) after a
 * delay, or stop. The driver waits out the delay and owns the next pick's handle from then on.
 *
 * <pre>{@code
 * RetryState retry = balancer.newRetryState(PickContext.empty());
 * PickResult pick = retry.firstPick(Long.MAX_VALUE);
 * while (pick.isAvailable()) {
 *   try {
 *     return send(pick.endpoint()); // and pick.handle().onSuccess(latency)
 *   } catch (IOException e) {
 *     pick.handle().onFailure(CallFailure.notSent(e), latency);
 *     RetryDecision next = retry.onFailure(CallFailure.notSent(e), idempotent, -1, Long.MAX_VALUE);
 *     if (!next.isRetry()) throw e;
 *     sleep(next.delayNanos());
 *     pick = next.next();
 *   }
 * }
 * }</pre>
 *
 * <p>Not thread-safe: one call, attempted from one thread at a time.
 */
public interface RetryState {

  /**
   * Picks the first attempt's endpoint. If the balancer has not discovered any endpoint yet (it is
   * starting up), first waits for discovery's first answer, up to the balancer's selection timeout
   * and at most {@code maxWaitNanos} (a call's remaining time).
   *
   * @return the pick, or unavailable with the reason why nothing can be picked
   * @throws InterruptedException if interrupted while waiting
   * @throws IllegalStateException if called twice
   */
  PickResult firstPick(long maxWaitNanos) throws InterruptedException;

  /**
   * The last attempt (on the endpoint last picked) failed: decides whether to retry, on which
   * endpoint and after which delay. A retry is counted in the service's budget.
   *
   * @param failure how the attempt failed
   * @param idempotent whether the call may be repeated after it may have been processed
   * @param retryAfterNanos the wait the server asked for ({@code Retry-After}), or negative if none
   * @param remainingNanos the time the call has left ({@code Long.MAX_VALUE} for no limit): no
   *     retry whose delay would use it all up
   * @throws IllegalStateException if there was no attempt to fail
   */
  RetryDecision onFailure(
      CallFailure failure, boolean idempotent, long retryAfterNanos, long remainingNanos);

  /** Returns the attempts made so far, the one under way included. */
  int attempts();

  /** Returns the pick context of the next attempt: the call's, with every tried endpoint. */
  PickContext context();
}
