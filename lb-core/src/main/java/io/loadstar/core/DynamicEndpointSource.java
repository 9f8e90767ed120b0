package io.loadstar.core;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSource;
import io.loadstar.api.EndpointUpdate;
import io.loadstar.core.internal.SerialExecutor;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * An endpoint source whose list the application sets at run time, for membership that comes from
 * the application's own configuration or control plane.
 *
 * <p>Thread-safe: {@link #set} and {@link #fail} may be called from any thread, before or after the
 * balancer starts the source; the latest value is reported on start and every value after.
 */
public final class DynamicEndpointSource implements EndpointSource {

  private final Object lock = new Object();
  // Updates are queued under the lock (fixing their order) and delivered outside it.
  private final SerialExecutor delivery = new SerialExecutor("DynamicEndpointSource");
  private @Nullable EndpointUpdate current; // guarded by lock
  private @Nullable Listener listener; // guarded by lock
  private boolean closed; // guarded by lock

  private DynamicEndpointSource(@Nullable EndpointUpdate initial) {
    this.current = initial;
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

  private void publish(EndpointUpdate update) {
    synchronized (lock) {
      if (closed) {
        return;
      }
      current = update;
      Listener l = listener;
      if (l != null) {
        delivery.enqueue(() -> l.onUpdate(update));
      }
    }
    // Outside the lock: the listener is alien code. Concurrent set() calls still deliver in the
    // order they took the lock, so the last value set is the last value delivered.
    delivery.drain();
  }

  @Override
  public void start(Listener listener) {
    requireNonNull(listener, "listener");
    synchronized (lock) {
      if (closed) {
        throw new IllegalStateException(
            this + " is closed (expected: a new source for a new balancer)");
      }
      if (this.listener != null) {
        throw new IllegalStateException(
            this
                + " already serves a balancer (expected: one source per balancer; give each"
                + " balancer its own DynamicEndpointSource and set() both)");
      }
      this.listener = listener;
      EndpointUpdate initial = current;
      if (initial != null) {
        delivery.enqueue(() -> listener.onUpdate(initial));
      }
    }
    delivery.drain();
  }

  @Override
  public void close() {
    synchronized (lock) {
      closed = true;
      listener = null;
    }
  }

  /** The last value set, for tests. */
  @Nullable EndpointUpdate current() {
    synchronized (lock) {
      return current;
    }
  }

  @Override
  public String toString() {
    synchronized (lock) {
      return "DynamicEndpointSource{" + current + "}";
    }
  }
}
