package io.loadstar.httpclient5;

import static java.util.Objects.requireNonNull;

import org.apache.hc.core5.http.protocol.HttpContext;

/**
 * Tells the balancing handler whether a request may be sent again after it may have been processed
 * (a read timeout, a reset after writing, a 502/503/504), overriding what its method implies. Set
 * it on the request's context:
 *
 * <pre>{@code
 * HttpClientContext context = HttpClientContext.create();
 * Idempotency.IDEMPOTENT.applyTo(context);
 * client.execute(post, context, handler);
 * }</pre>
 *
 * <p>Without it, GET, HEAD, OPTIONS, PUT, DELETE and TRACE, and requests carrying an {@code
 * Idempotency-Key} header, are idempotent. A request whose entity is not repeatable is never sent
 * twice, whatever this says.
 */
public enum Idempotency {
  /** The request may be repeated: retry it like a GET. */
  IDEMPOTENT,
  /** Retry the request only when it was never sent (connect refused or timed out). */
  NOT_IDEMPOTENT;

  /** The context attribute this is kept under. */
  static final String ATTRIBUTE = "io.loadstar.httpclient5.idempotency";

  /** Sets this on {@code context}, for the requests executed with it. */
  public void applyTo(HttpContext context) {
    requireNonNull(context, "context").setAttribute(ATTRIBUTE, this);
  }
}
