package io.loadstar.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.loadstar.api.CallFailure;
import io.loadstar.api.Endpoint;
import io.loadstar.api.LbEventListener;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Canary splits: 2 endpoints tagged version=v2 among 5, fake time. */
class TrafficSplitTest extends FakeTimeTest {

  private static final Endpoint S1 = Endpoint.of("10.0.1.1", 80).withTag("version", "v1");
  private static final Endpoint S2 = Endpoint.of("10.0.1.2", 80).withTag("version", "v1");
  private static final Endpoint S3 = Endpoint.of("10.0.1.3", 80).withTag("version", "v1");
  private static final Endpoint C1 = Endpoint.of("10.0.2.1", 80).withTag("version", "v2");
  private static final Endpoint C2 = Endpoint.of("10.0.2.2", 80).withTag("version", "v2");
  private static final TrafficSplit V2 = TrafficSplit.toTag("version", "v2");

  private final List<String> rollbacks = new ArrayList<>();

  private LoadBalancer lb(SplitControl control, OutlierDetectionConfig outliers) {
    LoadBalancer lb =
        LoadBalancers.builder("svc")
            .endpoints(List.of(S1, S2, S3, C1, C2))
            .trafficSplit(control)
            .outlierDetection(outliers)
            .eventListener(
                new LbEventListener() {
                  @Override
                  public void canaryRolledBack(String service, String reason) {
                    rollbacks.add(reason);
                  }
                })
            .ticker(ticker)
            .scheduler(scheduler)
            .seed(5)
            .build();
    closeLater(lb);
    return lb;
  }

  private LoadBalancer lb(SplitControl control) {
    return lb(control, OutlierDetectionConfig.defaults());
  }

  /** The canary's share of {@code picks} completed calls, in percent. */
  private static double canaryPercent(LoadBalancer lb, int picks) {
    Map<String, Integer> counts = TestEndpoints.pickCounts(lb, picks);
    int canary = counts.getOrDefault(C1.key(), 0) + counts.getOrDefault(C2.key(), 0);
    return 100.0 * canary / picks;
  }

  @Test
  void fixedFivePercent_over100kPicks() {
    assertThat(canaryPercent(lb(SplitControl.of(V2.percent(5))), 100_000)).isBetween(4.5, 5.5);
  }

  @Test
  void ramp_1to50PercentOver30Minutes_isHalfwayAt15Minutes_andStaysAtTheEnd() {
    LoadBalancer lb = lb(SplitControl.of(V2.ramp(1, 50, Duration.ofMinutes(30))));
    assertThat(canaryPercent(lb, 50_000)).isBetween(0.5, 1.5);
    scheduler.advance(Duration.ofMinutes(15), Duration.ofSeconds(1));
    assertThat(canaryPercent(lb, 100_000)).isBetween(23.5, 27.5); // 25.5 +- 2
    scheduler.advance(Duration.ofMinutes(20), Duration.ofSeconds(1));
    assertThat(canaryPercent(lb, 100_000)).isBetween(48.0, 52.0);
  }

  @Test
  void everyCanaryEjected_itsShareGoesToStable_noPickFails() {
    LoadBalancer lb =
        lb(
            SplitControl.of(V2.percent(30)),
            OutlierDetectionConfig.builder().maxEjectionPercent(50).build());
    TestEndpoints.eject(lb, C1);
    TestEndpoints.eject(lb, C2);
    assertThat(canaryPercent(lb, 20_000)).isZero(); // pickCounts would throw on a failed pick
  }

