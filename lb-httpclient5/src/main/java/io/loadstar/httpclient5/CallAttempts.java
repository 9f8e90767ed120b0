package io.loadstar.httpclient5;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.Endpoint;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.apache.hc.core5.http.protocol.HttpContext;
import org.jspecify.annotations.Nullable;

/**
 * The attempts of the last balanced request executed with a context, in order: which endpoint each
 * went to and how it ended. The last one served the response. Read it with {@link #of(HttpContext)}
 * after the request (after each hop, for a request that was redirected).
 *
 * <p>Written by the request's execution only; read it once the response (or failure) arrived.
 */
public final class CallAttempts {

  /** The context attribute the attempts are kept under. */
  static final String ATTRIBUTE = "io.loadstar.httpclient5.attempts";

  /**
   * One attempt of a request. Immutable.
   *
   * @param endpoint the endpoint the attempt went to
   * @param status the response status, or 0 if the attempt failed without a response
   * @param error the exception the attempt failed with, if it got no response
   * @param latencyNanos the time from sending to the response head (or the failure)
   */
  public record Attempt(
      Endpoint endpoint, int status, @Nullable Exception error, long latencyNanos) {
    @Override
    public String toString() {
      return endpoint.key() + " -> " + (error != null ? error.toString() : "HTTP " + status);
    }
  }

  private final List<Attempt> attempts = Collections.synchronizedList(new ArrayList<>(2));

  CallAttempts() {}

  /**
   * Returns the attempts of the last balanced request executed with {@code context}, or {@code
   * null} if none was (a host that is not balanced).
   */
  public static @Nullable CallAttempts of(HttpContext context) {
    return (CallAttempts) requireNonNull(context, "context").getAttribute(ATTRIBUTE);
  }

  void add(Attempt attempt) {
    attempts.add(attempt);
  }

  /** Returns the attempts, first to last. */
  public List<Attempt> attempts() {
    synchronized (attempts) {
      return List.copyOf(attempts);
    }
  }

  /**
   * Returns the endpoint of the last attempt: the one that served the response.
   *
   * @throws IllegalStateException if no attempt was made (nothing could be picked)
   */
  public Endpoint servedBy() {
    synchronized (attempts) {
      if (attempts.isEmpty()) {
        throw new IllegalStateException("no attempt was made");
      }
      return attempts.get(attempts.size() - 1).endpoint();
    }
  }

  @Override
  public String toString() {
    return attempts().toString();
  }
}
