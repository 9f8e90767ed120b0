package io.loadstar.core;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.internal.Checks;
import java.time.Duration;
import org.jspecify.annotations.Nullable;

/**
 * Settings of active health checks, after HAProxy's {@code check inter fastinter downinter rise
 * fall port}: how often to probe, how many results in a row flip the state, which port to probe.
 *
 * <p>Immutable and thread-safe; the {@link Builder} is not.
 */
public final class HealthCheckConfig {

  private static final Duration MIN_INTERVAL = Duration.ofMillis(10);
  private static final Duration MAX_INTERVAL = Duration.ofHours(1);
  private static final HealthCheckConfig DEFAULTS = builder().build();

  private final long intervalNanos;
  private final long fastIntervalNanos;
  private final long downIntervalNanos;
  private final long timeoutNanos;
  private final int rise;
  private final int fall;
  private final int port;
  private final double jitter;
  private final boolean initiallyHealthy;
  private final @Nullable Duration fastIntervalSet; // as given, for toBuilder(); null: interval
  private final @Nullable Duration downIntervalSet;

  private HealthCheckConfig(Builder b) {
    this.fastIntervalSet = b.fastInterval;
    this.downIntervalSet = b.downInterval;
    this.intervalNanos = b.interval.toNanos();
    this.fastIntervalNanos = (b.fastInterval != null ? b.fastInterval : b.interval).toNanos();
    this.downIntervalNanos = (b.downInterval != null ? b.downInterval : b.interval).toNanos();
    this.timeoutNanos = b.timeout.toNanos();
    this.rise = b.rise;
    this.fall = b.fall;
    this.port = b.port;
    this.jitter = b.jitter;
    this.initiallyHealthy = b.initiallyHealthy;
  }

  /** Returns the defaults: every 2 s, rise 2, fall 3, timeout 1 s, jitter ±15%. */
  public static HealthCheckConfig defaults() {
    return DEFAULTS;
  }

  /** Returns a builder with the defaults. */
  public static Builder builder() {
    return new Builder();
  }

  /**
   * Returns a builder with these settings, to derive others from them. An interval left to default
   * to {@link #interval()} still follows it.
   */
  public Builder toBuilder() {
    Builder b = new Builder();
    b.interval = Duration.ofNanos(intervalNanos);
    b.fastInterval = fastIntervalSet;
    b.downInterval = downIntervalSet;
    b.timeout = Duration.ofNanos(timeoutNanos);
    b.rise = rise;
    b.fall = fall;
    b.port = port;
    b.jitter = jitter;
    b.initiallyHealthy = initiallyHealthy;
    return b;
  }

  /** Returns the interval between probes while the state is steady. */
  public Duration interval() {
    return Duration.ofNanos(intervalNanos);
  }

  /** Returns the interval between probes while the state is changing. */
  public Duration fastInterval() {
    return Duration.ofNanos(fastIntervalNanos);
  }

  /** Returns the interval between probes while the endpoint is down. */
  public Duration downInterval() {
    return Duration.ofNanos(downIntervalNanos);
  }

  /** Returns how long one probe may take. */
  public Duration timeout() {
    return Duration.ofNanos(timeoutNanos);
  }

  /** Returns how many passing probes in a row bring a down endpoint up. */
  public int rise() {
    return rise;
  }

  /** Returns how many failing probes in a row take an up endpoint down. */
  public int fall() {
    return fall;
  }

  /** Returns the port probed, or 0 for each endpoint's own port. */
  public int port() {
    return port;
  }

  /** Returns the jitter applied to every timer, a fraction (0.15 = ±15%). */
  public double jitter() {
    return jitter;
  }

  /** Returns whether a new endpoint counts as healthy before its first probe. */
  public boolean initiallyHealthy() {
    return initiallyHealthy;
  }

  long intervalNanos() {
    return intervalNanos;
  }

  long fastIntervalNanos() {
    return fastIntervalNanos;
  }

  long downIntervalNanos() {
    return downIntervalNanos;
  }

  @Override
  public String toString() {
    return "HealthCheckConfig{interval="
        + interval()
        + ", fastInterval="
        + fastInterval()
        + ", downInterval="
        + downInterval()
        + ", timeout="
        + timeout()
        + ", rise="
        + rise
        + ", fall="
        + fall
        + (port != 0 ? ", port=" + port : "")
        + ", jitter="
        + jitter
        + ", initiallyHealthy="
        + initiallyHealthy
        + "}";
  }

