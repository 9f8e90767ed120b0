package io.loadstar.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.loadstar.api.Attempt;
import io.loadstar.api.AttemptTimeout;
import io.loadstar.api.BalancedCall;
import io.loadstar.api.CallFailure;
import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.RecentLatency;
import io.loadstar.api.RetryDecision;
import io.loadstar.api.RetryPolicy;
import io.loadstar.testing.FakeTicker;
import io.loadstar.testing.ManualScheduler;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * The attempt timeout: the service's recent latency as the balancer measures it (on the injected
 * clock, from 0, days and negative origins), the timeout it gives, and when an attempt gets none.
 */
class AttemptTimeoutTest {

  private static final long MS = 1_000_000L;
  private static final long SECOND = 1_000 * MS;
  private static final long DAY = 86_400 * SECOND;

  private final List<LoadBalancer> balancers = new ArrayList<>();

  @AfterEach
  void close() {
    balancers.forEach(LoadBalancer::close);
  }

  private LoadBalancer balancer(
      FakeTicker ticker, ManualScheduler scheduler, RetryPolicy policy, int endpoints) {
    return balancer(ticker, scheduler, policy, endpoints, Strategies.leastRequest());
  }

  private LoadBalancer balancer(
      FakeTicker ticker,
      ManualScheduler scheduler,
      RetryPolicy policy,
      int endpoints,
      io.loadstar.api.SelectionStrategy strategy) {
    List<Endpoint> list = new ArrayList<>();
    for (int i = 1; i <= endpoints; i++) {
      list.add(Endpoint.of("10.0.0." + i, 80));
    }
    LoadBalancer lb =
        LoadBalancers.builder("svc")
            .endpoints(list)
            .strategy(strategy)
            .ticker(ticker)
            .scheduler(scheduler)
            .outlierDetection(OutlierDetectionConfig.disabled())
            .retryPolicy(policy)
            .build();
    balancers.add(lb);
    return lb;
  }

  /** {@code n} calls through {@code lb} that succeed after {@code latency} each. */
  private static void succeed(LoadBalancer lb, int n, long latency) {
    for (int i = 0; i < n; i++) {
      lb.pick(PickContext.empty()).handle().onSuccess(latency);
    }
  }

  @Test
  void buckets_coverEveryLatency_andAPercentileIsAtMostNineteenPercentHigh() {
    assertThat(LatencyDigest.bucket(-5)).isZero();
    assertThat(LatencyDigest.bucket(0)).isZero();
    assertThat(LatencyDigest.bucket(Long.MAX_VALUE)).isEqualTo(LatencyDigest.BUCKETS - 1);
    int previous = 0;
    for (long nanos = 1_024; nanos < (1L << LatencyDigest.MAX_EXP); nanos += nanos / 7 + 1) {
      int b = LatencyDigest.bucket(nanos);
      assertThat(b).isBetween(previous, LatencyDigest.BUCKETS - 2);
      assertThat(LatencyDigest.upperBound(b)).isGreaterThanOrEqualTo(nanos);
      assertThat((double) LatencyDigest.upperBound(b)).isLessThanOrEqualTo(nanos * 1.25);
      if (b > 0) {
        assertThat(LatencyDigest.upperBound(b - 1)).isLessThan(nanos);
      }
      previous = b;
    }
  }

  @ParameterizedTest
  @ValueSource(longs = {0, 3 * DAY, -3 * DAY})
  void theTimeoutFollowsTheRecentP99_atAnyClockOrigin(long origin) {
    FakeTicker ticker = new FakeTicker(origin);
    ManualScheduler scheduler = new ManualScheduler(ticker);
    // Round robin counts in the ledger and records every success (least request: one in 8, below).
    LoadBalancer lb =
        balancer(ticker, scheduler, RetryPolicy.defaults(), 3, Strategies.roundRobin());

    // Before 20 calls succeeded: the initial 1 s, and no percentile.
    RecentLatency cold = lb.inspect().recentLatency();
    assertThat(cold.p99()).isNull();
    assertThat(cold.attemptTimeout()).isEqualTo(Duration.ofSeconds(1));
    succeed(lb, 19, 50 * MS);
    scheduler.advance(Duration.ofSeconds(5), Duration.ofSeconds(1));
    assertThat(lb.inspect().recentLatency().attemptTimeout()).isEqualTo(Duration.ofSeconds(1));

    // 990 calls of 50 ms and 10 of 200 ms: p99 is in 50 ms's bucket (at most 19% above it).
    succeed(lb, 971, 50 * MS);
    succeed(lb, 10, 200 * MS);
    scheduler.advance(Duration.ofSeconds(5), Duration.ofSeconds(1));
    RecentLatency warm = lb.inspect().recentLatency();
    assertThat(warm.samples()).isEqualTo(1_000);
    assertThat(warm.p50().toNanos()).isBetween(50 * MS, 60 * MS);
    assertThat(warm.p99().toNanos()).isBetween(50 * MS, 60 * MS);
    assertThat(warm.attemptTimeout()).isEqualTo(warm.p99().multipliedBy(4));

    // 2% slow: p99 moves up to the 200 ms bucket, and the timeout with it.
    succeed(lb, 980, 50 * MS);
    succeed(lb, 20, 200 * MS);
    scheduler.advance(Duration.ofSeconds(5), Duration.ofSeconds(1));
    RecentLatency slower = lb.inspect().recentLatency();
    assertThat(slower.p99().toNanos()).isBetween(200 * MS, 240 * MS);
    assertThat(slower.attemptTimeout()).isEqualTo(slower.p99().multipliedBy(4));

    // Fast calls: never below the 100 ms floor.
    succeed(lb, 5_000, MS);
    scheduler.advance(Duration.ofSeconds(10), Duration.ofSeconds(1));
    RecentLatency fast = lb.inspect().recentLatency();
    assertThat(fast.p99().toNanos()).isBetween(MS, 2 * MS);
    assertThat(fast.attemptTimeout()).isEqualTo(Duration.ofMillis(100));

    // Quiet for 10 s: the last 60 s still tell; quiet for a minute: back to the initial value.
    scheduler.advance(Duration.ofSeconds(10), Duration.ofSeconds(1));
    assertThat(lb.inspect().recentLatency().p99()).isNotNull();
    scheduler.advance(Duration.ofSeconds(60), Duration.ofSeconds(1));
    assertThat(lb.inspect().recentLatency().p99()).isNull();
    assertThat(lb.inspect().recentLatency().attemptTimeout()).isEqualTo(Duration.ofSeconds(1));
  }

