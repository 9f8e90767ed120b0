package io.loadstar.core;

import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.HealthCheckResult;
import java.util.Collection;
import java.util.concurrent.Executor;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design notes: a balancer's view of active health checks. The HealthCheckService probes (one
 * probe per target however many balancers watch it) and applies HAProxy's rise/fall; this class
 * watches each listed endpoint, takes the results onto the balancer's control loop, and turns a
 * change into the endpoint's health state and a new snapshot. An endpoint checked for the first
 * time is excluded until a probe passes when initiallyHealthy is off, and is no panic candidate
 * before its first result. Passing probes also count towards ending an outlier ejection, when they
 * test the layer the calls failed at (see OutlierDetector).
 */
/** Active health of one balancer's endpoints; control loop only. */
final class ActiveHealth {

  private static final Logger logger = LoggerFactory.getLogger(ActiveHealth.class);

  private final String name;
  private final HealthCheckService service;
  private final boolean owned;
  private final Executor controlLoop;
  private final BalancerHost host;
  private final @Nullable OutlierDetector outliers;

  ActiveHealth(
      HealthCheckService service,
      boolean owned,
      BalancerHost host,
      @Nullable OutlierDetector outliers) {
    this.name = host.name();
    this.service = service;
    this.owned = owned;
    this.controlLoop = host.controlLoop();
    this.host = host;
    this.outliers = outliers;
  }

  /** Starts watching a newly listed endpoint and sets its health from what is known. */
  void watch(EndpointState state) {
    HealthCheckService.Watch watch =
        service.watch(
            state.endpoint(),
            (up, changed, result) -> controlLoop.execute(() -> onResult(state, up, result)));
    state.health.watch = watch;
    state.health.healthy = watch.isUp();
    if (!state.health.healthy) {
      String last = watch.lastFailure();
      state.health.awaitingFirstCheck = last.isEmpty();
      state.health.healthReason = last.isEmpty() ? "not checked yet" : "check failed: " + last;
    }
  }

  /** Stops watching an endpoint that is no longer listed. */
  void unwatch(EndpointState state) {
    HealthCheckService.Watch w = state.health.watch;
    if (w != null) {
      state.health.watch = null;
      w.close();
    }
  }

  /** Stops every watch, and the service if the balancer built it. */
  void close(Collection<EndpointState> states) {
    for (EndpointState state : states) {
      unwatch(state);
    }
    if (owned) {
      service.close();
    }
  }

  private void onResult(EndpointState state, boolean up, HealthCheckResult result) {
    if (!host.isCurrent(state)) {
      return; // removed meanwhile
    }
    boolean firstResult = state.health.awaitingFirstCheck;
    state.health.awaitingFirstCheck = false;
    if (outliers != null) {
      outliers.onProbe(
          state,
          result.isHealthy(),
          service.config().rise(),
          service.layer(),
          service.config().port());
    }
    if (up == state.health.healthy) {
      if (firstResult) {
        state.health.healthReason = "check failed: " + result.reason();
        host.republish(); // now a panic candidate
      }
      return;
    }
    state.health.healthy = up;
    state.health.healthReason = up ? "" : "check failed: " + result.reason();
    if (up) {
      host.startRamp(state);
      logger.info("[{}] {} is healthy again", name, state.endpoint());
    } else {
      logger.warn("[{}] {} is unhealthy: {}", name, state.endpoint(), state.health.healthReason);
    }
    host.republish();
    host.stateChanged(
        state.endpoint(),
        up ? EndpointSnapshot.State.READY : EndpointSnapshot.State.UNHEALTHY,
        state.health.healthReason);
  }
}
