package io.loadstar.core;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.Prober;
import io.loadstar.api.internal.Checks;
import java.time.Duration;
import java.util.concurrent.Executor;
import org.jspecify.annotations.Nullable;

/**
 * Settings of {@link Strategies#probing(ProbingConfig)}, Prequal's probing (Wydrowski, Kleinberg,
 * Rumble, Wydrowski; NSDI 2024): a pool of recent probe answers (requests in flight and expected
 * latency), refilled asynchronously, from which each pick takes the best by the hot-cold rule.
 *
 * <p>Immutable and thread-safe; the {@link Builder} is not.
 */
public final class ProbingConfig {

  private final Prober prober;
  private final int poolSize;
  private final long maxAgeNanos;
  private final int reuseBudget;
  private final double rifQuantile;
  private final int minFreshProbes;
  private final int maxProbesPerSecond;
  private final long probeTimeoutNanos;
  private final @Nullable Executor executor;

  private ProbingConfig(Builder b) {
    this.prober = b.prober;
    this.poolSize = b.poolSize;
    this.maxAgeNanos = b.maxAge.toNanos();
    this.reuseBudget = b.reuseBudget;
    this.rifQuantile = b.rifQuantile;
    this.minFreshProbes = b.minFreshProbes;
    this.maxProbesPerSecond = b.maxProbesPerSecond;
    this.probeTimeoutNanos = b.probeTimeout.toNanos();
    this.executor = b.executor;
  }

  /** Returns a builder probing with {@code prober}, with the other settings at their defaults. */
  public static Builder builder(Prober prober) {
    return new Builder(requireNonNull(prober, "prober"));
  }

  /** Returns the prober. */
  public Prober prober() {
    return prober;
  }

  /** Returns the most probe answers kept. */
  public int poolSize() {
    return poolSize;
  }

  /** Returns how long a probe answer is used. */
  public Duration maxAge() {
    return Duration.ofNanos(maxAgeNanos);
  }

  long maxAgeNanos() {
    return maxAgeNanos;
  }

  /** Returns how many picks one probe answer may serve. */
  public int reuseBudget() {
    return reuseBudget;
  }

  /** Returns the quantile of the pool's requests in flight above which an answer is hot. */
  public double rifQuantile() {
    return rifQuantile;
  }

  /** Returns the fewest fresh answers a pick needs; with fewer it picks by least request. */
  public int minFreshProbes() {
    return minFreshProbes;
  }

  /** Returns the most probes sent per second. */
  public int maxProbesPerSecond() {
    return maxProbesPerSecond;
  }

  /** Returns how long a probe may take before it counts as failed. */
  public Duration probeTimeout() {
    return Duration.ofNanos(probeTimeoutNanos);
  }

  long probeTimeoutNanos() {
    return probeTimeoutNanos;
  }

  /** Returns where probes are started, or null for the balancer's worker threads. */
  public @Nullable Executor executor() {
    return executor;
  }

  @Override
  public String toString() {
    return "pool="
        + poolSize
        + ", maxAge="
        + maxAge()
        + ", reuse="
        + reuseBudget
        + ", rifQuantile="
        + rifQuantile
        + ", minFresh="
        + minFreshProbes
        + ", maxProbesPerSecond="
        + maxProbesPerSecond;
  }

  /** Builds a {@link ProbingConfig}. Setters validate at once. Not thread-safe. */
  public static final class Builder {
    private final Prober prober;
    private int poolSize = 16;
    private Duration maxAge = Duration.ofMillis(70);
    private int reuseBudget = 2;
    private double rifQuantile = 0.8;
    private int minFreshProbes = 2;
    private int maxProbesPerSecond = 1_000;
    private Duration probeTimeout = Duration.ofMillis(500);
    private @Nullable Executor executor;

    private Builder(Prober prober) {
      this.prober = prober;
    }

    /**
     * Sets the most probe answers kept (Prequal's pool: 16). A full pool replaces its oldest
     * answer. Defaults to 16.
     *
     * @throws IllegalArgumentException if not in {@code 2..64}
     */
    public Builder poolSize(int size) {
      if (size < 2 || size > 64) {
        throw new IllegalArgumentException("poolSize: " + size + " (expected: 2..64)");
      }
      this.poolSize = size;
      this.minFreshProbes = Math.min(minFreshProbes, size);
      return this;
    }

