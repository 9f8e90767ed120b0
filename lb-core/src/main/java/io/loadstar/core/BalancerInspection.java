package io.loadstar.core;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickExplanation;
import io.loadstar.api.PickResult;
import io.loadstar.api.RecentLatency;
import io.loadstar.api.RetryPolicy;
import io.loadstar.api.RetryStats;
import io.loadstar.api.SelectionStrategy;
import io.loadstar.api.Ticker;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.function.IntSupplier;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/**
 * {@link LoadBalancer#inspect()} of the lb-core balancer: reads of its published state. Each answer
 * first lets the balancer's control loop apply what is queued ({@code settle}), so it reflects
 * every outcome reported before the question. Thread-safe.
 */
final class BalancerInspection implements LoadBalancer.Inspection {

  private final String name;
  private final Runnable checkOpen;
  private final Runnable settle;
  private final EndpointTable table;
  private final SelectionStrategy strategy;
  private final SnapshotBuilder snapshots;
  private final @Nullable Affinity affinity;
  private final Supplier<String> canaryRolledBack;
  private final IntSupplier subsettingOf;
  private final RetryEngine retries;
  private final Ticker ticker;

  /**
   * An inspection of the balancer {@code name}; {@code checkOpen} throws once it is closed, {@code
   * settle} lets its control loop run what is queued; {@code canaryRolledBack} says why the canary
   * was rolled back ("" if it was not), {@code subsettingOf} how many endpoints a subset was taken
   * from (0: no subsetting).
   */
  BalancerInspection(
      String name,
      Runnable checkOpen,
      Runnable settle,
      EndpointTable table,
      SelectionStrategy strategy,
      SnapshotBuilder snapshots,
      @Nullable Affinity affinity,
      Supplier<String> canaryRolledBack,
      IntSupplier subsettingOf,
      RetryEngine retries,
      Ticker ticker) {
    this.name = name;
    this.checkOpen = checkOpen;
    this.settle = settle;
    this.table = table;
    this.strategy = strategy;
    this.snapshots = snapshots;
    this.affinity = affinity;
    this.canaryRolledBack = canaryRolledBack;
    this.subsettingOf = subsettingOf;
    this.retries = retries;
    this.ticker = ticker;
  }

  @Override
  public List<Endpoint> endpoints() {
    checkOpen.run();
    settle.run();
    return table.endpoints();
  }

  @Override
  public List<EndpointSnapshot> snapshot() {
    checkOpen.run();
    settle.run();
    return table.snapshot();
  }

  @Override
  public PickExplanation explain(PickContext context) {
    Objects.requireNonNull(context, "context");
    checkOpen.run();
    settle.run();
    return Explainer.explain(
        name,
        strategy,
        table.current(),
        snapshots,
        affinity,
        canaryRolledBack.get(),
        subsettingOf.getAsInt(),
        context,
        ticker.nanoTime());
  }

  /** Where a pick would go, without keeping its slot: a pick, cancelled at once. */
  @Override
  public Optional<Endpoint> peek(PickContext context) {
    Objects.requireNonNull(context, "context");
    settle.run(); // after close: empty, as the closed picker answers
    PickResult result = table.picker().pick(context);
    if (!result.isAvailable()) {
      return Optional.empty();
    }
    result.handle().onCancel();
    return Optional.of(result.endpoint());
  }

  @Override
  public RetryPolicy retryPolicy() {
    return retries.policy();
  }

  @Override
  public RetryStats retryStats() {
    return retries.stats();
  }

  @Override
  public RecentLatency recentLatency() {
    return retries.recentLatency();
  }

  @Override
  public String toString() {
    return "Inspection{" + name + '}';
  }
}
