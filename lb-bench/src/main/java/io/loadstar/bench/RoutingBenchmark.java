package io.loadstar.bench;

import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.core.Affinity;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.TrafficSplit;
import java.util.ArrayList;
import java.util.List;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * What zones, a canary split and sticky keys add to a pick and its report (the default strategy,
 * least request): {@code plain} has none; {@code zones} has the endpoints in 3 zones and the
 * balancer in one of them; {@code split} sends 5% to the endpoints tagged {@code version=v2} (one
 * in ten); {@code zonesAndSplit} both; {@code sticky} keyed picks with {@code
 * Affinity.returnImmediately()}. Target (issue 13): zones and a split within 1.5x plain, 0 B/op.
 */
@State(Scope.Benchmark)
public class RoutingBenchmark extends ShortRun {

  @Param({"plain", "zones", "split", "zonesAndSplit", "sticky"})
  public String routing;

  @Param({"12", "300"})
  public int n;

  private LoadBalancer lb;
  private final PickContext[] contexts = new PickContext[1024];
  private int next;

  @Setup
  public void setUp() {
    List<Endpoint> endpoints = new ArrayList<>();
    for (Endpoint e : Setups.endpoints(n, 0)) {
      int i = endpoints.size();
      endpoints.add(e.withZone("z" + (i % 3)).withTag("version", i % 10 == 0 ? "v2" : "v1"));
    }
    LoadBalancers.Builder b = LoadBalancers.builder("bench").endpoints(endpoints).seed(1);
    if (routing.startsWith("zones")) {
      b.zone("z0");
    }
    if (routing.endsWith("plit")) {
      b.trafficSplit(TrafficSplit.toTag("version", "v2").percent(5));
    }
    if (routing.equals("sticky")) {
      b.affinity(Affinity.returnImmediately());
    }
    lb = b.build();
    String[] keys = Setups.stringKeys(contexts.length, 7);
    for (int i = 0; i < contexts.length; i++) {
      contexts[i] = routing.equals("sticky") ? PickContext.ofHashKey(keys[i]) : PickContext.empty();
    }
  }

  @TearDown
  public void tearDown() {
    lb.close();
  }

  @Benchmark
  public Endpoint pick() {
    PickResult r = lb.pick(contexts[next++ & (contexts.length - 1)]);
    r.handle().onSuccess(1_000);
    return r.endpoint();
  }
}
