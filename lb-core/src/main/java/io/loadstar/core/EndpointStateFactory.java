package io.loadstar.core;

import io.loadstar.api.AttemptTimeout;
import io.loadstar.api.Endpoint;
import io.loadstar.api.Hedging;
import io.loadstar.api.Ticker;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;

/** Creates the states of one balancer's endpoints, with its counting settings. */
final class EndpointStateFactory {
  private final int maxInFlight;
  private final boolean exactInFlight;
  private final @Nullable LongAdder totalInFlight;
  private final BuiltinStrategy.@Nullable PeakEwmaSettings latencyTracking;
  private final Ticker ticker;
  private final long origin;
  private final @Nullable OutlierDetector outliers;
  private final CallLedger ledger = new CallLedger();
  private final @Nullable LatencyDigest latency;

  EndpointStateFactory(
      BalancerSettings b, LongAdder total, @Nullable OutlierDetector outliers, BalancerHost host) {
    BuiltinStrategy builtin =
        b.strategy() instanceof BuiltinStrategy ? (BuiltinStrategy) b.strategy() : null;
    this.maxInFlight = b.maxInFlightPerEndpoint();
    // Custom strategies may read in-flight counts: give them exact ones.
    this.exactInFlight = builtin == null || builtin.readsInFlight();
    this.totalInFlight = builtin != null && builtin.tracksTotalInFlight() ? total : null;
    this.latencyTracking = builtin != null ? builtin.latencyTracking() : null;
    this.ticker = b.ticker();
    this.origin = b.ticker().nanoTime();
    this.outliers = outliers;
    // The service's latency is tracked only for what reads it: an adaptive attempt timeout or
    // hedging delay.
    AttemptTimeout timeout = b.retryPolicy().attemptTimeout();
    Hedging hedging = b.retryPolicy().hedging();
    this.latency =
        (timeout.isAdaptive() || hedging.isAdaptive()) && b.retryPolicy().maxAttempts() > 1
            ? new LatencyDigest(
                ledger, host::scheduler, host.controlLoop(), ticker, timeout, hedging)
            : null;
  }

  /** The service's recent latency, when something reads it. */
  @Nullable LatencyDigest latency() {
    return latency;
  }

  /** A state for a newly listed endpoint; control loop only. */
  EndpointState create(Endpoint endpoint) {
    boolean counted = maxInFlight == Integer.MAX_VALUE && !exactInFlight;
    return new EndpointState(
        endpoint,
        maxInFlight,
        counted ? ledger : null,
        counted ? ledger.allocate(ticker.nanoTime()) : -1,
        totalInFlight,
        latencyTracking,
        ticker,
        origin,
        outliers != null ? outliers.config() : null,
        outliers,
        latency);
  }

  /** Starts what reads the counts on a timer; control loop. */
  void start() {
    if (latency != null) {
      latency.start();
    }
  }

  /** Stops it; control loop. */
  void close() {
    if (latency != null) {
      latency.close();
    }
  }

  /** {@code state} is no longer listed: its ledger slot is reused once idle; control loop. */
  void removed(EndpointState state) {
    state.retire(ticker.nanoTime());
  }

  /** The ledger of the balancer's write-only counts; for tests. */
  CallLedger ledger() {
    return ledger;
  }
}
