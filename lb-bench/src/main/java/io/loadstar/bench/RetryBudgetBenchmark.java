package io.loadstar.bench;

import io.loadstar.api.BalancedCall;
import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointCall;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.RetryPolicy;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.OutlierDetectionConfig;
import java.net.ConnectException;
import java.time.Duration;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Threads;

/**
 * What the retry engine adds to every call: {@link LoadBalancer#newCall} counts the call in the
 * current one-second slot (a CAS on a shared counter) and makes the call's state (for drivers such
 * as the OkHttp interceptor). Measured alone and with two threads counting into the same budget; a
 * whole successful {@code execute()}, which makes no call state; and an {@code execute()} whose
 * first attempt fails and is retried on the other endpoint (the retry path).
 */
@State(Scope.Benchmark)
public class RetryBudgetBenchmark extends ShortRun {

  private final LoadBalancer lb =
      LoadBalancers.builder("svc")
          .endpoints(Endpoint.of("10.0.0.1", 80))
          .retryPolicy(RetryPolicy.defaults())
          .build();

  /** Two endpoints, a budget that never refuses, no ejection: every call can be retried once. */
  private final LoadBalancer retrying =
      LoadBalancers.builder("retrying")
          .endpoints(Endpoint.of("10.0.0.1", 80), Endpoint.of("10.0.0.2", 80))
          .outlierDetection(OutlierDetectionConfig.disabled())
          .retryPolicy(RetryPolicy.builder().budget(100, Duration.ofSeconds(10), 100_000).build())
          .build();

  private static final ConnectException REFUSED = new ConnectException("refused");

  static {
    REFUSED.setStackTrace(new StackTraceElement[0]);
  }

  /** Odd invocations fail (each call's first attempt), even ones succeed (its retry). */
  private long invocations;

  private final EndpointCall<Endpoint> failsFirst =
      endpoint -> {
        if ((++invocations & 1) == 1) {
          throw REFUSED;
        }
        return endpoint;
      };

  @TearDown
  public void close() {
    lb.close();
    retrying.close();
  }

  @Benchmark
  public BalancedCall recordCall() {
    return lb.newCall(PickContext.empty(), true);
  }

  @Benchmark
  @Threads(2)
  public BalancedCall recordCallThreads2() {
    return lb.newCall(PickContext.empty(), true);
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

  /**
   * A call whose first attempt fails (connect refused) and whose retry, at once, on the other
   * endpoint succeeds: the failure's report, the decision, the retry's pick and report.
   */
  @Benchmark
  public Endpoint executeRetriedOnce() throws Exception {
    return retrying.execute(failsFirst);
  }
}
