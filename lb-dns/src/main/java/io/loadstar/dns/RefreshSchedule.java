package io.loadstar.dns;

import io.github.resilience4j.core.IntervalFunction;
import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointUpdate;
import java.time.Duration;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design notes. After an answer, the next lookup is due when the smallest TTL of the records used
 * (following CNAMEs) runs out, clamped to [minTtl, maxTtl], times a random factor in [1.0, 1.1]
 * (upward only, so the shared DnsCache entry has expired when the lookup runs), without waiting
 * for traffic. After a failure (timeout, SERVFAIL, REFUSED, network error) it is reported as
 * an error; NXDOMAIN or an answer without records as an empty list with that reason
 * (EndpointUpdate.empty: the servers answered, there is none); either way the lookup is retried
 * with exponential backoff, 1 s doubling to 32 s (Resilience4j's IntervalFunction), +-20% from the
 * balancer's seed. What either does to the endpoints is the balancer's setting, keepLastEndpoints
 * (one age, or one while failing and one while empty): by default it keeps the last good ones.
 * After failures, the next good answer is reported even if unchanged: it tells the balancer the
 * outage ended; otherwise a list is reported only when it changed.
 */
/**
 * What a DNS source tells its balancer after each lookup, and when it looks up next: at the
 * answer's TTL (clamped, jittered upward) after an answer, with jittered exponential backoff after
 * a failure. Not thread-safe: guarded by its source's lock.
 */
final class RefreshSchedule {

  private static final Logger logger = LoggerFactory.getLogger(RefreshSchedule.class);

  // Resilience4j's exponential interval, jittered +-20% from the seed (its own random variant
  // draws from Math.random, which a seeded test cannot repeat).
  private static final IntervalFunction BACKOFF =
      IntervalFunction.ofExponentialBackoff(Duration.ofSeconds(1), 2.0, Duration.ofSeconds(32));

  /** What to tell the balancer (null: nothing, the list is unchanged) and when to look up next. */
  record Step(@Nullable EndpointUpdate update, long delayNanos) {}

  private final String name;
  private final long minTtlNanos;
  private final long maxTtlNanos;
  private final SplittableRandom random;
  private List<Endpoint> lastGood = List.of();
  private int failuresInARow;

  /** A schedule for {@code name}'s lookups; TTLs clamped to [min, max], jitter drawn from seed. */
  RefreshSchedule(String name, long minTtlNanos, long maxTtlNanos, long seed) {
    this.name = name;
    this.minTtlNanos = minTtlNanos;
    this.maxTtlNanos = maxTtlNanos;
    this.random = new SplittableRandom(seed);
  }

  /**
   * A lookup found {@code endpoints} (sorted, at least one) valid for {@code ttlNanos}: reported
   * when it changed, or after failures (it tells the balancer the outage ended).
   */
  Step answered(List<Endpoint> endpoints, long ttlNanos) {
    boolean recovered = failuresInARow > 0;
    if (recovered) {
      // The balancer logs the recovery (INFO) for every source alike.
      logger.debug("[{}] DNS lookups recovered after {} failures", name, failuresInARow);
    }
    failuresInARow = 0;
    EndpointUpdate update = null;
    if (recovered || !endpoints.equals(lastGood)) {
      lastGood = List.copyOf(endpoints);
      update = EndpointUpdate.of(lastGood);
    }
    long clamped = Math.max(minTtlNanos, Math.min(maxTtlNanos, Math.max(0, ttlNanos)));
    // Jitter only upward: an earlier refresh would find the cached answer still valid.
    return new Step(update, (long) (clamped * (1.0 + 0.1 * random.nextDouble())));
  }

  /**
   * A lookup failed with {@code failure}; {@code emptyAnswer}, if not null, says the servers
   * answered that there is none (NXDOMAIN, no records), which is reported as an empty list.
   */
  Step failed(Throwable failure, @Nullable String emptyAnswer) {
    failuresInARow++;
    // Reported to the balancer, which logs the outage once (WARN) for every source alike.
    logger.debug(
        "[{}] DNS lookup failed ({} in a row): {}", name, failuresInARow, failure.toString());
    EndpointUpdate update =
        emptyAnswer != null ? EndpointUpdate.empty(emptyAnswer) : EndpointUpdate.failed(failure);
    long backoffNanos = TimeUnit.MILLISECONDS.toNanos(BACKOFF.apply(failuresInARow));
    return new Step(update, (long) (backoffNanos * (0.8 + 0.4 * random.nextDouble())));
  }
}
