package io.loadstar.bench;

import io.loadstar.api.Endpoint;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLongArray;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;

/**
 * The floors strategies are compared with. {@code atomicModulo}: the naive round robin most
 * hand-written balancers and several libraries use, one shared {@link AtomicInteger} modulo the
 * endpoint array; no accounting, no exclusions, no weights. {@code exactLeastRequest}: the least
 * work any least-request balancer with exact in-flight counts does per call (Envoy's, gRPC's and
 * Finagle's do this much): two random candidates, read both counters, increment the lower one's and
 * decrement it again when the call ends. Each counter is alone on its cache line.
 */
@State(Scope.Benchmark)
public class FloorBenchmark extends ShortRun {

  @Param({"3", "100", "1000"})
  public int n;

  private Endpoint[] endpoints;
  private final AtomicInteger cursor = new AtomicInteger();
  private static final int STRIDE = 16; // longs: 128 bytes between counters
  private AtomicLongArray inFlight;

  @Setup
  public void setUp() {
    endpoints = Setups.endpoints(n, 0).toArray(new Endpoint[0]);
    inFlight = new AtomicLongArray((n + 2) * STRIDE);
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

  @Benchmark
  @Threads(1)
  public Endpoint exactLeastRequest() {
    return leastRequestCall();
  }

  @Benchmark
  @Threads(2)
  public Endpoint exactLeastRequestThreads2() {
    return leastRequestCall();
  }

  private Endpoint leastRequestCall() {
    ThreadLocalRandom random = ThreadLocalRandom.current();
    int a = random.nextInt(n);
    int b = random.nextInt(n - 1);
    if (b >= a) {
      b++;
    }
    int chosen = inFlight.get((b + 1) * STRIDE) < inFlight.get((a + 1) * STRIDE) ? b : a;
    int index = (chosen + 1) * STRIDE;
    inFlight.getAndIncrement(index); // the pick
    inFlight.getAndDecrement(index); // the call's end
    return endpoints[chosen];
  }
}
