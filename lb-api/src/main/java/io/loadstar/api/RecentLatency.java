package io.loadstar.api;

import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * A service's recent latency, as {@link LoadBalancer.Inspection#recentLatency()} reads it: the
 * percentiles of its successful attempts over the last 10 s (the last 60 s when those had fewer
 * than 20), from a histogram whose buckets are at most 19% wide (each percentile is its bucket's
 * upper bound), and the attempt timeout and hedging delay they give. Read every 5 s (every second,
 * over all calls so far, until the first 5 s have passed). Immutable.
 *
 * @param samples the successful attempts the percentiles are of
 * @param p50 the median, or null when fewer than 20 successes were measured
 * @param p95 the 95th percentile, or null
 * @param p99 the 99th percentile, or null
 * @param attemptTimeout the {@link RetryPolicy#attemptTimeout() attempt timeout} these give (its
 *     initial value while the percentiles are null), or null when attempts get none
 * @param hedgeDelay the {@link RetryPolicy#hedging() hedging} delay these give, or null when calls
 *     are not hedged (hedging off, or adaptive and too few successes measured)
 */
public record RecentLatency(
    long samples,
    @Nullable Duration p50,
    @Nullable Duration p95,
    @Nullable Duration p99,
    @Nullable Duration attemptTimeout,
    @Nullable Duration hedgeDelay) {

  /** Nothing measured, no attempt timeout, no hedging. */
  public static final RecentLatency NONE = new RecentLatency(0, null, null, null, null, null);
}
