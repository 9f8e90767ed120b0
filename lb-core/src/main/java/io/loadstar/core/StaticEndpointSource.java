package io.loadstar.core;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.AbstractEndpointSource;
import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointUpdate;
import java.util.List;

/**
 * An endpoint source with a fixed list, published once when started. Serves one balancer, as every
 * source does: give each balancer its own ({@code LoadBalancers.Builder.endpoints} does).
 */
public final class StaticEndpointSource extends AbstractEndpointSource {

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
  protected void onStart(Context context) {
    publish(EndpointUpdate.of(endpoints));
  }

  @Override
  public String toString() {
    return "StaticEndpointSource" + endpoints;
  }
}
