package io.loadstar.httpclient5;

import java.io.IOException;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.hc.client5.http.async.AsyncExecCallback;
import org.apache.hc.client5.http.impl.classic.RequestFailedException;
import org.apache.hc.core5.http.HttpException;
import org.jspecify.annotations.Nullable;

/**
 * The caller's side of an async request: its callback, ended once (two attempts of a hedged request
 * may each try to end it), and the failures its attempts met, the latest last. Thread-safe.
 */
final class AsyncCaller {

  private final String service;
  private final AsyncExecCallback callback;
  private final AtomicBoolean closed = new AtomicBoolean();
  private volatile @Nullable Exception lastError;

  AsyncCaller(String service, AsyncExecCallback callback) {
    this.service = service;
    this.callback = callback;
  }

  AsyncExecCallback callback() {
    return callback;
  }

  /** An attempt failed with {@code error}: the earlier failure is suppressed in it. */
  void failedWith(Exception error) {
    suppressEarlier(error);
    lastError = error;
  }

  /** Adds the latest failure so far to {@code cause}, unless it is that failure. */
  void suppressEarlier(Exception cause) {
    Exception earlier = lastError;
    if (earlier != null && earlier != cause) {
      cause.addSuppressed(earlier);
    }
  }

  /**
   * Ends the request without another attempt: hands over {@code kept} if it is whole, else fails
   * with the last failure (and why nothing more was tried, {@code reason}, if the balancer said).
   */
  void giveUp(@Nullable HeldAnswer kept, @Nullable String reason) {
    if (kept != null && kept.complete()) {
      try {
        kept.handOver();
        kept.releaseResources();
        complete();
      } catch (HttpException | IOException | RuntimeException e) {
        fail(e);
      }
      return;
    }
    Exception last = lastError;
    IOException unavailable =
        reason != null ? new EndpointUnavailableException(service, reason) : null;
    if (last != null) {
      if (unavailable != null) {
        last.addSuppressed(unavailable);
      }
      fail(last);
      return;
    }
    IOException failure =
        unavailable != null ? unavailable : new IOException("no attempt of " + service + " ended");
    failure.initCause(
        new IOException(
            kept != null
                ? "the last answer, " + kept.response().getCode() + ", was too large to keep"
                : "no attempt answered"));
    fail(failure);
  }

  /** The caller aborted the request: it fails as HttpClient fails an aborted request. */
  void aborted() {
    RequestFailedException e = new RequestFailedException("Request aborted");
    suppressEarlier(e);
    fail(e);
  }

  /** The caller's request completed; once. */
  void complete() {
    if (closed.compareAndSet(false, true)) {
      callback.completed();
    }
  }

  /** The caller's request failed with {@code cause}; once. */
  void fail(Exception cause) {
    if (closed.compareAndSet(false, true)) {
      callback.failed(cause);
    }
  }
}