  @Test
  void strictCanary_withNoUsableCanary_failsItsShare_withAReason() {
    LoadBalancer lb =
        lb(
            SplitControl.of(V2.percent(30).fallbackToStable(false)),
            OutlierDetectionConfig.builder().maxEjectionPercent(50).build());
    TestEndpoints.eject(lb, C1);
    TestEndpoints.eject(lb, C2);
    int failed = 0;
    String reason = "";
    for (int i = 0; i < 10_000; i++) {
      PickResult r = lb.pick(PickContext.empty());
      if (!r.isAvailable()) {
        failed++;
        reason = r.reason();
        continue;
      }
      r.handle().onSuccess(1_000);
    }
    assertThat(failed / 100.0).isBetween(28.0, 32.0);
    assertThat(reason).contains("no usable canary endpoint (tags {version=v2})");
  }

  @Test
  void changedAtRunTime_takesEffectOnTheNextPick_andEnds() {
    SplitControl control = SplitControl.of(V2.percent(5));
    LoadBalancer lb = lb(control);
    assertThat(canaryPercent(lb, 50_000)).isBetween(4.4, 5.6);
    control.set(V2.percent(60));
    assertThat(canaryPercent(lb, 50_000)).isBetween(58.5, 61.5);
    control.set(V2.percent(0));
    assertThat(canaryPercent(lb, 20_000)).isZero();
    control.clear(); // no split: the two canary endpoints get their plain share, 2 of 5
    assertThat(canaryPercent(lb, 50_000)).isBetween(38.0, 42.0);
  }

  /** Outcomes of a run: failed canary calls before the rollback, and when it came (ticker). */
  private int canaryFailuresBeforeRollback;

  private long rolledBackAtNanos;

  /**
   * Runs {@code seconds} of fake time at {@code perSecond} calls, in steps of 10 ms; a canary call
   * fails when {@code canaryFails} says so for its canary call number, a stable call every {@code
   * stableFailEvery}-th (0: never).
   */
  private void traffic(
      LoadBalancer lb,
      int seconds,
      int perSecond,
      java.util.function.IntPredicate canaryFails,
      int stableFailEvery) {
    int perStep = perSecond / 100;
    int canaryCalls = 0;
    int stableCalls = 0;
    for (int step = 0; step < seconds * 100; step++) {
      for (int i = 0; i < perStep; i++) {
        PickResult r = lb.pick(PickContext.empty());
        boolean canary = r.endpoint().tags().get("version").equals("v2");
        boolean fails =
            canary
                ? canaryFails.test(canaryCalls++)
                : stableFailEvery > 0 && ++stableCalls % stableFailEvery == 0;
        if (fails) {
          if (canary && rollbacks.isEmpty()) {
            canaryFailuresBeforeRollback++; // the failure that rolls it back counts
          }
          r.handle().onFailure(CallFailure.status(503), 1_000);
        } else {
          r.handle().onSuccess(1_000);
        }
        TestEndpoints.settle(lb); // the control loop takes what the call handed it, at once
        if (!rollbacks.isEmpty() && rolledBackAtNanos == 0) {
          rolledBackAtNanos = ticker.nanoTime();
        }
      }
      scheduler.advance(Duration.ofMillis(10), Duration.ofMillis(10));
    }
  }

