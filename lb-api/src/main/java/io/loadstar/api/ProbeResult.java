package io.loadstar.api;

/**
 * What an endpoint said of its load when probed: the requests it has in flight, and the latency it
 * expects for a request arriving now (its recent latency at about that many requests in flight).
 * Immutable.
 *
 * @param requestsInFlight the requests the endpoint is serving, at least 0
 * @param latencyNanos the latency it expects for a new request, in nanoseconds, at least 0
 */
public record ProbeResult(int requestsInFlight, long latencyNanos) {

  /**
   * Checks the values.
   *
   * @throws IllegalArgumentException if either is negative
   */
  public ProbeResult {
    if (requestsInFlight < 0) {
      throw new IllegalArgumentException(
          "requestsInFlight: " + requestsInFlight + " (expected: at least 0)");
    }
    if (latencyNanos < 0) {
      throw new IllegalArgumentException(
          "latencyNanos: " + latencyNanos + " (expected: at least 0)");
    }
  }
}
