package io.loadstar.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.loadstar.api.CallFailure;
import io.loadstar.api.Endpoint;
import io.loadstar.api.LbEventListener;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.api.RetryPolicy;
import io.loadstar.testing.Await;
import io.loadstar.testing.FakeTicker;
import io.loadstar.testing.RecordingLbEventListener;
import io.loadstar.testing.TcpBackend;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Executor;
import java.util.concurrent.ScheduledExecutorService;
import org.jspecify.annotations.Nullable;
import org.junit.jupiter.api.Test;

class RetryTest {

  private static final CallFailure REFUSED = CallFailure.notSent(new ConnectException("refused"));
  private static final CallFailure RESET =
      CallFailure.possiblyProcessed(new IOException("connection reset"));

  private final FakeTicker ticker = new FakeTicker();
  private final RecordingLbEventListener events = new RecordingLbEventListener();

  /** A loopback port where nothing listens: connects are refused. */
  private static int closedPort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, java.net.InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private static String connect(Endpoint e) throws IOException {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(e.host(), e.port()), 2_000);
      return e.key();
    }
  }

  /** The retry engine a balancer with {@code policy} and {@code listener} would have. */
  private RetryEngine engine(RetryPolicy policy, LbEventListener listener) {
    LoadBalancers.Builder b =
        LoadBalancers.builder("svc").retryPolicy(policy).ticker(ticker).eventListener(listener);
    return new RetryEngine(
        b.settings(),
        new ServiceEvents("svc", listener),
        new RetryEngine.Picking() {
          @Override
          public PickResult pick(PickContext context) {
            throw new AssertionError("not picking here");
          }

          @Override
          public @Nullable String nothingLeft(PickContext context) {
            throw new AssertionError("not picking here");
          }

          @Override
          public boolean awaitFirstAnswer(long nanos) {
            return false;
          }

          @Override
          public boolean isClosed() {
            return false;
          }

          @Override
          public int usableEndpoints() {
            throw new AssertionError("not picking here");
          }

          @Override
          public ScheduledExecutorService scheduler() {
            throw new AssertionError("not hedging here");
          }

          @Override
          public Executor hedges() {
            throw new AssertionError("not hedging here");
          }
        },
        null);
  }

  @Test
  void execute_refusedEndpoint_retriedOnAnotherAtOnce() throws Exception {
    int refused = closedPort();
    try (TcpBackend up = TcpBackend.start("127.0.0.2", 0)) {
      Endpoint down = Endpoint.of("127.0.0.1", refused);
      Endpoint live = Endpoint.of("127.0.0.2", up.port());
      FakeSleeper sleeper = new FakeSleeper(ticker);
      try (LoadBalancer lb =
          LoadBalancers.builder("svc")
              .endpoints(down, live)
              .ticker(ticker)
              .sleeper(sleeper)
              .build()) {
        List<String> tried = new ArrayList<>();
        for (int i = 0; i < 20; i++) {
          String served =
              lb.execute(
                  e -> {
                    tried.add(e.key());
                    return connect(e);
                  });
          assertThat(served).isEqualTo(live.key());
        }
        // Each call that tried the refused endpoint first was retried once, at once, on the other.
        long refusedFirst = tried.stream().filter(down.key()::equals).count();
        assertThat(refusedFirst).isPositive().isEqualTo(tried.size() - 20);
        assertThat(sleeper.waits).isEmpty();
        assertThat(Await.until(() -> up.accepted() == 20)).as("accepted " + up.accepted()).isTrue();
      }
    }
  }

  @Test
  void execute_everyEndpointRefuses_failsWithLastErrorAfterTryingEachOnce() throws Exception {
    Endpoint a = Endpoint.of("127.0.0.1", closedPort());
    Endpoint b = Endpoint.of("127.0.0.2", a.port());
    try (LoadBalancer lb =
        LoadBalancers.builder("svc")
            .endpoints(a, b)
            .ticker(ticker)
            .sleeper(new FakeSleeper(ticker))
            .build()) {
      Set<String> tried = new HashSet<>();
      assertThatThrownBy(
              () ->
                  lb.execute(
                      e -> {
                        assertThat(tried.add(e.key())).as("tried twice: " + e).isTrue();
                        return connect(e);
                      }))
          .isInstanceOf(ConnectException.class)
          .satisfies(
              t ->
                  assertThat(t.getSuppressed())
                      .anySatisfy(s -> assertThat(s).isInstanceOf(ConnectException.class))
                      .anySatisfy(
                          s ->
                              assertThat(s)
                                  .hasMessageContaining("no endpoint available for 'svc'")));
      assertThat(tried).containsExactlyInAnyOrder(a.key(), b.key());
    }
  }

  @Test
  void execute_possiblyProcessed_retriedOnlyWhenPolicySaysIdempotent() throws Exception {
    List<String> tried = new ArrayList<>();
    EndpointCallThatTimesOutOnFirst call = new EndpointCallThatTimesOutOnFirst(tried);
    try (LoadBalancer lb =
        LoadBalancers.builder("svc")
            .endpoints(TestEndpoints.endpoints(3))
            .sleeper(new FakeSleeper(ticker))
            .build()) {
      assertThatThrownBy(() -> lb.execute(call)).isInstanceOf(SocketTimeoutException.class);
      assertThat(tried).hasSize(1);
    }
    tried.clear();
    call.failed = false;
    try (LoadBalancer lb =
        LoadBalancers.builder("svc")
            .endpoints(TestEndpoints.endpoints(3))
            .retryPolicy(RetryPolicy.builder().retryPossiblyProcessed(true).build())
            .sleeper(new FakeSleeper(ticker))
            .build()) {
      assertThat(lb.execute(call)).isEqualTo(tried.get(1));
      assertThat(tried).hasSize(2).doesNotHaveDuplicates();
    }
  }

  private static final class EndpointCallThatTimesOutOnFirst
      implements io.loadstar.api.EndpointCall<String> {
    final List<String> tried;
    boolean failed;

    EndpointCallThatTimesOutOnFirst(List<String> tried) {
      this.tried = tried;
    }

    @Override
    public String call(Endpoint e) throws Exception {
      tried.add(e.key());
      if (!failed) {
        failed = true;
        throw new SocketTimeoutException("read timed out");
      }
      return e.key();
    }
  }

  @Test
  void execute_disabledPolicy_makesOneAttempt() {
    try (LoadBalancer lb =
        LoadBalancers.builder("svc")
            .endpoints(TestEndpoints.endpoints(3))
            .retryPolicy(RetryPolicy.disabled())
            .build()) {
      List<String> tried = new ArrayList<>();
      assertThatThrownBy(
              () ->
                  lb.execute(
                      e -> {
                        tried.add(e.key());
                        throw new ConnectException("refused");
                      }))
          .isInstanceOf(ConnectException.class);
      assertThat(tried).hasSize(1);
    }
  }

  @Test
  void retryDecision_byFailureClassIdempotencyAndAttempts() {
    RetryEngine r = engine(RetryPolicy.defaults(), LbEventListener.NONE);
    r.recordCall();
    assertThat(r.retryDelayNanos(1, REFUSED, false, -1)).isZero();
    assertThat(r.retryDelayNanos(1, RESET, false, -1)).isEqualTo(RetryEngine.NO_RETRY);
    assertThat(r.retryDelayNanos(1, RESET, true, -1)).isZero();
    assertThat(r.retryDelayNanos(1, CallFailure.status(503), false, -1))
        .isEqualTo(RetryEngine.NO_RETRY);
    assertThat(r.retryDelayNanos(1, CallFailure.status(503), true, -1)).isZero();
    assertThat(r.retryDelayNanos(1, CallFailure.status(500), true, -1))
        .isEqualTo(RetryEngine.NO_RETRY);
    assertThat(r.retryDelayNanos(3, REFUSED, true, -1)).isEqualTo(RetryEngine.NO_RETRY);
  }

  @Test
  void backoff_firstRetryAtOnce_thenFullJitterBelowADoublingCeiling() {
    RetryPolicy policy =
        RetryPolicy.builder()
            .maxAttempts(10)
            .backoff(Duration.ofMillis(25), Duration.ofMillis(100))
            .budget(100, Duration.ofSeconds(10), 100_000)
            .build();
    RetryEngine r = engine(policy, LbEventListener.NONE);
    long[] max = new long[10];
    long[] min = {Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE, Long.MAX_VALUE};
    for (int i = 0; i < 2_000; i++) {
      for (int attempts = 1; attempts <= 4; attempts++) {
        long d = r.retryDelayNanos(attempts, REFUSED, false, -1);
        max[attempts] = Math.max(max[attempts], d);
        min[attempts] = Math.min(min[attempts], d);
      }
    }
    assertThat(max[1]).isZero();
    // Full jitter: draws spread over [0, ceiling), ceiling 25, 50, then capped at 100 ms.
    long ms = 1_000_000L;
    assertThat(max[2]).isBetween(20 * ms, 25 * ms);
    assertThat(max[3]).isBetween(45 * ms, 50 * ms);
    assertThat(max[4]).isBetween(90 * ms, 100 * ms);
    assertThat(min[2]).isLessThan(2 * ms);
    assertThat(min[4]).isLessThan(5 * ms);
  }

  @Test
  void retryAfter_honouredUpToTheCap_longerEndsRetries() {
    RetryEngine r = engine(RetryPolicy.defaults(), LbEventListener.NONE);
    long halfSecond = Duration.ofMillis(500).toNanos();
    assertThat(r.retryDelayNanos(1, CallFailure.status(503), true, halfSecond))
        .isEqualTo(halfSecond);
    assertThat(r.retryDelayNanos(1, CallFailure.status(503), true, Duration.ofSeconds(5).toNanos()))
        .isEqualTo(RetryEngine.NO_RETRY);
  }

  @Test
  void budget_allFailing_retriesStayWithin20PercentOfCalls_oneEventThenRestored() {
    RetryEngine r = engine(RetryPolicy.defaults(), events);
    long calls = 0;
    long attempts = 0;
    // 10 s of a total outage: 200 calls per second, each retried while the budget allows.
    for (int i = 0; i < 2_000; i++) {
      r.recordCall();
      calls++;
      int made = 1;
      attempts++;
      while (r.retryDelayNanos(made, REFUSED, true, -1) != RetryEngine.NO_RETRY) {
        made++;
        attempts++;
      }
      ticker.advance(Duration.ofMillis(5));
    }
    assertThat(attempts).isLessThanOrEqualTo((long) (1.2 * calls));
    assertThat(attempts).isGreaterThan((long) (1.15 * calls)); // the budget is used, not starved
    assertThat(r.stats().refusedByBudget()).isPositive();
    assertThat(events.budgetEvents).hasSize(1);
    assertThat(events.budgetEvents.get(0)).startsWith("exhausted: ");
    // Calls go on succeeding for a window: the budget refills and says so once.
    for (int i = 0; i < 100; i++) {
      r.recordCall();
      ticker.advance(Duration.ofMillis(100));
    }
    assertThat(r.retryDelayNanos(1, REFUSED, true, -1)).isZero();
    assertThat(events.budgetEvents).hasSize(2).last().isEqualTo("restored");
  }

  @Test
  void budget_floorAllowsAFewRetriesPerSecondAtLowTraffic() {
    RetryEngine r = engine(RetryPolicy.defaults(), events);
    int allowed = 0;
    for (int i = 0; i < 100; i++) {
      r.recordCall();
      if (r.retryDelayNanos(1, REFUSED, true, -1) != RetryEngine.NO_RETRY) {
        allowed++;
      }
    }
    // 100 calls in no time: 20% would be 20, the floor of 3/s over 10 s gives 30.
    assertThat(allowed).isEqualTo(30);
  }

  @Test
  void budget_concurrentRetriesNeverOverdraw() throws Exception {
    RetryEngine r =
        engine(
            RetryPolicy.builder().budget(10, Duration.ofSeconds(10), 0).build(),
            LbEventListener.NONE);
    for (int i = 0; i < 10_000; i++) {
      r.recordCall();
    }
    java.util.concurrent.atomic.AtomicInteger allowed =
        new java.util.concurrent.atomic.AtomicInteger();
    Thread[] threads = new Thread[8];
    for (int t = 0; t < threads.length; t++) {
      threads[t] =
          new Thread(
              () -> {
                for (int i = 0; i < 1_000; i++) {
                  if (r.retryDelayNanos(1, REFUSED, true, -1) != RetryEngine.NO_RETRY) {
                    allowed.incrementAndGet();
                  }
                }
              });
      threads[t].start();
    }
    for (Thread t : threads) {
      t.join();
    }
    assertThat(allowed.get()).isEqualTo(1_000);
  }

  @Test
  void consistentHash_retryGoesToTheNextEndpointForTheKey_deterministically() {
    for (io.loadstar.api.SelectionStrategy strategy :
        List.of(Strategies.ringHash(), Strategies.maglev())) {
      try (LoadBalancer lb =
          LoadBalancers.builder("svc")
              .endpoints(TestEndpoints.endpoints(5))
              .strategy(strategy)
              .build()) {
        PickContext key = PickContext.ofHashKey("user-42");
        PickResult first = lb.pick(key);
        first.handle().onCancel();
        PickContext retry = key.withTried(first.endpoint());
        PickResult second = lb.pick(retry);
        second.handle().onCancel();
        assertThat(second.endpoint()).isNotEqualTo(first.endpoint());
        for (int i = 0; i < 10; i++) {
          PickResult again = lb.pick(retry);
          again.handle().onCancel();
          assertThat(again.endpoint()).isEqualTo(second.endpoint());
        }
      }
    }
  }

  @Test
  void policyValidation_namesTheValueAndTheRange() {
    assertThatThrownBy(() -> RetryPolicy.builder().maxAttempts(0))
        .hasMessage("maxAttempts: 0 (expected: 1..10)");
    assertThatThrownBy(
            () -> RetryPolicy.builder().backoff(Duration.ofMillis(50), Duration.ofMillis(10)))
        .hasMessage("backoff max: PT0.01S (expected: PT0.05S..PT5M, at least the base)");
    assertThatThrownBy(() -> RetryPolicy.builder().budget(120, Duration.ofSeconds(10), 3))
        .hasMessage("budget percent: 120 (expected: 0..100)");
    assertThatThrownBy(() -> RetryPolicy.builder().budget(20, Duration.ofMillis(10), 3))
        .hasMessage("budget window: PT0.01S (expected: PT1S..PT5M)");
    assertThatThrownBy(() -> RetryPolicy.builder().retryableStatuses(503, 700))
        .hasMessage("retryable status: 700 (expected: 100..599)");
    assertThatThrownBy(() -> RetryPolicy.builder().retryAfterMax(Duration.ofSeconds(-1)))
        .hasMessage("retryAfterMax: PT-1S (expected: PT0S..PT5M)");
  }
}
