package io.loadstar.core;

import io.loadstar.api.CallFailure;
import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.testing.ManualScheduler;
import java.net.ConnectException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/** Helpers shared by the core tests. */
final class TestEndpoints {

  private TestEndpoints() {}

  /** Returns n endpoints 10.0.x.y:8080 (never contacted: selection tests make no calls). */
  static List<Endpoint> endpoints(int n) {
    List<Endpoint> list = new ArrayList<>();
    for (int i = 0; i < n; i++) {
      list.add(Endpoint.of("10.0." + (i / 250) + "." + (i % 250 + 1), 8080));
    }
    return list;
  }

  /** Picks and completes {@code count} calls; returns how often each endpoint key was picked. */
  static Map<String, Integer> pickCounts(LoadBalancer lb, int count) {
    Map<String, Integer> counts = new LinkedHashMap<>();
    for (int i = 0; i < count; i++) {
      PickResult r = lb.pick(PickContext.empty());
      counts.merge(r.endpoint().key(), 1, Integer::sum);
      r.handle().onSuccess(1_000);
    }
    return counts;
  }

  /** Picks for a hash key and releases at once; returns the endpoint key. */
  static String pickKey(LoadBalancer lb, long key) {
    PickResult r = lb.pick(PickContext.ofHashKey(key));
    r.handle().onCancel();
    return r.endpoint().key();
  }

  /** Reports connect failures on every pick of {@code target} until it is ejected. */
  static void eject(LoadBalancer lb, Endpoint target) {
    for (int i = 0; i < 100_000 && state(lb, target) != EndpointSnapshot.State.EJECTED; i++) {
      PickResult r = lb.pick(PickContext.empty());
      if (r.endpoint().equals(target)) {
        r.handle().onFailure(CallFailure.notSent(new ConnectException("refused")), 1_000);
      } else {
        r.handle().onSuccess(1_000);
      }
    }
    if (state(lb, target) != EndpointSnapshot.State.EJECTED) {
      throw new AssertionError(target + " not ejected: " + snapshotOf(lb, target));
    }
  }

  /**
   * Lets the balancer's control loop apply what request threads handed it (ejections, trial
   * outcomes, canary checks), as it would a moment later on its own thread.
   */
  static void settle(LoadBalancer lb) {
    ((DefaultLoadBalancer) lb).settle();
  }

  /** Returns {@code e}'s snapshot. */
  static EndpointSnapshot snapshotOf(LoadBalancer lb, Endpoint e) {
    return lb.inspect().snapshot().stream()
        .filter(s -> s.endpoint().equals(e))
        .findFirst()
        .orElseThrow();
  }

  static EndpointSnapshot.State state(LoadBalancer lb, Endpoint e) {
    return snapshotOf(lb, e).state();
  }

  /** A health-check service whose probes run inline when {@code scheduler} runs due tasks. */
  static HealthCheckService inlineChecks(
      io.loadstar.api.HealthChecker checker, HealthCheckConfig config, ManualScheduler scheduler) {
    return HealthCheckService.builder(checker)
        .config(config)
        .scheduler(scheduler)
        .probeExecutor(Runnable::run)
        .seed(1)
        .build();
  }
}
