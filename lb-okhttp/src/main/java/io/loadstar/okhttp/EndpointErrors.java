package io.loadstar.okhttp;

import io.loadstar.api.Endpoint;
import java.io.IOException;
import java.net.ConnectException;
import java.net.SocketTimeoutException;

/*
 * Design notes: each attempt connects to the picked endpoint's address through EndpointDns and to
 * its port through PortSocketFactory, while OkHttp's route keeps the URL's port. So OkHttp's
 * connect failure names the URL's port ("Failed to connect to /10.0.0.7:8080") for a connection
 * that went to another one. The message is OkHttp's own, made above the socket factory, so it is
 * put right here, where the attempt's endpoint is known: the same exception type (callers and
 * CallFailure.classify go by the type, and by a connect timeout's "Connect timed out" prefix),
 * naming the endpoint, with OkHttp's exception as its cause.
 */
/** Attempt errors that name the endpoint the attempt went to. */
final class EndpointErrors {

  private EndpointErrors() {}

  /**
   * {@code e}, or when it is a connect failure and the endpoint's port is not the URL's, an
   * exception of the same type naming the endpoint of {@code service}, with {@code e} as its cause.
   */
  static IOException attributed(IOException e, Endpoint endpoint, int urlPort, String service) {
    if (endpoint.port() == urlPort) {
      return e;
    }
    String message = e.getMessage();
    String where = endpoint.authority() + " (an endpoint of " + service + ")";
    IOException out;
    if (e instanceof ConnectException) {
      out = new ConnectException("Failed to connect to " + where);
    } else if (e instanceof SocketTimeoutException
        && message != null
        && message.regionMatches(true, 0, "connect timed out", 0, 17)) {
      out = new SocketTimeoutException("Connect timed out to " + where);
    } else {
      return e;
    }
    out.initCause(e);
    out.setStackTrace(e.getStackTrace());
    return out;
  }
}
