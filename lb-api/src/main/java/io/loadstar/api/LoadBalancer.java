package io.loadstar.api;

import java.time.Duration;
import java.util.List;
import java.util.Optional;

/**
 * The client-side load balancer of one service: it discovers the service's endpoints, tracks their
 * state, and picks one for each call.
 *
 * <p>Implementations are thread-safe. {@link #pick} is lock-free and allocates nothing in steady
 * state. A balancer owns its discovery sources and timers: {@link #close()} releases them all.
 * Build one with {@code io.loadstar.core.LoadBalancers.builder(name)}.
 */
public interface LoadBalancer extends AutoCloseable {

  /** Returns the service name, as given to the builder. */
  String name();

  /**
   * Picks an endpoint for one call and acquires an in-flight slot on it. The caller must report the
   * outcome exactly once on {@link PickResult#handle()}. When nothing can be picked, returns {@link
   * PickResult#unavailable(String)} rather than throwing.
   */
  PickResult pick(PickContext context);

  /** Picks an endpoint for a call without a key or exclusions. */
  default PickResult pick() {
    return pick(PickContext.empty());
  }

  /**
   * Picks an endpoint, makes {@code call} to it and reports the outcome: the programmatic API for
   * any client (JDBC, Redis, raw sockets). A failed call is retried on an endpoint it has not tried
   * as the balancer's retry policy allows: always if the exception says the request was never sent
   * (read through the cause chain, so a driver's wrapped {@code ConnectException} counts),
   * otherwise only if the policy retries possibly processed calls. The balancer's {@link
   * FailureClassifier} decides; every path releases the endpoint's in-flight slot.
   *
   * @return what {@code call} returned
   * @throws NoEndpointAvailableException if no endpoint can be picked (before discovery's first
   *     answer, after waiting up to the balancer's selection timeout)
   * @throws Exception what {@code call} threw
   */
  <T> T execute(PickContext context, EndpointCall<T> call) throws Exception;

  /** Calls {@link #execute(PickContext, EndpointCall)} without a key or exclusions. */
  default <T> T execute(EndpointCall<T> call) throws Exception {
    return execute(PickContext.empty(), call);
  }

  /**
   * Starts one call made by a driver that sends its attempts itself (an HTTP or RPC client
   * integration, {@link AttemptLoop}): the call is counted in the retry budget, and each attempt's
   * endpoint is picked and each failure decided with this balancer's policy, budget and selection
   * timeout. {@link #execute} is the ready-made driver for calls made by a function.
   *
   * @param context the call's hash key and exclusions
   * @param idempotent whether the call may be repeated after an attempt that may have been
   *     processed (a GET, or a request with an idempotency key); one never sent is always retryable
   */
  BalancedCall newCall(PickContext context, boolean idempotent);

  /**
   * Waits until discovery has delivered a first non-empty list, for start-up. Returns at once if it
   * has.
   *
   * @return true if endpoints are known, false if {@code timeout} passed first or the balancer was
   *     closed
   * @throws InterruptedException if interrupted while waiting
   */
  boolean awaitReady(Duration timeout) throws InterruptedException;

  /**
   * Returns what the balancer can tell about itself and its endpoints: for operators, metrics and
   * tests, not for the call path.
   */
  Inspection inspect();

  /** Returns the operations on the balancer's endpoints: drain, resume, weight overrides. */
  Control control();

  /**
   * Adds {@code listener} to the ones hearing this balancer's events (beside the builder's {@code
   * eventListener}), from now until the returned subscription is closed: how a metrics binder or an
   * operator's tool follows a balancer it did not build. A listener that throws is logged and
   * cannot break the balancer.
   */
  Subscription addListener(LbEventListener listener);

  /**
   * Closes discovery sources, stops every timer and thread the balancer started, and makes later
   * picks return unavailable; all done when it returns (called from one of the balancer's own
   * listeners, right after that listener returns). Calls in flight may still report their outcome.
   * Idempotent.
   *
   * <p>After {@code close()}, picks are unavailable with a reason naming the balancer as closed
   * ({@code execute} throws {@link NoEndpointAvailableException}, {@code inspect().peek} is empty,
   * {@code awaitReady} returns false), so calls racing a shutdown fail the way a pick fails. The
   * methods that answer or act for the balancer ({@code inspect().endpoints}, {@code snapshot},
   * {@code explain}, and every {@code control()} operation) throw {@link IllegalStateException}
   * naming it. {@code name}, {@code inspect().retryPolicy} and {@code retryStats} still answer, for
   * a last report.
   */
  @Override
  void close();

