package io.loadstar.api;

import static java.util.Objects.requireNonNull;

import org.jspecify.annotations.Nullable;

/**
 * Thrown when a call cannot be made because no endpoint of the service can be picked. The message
 * names the service, the number of endpoints in each state and the last discovery error, e.g.
 * {@code no endpoint available for 'orders': 0 of 3 ready (2 at in-flight limit, 1 already tried);
 * last discovery error: ...}.
 */
public class NoEndpointAvailableException extends RuntimeException {

  private static final long serialVersionUID = 1L;

  private final String service;

  /**
   * Creates the exception.
   *
   * @param service the service name
   * @param reason why nothing could be picked (counts by state, last discovery error)
   * @param lastDiscoveryError the last discovery error, if any, kept as the cause
   */
  public NoEndpointAvailableException(
      String service, String reason, @Nullable Throwable lastDiscoveryError) {
    super(
        "no endpoint available for '" + requireNonNull(service, "service") + "': " + reason,
        lastDiscoveryError);
    this.service = service;
  }

  /** Returns the name of the service that had no endpoint available. */
  public String service() {
    return service;
  }
}
