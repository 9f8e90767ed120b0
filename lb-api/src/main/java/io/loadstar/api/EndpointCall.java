package io.loadstar.api;

/**
 * A call made to one endpoint through {@link LoadBalancer#execute}: for example, opening a JDBC
 * connection or sending a Redis command to the picked host and port.
 *
 * @param <T> the call's result type
 */
@FunctionalInterface
public interface EndpointCall<T> {

  /**
   * Makes the call to {@code endpoint}. Returning normally counts as success; throwing counts as
   * failure, classified by the balancer's {@link FailureClassifier} (by default, a {@link
   * java.net.ConnectException} anywhere in the cause chain means the request was never sent).
   */
  T call(Endpoint endpoint) throws Exception;
}