  @Test
  void canaryFailingEverything_withOutlierDetection_rolledBackAtItsFifthFailure() {
    SplitControl control = SplitControl.of(V2.percent(10).rollbackOnErrors(5));
    LoadBalancer lb = lb(control); // outlier detection on, as by default
    long start = ticker.nanoTime();
    traffic(lb, 10, 1_000, n -> true, 0);
    // Outlier detection ejects a canary endpoint after 5 failures; that stops its calls, not the
    // evidence: the fifth canary failure in the window rolls the canary back.
    assertThat(rollbacks).hasSize(1);
    assertThat(canaryFailuresBeforeRollback).isEqualTo(CanaryDriver.MIN_FAILURES);
    assertThat(rolledBackAtNanos - start).isLessThan(Duration.ofSeconds(2).toNanos());
    assertThat(rollbacks.get(0))
        .matches(
            "canary failed 5 of 5 calls \\(100\\.0%\\) in the last 30 s, stable 0 of \\d+"
                + " \\(0\\.0%\\): worse by more than 5\\.0 percentage points at 95% confidence");
    // The share in force is 0%, everywhere it is read.
    assertThat(canaryPercent(lb, 20_000)).isZero();
    assertThat(control.split().percentAt(Duration.ZERO)).isZero();
    assertThat(control.rollbackReason()).isEqualTo(rollbacks.get(0));
    assertThat(TestEndpoints.snapshotOf(lb, C1).reason()).contains("canary rolled back: ");
    assertThat(TestEndpoints.snapshotOf(lb, S1).reason()).isEmpty();
    assertThat(lb.inspect().explain(PickContext.empty()).routing())
        .contains("takes 0.0% of picks without a key (rolled back: canary failed 5 of 5");
    assertThat(control.toString()).contains("rolled back: canary failed 5 of 5");
    // A new split tries again.
    control.set(V2.percent(10));
    assertThat(control.rollbackReason()).isEmpty();
    assertThat(control.toString())
        .startsWith("SplitControl{TrafficSplit{")
        .doesNotContain("rolled");
    assertThat(canaryPercent(lb, 20_000)).isBetween(8.5, 11.5);
  }

  @Test
  void canaryFailingEverything_withoutOutlierDetection_rolledBackAtItsFifthFailure() {
    SplitControl control = SplitControl.of(V2.percent(10).rollbackOnErrors(5));
    LoadBalancer lb = lb(control, OutlierDetectionConfig.disabled());
    traffic(lb, 5, 1_000, n -> true, 0);
    assertThat(rollbacks).hasSize(1);
    assertThat(canaryFailuresBeforeRollback).isEqualTo(CanaryDriver.MIN_FAILURES);
  }

  @Test
  void canaryFailingOneCallInFive_rolledBackWithinFiveSeconds_afterFewFailures() {
    SplitControl control = SplitControl.of(V2.percent(10).rollbackOnErrors(5));
    LoadBalancer lb = lb(control);
    long start = ticker.nanoTime();
    // 200 calls a second, 20 of them to the canary, 4 of those fail (never 5 in a row).
    traffic(lb, 10, 200, n -> n % 5 == 0, 0);
    assertThat(rollbacks).hasSize(1);
    assertThat(canaryFailuresBeforeRollback).isBetween(5, 8);
    assertThat(rolledBackAtNanos - start).isLessThan(Duration.ofSeconds(5).toNanos());
  }

  @Test
  void canaryFailingAsOftenAsStable_neverRolledBack() {
    SplitControl control = SplitControl.of(V2.percent(10).rollbackOnErrors(5));
    LoadBalancer lb = lb(control, OutlierDetectionConfig.disabled());
    // Both groups fail one call in 20 for two minutes.
    traffic(lb, 120, 1_000, n -> n % 20 == 19, 20);
    assertThat(rollbacks).isEmpty();
    assertThat(canaryPercent(lb, 20_000)).isBetween(8.5, 11.5);
  }

  @Test
  void oneControlForTwoBalancers_aRollbackInOne_isFollowedByTheOther() {
    SplitControl control = SplitControl.of(V2.percent(10).rollbackOnErrors(5));
    LoadBalancer failing = lb(control);
    LoadBalancer other = lb(control);
    traffic(failing, 2, 1_000, n -> true, 0);
    assertThat(rollbacks).hasSize(2); // one event per balancer
    assertThat(canaryPercent(other, 20_000)).isZero();
    assertThat(TestEndpoints.snapshotOf(other, C2).reason()).startsWith("canary rolled back: ");
  }

