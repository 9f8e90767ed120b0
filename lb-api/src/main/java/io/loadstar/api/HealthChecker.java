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
}