  @ParameterizedTest
  @ValueSource(longs = {0, 3 * DAY, -3 * DAY})
  void aNewBalancer_followsItsLatencyWithinASecond_onceItHasEnoughSuccesses(long origin) {
    FakeTicker ticker = new FakeTicker(origin);
    ManualScheduler scheduler = new ManualScheduler(ticker);
    LoadBalancer lb =
        balancer(ticker, scheduler, RetryPolicy.defaults(), 3, Strategies.roundRobin());
    succeed(lb, 10, 50 * MS);
    scheduler.advance(Duration.ofSeconds(1), Duration.ofMillis(100));
    assertThat(lb.inspect().recentLatency().p99()).as("10 are too few").isNull();
    succeed(lb, 30, 50 * MS);
    scheduler.advance(Duration.ofSeconds(1), Duration.ofMillis(100));
    RecentLatency early = lb.inspect().recentLatency();
    assertThat(early.samples()).isEqualTo(40);
    assertThat(early.p99().toNanos()).isBetween(50 * MS, 60 * MS);
    assertThat(early.attemptTimeout()).isEqualTo(early.p99().multipliedBy(4));

    // From the first reading (5 s in) on, the windows as before: 10 s, then 60 s, then none.
    scheduler.advance(Duration.ofSeconds(3), Duration.ofMillis(100));
    assertThat(lb.inspect().recentLatency().samples()).isEqualTo(40);
    scheduler.advance(Duration.ofSeconds(70), Duration.ofSeconds(1));
    assertThat(lb.inspect().recentLatency().p99()).isNull();
    assertThat(lb.inspect().recentLatency().attemptTimeout()).isEqualTo(Duration.ofSeconds(1));
  }

  @Test
  void exactCounting_recordsOneSuccessInEight() {
    FakeTicker ticker = new FakeTicker(0);
    ManualScheduler scheduler = new ManualScheduler(ticker);
    LoadBalancer lb = balancer(ticker, scheduler, RetryPolicy.defaults(), 4);
    succeed(lb, 800, 20 * MS);
    scheduler.advance(Duration.ofSeconds(5), Duration.ofSeconds(1));
    RecentLatency r = lb.inspect().recentLatency();
    assertThat(r.samples()).as("about 800 / 8").isBetween(95L, 105L);
    assertThat(r.p99().toNanos()).isBetween(20 * MS, 24 * MS);
  }