  /**
   * What a balancer tells about itself, from {@link LoadBalancer#inspect()}. Thread-safe. After
   * {@code close()}, {@code endpoints}, {@code snapshot} and {@code explain} throw {@link
   * IllegalStateException}; {@code peek} is empty; the retry policy and counters still answer.
   */
  interface Inspection {

    /**
     * Returns the endpoints currently known from discovery, sorted by {@link Endpoint#key()}.
     *
     * @throws IllegalStateException if the balancer is closed
     */
    List<Endpoint> endpoints();

    /**
     * Returns the state of every endpoint known from discovery, sorted by {@link Endpoint#key()}:
     * whether it is ready, ramping, at its limit, draining, unhealthy or ejected, why, and its
     * weights, calls in flight and counters. A copy, made on each call.
     *
     * @throws IllegalStateException if the balancer is closed
     */
    List<EndpointSnapshot> snapshot();

    /**
     * Explains where a pick with {@code context} would go and why: each endpoint's state, whether
     * it is a candidate, the scores the strategy compares, and the routing that applies. Takes no
     * slot and changes nothing; for operators and tests, not for the call path. It agrees with
     * {@link #peek}: where the pick is determined by the context and the state (a hash key's owner,
     * the less busy of two least-request candidates) it names that endpoint as {@link
     * PickExplanation#chosen()}; where the pick is drawn (a tie, a draw by share, power of two
     * choices over more candidates) the decision names what it is drawn among.
     *
     * @throws UnsupportedOperationException if the implementation cannot explain its picks
     * @throws IllegalStateException if the balancer is closed
     */
    default PickExplanation explain(PickContext context) {
      throw new UnsupportedOperationException(getClass().getName() + " does not explain its picks");
    }

    /**
     * Returns the endpoint a call with {@code context} would go to now, without keeping an
     * in-flight slot on it: for consistent hashing, the key's endpoint; for other strategies, the
     * one the strategy would choose (a look advances round robin like a pick). Empty when nothing
     * can be picked, or the balancer is closed.
     */
    Optional<Endpoint> peek(PickContext context);

    /** Returns the retry policy every call of this service is retried by. */
    RetryPolicy retryPolicy();

    /** Returns the service's retry counters, whichever way its calls were made. */
    RetryStats retryStats();

    /**
     * Returns the service's recent latency and the attempt timeout it gives; {@link
     * RecentLatency#NONE} when nothing reads it (no adaptive attempt timeout, or no retries).
     */
    default RecentLatency recentLatency() {
      return RecentLatency.NONE;
    }
  }

  /**
   * Operations on a balancer's endpoints, from {@link LoadBalancer#control()}. Thread-safe. After
   * {@code close()} each throws {@link IllegalStateException}.
   */
  interface Control {

    /**
     * Drains an endpoint: it gets no new calls, calls in flight finish. The drain survives
     * discovery refreshes until {@link #resume}. Applied before this method returns unless another
     * thread is applying a change to this balancer, then right after.
     *
     * @param endpointKey the endpoint's {@link Endpoint#key()}
     * @throws IllegalArgumentException if no current endpoint has that key
     */
    void drain(String endpointKey);

    /**
     * Ends a drain; the endpoint ramps up again if slow start is configured.
     *
     * @throws IllegalArgumentException if no current endpoint has that key
     */
    void resume(String endpointKey);

    /**
     * Overrides the weight discovery gives an endpoint, until {@code weight} is -1 (back to
     * discovery's weight). 0 takes it out of rotation like {@link #drain}.
     *
     * @throws IllegalArgumentException if no current endpoint has that key, or {@code weight} is
     *     not in {@code -1..1000000}
     */
    void setWeight(String endpointKey, int weight);
  }

  /** A listener added with {@link #addListener}; closing it removes the listener. */
  interface Subscription extends AutoCloseable {
    /** Removes the listener; events already being delivered may still reach it. Idempotent. */
    @Override
    void close();
  }
}
