package io.loadstar.okhttp;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.Endpoint;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import okhttp3.Response;
import org.jspecify.annotations.Nullable;

/**
 * The attempts one call made through the interceptor, in order: which endpoint each went to and how
 * it ended. The last one served the response. Read it from a response with {@link #of(Response)}.
 *
 * <p>Immutable: a response carries the attempts that had ended when it arrived, itself last. A
 * hedged call's other attempt, if it was still out then, is not among them.
 */
public final class CallAttempts {

  /** One attempt of a call. Immutable. */
  public static final class Attempt {
    private final Endpoint endpoint;
    private final int status;
    private final @Nullable IOException error;
    private final long latencyNanos;

    Attempt(Endpoint endpoint, int status, @Nullable IOException error, long latencyNanos) {
      this.endpoint = endpoint;
      this.status = status;
      this.error = error;
      this.latencyNanos = latencyNanos;
    }

    /** Returns the endpoint this attempt went to. */
    public Endpoint endpoint() {
      return endpoint;
    }

    /** Returns the response status, or 0 if the attempt failed without a response. */
    public int status() {
      return status;
    }

    /** Returns the exception the attempt failed with, if it got no response. */
    public @Nullable IOException error() {
      return error;
    }

    /** Returns the time from sending to the response headers (or the failure). */
    public long latencyNanos() {
      return latencyNanos;
    }

    @Override
    public String toString() {
      return endpoint.key() + " -> " + (error != null ? error.toString() : "HTTP " + status);
    }
  }

  private final List<Attempt> attempts;

  private CallAttempts(List<Attempt> attempts) {
    this.attempts = attempts;
  }

  /** The attempts of one call so far, as its attempts end (on any thread). */
  static final class Log {
    private final List<Attempt> ended = new ArrayList<>(2);

    /** Adds an attempt that failed without a response. */
    synchronized void add(Attempt attempt) {
      ended.add(attempt);
    }

    /**
     * Adds an attempt that got a response: the attempts ended so far, it last, for the response.
     */
    synchronized CallAttempts answered(Attempt attempt) {
      ended.add(attempt);
      return new CallAttempts(List.copyOf(ended));
    }
  }

  /**
   * Returns the attempts behind a response the interceptor returned, or {@code null} if the
   * response did not come through it (a host that is not balanced).
   */
  public static @Nullable CallAttempts of(Response response) {
    return requireNonNull(response, "response").request().tag(CallAttempts.class);
  }

  /** Returns the attempts, first to last. */
  public List<Attempt> attempts() {
    return attempts;
  }

  /** Returns the endpoint of the last attempt: the one that served the response. */
  public Endpoint servedBy() {
    return attempts.get(attempts.size() - 1).endpoint();
  }

  @Override
  public String toString() {
    return attempts.toString();
  }
}
