package io.loadstar.bench;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointCall;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.RetryPolicy;
import io.loadstar.api.RetryState;
import io.loadstar.core.LoadBalancers;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * What the retry engine adds to every call: {@link LoadBalancer#newRetryState} counts the call in
 * the current one-second slot (a CAS on a shared counter) and makes the call's retry state (32
 * bytes, for drivers such as the OkHttp interceptor). Measured alone and with two threads counting
 * into the same budget; and a whole successful {@code execute()}, which makes no retry state.
 */
@State(Scope.Benchmark)
public class RetryBudgetBenchmark extends ShortRun {

  private final LoadBalancer lb =
      LoadBalancers.builder("svc")
          .endpoints(Endpoint.of("10.0.0.1", 80))
          .retryPolicy(RetryPolicy.defaults())
          .build();

  @TearDown
  public void close() {
    lb.close();
  }

  @Benchmark
  public RetryState recordCall() {
    return lb.newRetryState(PickContext.empty());
  }

  @Benchmark
  @Threads(2)
  public RetryState recordCallThreads2() {
    return lb.newRetryState(PickContext.empty());
  }

  private static final EndpointCall<Endpoint> ECHO = endpoint -> endpoint;

  /**
   * A whole successful call through {@link LoadBalancer#execute}: the budget's count, the pick, the
   * call, the report. A call that succeeds makes no retry state: nothing is allocated.
   */
  @Benchmark
  public Endpoint execute() throws Exception {
    return lb.execute(ECHO);
  }
}
