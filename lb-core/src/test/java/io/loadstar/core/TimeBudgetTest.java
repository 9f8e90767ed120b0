package io.loadstar.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.Attempt;
import io.loadstar.api.BalancedCall;
import io.loadstar.api.CallFailure;
import io.loadstar.api.Endpoint;
import io.loadstar.api.Hedging;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.api.RetryPolicy;
import io.loadstar.testing.FakeTicker;
import java.io.IOException;
import java.net.ConnectException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/**
 * A call's time budget in its pick context: carried from attempt to attempt, and read by peak EWMA,
 * which predicts each endpoint's latency, to skip one that could not answer in time.
 */
class TimeBudgetTest {

  private static final long MS = 1_000_000L;
  private static final long DAY = 86_400_000 * MS;

  private final List<LoadBalancer> balancers = new ArrayList<>();

  @AfterEach
  void close() {
    balancers.forEach(LoadBalancer::close);
  }

  @Test
  void theBudget_isPartOfTheContext_andAnUnlimitedOneChangesNothing() {
    PickContext c = PickContext.ofHashKey("k").withTimeBudget(250 * MS);
    assertThat(c.timeBudgetNanos()).isEqualTo(250 * MS);
    assertThat(c.hashKey()).isEqualTo(PickContext.ofHashKey("k").hashKey());
    assertThat(c.withTried(Endpoint.of("10.0.0.1", 80)).timeBudgetNanos()).isEqualTo(250 * MS);
    assertThat(c.toBuilder().build().timeBudgetNanos()).isEqualTo(250 * MS);
    assertThat(c)
        .hasToString(
            "PickContext{hashKey=" + Long.toHexString(c.hashKey()) + ", timeBudget=250ms}");
    assertThat(PickContext.empty().withTimeBudget(-5).timeBudgetNanos()).isZero();
    assertThat(PickContext.empty().withTimeBudget(Long.MAX_VALUE)).isSameAs(PickContext.empty());
    assertThat(PickContext.builder().timeBudgetNanos(Long.MAX_VALUE).build())
        .isSameAs(PickContext.empty());
  }

  @Test
  void aRetry_carriesWhatTheCallHasLeftAfterItsDelay() throws Exception {
    LoadBalancer lb =
        LoadBalancers.builder("svc")
            .endpoints(List.of(Endpoint.of("10.0.0.1", 80), Endpoint.of("10.0.0.2", 80)))
            .ticker(new FakeTicker(-DAY))
            .outlierDetection(OutlierDetectionConfig.disabled())
            .build();
    balancers.add(lb);
    BalancedCall call = lb.newCall(PickContext.empty().withTimeBudget(900 * MS), true);
    Attempt first = call.first(0);
    assertThat(first.failed(CallFailure.notSent(new ConnectException()), 0, -1, 700 * MS).isRetry())
        .isTrue();
    assertThat(call.context().timeBudgetNanos()).isEqualTo(700 * MS); // the first retry: at once
    call.next().cancelled();
  }

  /**
   * A hedge fails and allows a retry while the first attempt is still out; the driver acts on that
   * decision only once the first attempt has ended too. If the call's time ran out meanwhile, the
   * retry is refused, and the first attempt's late failure changes nothing. Within the time, the
   * retry carries what is left.
   */
  @ParameterizedTest
  @ValueSource(longs = {0, 2 * DAY, -2 * DAY})
  void aRetryDecidedBeforeTheBudgetRanOut_isRefusedIfTakenAfter(long origin) throws Exception {
    for (long wait : new long[] {300 * MS, 800 * MS, 900 * MS}) {
      FakeTicker ticker = new FakeTicker(origin);
      LoadBalancer lb =
          threeEndpoints(
              ticker, RetryPolicy.builder().hedging(Hedging.after(Duration.ofMillis(20))).build());
      BalancedCall call = lb.newCall(PickContext.empty().withTimeBudget(1_000 * MS), true);
      Attempt first = call.first(0);
      ticker.advance(Duration.ofMillis(100));
      Attempt hedge = call.hedge();
      assertThat(hedge.isAvailable()).isTrue();
      assertThat(
              hedge.failed(CallFailure.notSent(new ConnectException()), 0, -1, 800 * MS).isRetry())
          .isTrue();
      ticker.advance(Duration.ofNanos(wait));
      assertThat(
              first
                  .failed(CallFailure.possiblyProcessed(new IOException("late")), 0, -1, 0)
                  .isRetry())
          .as("reported after the hedge decided")
          .isFalse();

      Attempt retry = call.next();
      if (wait < 800 * MS) {
        assertThat(retry.isAvailable()).isTrue();
        assertThat(call.context().timeBudgetNanos()).isEqualTo(800 * MS - wait);
        retry.succeeded(10 * MS);
      } else {
        assertThat(retry.isAvailable()).isFalse();
        assertThat(retry.reason()).isEqualTo("the call's time budget is spent");
      }
      assertThat(lb.inspect().retryStats().retries())
          .as("the hedge, and the retry its failure allowed (charged as it was decided)")
          .isEqualTo(2);
      for (Endpoint e : TestEndpoints.endpoints(3)) {
        assertThat(TestEndpoints.snapshotOf(lb, e).inFlight()).isZero();
      }
    }
  }

