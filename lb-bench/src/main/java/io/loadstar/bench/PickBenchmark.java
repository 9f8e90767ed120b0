package io.loadstar.bench;

import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.core.LoadBalancers;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * The cost of one call's balancing overhead: {@code pick} plus reporting the outcome on its handle,
 * through the public {@link LoadBalancer} API. Every pick carries a context with a 20-character
 * String hash key (the consistent-hash strategies use it, the others ignore it). The {@code
 * Threads2} variants share one balancer between 2 threads.
 */
@State(Scope.Benchmark)
public class PickBenchmark extends ShortRun {

  @Param({"roundRobin", "random", "leastRequest", "peakEwma", "ringHash", "maglev", "probing"})
  public String strategy;

  @Param({"3", "100", "1000"})
  public int n;

  private LoadBalancer lb;

  @Setup
  public void setUp() {
    lb =
        LoadBalancers.builder("bench")
            .strategy(Setups.strategy(strategy))
            .endpoints(Setups.endpoints(n, 0))
            .seed(1)
            .build();
  }

  @TearDown
  public void tearDown() {
    lb.close();
  }

  /**
   * Per thread, 1024 20-character String keys and their contexts, built outside the timed region (a
   * context hashes its key once, when built: {@link #pickNewContext} times that too).
   */
  @State(Scope.Thread)
  public static class Keys {
    final String[] keys = Setups.stringKeys(1024, Thread.currentThread().getId());
    final PickContext[] contexts = new PickContext[keys.length];
    int next;

    @Setup
    public void setUp() {
      for (int i = 0; i < contexts.length; i++) {
        contexts[i] = PickContext.ofHashKey(keys[i]);
      }
    }

    PickContext next() {
      return contexts[next++ & (contexts.length - 1)];
    }

    String nextKey() {
      return keys[next++ & (keys.length - 1)];
    }
  }

  @Benchmark
  @Threads(1)
  public Endpoint pick(Keys keys) {
    return pickAndReport(keys);
  }

  @Benchmark
  @Threads(2)
  public Endpoint pickThreads2(Keys keys) {
    return pickAndReport(keys);
  }

  @Benchmark
  @Threads(1)
  public Endpoint pickOnly(Keys keys) {
    PickResult r = lb.pick(keys.next());
    r.handle().onCancel();
    return r.endpoint();
  }

  /**
   * A request's whole cost: building its context from a 20-character String key (hashing it), the
   * pick and the report.
   */
  @Benchmark
  @Threads(1)
  public Endpoint pickNewContext(Keys keys) {
    PickResult r = lb.pick(PickContext.ofHashKey(keys.nextKey()));
    r.handle().onSuccess(1_000);
    return r.endpoint();
  }

  private Endpoint pickAndReport(Keys keys) {
    PickResult r = lb.pick(keys.next());
    r.handle().onSuccess(1_000);
    return r.endpoint();
  }
}
