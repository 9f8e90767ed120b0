package io.loadstar.bench;

import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.core.LoadBalancers;
import io.loadstar.micrometer.LoadstarMetrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * Pick + report (least request, 12 endpoints) with and without {@code LoadstarMetrics} bound to a
 * Micrometer registry. Target (issue 14): bound within 10% of unbound, 0 B/op.
 */
@State(Scope.Benchmark)
public class MetricsBenchmark extends ShortRun {

  @Param({"false", "true"})
  public boolean bound;

  private LoadBalancer lb;
  private LoadstarMetrics metrics;

  @Setup
  public void setUp() {
    LoadBalancers.Builder b = LoadBalancers.builder("bench").endpoints(Setups.endpoints(12, 0));
    lb = b.seed(1).build();
    if (bound) {
      metrics = LoadstarMetrics.of(new SimpleMeterRegistry());
      metrics.bind(lb);
    }
  }

  @TearDown
  public void tearDown() {
    lb.close();
    if (metrics != null) {
      metrics.close();
    }
  }

  @Benchmark
  public Endpoint pick() {
    PickResult r = lb.pick(PickContext.empty());
    r.handle().onSuccess(1_000);
    return r.endpoint();
  }
}
