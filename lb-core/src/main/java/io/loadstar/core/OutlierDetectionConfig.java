package io.loadstar.core;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.CallFailure;
import io.loadstar.api.internal.Checks;
import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * Settings of passive outlier detection: which failures of real calls take an endpoint out of
 * rotation, for how long, and how many endpoints may be out at once.
 *
 * <p>An endpoint is ejected after {@code consecutiveFailures} failed calls in a row (at once, on
 * the failing call), or when, over one {@code interval}, at least {@code minimumCalls} calls were
 * made and at least {@code failureRateThreshold} percent of them failed. Ejection lasts {@code
 * baseEjectionTime}, doubling with each repeated ejection up to {@code maxEjectionTime}, with ±20%
 * jitter; the doubling starts over once the endpoint has served a whole {@code maxEjectionTime}
 * since its last ejection ended. When it ends, {@code trialCalls} calls are let through: if they
 * all succeed the endpoint is back; if one fails it is ejected again for longer. An endpoint
 * without a counted failure for a whole {@code interval} starts its consecutive count over, so
 * failures from before it never eject. At most {@code maxEjectionPercent} of the endpoints are
 * ejected at once, and always at least one. Optionally, slow calls count too: when, over one
 * interval, at least {@code slowCallRateThreshold} percent of at least {@code minimumCalls}
 * successful calls took {@code slowCallDuration} or longer, the endpoint is ejected. With active
 * health checks, {@code rise} passing checks in a row also end an ejection early (into trial
 * calls), if the checks test the layer the calls failed at ({@link
 * io.loadstar.api.HealthChecker#layer()}): a TCP connect ends an ejection for connect failures,
 * never one for 5xx responses or timeouts. Failures count when the request was not sent, when it
 * may have been processed (timeouts, resets), and, unless turned off, for 5xx response statuses.
 *
 * <p>Immutable and thread-safe; the {@link Builder} is not.
 */
public final class OutlierDetectionConfig {

  private static final OutlierDetectionConfig DEFAULTS = builder().build();
  private static final OutlierDetectionConfig DISABLED =
      builder().consecutiveFailures(0).failureRateThreshold(0).build();

  private final int consecutiveFailures;
  private final int failureRateThreshold;
  private final int minimumCalls;
  private final Duration interval;
  private final Duration baseEjectionTime;
  private final Duration maxEjectionTime;
  private final int maxEjectionPercent;
  private final boolean alwaysAllowOne;
  private final int trialCalls;
  private final boolean serverErrorsAreFailures;
  private final long slowCallNanos;
  private final int slowCallRateThreshold;

  private OutlierDetectionConfig(Builder b) {
    this.slowCallNanos = b.slowCallDuration == null ? 0 : b.slowCallDuration.toNanos();
    this.slowCallRateThreshold = b.slowCallRateThreshold;
    this.consecutiveFailures = b.consecutiveFailures;
    this.failureRateThreshold = b.failureRateThreshold;
    this.minimumCalls = b.minimumCalls;
    this.interval = b.interval;
    this.baseEjectionTime = b.baseEjectionTime;
    this.maxEjectionTime = b.maxEjectionTime;
    this.maxEjectionPercent = b.maxEjectionPercent;
    this.alwaysAllowOne = b.alwaysAllowOne;
    this.trialCalls = b.trialCalls;
    this.serverErrorsAreFailures = b.serverErrorsAreFailures;
  }

  /** Returns the defaults (see the builder's setters); what a balancer uses unless told. */
  public static OutlierDetectionConfig defaults() {
    return DEFAULTS;
  }

  /**
   * Returns settings that eject nothing: no consecutive-failure, failure-rate or slow-call check.
   * For balancers whose callers handle failing endpoints themselves.
   */
  public static OutlierDetectionConfig disabled() {
    return DISABLED;
  }

  /** Returns whether any check can eject an endpoint. */
  public boolean isEnabled() {
    return consecutiveFailures > 0 || failureRateThreshold > 0 || slowCallRateThreshold > 0;
  }

  /** Returns a builder with the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /** Returns a builder with these settings, to derive others from them. */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.consecutiveFailures = consecutiveFailures;
    b.failureRateThreshold = failureRateThreshold;
    b.minimumCalls = minimumCalls;
    b.interval = interval;
    b.baseEjectionTime = baseEjectionTime;
    b.maxEjectionTime = maxEjectionTime;
    b.maxEjectionPercent = maxEjectionPercent;
    b.alwaysAllowOne = alwaysAllowOne;
    b.trialCalls = trialCalls;
    b.serverErrorsAreFailures = serverErrorsAreFailures;
    b.slowCallDuration = slowCallNanos == 0 ? null : Duration.ofNanos(slowCallNanos);
    b.slowCallRateThreshold = slowCallRateThreshold;
    return b;
  }

  /** Returns the failed calls in a row that eject an endpoint; 0 when off. */
  public int consecutiveFailures() {
    return consecutiveFailures;
  }

  /** Returns the failure percentage over one interval that ejects an endpoint; 0 when off. */
  public int failureRateThreshold() {
    return failureRateThreshold;
  }

  /** Returns the calls an interval needs before its failure rate counts. */
  public int minimumCalls() {
    return minimumCalls;
  }

  /** Returns the interval over which failure rates are computed. */
  public Duration interval() {
    return interval;
  }

  /** Returns the first ejection's duration. */
  public Duration baseEjectionTime() {
    return baseEjectionTime;
  }

  /** Returns the longest ejection. */
  public Duration maxEjectionTime() {
    return maxEjectionTime;
  }

  /**
   * Returns the most endpoints that may be ejected at once, as a percentage (rounded down, but at
   * least one when {@link #alwaysAllowOne()}).
   */
  public int maxEjectionPercent() {
    return maxEjectionPercent;
  }

  /** Returns whether one endpoint may always be ejected, whatever the percentage allows. */
  public boolean alwaysAllowOne() {
    return alwaysAllowOne;
  }

  /** Returns the trial calls let through when an ejection ends. */
  public int trialCalls() {
    return trialCalls;
  }

  /** Returns whether 5xx response statuses count as failures. */
  public boolean serverErrorsAreFailures() {
    return serverErrorsAreFailures;
  }

  /** Returns the latency from which a call counts as slow, or zero when slow calls are off. */
  public Duration slowCallDuration() {
    return Duration.ofNanos(slowCallNanos);
  }

  /** Returns the percentage of slow calls over one interval that ejects an endpoint. */
  public int slowCallRateThreshold() {
    return slowCallRateThreshold;
  }

  long slowCallNanos() {
    return slowCallNanos;
  }

  /** Returns whether {@code failure} counts toward ejection. */
  boolean counts(CallFailure failure) {
    if (failure.kind() != CallFailure.Kind.RESPONSE_STATUS) {
      return true;
    }
    return serverErrorsAreFailures && failure.status() >= 500 && failure.status() <= 599;
  }

  /** Returns how many of {@code n} endpoints may be ejected at once. */
  int maxEjected(int n) {
    int allowed = (int) ((long) maxEjectionPercent * n / 100);
    return alwaysAllowOne && n > 0 ? Math.max(1, allowed) : allowed;
  }

  @Override
  public String toString() {
    return "OutlierDetectionConfig{consecutiveFailures="
        + consecutiveFailures
        + ", failureRateThreshold="
        + failureRateThreshold
        + "%, minimumCalls="
        + minimumCalls
        + ", interval="
        + interval
        + ", baseEjectionTime="
        + baseEjectionTime
        + ", maxEjectionTime="
        + maxEjectionTime
        + ", maxEjectionPercent="
        + maxEjectionPercent
        + (alwaysAllowOne ? " (always one)" : "")
        + ", trialCalls="
        + trialCalls
        + "}";
  }

  /** Builds an {@link OutlierDetectionConfig}. Not thread-safe. */
  public static final class Builder {
    private int consecutiveFailures = 5;
    private int failureRateThreshold = 50;
    private int minimumCalls = 20;
    private Duration interval = Duration.ofSeconds(10);
    private Duration baseEjectionTime = Duration.ofSeconds(30);
    private Duration maxEjectionTime = Duration.ofSeconds(300);
    private int maxEjectionPercent = 10;
    private boolean alwaysAllowOne = true;
    private int trialCalls = 3;
    private boolean serverErrorsAreFailures = true;
    private @Nullable Duration slowCallDuration;
    private int slowCallRateThreshold;

    private Builder() {}

    /**
     * Ejects endpoints whose calls are slow: when, over one interval, at least {@code ratePercent}
     * of at least minimumCalls successful calls took {@code duration} or longer. Defaults to off.
     *
     * @throws IllegalArgumentException if {@code duration} is not in {@code 1ms..10m} or {@code
     *     ratePercent} not in {@code 1..100}
     */
    public Builder slowCalls(Duration duration, int ratePercent) {
      requireNonNull(duration, "duration");
      Checks.duration("slowCallDuration", duration, Duration.ofMillis(1), Duration.ofMinutes(10));
      if (ratePercent < 1 || ratePercent > 100) {
        throw new IllegalArgumentException(
            "slowCallRateThreshold: " + ratePercent + " (expected: 1..100)");
      }
      this.slowCallDuration = duration;
      this.slowCallRateThreshold = ratePercent;
      return this;
    }

    /**
     * Sets how many failed calls in a row eject an endpoint at once. Defaults to 5.
     *
     * @throws IllegalArgumentException if not in {@code 0..1000} (0 turns the check off)
     */
    public Builder consecutiveFailures(int consecutiveFailures) {
      if (consecutiveFailures < 0 || consecutiveFailures > 1000) {
        throw new IllegalArgumentException(
            "consecutiveFailures: " + consecutiveFailures + " (expected: 0..1000, 0 = off)");
      }
      this.consecutiveFailures = consecutiveFailures;
      return this;
    }

    /**
     * Sets the failure percentage over one interval that ejects an endpoint. Defaults to 50.
     *
     * @throws IllegalArgumentException if not in {@code 0..100} (0 turns the check off)
     */
    public Builder failureRateThreshold(int percent) {
      if (percent < 0 || percent > 100) {
        throw new IllegalArgumentException(
            "failureRateThreshold: " + percent + " (expected: 0..100, 0 = off)");
      }
      this.failureRateThreshold = percent;
      return this;
    }

    /**
     * Sets how many calls an interval needs before its failure rate counts. Defaults to 20.
     *
     * @throws IllegalArgumentException if not in {@code 1..1000000}
     */
    public Builder minimumCalls(int minimumCalls) {
      if (minimumCalls < 1 || minimumCalls > 1_000_000) {
        throw new IllegalArgumentException(
            "minimumCalls: " + minimumCalls + " (expected: 1..1000000)");
      }
      this.minimumCalls = minimumCalls;
      return this;
    }

    /**
     * Sets the interval over which failure rates are computed. Defaults to 10 seconds.
     *
     * @throws IllegalArgumentException if not in {@code 100ms..1h}
     */
    public Builder interval(Duration interval) {
      this.interval = checkDuration("interval", interval);
      return this;
    }

    /**
     * Sets the first ejection's duration. Defaults to 30 seconds.
     *
     * @throws IllegalArgumentException if not in {@code 100ms..1h}
     */
    public Builder baseEjectionTime(Duration baseEjectionTime) {
      this.baseEjectionTime = checkDuration("baseEjectionTime", baseEjectionTime);
      return this;
    }

    /**
     * Sets the longest ejection. Defaults to 300 seconds.
     *
     * @throws IllegalArgumentException if not in {@code 100ms..1h}
     */
    public Builder maxEjectionTime(Duration maxEjectionTime) {
      this.maxEjectionTime = checkDuration("maxEjectionTime", maxEjectionTime);
      return this;
    }

    /**
     * Sets the most endpoints that may be out at once, as a percentage of the listed endpoints,
     * rounded down; one endpoint may always be ejected unless {@link #alwaysAllowOne(boolean)} is
     * turned off (10% of 9 endpoints is then none). Defaults to 10. An ejection the cap refuses is
     * logged once at WARN and shown in the endpoint's {@code snapshot()} reason, and happens as
     * soon as the cap has room while the endpoint still fails.
     *
     * @throws IllegalArgumentException if not in {@code 0..100}
     */
    public Builder maxEjectionPercent(int percent) {
      if (percent < 0 || percent > 100) {
        throw new IllegalArgumentException(
            "maxEjectionPercent: " + percent + " (expected: 0..100)");
      }
      this.maxEjectionPercent = percent;
      return this;
    }

    /**
     * Whether one endpoint may always be ejected, even where the percentage rounds down to none (as
     * Envoy and gRPC do): with 2 to 9 endpoints and the default 10%, a dead endpoint is then still
     * ejected. Defaults to true.
     */
    public Builder alwaysAllowOne(boolean alwaysAllowOne) {
      this.alwaysAllowOne = alwaysAllowOne;
      return this;
    }

    /**
     * Sets how many trial calls are let through when an ejection ends. Defaults to 3.
     *
     * @throws IllegalArgumentException if not in {@code 1..100}
     */
    public Builder trialCalls(int trialCalls) {
      if (trialCalls < 1 || trialCalls > 100) {
        throw new IllegalArgumentException("trialCalls: " + trialCalls + " (expected: 1..100)");
      }
      this.trialCalls = trialCalls;
      return this;
    }

    /** Whether 5xx response statuses count as failures. Defaults to true. */
    public Builder serverErrorsAreFailures(boolean serverErrorsAreFailures) {
      this.serverErrorsAreFailures = serverErrorsAreFailures;
      return this;
    }

    /**
     * Builds the settings.
     *
     * @throws IllegalStateException if baseEjectionTime is longer than maxEjectionTime
     */
    public OutlierDetectionConfig build() {
      if (baseEjectionTime.compareTo(maxEjectionTime) > 0) {
        throw new IllegalStateException(
            "baseEjectionTime "
                + baseEjectionTime
                + " cannot be longer than maxEjectionTime "
                + maxEjectionTime);
      }
      return new OutlierDetectionConfig(this);
    }

    private static Duration checkDuration(String name, Duration value) {
      requireNonNull(value, name);
      Checks.duration(name, value, Duration.ofMillis(100), Duration.ofHours(1));
      return value;
    }
  }
}
