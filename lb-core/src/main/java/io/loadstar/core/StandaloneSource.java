package io.loadstar.core;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.EndpointSource;
import io.loadstar.api.Ticker;
import io.loadstar.core.internal.SerialExecutor;
import io.loadstar.core.internal.SharedThreads;
import io.loadstar.core.internal.SourceContext;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Runs an {@link EndpointSource} without a balancer, for tests and tools that want to see what a
 * source reports: on Loadstar's shared timer and workers, with a control loop of its own, on the
 * system clock. {@link #close} closes the source and gives the shared threads back.
 *
 * <pre>{@code
 * try (StandaloneSource running = StandaloneSource.start("orders", source, updates::add)) {
 *   ...
 * }
 * }</pre>
 */
public final class StandaloneSource implements AutoCloseable {

  private final EndpointSource source;
  private final SharedThreads.Lease threads;

  private StandaloneSource(EndpointSource source, SharedThreads.Lease threads) {
    this.source = source;
    this.threads = threads;
  }

  /**
   * Starts {@code source} for a service named {@code serviceName}, its answers going to {@code
   * listener} (from the source's threads).
   *
   * @throws IllegalStateException if the source was started before or is closed
   */
  public static StandaloneSource start(
      String serviceName, EndpointSource source, EndpointSource.Listener listener) {
    requireNonNull(serviceName, "serviceName");
    requireNonNull(source, "source");
    requireNonNull(listener, "listener");
    SharedThreads.Lease threads = new SharedThreads.Lease(serviceName, null);
    try {
      source.start(
          new SourceContext(
              serviceName,
              listener,
              new SerialExecutor(serviceName),
              threads,
              Ticker.system(),
              ThreadLocalRandom.current().nextLong()));
    } catch (RuntimeException e) {
      threads.close();
      throw e;
    }
    return new StandaloneSource(source, threads);
  }

  /** Asks the source for a fresh answer. */
  public void refresh() {
    source.refresh();
  }

  /** Closes the source, then gives the shared threads back. Idempotent. */
  @Override
  public void close() {
    try {
      source.close();
    } finally {
      threads.close();
    }
  }

  @Override
  public String toString() {
    return "StandaloneSource{" + source + '}';
  }
}