  /** Builds a {@link HealthCheckConfig}. Not thread-safe. */
  public static final class Builder {
    private Duration interval = Duration.ofSeconds(2);
    private @Nullable Duration fastInterval;
    private @Nullable Duration downInterval;
    private Duration timeout = Duration.ofSeconds(1);
    private int rise = 2;
    private int fall = 3;
    private int port;
    private double jitter = 0.15;
    private boolean initiallyHealthy = true;

    private Builder() {}

    /**
     * Sets the interval between probes while the state is steady (HAProxy's {@code inter}).
     * Defaults to 2 seconds.
     *
     * @throws IllegalArgumentException if not in {@code 10ms..1h}
     */
    public Builder interval(Duration interval) {
      this.interval = checkInterval("interval", interval);
      return this;
    }

    /**
     * Sets the interval while the state is changing: up with some failures, or down with some
     * passes (HAProxy's {@code fastinter}). Defaults to the interval.
     *
     * @throws IllegalArgumentException if not in {@code 10ms..1h}
     */
    public Builder fastInterval(Duration fastInterval) {
      this.fastInterval = checkInterval("fastInterval", fastInterval);
      return this;
    }

    /**
     * Sets the interval while the endpoint is down (HAProxy's {@code downinter}). Defaults to the
     * interval.
     *
     * @throws IllegalArgumentException if not in {@code 10ms..1h}
     */
    public Builder downInterval(Duration downInterval) {
      this.downInterval = checkInterval("downInterval", downInterval);
      return this;
    }

    /**
     * Sets how long one probe may take before it counts as failed. Defaults to 1 second.
     *
     * @throws IllegalArgumentException if not in {@code 1ms..1m}
     */
    public Builder timeout(Duration timeout) {
      requireNonNull(timeout, "timeout");
      Checks.duration("timeout", timeout, Duration.ofMillis(1), Duration.ofMinutes(1));
      this.timeout = timeout;
      return this;
    }

    /**
     * Sets how many passing probes in a row bring a down endpoint back. Defaults to 2.
     *
     * @throws IllegalArgumentException if not in {@code 1..100}
     */
    public Builder rise(int rise) {
      this.rise = checkCount("rise", rise);
      return this;
    }

    /**
     * Sets how many failing probes in a row take an endpoint out. Defaults to 3.
     *
     * @throws IllegalArgumentException if not in {@code 1..100}
     */
    public Builder fall(int fall) {
      this.fall = checkCount("fall", fall);
      return this;
    }

    /**
     * Probes this port instead of each endpoint's own, like HAProxy's {@code port 9200} for a
     * database cluster check. Defaults to the endpoint's port.
     *
     * @throws IllegalArgumentException if not in {@code 1..65535}
     */
    public Builder port(int port) {
      if (port < 1 || port > 65535) {
        throw new IllegalArgumentException("port: " + port + " (expected: 1..65535)");
      }
      this.port = port;
      return this;
    }

    /**
     * Sets the random spread applied to every probe timer, so that a fleet of clients does not
     * probe in step. Defaults to 0.15 (±15%).
     *
     * @throws IllegalArgumentException if not in {@code 0.0..0.5}
     */
    public Builder jitter(double jitter) {
      if (!(jitter >= 0.0 && jitter <= 0.5)) {
        throw new IllegalArgumentException("jitter: " + jitter + " (expected: 0.0..0.5)");
      }
      this.jitter = jitter;
      return this;
    }

    /**
     * Whether a new endpoint takes calls before its first probe. Defaults to true; false keeps it
     * out until one probe passes.
     */
    public Builder initiallyHealthy(boolean initiallyHealthy) {
      this.initiallyHealthy = initiallyHealthy;
      return this;
    }

    /** Builds the settings. */
    public HealthCheckConfig build() {
      return new HealthCheckConfig(this);
    }

    private static Duration checkInterval(String name, Duration value) {
      requireNonNull(value, name);
      Checks.duration(name, value, MIN_INTERVAL, MAX_INTERVAL);
      return value;
    }

    private static int checkCount(String name, int value) {
      if (value < 1 || value > 100) {
        throw new IllegalArgumentException(name + ": " + value + " (expected: 1..100)");
      }
      return value;
    }
  }
}
