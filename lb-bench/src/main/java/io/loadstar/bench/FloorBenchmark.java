package io.loadstar.bench;

import io.loadstar.api.Endpoint;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The floor every strategy is compared with: the naive round robin most hand-written balancers and
 * several libraries use, one shared {@link AtomicInteger} modulo the endpoint array. No accounting,
 * no exclusions, no weights.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class FloorBenchmark {

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
