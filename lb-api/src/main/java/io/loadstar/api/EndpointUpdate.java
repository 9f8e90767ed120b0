package io.loadstar.api;

import static java.util.Objects.requireNonNull;

import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.jspecify.annotations.Nullable;

/**
 * What a discovery source reports: either the complete current list of endpoints, or an error.
 *
 * <p>A list is always complete (a snapshot, not a delta), and may be empty: discovery was asked and
 * answered that there is no endpoint (DNS answered NXDOMAIN or no records, a registry lists
 * nobody); {@link #empty(String)} says why. An error says discovery could not be asked (a timeout,
 * SERVFAIL, a registry that cannot be reached). Balancers may treat the two differently ({@code
 * keepLastEndpoints(whileFailing, whileEmpty)} in lb-core). Instances are immutable and safe to
 * share between threads. Build one with {@link #of(List)}, {@link #empty(String)}, {@link
 * #failed(Throwable)} or {@link #builder()}.
 */
public final class EndpointUpdate {

  private final List<Endpoint> endpoints;
  private final @Nullable Throwable error;
  private final String reason;

  private EndpointUpdate(List<Endpoint> endpoints, @Nullable Throwable error, String reason) {
    this.endpoints = endpoints;
    this.error = error;
    this.reason = reason;
  }

  /** Returns an update carrying the complete list of endpoints (may be empty). */
  public static EndpointUpdate of(List<Endpoint> endpoints) {
    return builder().endpoints(endpoints).build();
  }

  /** Returns an update carrying the complete list of endpoints. */
  public static EndpointUpdate of(Endpoint... endpoints) {
    return of(List.of(endpoints));
  }

  /**
   * Returns an update saying discovery answered that there is no endpoint, for {@code reason} (for
   * example {@code "NXDOMAIN for api.internal"}): an answer, not a failure to get one.
   */
  public static EndpointUpdate empty(String reason) {
    return builder().endpoints(List.of()).reason(reason).build();
  }

  /** Returns an update saying discovery failed; balancers keep their last good list. */
  public static EndpointUpdate failed(Throwable error) {
    return builder().error(error).build();
  }

  /** Returns a new builder. Builders are not thread-safe. */
  public static Builder builder() {
    return new Builder();
  }

  /** Returns the endpoints; empty when this update is an error. */
  public List<Endpoint> endpoints() {
    return endpoints;
  }

  /** Returns the discovery error, if this update reports one. */
  public Optional<Throwable> error() {
    return Optional.ofNullable(error);
  }

  /** Returns why the list is empty, in words, if the source said; otherwise an empty string. */
  public String reason() {
    return reason;
  }

  /** Returns true if this update reports an error rather than a list. */
  public boolean isError() {
    return error != null;
  }

  @Override
  public String toString() {
    return error != null
        ? "EndpointUpdate{error=" + error + "}"
        : "EndpointUpdate{"
            + endpoints.size()
            + " endpoints"
            + (reason.isEmpty() ? "" : ", " + reason)
            + "}";
  }

  /** Builds an {@link EndpointUpdate}. Not thread-safe. */
  public static final class Builder {
    private @Nullable List<Endpoint> endpoints;
    private @Nullable Throwable error;
    private String reason = "";

    private Builder() {}

    /** Sets the complete list of endpoints. Mutually exclusive with {@link #error(Throwable)}. */
    public Builder endpoints(List<Endpoint> endpoints) {
      requireNonNull(endpoints, "endpoints");
      List<Endpoint> copy = new ArrayList<>(endpoints.size());
      for (Endpoint e : endpoints) {
        copy.add(requireNonNull(e, "endpoints element"));
      }
      this.endpoints = List.copyOf(copy);
      return this;
    }

    /** Sets why the list is empty, in words; for an empty list only. */
    public Builder reason(String reason) {
      this.reason = requireNonNull(reason, "reason");
      return this;
    }

    /** Sets the discovery error. Mutually exclusive with {@link #endpoints(List)}. */
    public Builder error(Throwable error) {
      this.error = requireNonNull(error, "error");
      return this;
    }

    /**
     * Builds the update.
     *
     * @throws IllegalStateException if both or neither of endpoints and error were set
     */
    public EndpointUpdate build() {
      if (endpoints != null && error != null) {
        throw new IllegalStateException("endpoints() cannot be combined with error()");
      }
      if (endpoints == null && error == null) {
        throw new IllegalStateException("one of endpoints() or error() must be set");
      }
      if (!reason.isEmpty() && (endpoints == null || !endpoints.isEmpty())) {
        throw new IllegalStateException(
            "reason(" + reason + ") is for an empty list (expected: endpoints(List.of()))");
      }
      return new EndpointUpdate(endpoints != null ? endpoints : List.of(), error, reason);
    }
  }
}
