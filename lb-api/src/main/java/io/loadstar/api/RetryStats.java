package io.loadstar.api;

/**
 * A service's retry counters, as {@link LoadBalancer.Inspection#retryStats()} read them. Immutable.
 *
 * @param retries retries allowed since the balancer was built (hedges included)
 * @param refusedByBudget retries refused because the budget was spent, since it was built
 * @param windowCalls calls counted in the budget's current window
 * @param windowRetries retries and hedges counted in the budget's current window
 * @param hedges hedged attempts sent since the balancer was built ({@link Hedging})
 */
public record RetryStats(
    long retries, long refusedByBudget, long windowCalls, long windowRetries, long hedges) {

  /** Counters of a service that sent no hedge. */
  public RetryStats(long retries, long refusedByBudget, long windowCalls, long windowRetries) {
    this(retries, refusedByBudget, windowCalls, windowRetries, 0);
  }
}
