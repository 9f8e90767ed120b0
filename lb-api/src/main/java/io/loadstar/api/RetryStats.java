package io.loadstar.api;

/**
 * A service's retry counters, as {@link LoadBalancer.Inspection#retryStats()} read them. Immutable.
 *
 * @param retries retries allowed since the balancer was built
 * @param refusedByBudget retries refused because the budget was spent, since it was built
 * @param windowCalls calls counted in the budget's current window
 * @param windowRetries retries counted in the budget's current window
 */
public record RetryStats(
    long retries, long refusedByBudget, long windowCalls, long windowRetries) {}