  @Test
  void anAttemptGetsTheTimeout_onlyWhenGivingItUpCouldLeadToARetry() throws Exception {
    FakeTicker ticker = new FakeTicker(-3 * DAY);
    ManualScheduler scheduler = new ManualScheduler(ticker);
    LoadBalancer lb = balancer(ticker, scheduler, RetryPolicy.defaults(), 3);
    succeed(lb, 400, 10 * MS); // one in 8 recorded: 50, enough to tell
    scheduler.advance(Duration.ofSeconds(5), Duration.ofSeconds(1));

    BalancedCall call = lb.newCall(PickContext.empty(), true);
    Attempt first = call.first(0);
    assertThat(first.timeoutNanos()).isEqualTo(100 * MS); // 4 x 10 ms is below the floor
    RetryDecision retry = timedOut(first);
    assertThat(retry.isRetry()).isTrue();
    Attempt second = call.next();
    assertThat(second.timeoutNanos()).isEqualTo(100 * MS);
    timedOut(second);
    Attempt third = call.next();
    assertThat(third.timeoutNanos())
        .as("the last allowed attempt keeps the client's own timeouts")
        .isEqualTo(Long.MAX_VALUE);
    third.succeeded(third.elapsedNanos());

    // One endpoint: nowhere else to go.
    LoadBalancer single = balancer(ticker, scheduler, RetryPolicy.defaults(), 1);
    Attempt only = single.newCall(PickContext.empty(), true).first(0);
    assertThat(only.timeoutNanos()).isEqualTo(Long.MAX_VALUE);
    only.cancelled();

    // Retries off, or no timeout configured.
    LoadBalancer noRetries = balancer(ticker, scheduler, RetryPolicy.disabled(), 3);
    assertThat(noRetries.inspect().recentLatency()).isEqualTo(RecentLatency.NONE);
    Attempt once = noRetries.newCall(PickContext.empty(), true).first(0);
    assertThat(once.timeoutNanos()).isEqualTo(Long.MAX_VALUE);
    once.cancelled();
    RetryPolicy none = RetryPolicy.builder().attemptTimeout(AttemptTimeout.none()).build();
    Attempt untimed =
        balancer(ticker, scheduler, none, 3).newCall(PickContext.empty(), true).first(0);
    assertThat(untimed.timeoutNanos()).isEqualTo(Long.MAX_VALUE);
    untimed.cancelled();
    RetryPolicy fixed =
        RetryPolicy.builder().attemptTimeout(AttemptTimeout.fixed(Duration.ofMillis(250))).build();
    Attempt timed =
        balancer(ticker, scheduler, fixed, 3).newCall(PickContext.empty(), true).first(0);
    assertThat(timed.timeoutNanos()).isEqualTo(250 * MS);
    timed.cancelled();
  }

  @Test
  void aSpentBudget_leavesAttemptsToTheClientsTimeouts() throws Exception {
    FakeTicker ticker = new FakeTicker(0);
    ManualScheduler scheduler = new ManualScheduler(ticker);
    RetryPolicy tight =
        RetryPolicy.builder().budget(0, Duration.ofSeconds(10), 1).build(); // 10 retries a window
    LoadBalancer lb = balancer(ticker, scheduler, tight, 3);
    int retried = 0;
    for (int i = 0; i < 20; i++) {
      BalancedCall call = lb.newCall(PickContext.empty(), true);
      Attempt first = call.first(0);
      if (first.timeoutNanos() == Long.MAX_VALUE) {
        first.cancelled();
        break;
      }
      assertThat(timedOut(first).isRetry()).isTrue();
      retried++;
      Attempt next = call.next();
      next.succeeded(next.elapsedNanos());
    }
    assertThat(retried).isEqualTo(10);
    assertThat(lb.inspect().retryStats().refusedByBudget()).isZero();
  }

  @Test
  void endpointsLeaving_takeTheTimeoutAwayFromTheLastOne() throws Exception {
    FakeTicker ticker = new FakeTicker(5 * DAY);
    ManualScheduler scheduler = new ManualScheduler(ticker);
    DynamicEndpointSource source =
        DynamicEndpointSource.of(List.of(Endpoint.of("10.0.0.1", 80), Endpoint.of("10.0.0.2", 80)));
    LoadBalancer lb =
        LoadBalancers.builder("svc").source(source).ticker(ticker).scheduler(scheduler).build();
    balancers.add(lb);
    Attempt two = lb.newCall(PickContext.empty(), true).first(0);
    assertThat(two.timeoutNanos()).isEqualTo(SECOND);
    two.cancelled();
    source.set(List.of(Endpoint.of("10.0.0.1", 80)));
    Attempt one = lb.newCall(PickContext.empty(), true).first(0);
    assertThat(one.timeoutNanos()).isEqualTo(Long.MAX_VALUE);
    one.cancelled();
  }

  @Test
  void badSettings_sayWhatIsAllowed() {
    assertThatThrownBy(() -> AttemptTimeout.fixed(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("attempt timeout")
        .hasMessageContaining("PT0.001S");
    assertThatThrownBy(
            () -> AttemptTimeout.adaptive(1.0, Duration.ofMillis(10), Duration.ofSeconds(1)))
        .hasMessage("attempt timeout multiplier: 1.0 (expected: 1.5..100)");
    assertThatThrownBy(
            () -> AttemptTimeout.adaptive(3, Duration.ofSeconds(2), Duration.ofSeconds(1)))
        .hasMessage("attempt timeout initial: PT1S (expected: PT2S..PT5M, at least min)");
    assertThat(AttemptTimeout.adaptive(3, Duration.ofMillis(20), Duration.ofMillis(500)))
        .hasToString("AttemptTimeout{3.0 x p99, min PT0.02S, initial PT0.5S}");
    assertThat(RetryPolicy.defaults().attemptTimeout()).isEqualTo(AttemptTimeout.adaptive());
  }

  private static RetryDecision timedOut(Attempt attempt) {
    return attempt.failed(
        CallFailure.possiblyProcessed(new SocketTimeoutException("attempt timeout")),
        attempt.timeoutNanos(),
        -1,
        Long.MAX_VALUE);
  }
}
