package io.loadstar.core;

import io.loadstar.api.EndpointSource;
import io.loadstar.api.FailureClassifier;
import io.loadstar.api.HealthChecker;
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
   * The health check service of a balancer: {@code given}, unless the builder was given a checker
   * and config to build one of its own ({@code LoadBalancers.Builder.healthChecks(checker,
   * config)}), built here, per balancer, with the balancer's seed and scheduler (set before or
   * after).
   */
  static @Nullable HealthCheckService checks(
      @Nullable HealthCheckService given,
      @Nullable HealthChecker ownedChecker,
      @Nullable HealthCheckConfig ownedConfig,
      long seed,
      @Nullable ScheduledExecutorService scheduler) {
    if (ownedChecker == null || ownedConfig == null) {
      return given;
    }
    HealthCheckService.Builder checker =
        HealthCheckService.builder(ownedChecker).config(ownedConfig).seed(seed);
    if (scheduler != null) {
      checker.scheduler(scheduler);
    }
    return checker.build();
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
