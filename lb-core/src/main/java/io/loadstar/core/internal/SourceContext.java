package io.loadstar.core.internal;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.EndpointSource;
import io.loadstar.api.EndpointUpdate;
import io.loadstar.api.Ticker;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;

/**
 * The {@link EndpointSource.Context} a balancer (or a source started on its own) gives a source:
 * timers and workers come from {@code threads}, taken when the source first asks. Not API.
 *
 * @param serviceName the service, for logs
 * @param listener where the source's answers go (the balancer queues each on its control loop)
 * @param controlLoop the serial executor the source's state may be confined to
 * @param threads the timers and workers, owned (and closed) by whoever made this context
 * @param ticker the clock
 * @param seed the seed for jitter
 */
public record SourceContext(
    String serviceName,
    EndpointSource.Listener listener,
    Executor controlLoop,
    SharedThreads.Lease threads,
    Ticker ticker,
    long seed)
    implements EndpointSource.Context {

  /** Checks every component. */
  public SourceContext {
    requireNonNull(serviceName, "serviceName");
    requireNonNull(listener, "listener");
    requireNonNull(controlLoop, "controlLoop");
    requireNonNull(threads, "threads");
    requireNonNull(ticker, "ticker");
  }

  @Override
  public ScheduledExecutorService scheduler() {
    return threads.scheduler();
  }

  @Override
  public Executor executor() {
    return threads.workers();
  }

  @Override
  public void publish(EndpointUpdate update) {
    listener.onUpdate(requireNonNull(update, "update"));
  }

  @Override
  public EndpointSource.Context withPublisher(EndpointSource.Listener publisher) {
    return new SourceContext(serviceName, publisher, controlLoop, threads, ticker, seed);
  }
}
