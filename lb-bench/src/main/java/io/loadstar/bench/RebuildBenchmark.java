package io.loadstar.bench;

import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.core.DynamicEndpointSource;
import io.loadstar.core.LoadBalancers;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;

/**
 * The cost of applying a discovery update of n endpoints and publishing it: reconciliation plus
 * building the strategy's picker (for Maglev, populating the lookup table). {@code update}
 * alternates between two lists that differ in every endpoint's weight, so each update rebuilds
 * everything; {@code updateOne} between two that differ in one endpoint's weight, as a registry's
 * single change does. Memory per endpoint: {@link Footprint}.
 */
@State(Scope.Benchmark)
@OutputTimeUnit(TimeUnit.MILLISECONDS)
public class RebuildBenchmark extends ShortRun {

  @Param({"maglev", "ringHash", "roundRobin", "leastRequest"})
  public String strategy;

  @Param({"1000", "10000"})
  public int n;

  private LoadBalancer lb;
  private DynamicEndpointSource source;
  private List<Endpoint> first;
  private List<Endpoint> second;
  private List<Endpoint> oneChanged;
  private boolean flip;

  @Setup
  public void setUp() {
    first = Setups.endpoints(n, 0);
    second = first.stream().map(e -> e.withWeight(2)).toList();
    List<Endpoint> one = new ArrayList<>(first);
    one.set(n / 2, first.get(n / 2).withWeight(2));
    oneChanged = List.copyOf(one);
    source = DynamicEndpointSource.of(first);
    lb = LoadBalancers.builder("bench").strategy(Setups.strategy(strategy)).source(source).build();
  }

  @TearDown
  public void tearDown() {
    lb.close();
  }

  @Benchmark
  public int update() {
    flip = !flip;
    source.set(flip ? second : first); // applied synchronously on this thread's serial drain
    return lb.inspect().endpoints().size();
  }

  @Benchmark
  public int updateOne() {
    flip = !flip;
    source.set(flip ? oneChanged : first);
    return lb.inspect().endpoints().size();
  }
}