  /**
   * A driver that gave the call a budget in its context but reports "no limit" ({@code
   * Long.MAX_VALUE}) on a failure: the retry is not refused for a budget nobody measured, on any
   * clock.
   */
  @ParameterizedTest
  @ValueSource(longs = {0, 2 * DAY, -2 * DAY})
  void aRetryDecidedWithoutALimit_isNotRefusedForTheContextsBudget(long origin) throws Exception {
    FakeTicker ticker = new FakeTicker(origin);
    LoadBalancer lb = threeEndpoints(ticker, RetryPolicy.defaults());
    BalancedCall call = lb.newCall(PickContext.empty().withTimeBudget(900 * MS), true);
    Attempt first = call.first(0);
    ticker.advance(Duration.ofMillis(10));
    assertThat(
            first
                .failed(CallFailure.notSent(new ConnectException()), 0, -1, Long.MAX_VALUE)
                .isRetry())
        .isTrue();
    Attempt retry = call.next();
    assertThat(retry.isAvailable() ? "available" : retry.reason()).isEqualTo("available");
    retry.succeeded(MS);
  }

  /**
   * Endpoint "fast" answers in 20 ms, "heavy" in 200 ms but with 100 times the weight, so peak
   * EWMA's cost (latency x load / weight) prefers heavy; a call with 100 ms left goes to fast.
   */
  @ParameterizedTest
  @ValueSource(longs = {0, 2 * DAY, -2 * DAY})
  void peakEwma_skipsTheEndpointPredictedToMissTheDeadline_whereAnotherWouldMakeIt(long origin) {
    FakeTicker ticker = new FakeTicker(origin);
    Endpoint heavy = Endpoint.of("10.0.0.1", 80).withWeight(100);
    Endpoint fast = Endpoint.of("10.0.0.2", 80);
    LoadBalancer lb =
        LoadBalancers.builder("svc")
            .endpoints(List.of(heavy, fast))
            .strategy(Strategies.peakEwma())
            .ticker(ticker)
            .seed(11)
            .outlierDetection(OutlierDetectionConfig.disabled())
            .build();
    balancers.add(lb);
    for (int i = 0; i < 50; i++) {
      PickResult r = lb.pick(PickContext.empty());
      r.handle().onSuccess(r.endpoint().equals(heavy) ? 200 * MS : 20 * MS);
    }
    assertThat(picksOf(lb, PickContext.empty(), heavy)).isEqualTo(100);
    assertThat(picksOf(lb, PickContext.empty().withTimeBudget(100 * MS), heavy)).isZero();
    // Neither predicted in time: the strategy's own choice stands.
    assertThat(picksOf(lb, PickContext.empty().withTimeBudget(5 * MS), heavy)).isEqualTo(100);
  }

  /** A balancer of three endpoints on {@code ticker}, without outlier detection; closed after. */
  private LoadBalancer threeEndpoints(FakeTicker ticker, RetryPolicy policy) {
    LoadBalancer lb =
        LoadBalancers.builder("svc")
            .endpoints(TestEndpoints.endpoints(3))
            .ticker(ticker)
            .outlierDetection(OutlierDetectionConfig.disabled())
            .retryPolicy(policy)
            .build();
    balancers.add(lb);
    return lb;
  }

  private static int picksOf(LoadBalancer lb, PickContext context, Endpoint endpoint) {
    int n = 0;
    for (int i = 0; i < 100; i++) {
      PickResult r = lb.pick(context);
      if (r.endpoint().equals(endpoint)) {
        n++;
      }
      r.handle().onCancel();
    }
    return n;
  }
}
