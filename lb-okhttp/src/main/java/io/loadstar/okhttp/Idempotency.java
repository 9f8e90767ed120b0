package io.loadstar.okhttp;

/**
 * Tells the interceptor whether a request may be sent again after it may have been processed (a
 * read timeout, a reset after writing, a 502/503/504), overriding what its method implies. Attach
 * it as a request tag:
 *
 * <pre>{@code
 * new Request.Builder().url(url).post(body).tag(Idempotency.class, Idempotency.IDEMPOTENT)
 * }</pre>
 *
 * <p>Without the tag, GET, HEAD, OPTIONS, PUT, DELETE and TRACE, and requests carrying an {@code
 * Idempotency-Key} header, are idempotent. Requests whose body is one-shot or duplex are never sent
 * twice, whatever the tag says.
 */
public enum Idempotency {
  /** The request may be repeated: retry it like a GET. */
  IDEMPOTENT,
  /** Retry the request only when it was never sent (connect refused or timed out). */
  NOT_IDEMPOTENT
}
