package io.loadstar.api;

import java.time.Duration;

/**
 * Probes one endpoint once: the active health check SPI (a TCP connect, an HTTP request, a SQL
 * {@code SELECT 1}, ...). Scheduling, intervals and rise/fall counting are not the checker's job;
 * lb-core's health-check service does them and calls the checker on its own probe threads.
 *
 * <p>Implementations are thread-safe: probes of different endpoints run concurrently. A probe may
 * block, but must give up after {@code timeout}.
 */
@FunctionalInterface
public interface HealthChecker {

  /**
   * Probes {@code target} (the endpoint with the check port applied, if one is configured).
   * Throwing counts as an unhealthy result whose reason is the exception's message.
   */
  HealthCheckResult check(Endpoint target, Duration timeout) throws Exception;

  /**
   * Returns what a passing probe of this checker shows. Outlier detection lets a probe end an
   * ejection only when the probe tests the layer the real calls failed at: a TCP connect that
   * passes says the endpoint accepts connections, not that it stopped answering 503. Defaults to
   * {@link Layer#REQUEST}, right for checkers that send a request and read its answer (HTTP, SQL
   * {@code SELECT 1}, Redis {@code PING}).
   */
  default Layer layer() {
    return Layer.REQUEST;
  }

  /** The layer a probe tests, from what its passing shows. */
  enum Layer {
    /**
     * The endpoint accepts connections (a TCP connect): can end an ejection for connect failures
     * (requests not sent), not one for error responses, timeouts or slow calls.
     */
    CONNECT,
    /**
     * The endpoint answers a request properly (an HTTP 2xx, a query's result): can end any
     * ejection.
     */
    REQUEST
  }
}
