package io.loadstar.core;

import io.loadstar.api.SelectionContext;
import io.loadstar.api.Ticker;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;

/** The {@link SelectionContext} of an lb-core balancer. Immutable; thread-safe. */
final class BalancerContext implements SelectionContext {

  private final String serviceName;
  private final long seed;
  private final Ticker ticker;
  private final LongAdder totalInFlight;
  private final Supplier<Executor> workers;

  BalancerContext(
      String serviceName,
      long seed,
      Ticker ticker,
      LongAdder totalInFlight,
      Supplier<Executor> workers) {
    this.serviceName = serviceName;
    this.seed = seed;
    this.ticker = ticker;
    this.totalInFlight = totalInFlight;
    this.workers = workers;
  }

  /** The balancer's worker threads, for a strategy's background work (probes); taken lazily. */
  Executor workers() {
    return workers.get();
  }

  @Override
  public String serviceName() {
    return serviceName;
  }

  @Override
  public long seed() {
    return seed;
  }

  @Override
  public Ticker ticker() {
    return ticker;
  }

  /** The balancer-wide in-flight total; maintained only for strategies that track it. */
  LongAdder totalInFlight() {
    return totalInFlight;
  }

  @Override
  public String toString() {
    return "BalancerContext{" + serviceName + "}";
  }
}
