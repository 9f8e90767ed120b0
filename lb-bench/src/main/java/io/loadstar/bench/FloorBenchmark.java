package io.loadstar.bench;

import io.loadstar.api.Endpoint;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;

/**
 * The floor every strategy is compared with: the naive round robin most hand-written balancers and
 * several libraries use, one shared {@link AtomicInteger} modulo the endpoint array. No accounting,
 * no exclusions, no weights.
 */
@State(Scope.Benchmark)
public class FloorBenchmark extends ShortRun {

  @Param({"3", "100", "1000"})
  public int n;

  private Endpoint[] endpoints;
  private final AtomicInteger cursor = new AtomicInteger();

  @Setup
  public void setUp() {
    endpoints = Setups.endpoints(n, 0).toArray(new Endpoint[0]);
  }

  @Benchmark
  @Threads(1)
  public Endpoint atomicModulo() {
    return endpoints[(cursor.getAndIncrement() & Integer.MAX_VALUE) % endpoints.length];
  }

  @Benchmark
  @Threads(2)
  public Endpoint atomicModuloThreads2() {
    return endpoints[(cursor.getAndIncrement() & Integer.MAX_VALUE) % endpoints.length];
  }
}
