package io.loadstar.api;

import static java.util.Objects.requireNonNull;

/**
 * The result of one health probe: healthy, or unhealthy with a reason in words (e.g. {@code
 * "connection refused on port 9200"}, {@code "HTTP 503 from /health"}).
 *
 * <p>Immutable and thread-safe.
 */
public final class HealthCheckResult {

  private static final HealthCheckResult HEALTHY = new HealthCheckResult(true, "");

  private final boolean healthy;
  private final String reason;

  private HealthCheckResult(boolean healthy, String reason) {
    this.healthy = healthy;
    this.reason = reason;
  }

  /** Returns the healthy result. */
  public static HealthCheckResult healthy() {
    return HEALTHY;
  }

  /** Returns an unhealthy result with its reason. */
  public static HealthCheckResult unhealthy(String reason) {
    return new HealthCheckResult(false, requireNonNull(reason, "reason"));
  }

  /** Returns true if the probe passed. */
  public boolean isHealthy() {
    return healthy;
  }

  /** Returns why the probe failed; empty when healthy. */
  public String reason() {
    return reason;
  }

  @Override
  public String toString() {
    return healthy ? "healthy" : "unhealthy: " + reason;
  }
}
