package io.loadstar.api;

import static java.util.Objects.requireNonNull;

import org.jspecify.annotations.Nullable;

/**
 * The result of a pick: an endpoint plus the {@link CallHandle} to report the call's outcome on, or
 * the reason no endpoint is available.
 *
 * <p>Immutable and safe to share between threads. Pickers return pre-built instances, so a pick
 * allocates nothing; do not compare results by identity.
 */
public final class PickResult {

  private final @Nullable Endpoint endpoint;
  private final @Nullable CallHandle handle;
  private final @Nullable String reason;

  private PickResult(
      @Nullable Endpoint endpoint, @Nullable CallHandle handle, @Nullable String reason) {
    this.endpoint = endpoint;
    this.handle = handle;
    this.reason = reason;
  }

  /** Returns a successful result. */
  public static PickResult of(Endpoint endpoint, CallHandle handle) {
    return new PickResult(
        requireNonNull(endpoint, "endpoint"), requireNonNull(handle, "handle"), null);
  }

  /** Returns a result saying that no endpoint is available, and why. */
  public static PickResult unavailable(String reason) {
    return new PickResult(null, null, requireNonNull(reason, "reason"));
  }

  /** Returns true if an endpoint was picked. */
  public boolean isAvailable() {
    return endpoint != null;
  }

  /**
   * Returns the picked endpoint.
   *
   * @throws IllegalStateException if no endpoint was available
   */
  public Endpoint endpoint() {
    Endpoint e = endpoint;
    if (e == null) {
      throw new IllegalStateException("no endpoint was picked: " + reason);
    }
    return e;
  }

  /**
   * Returns the handle to report this call's outcome on, exactly once.
   *
   * @throws IllegalStateException if no endpoint was available
   */
  public CallHandle handle() {
    CallHandle h = handle;
    if (h == null) {
      throw new IllegalStateException("no endpoint was picked: " + reason);
    }
    return h;
  }

  /** Returns why no endpoint is available, or the empty string for a successful result. */
  public String reason() {
    return reason != null ? reason : "";
  }

  @Override
  public String toString() {
    return endpoint != null
        ? "PickResult{" + endpoint + "}"
        : "PickResult{unavailable: " + reason + "}";
  }
}
