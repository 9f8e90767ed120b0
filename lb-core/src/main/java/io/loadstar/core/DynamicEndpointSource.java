package io.loadstar.core;

import io.loadstar.api.AbstractEndpointSource;
import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointUpdate;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * An endpoint source whose list the application sets at run time, for membership that comes from
 * the application's own configuration or control plane.
 *
 * <p>Thread-safe: {@link #set} and {@link #fail} may be called from any thread, before or after the
 * balancer starts the source; the latest value is published on start and every value after, in the
 * order they were set.
 */
public final class DynamicEndpointSource extends AbstractEndpointSource {

  private DynamicEndpointSource(@Nullable EndpointUpdate initial) {
    if (initial != null) {
      offer(initial);
    }
  }

  /** Returns a source that reports nothing until {@link #set} is called. */
  public static DynamicEndpointSource create() {
    return new DynamicEndpointSource(null);
  }

  /** Returns a source that starts with {@code endpoints}. */
  public static DynamicEndpointSource of(List<Endpoint> endpoints) {
    return new DynamicEndpointSource(EndpointUpdate.of(endpoints));
  }

  /** Replaces the list; a started balancer receives it at once. */
  public void set(List<Endpoint> endpoints) {
    publish(EndpointUpdate.of(endpoints));
  }

  /** Replaces the list; a started balancer receives it at once. */
  public void set(Endpoint... endpoints) {
    set(List.of(endpoints));
  }

  /** Reports a discovery error; the balancer keeps its last good list. */
  public void fail(Throwable error) {
    publish(EndpointUpdate.failed(error));
  }

  @Override
  protected void onStart(Context context) {
    // The value set before, if any, is published by start() itself.
  }

  @Override
  protected String oneSourcePerBalancerHint() {
    return "; give each balancer its own DynamicEndpointSource and set() both";
  }

  /** The last value set, for tests. */
  @Nullable EndpointUpdate current() {
    return latest();
  }

  @Override
  public String toString() {
    return "DynamicEndpointSource{" + latest() + "}";
  }
}