  @Test
  void everyCanaryEndpointEjectedForSlowCalls_rolledBack() {
    SplitControl control = SplitControl.of(V2.percent(40).rollbackOnErrors(5));
    LoadBalancer lb =
        lb(
            control,
            OutlierDetectionConfig.builder()
                .maxEjectionPercent(50)
                .slowCalls(Duration.ofMillis(500), 50)
                .build());
    for (int step = 0; step < 1_100 && rollbacks.isEmpty(); step++) {
      for (int i = 0; i < 10; i++) {
        PickResult r = lb.pick(PickContext.empty());
        boolean canary = r.endpoint().tags().get("version").equals("v2");
        r.handle().onSuccess(canary ? Duration.ofSeconds(1).toNanos() : 1_000_000);
      }
      scheduler.advance(Duration.ofMillis(10), Duration.ofMillis(10));
    }
    assertThat(rollbacks).hasSize(1);
    assertThat(rollbacks.get(0))
        .startsWith("all 2 of its endpoints were ejected (ejected: ")
        .endsWith("while stable endpoints serve");
  }

  @Test
  void stickyKeys_leaveARolledBackCanary() {
    SplitControl control = SplitControl.of(V2.percent(10).rollbackOnErrors(5));
    LoadBalancer lb =
        closeLater(
            LoadBalancers.builder("svc")
                .endpoints(List.of(S1, S2, S3, C1, C2))
                .trafficSplit(control)
                .affinity(Affinity.returnImmediately())
                .ticker(ticker)
                .scheduler(scheduler)
                .seed(5)
                .build());
    int onCanary = 0;
    for (long key = 0; key < 1_000; key++) {
      onCanary += TestEndpoints.pickKey(lb, key).startsWith("10.0.2.") ? 1 : 0;
    }
    assertThat(onCanary).isBetween(300, 500); // keys follow the ring, not the split
    for (int i = 0; i < 1_000 && control.rollbackReason().isEmpty(); i++) {
      PickResult r = lb.pick(PickContext.empty());
      if (r.endpoint().tags().get("version").equals("v2")) {
        r.handle().onFailure(CallFailure.status(503), 1_000);
      } else {
        r.handle().onSuccess(1_000);
      }
      TestEndpoints.settle(lb);
    }
    assertThat(control.rollbackReason()).isNotEmpty();
    for (long key = 0; key < 1_000; key++) {
      assertThat(TestEndpoints.pickKey(lb, key)).startsWith("10.0.1.");
    }
  }

  @Test
  void verdict_needsFiveFailures_andConfidence() {
    assertThat(CanaryDriver.verdict(0, 4, 1_000, 0, 5)).isNull();
    assertThat(CanaryDriver.verdict(0, 5, 1_000, 0, 5)).isNotNull();
    assertThat(CanaryDriver.verdict(0, 5, 10, 0, 5)).isNotNull(); // 5/5 against 0/10
    assertThat(CanaryDriver.verdict(0, 5, 0, 0, 5)).isNull(); // nothing to compare with
    assertThat(CanaryDriver.verdict(95, 5, 1_900, 100, 5)).isNull(); // 5% each
    assertThat(CanaryDriver.verdict(20, 5, 1_000, 0, 5)).isNotNull(); // 20% against 0%
    assertThat(CanaryDriver.verdict(20, 5, 1_000, 0, 20)).isNull(); // not 20 points worse, sure
    assertThat(CanaryDriver.wilson(0, 10, -1)).isZero();
    assertThat(CanaryDriver.wilson(10, 10, +1)).isEqualTo(1.0);
  }

  @Test
  void badSplits_nameTheValue() {
    assertThatThrownBy(() -> V2.percent(101)).hasMessage("percent: 101.0 (expected: 0..100)");
    assertThatThrownBy(() -> V2.ramp(1, 50, Duration.ofMillis(10)))
        .hasMessage("over: PT0.01S (expected: 1s..30d)");
    assertThatThrownBy(() -> TrafficSplit.toTags(Map.of()))
        .hasMessageStartingWith("tags: {} (expected: at least one tag");
    assertThatThrownBy(() -> V2.rollbackOnErrors(-1))
        .hasMessage("percentagePoints: -1.0 (expected: 0..100)");
  }
}
