package io.loadstar.core;

import io.loadstar.api.EndpointSource;
import io.loadstar.api.FailureClassifier;
import io.loadstar.api.LbEventListener;
import io.loadstar.api.RetryPolicy;
import io.loadstar.api.SelectionStrategy;
import io.loadstar.api.Ticker;
import io.loadstar.core.internal.Sleeper;
import java.util.List;
import java.util.concurrent.ScheduledExecutorService;
import org.jspecify.annotations.Nullable;

/*
 * Design notes: what the builder held when build() was called, copied once into an immutable
 * value. The balancer and its parts are configured from it, never from the builder: a builder may
 * be changed and built again (a second balancer with another name or zone) without touching the
 * first, and build() leaves it as it was. The health check service a builder's
 * healthChecks(checker, config) asks for is built here, per balancer.
 */
/** A balancer's settings, fixed at build(). Immutable. */
record BalancerSettings(
    String name,
    List<EndpointSource> sources,
    SelectionStrategy strategy,
    int maxInFlightPerEndpoint,
    Ticker ticker,
    @Nullable ScheduledExecutorService scheduler,
    LbEventListener eventListener,
    long seed,
    long keepLastFailingNanos,
    long keepLastEmptyNanos,
    @Nullable HealthCheckService healthChecks,
    boolean ownsHealthChecks,
    @Nullable OutlierDetectionConfig outlierDetection,
    TierConfig tiers,
    @Nullable SlowStartConfig slowStart,
    long selectionTimeoutNanos,
    RetryPolicy retryPolicy,
    Sleeper sleeper,
    FailureClassifier failureClassifier,
    String zone,
    ZoneRouting zoneRouting,
    @Nullable SplitControl split,
    @Nullable Affinity affinity,
    @Nullable Subsetting subsetting) {

  BalancerSettings {
    sources = List.copyOf(sources);
  }

  /**
   * The settings as they are now, copied; builds the health check service {@link
   * LoadBalancers.Builder#healthChecks(io.loadstar.api.HealthChecker, HealthCheckConfig)} asked for
   * (a scheduler or seed set after it still applies). The builder is left as it was.
   */
  static BalancerSettings of(LoadBalancers.Builder b) {
    HealthCheckService checks = b.healthChecks;
    boolean owns = b.ownedChecker != null;
    if (b.ownedChecker != null && b.ownedCheckConfig != null) {
      HealthCheckService.Builder checker =
          HealthCheckService.builder(b.ownedChecker).config(b.ownedCheckConfig).seed(b.seed);
      if (b.scheduler != null) {
        checker.scheduler(b.scheduler);
      }
      checks = checker.build();
    }
    return new BalancerSettings(
        b.name,
        b.sources,
        b.strategy,
        b.maxInFlightPerEndpoint,
        b.ticker,
        b.scheduler,
        b.eventListener,
        b.seed,
        b.keepLastFailingNanos,
        b.keepLastEmptyNanos,
        checks,
        owns,
        b.outlierDetection,
        b.tiers,
        b.slowStart,
        b.selectionTimeoutNanos,
        b.retryPolicy,
        b.sleeper,
        b.failureClassifier,
        b.zone,
        b.zoneRouting,
        b.split,
        b.affinity,
        b.subsetting);
  }

  /** The slow-start window in nanoseconds, 0 when slow start is off. */
  long slowStartNanos() {
    return slowStart == null ? 0 : slowStart.window().toNanos();
  }

  /** The share of its weight, in percent, a ramping endpoint starts at. */
  int slowStartFloorPercent() {
    return slowStart == null ? SlowStartConfig.defaults().floorPercent() : slowStart.floorPercent();
  }
}
