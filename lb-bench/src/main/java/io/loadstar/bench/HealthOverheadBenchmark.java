package io.loadstar.bench;

import io.loadstar.api.Endpoint;
import io.loadstar.api.HealthCheckResult;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.core.HealthCheckConfig;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.OutlierDetectionConfig;
import java.time.Duration;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * Pick + report with health tracking off and on. "On" is active health checks (a checker that
 * passes, every hour, so no probe runs while measuring), outlier detection with its defaults and
 * slow start (not ramping): the hot path then also reads the trial-permit gate and the
 * consecutive-failure count on every call.
 */
@State(Scope.Benchmark)
public class HealthOverheadBenchmark extends ShortRun {

  @Param({"roundRobin", "leastRequest"})
  public String strategy;

  @Param({"off", "on"})
  public String tracking;

  @Param({"100"})
  public int n;

  private LoadBalancer lb;

  @Setup
  public void setUp() {
    LoadBalancers.Builder b =
        LoadBalancers.builder("bench")
            .strategy(Setups.strategy(strategy))
            .endpoints(Setups.endpoints(n, 0))
            .seed(1);
    if (tracking.equals("on")) {
      b.healthChecks(
              (Endpoint target, Duration timeout) -> HealthCheckResult.healthy(),
              HealthCheckConfig.builder().interval(Duration.ofHours(1)).build())
          .outlierDetection(OutlierDetectionConfig.defaults())
          .slowStart(Duration.ofSeconds(30));
    }
    lb = b.build();
  }

  @TearDown
  public void tearDown() {
    lb.close();
  }

  @Benchmark
  @Threads(1)
  public Endpoint pick() {
    PickResult r = lb.pick(PickContext.empty());
    r.handle().onSuccess(1_000);
    return r.endpoint();
  }

  @Benchmark
  @Threads(2)
  public Endpoint pickThreads2() {
    PickResult r = lb.pick(PickContext.empty());
    r.handle().onSuccess(1_000);
    return r.endpoint();
  }
}
