package io.loadstar.core;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSource;
import io.loadstar.api.EndpointUpdate;
import java.util.List;

/**
 * An endpoint source with a fixed list, reported once when started.
 *
 * <p>Immutable; a new instance is needed per balancer only because {@link EndpointSource} instances
 * serve one balancer each (this one holds no state, so sharing is harmless).
 */
public final class StaticEndpointSource implements EndpointSource {

  private final List<Endpoint> endpoints;

  private StaticEndpointSource(List<Endpoint> endpoints) {
    this.endpoints = endpoints;
  }

  /** Returns a source that always reports {@code endpoints}. */
  public static StaticEndpointSource of(Endpoint... endpoints) {
    return of(List.of(endpoints));
  }

  /**
   * Returns a source that always reports {@code endpoints}.
   *
   * @throws IllegalArgumentException if a key is listed twice with different attributes (weights,
   *     say): which one is meant cannot be known
   */
  public static StaticEndpointSource of(List<Endpoint> endpoints) {
    List<Endpoint> list = EndpointUpdate.of(requireNonNull(endpoints, "endpoints")).endpoints();
    String conflict = EndpointLists.conflictingDuplicate(list);
    if (conflict != null) {
      throw new IllegalArgumentException("endpoints: " + conflict);
    }
    return new StaticEndpointSource(list);
  }

  @Override
  public void start(Listener listener) {
    listener.onUpdate(EndpointUpdate.of(endpoints));
  }

  @Override
  public void close() {}

  @Override
  public String toString() {
    return "StaticEndpointSource" + endpoints;
  }
}
