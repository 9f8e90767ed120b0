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

  @Test
  void canaryFailingMoreThanStable_rolledBackToZero_withAnEventAndAReason() {
    SplitControl control = SplitControl.of(V2.percent(50).rollbackOnErrors(5, 100));
    LoadBalancer lb = lb(control, OutlierDetectionConfig.disabled());
    // Every other canary call fails (with outlier detection off, nothing ejects them).
    for (int i = 0; i < 2_000; i++) {
      PickResult r = lb.pick(PickContext.empty());
      boolean canary = r.endpoint().tags().get("version").equals("v2");
      if (canary && i % 2 == 0) {
        r.handle().onFailure(CallFailure.status(503), 1_000);
      } else {
        r.handle().onSuccess(1_000);
      }
    }
    assertThat(rollbacks).isEmpty(); // checked on the balancer's one-second timer
    scheduler.advance(Duration.ofSeconds(1), Duration.ofSeconds(1));
    assertThat(rollbacks).hasSize(1);
    assertThat(rollbacks.get(0))
        .matches(
            "canary error rate \\d+\\.\\d% over \\d+ calls vs stable 0\\.0% over \\d+ calls,"
                + " more than 5\\.0 percentage points apart");
    assertThat(canaryPercent(lb, 20_000)).isZero();
    assertThat(TestEndpoints.snapshotOf(lb, C1).reason()).startsWith("canary rolled back: ");
    assertThat(TestEndpoints.snapshotOf(lb, S1).reason()).isEmpty();
  }

  @Test
  void badSplits_nameTheValue() {
    assertThatThrownBy(() -> V2.percent(101)).hasMessage("percent: 101.0 (expected: 0..100)");
    assertThatThrownBy(() -> V2.ramp(1, 50, Duration.ofMillis(10)))
        .hasMessage("over: PT0.01S (expected: 1s..30d)");
    assertThatThrownBy(() -> TrafficSplit.toTags(Map.of()))
        .hasMessageStartingWith("tags: {} (expected: at least one tag");
    assertThatThrownBy(() -> V2.rollbackOnErrors(5, 0))
        .hasMessage("minCalls: 0 (expected: 1..1000000)");
  }
}