    /**
     * Sets how long an answer is used after it arrived. Load changes within seconds (an antagonist,
     * a GC, another client's burst): in lb-bench's TailLab ramp, answers up to 1 s old gave probing
     * a p99.9 at 1.2x load 0.59x least request's; over seven seeds, up to 100 ms old 0.43x to
     * 0.53x, up to 70 ms 0.43x to 0.48x for 10% more probes and the same past capacity. A client
     * that picks less often than this picks by least request, probing as it goes. Defaults to 70
     * ms.
     *
     * @throws IllegalArgumentException if not in {@code 1ms..1m}
     */
    public Builder maxAge(Duration age) {
      requireNonNull(age, "age");
      Checks.duration("maxAge", age, Duration.ofMillis(1), Duration.ofMinutes(1));
      this.maxAge = age;
      return this;
    }

    /**
     * Sets how many picks one answer may serve before it leaves the pool, so that a burst of picks
     * does not all go to the endpoint one answer favoured; the endpoint is probed again when one
     * use is left. Defaults to 2.
     *
     * @throws IllegalArgumentException if not in {@code 1..100}
     */
    public Builder reuseBudget(int picks) {
      if (picks < 1 || picks > 100) {
        throw new IllegalArgumentException("reuseBudget: " + picks + " (expected: 1..100)");
      }
      this.reuseBudget = picks;
      return this;
    }

    /**
     * Sets the hot-cold threshold: an answer whose requests in flight are above this quantile of
     * the pool's is hot; a pick takes the cold answer of lowest latency. Prequal uses 0.6 to 0.9.
     * Defaults to 0.8.
     *
     * @throws IllegalArgumentException if not in {@code 0.5..1.0}
     */
    public Builder rifQuantile(double quantile) {
      if (!(quantile >= 0.5 && quantile <= 1.0)) {
        throw new IllegalArgumentException("rifQuantile: " + quantile + " (expected: 0.5..1.0)");
      }
      this.rifQuantile = quantile;
      return this;
    }

    /**
     * Sets the fewest fresh answers a pick needs; with fewer (at start, or while endpoints do not
     * answer probes) it picks by least request. Defaults to 2.
     *
     * @throws IllegalArgumentException if not in {@code 1..poolSize}
     */
    public Builder minFreshProbes(int count) {
      if (count < 1 || count > poolSize) {
        throw new IllegalArgumentException(
            "minFreshProbes: " + count + " (expected: 1.." + poolSize + ", the pool size)");
      }
      this.minFreshProbes = count;
      return this;
    }

    /**
     * Sets the most probes sent per second, whatever the request rate. Defaults to 1,000.
     *
     * @throws IllegalArgumentException if not in {@code 1..100000}
     */
    public Builder maxProbesPerSecond(int probes) {
      if (probes < 1 || probes > 100_000) {
        throw new IllegalArgumentException(
            "maxProbesPerSecond: " + probes + " (expected: 1..100000)");
      }
      this.maxProbesPerSecond = probes;
      return this;
    }

    /**
     * Sets how long a probe may take before it counts as failed. Defaults to 500 ms.
     *
     * @throws IllegalArgumentException if not in {@code 1ms..10s}
     */
    public Builder probeTimeout(Duration timeout) {
      requireNonNull(timeout, "timeout");
      Checks.duration("probeTimeout", timeout, Duration.ofMillis(1), Duration.ofSeconds(10));
      this.probeTimeout = timeout;
      return this;
    }

    /**
     * Sets where probes are started (each {@link Prober#probe} call). Defaults to the balancer's
     * worker threads; a simulation passes a direct executor.
     */
    public Builder executor(Executor executor) {
      this.executor = requireNonNull(executor, "executor");
      return this;
    }

    /** Builds the settings. */
    public ProbingConfig build() {
      return new ProbingConfig(this);
    }
  }
}
