package io.loadstar.api;

import static java.util.Objects.requireNonNull;

import java.net.BindException;
import java.net.ConnectException;
import java.net.NoRouteToHostException;
import java.net.PortUnreachableException;
import java.net.SocketTimeoutException;
import java.net.UnknownHostException;
import javax.net.ssl.SSLHandshakeException;
import org.jspecify.annotations.Nullable;

/**
 * How a call failed, in the classes that decide whether it may be retried elsewhere.
 *
 * <p>Immutable and safe to share between threads. Status failures for codes 100..599 are cached, so
 * reporting them allocates nothing.
 */
public final class CallFailure {

  /** The class of a failure. */
  public enum Kind {
    /**
     * The request never reached the backend: connect refused or timed out, TLS handshake failure, a
     * stale pooled connection before the request was written. Always safe to retry.
     */
    NOT_SENT,
    /**
     * The backend may have processed the request: read timeout, reset after writing. Safe to retry
     * only for idempotent requests.
     */
    POSSIBLY_PROCESSED,
    /** The backend answered with a status that counts as failure (for example HTTP 503). */
    RESPONSE_STATUS
  }

  private static final CallFailure[] STATUS_CACHE = new CallFailure[600];

  static {
    for (int s = 100; s < STATUS_CACHE.length; s++) {
      STATUS_CACHE[s] = new CallFailure(Kind.RESPONSE_STATUS, s, null);
    }
  }

  private final Kind kind;
  private final int status;
  private final @Nullable Throwable cause;

  private CallFailure(Kind kind, int status, @Nullable Throwable cause) {
    this.kind = kind;
    this.status = status;
    this.cause = cause;
  }

  /** Returns a failure where the request was not sent. */
  public static CallFailure notSent(Throwable cause) {
    return new CallFailure(Kind.NOT_SENT, 0, requireNonNull(cause, "cause"));
  }

  /** Returns a failure where the backend may have processed the request. */
  public static CallFailure possiblyProcessed(Throwable cause) {
    return new CallFailure(Kind.POSSIBLY_PROCESSED, 0, requireNonNull(cause, "cause"));
  }

  /**
   * Returns a failure for a response status that counts as failure.
   *
   * @throws IllegalArgumentException if {@code status} is not in {@code 100..999}
   */
  public static CallFailure status(int status) {
    if (status >= 100 && status < STATUS_CACHE.length) {
      return STATUS_CACHE[status];
    }
    if (status < 100 || status > 999) {
      throw new IllegalArgumentException("status: " + status + " (expected: 100..999)");
    }
    return new CallFailure(Kind.RESPONSE_STATUS, status, null);
  }

  /**
   * Classifies an exception a call to an endpoint threw, by its cause chain: the request was not
   * sent if any exception in the chain says the connection was never made (connect refused or timed
   * out, no route to host, unknown host, port unreachable, TLS handshake failure); otherwise it may
   * have been processed. Client libraries wrap these (JDBC drivers in {@code
   * SQLNonTransientConnectionException}, Jedis in {@code JedisConnectionException}), which is why
   * the whole chain is read. This is {@link FailureClassifier#standard()}.
   */
  public static CallFailure classify(Throwable error) {
    requireNonNull(error, "error");
    return new CallFailure(notSent(error, 0) ? Kind.NOT_SENT : Kind.POSSIBLY_PROCESSED, 0, error);
  }

  /**
   * Whether {@code t}, or an exception in its cause chain, says the connection was never made. An
   * exception whose suppressed exceptions all say so counts too: Jedis reports a host it could not
   * reach with one suppressed {@code ConnectException} per address tried, and no cause.
   */
  private static boolean notSent(Throwable t, int depth) {
    for (Throwable c = t; c != null && depth < 32; depth++) {
      if (isNotSent(c)) {
        return true;
      }
      Throwable[] suppressed = c.getSuppressed();
      if (suppressed.length > 0) {
        boolean all = true;
        for (Throwable s : suppressed) {
          all &= s != c && notSent(s, depth + 1);
        }
        if (all) {
          return true;
        }
      }
      Throwable next = c.getCause();
      c = next == c ? null : next;
    }
    return false;
  }

  private static boolean isNotSent(Throwable t) {
    if (t instanceof ConnectException
        || t instanceof NoRouteToHostException
        || t instanceof UnknownHostException
        || t instanceof PortUnreachableException
        || t instanceof BindException
        || t instanceof SSLHandshakeException) {
      return true;
    }
    if (t instanceof SocketTimeoutException) {
      // The JDK's Socket.connect says "Connect timed out"; a read says "Read timed out".
      String message = t.getMessage();
      return message != null && message.regionMatches(true, 0, "connect timed out", 0, 17);
    }
    return t.getClass().getName().equals("java.net.http.HttpConnectTimeoutException");
  }

  /** Returns the class of this failure. */
  public Kind kind() {
    return kind;
  }

  /** Returns the response status for {@link Kind#RESPONSE_STATUS}, else 0. */
  public int status() {
    return status;
  }

  /** Returns the exception behind this failure, if any. */
  public @Nullable Throwable cause() {
    return cause;
  }

  @Override
  public String toString() {
    switch (kind) {
      case RESPONSE_STATUS:
        return "status " + status;
      case NOT_SENT:
        return "not sent: " + cause;
      default:
        return "possibly processed: " + cause;
    }
  }
}
