package io.loadstar.httpclient5;

import static java.util.Objects.requireNonNull;

import java.io.IOException;

/**
 * No endpoint of a balanced service could be picked for a request (none discovered yet, all
 * unhealthy or ejected, all at their in-flight limit). An {@link IOException}, so HttpClient
 * callers handle it where they handle other request failures.
 */
public final class EndpointUnavailableException extends IOException {

  private static final long serialVersionUID = 1L;

  private final String service;
  private final String reason;

  /** Creates the exception for {@code service}, with the balancer's {@code reason}. */
  public EndpointUnavailableException(String service, String reason) {
    super("no endpoint available for '" + service + "': " + reason);
    this.service = requireNonNull(service, "service");
    this.reason = requireNonNull(reason, "reason");
  }

  /** Returns the balanced service's name. */
  public String service() {
    return service;
  }

  /** Returns why nothing could be picked, as the balancer put it. */
  public String reason() {
    return reason;
  }
}
