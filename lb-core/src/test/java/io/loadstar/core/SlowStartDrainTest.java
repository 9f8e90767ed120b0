package io.loadstar.core;

import static io.loadstar.core.TestEndpoints.endpoints;
import static io.loadstar.core.TestEndpoints.pickCounts;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.api.SelectionStrategy;
import io.loadstar.testing.FakeTicker;
import io.loadstar.testing.ManualScheduler;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

class SlowStartDrainTest {

  private final FakeTicker ticker = new FakeTicker();
  private final ManualScheduler scheduler = new ManualScheduler(ticker);
  private final List<LoadBalancer> balancers = new ArrayList<>();

  @AfterEach
  void tearDown() {
    balancers.forEach(LoadBalancer::close);
  }

  private LoadBalancer lb(DynamicEndpointSource source, SelectionStrategy strategy) {
    LoadBalancer lb =
        LoadBalancers.builder("svc")
            .source(source)
            .strategy(strategy)
            .outlierDetection(OutlierDetectionConfig.disabled()) // timers here: the ramp's only
            .slowStart(Duration.ofSeconds(30))
            .ticker(ticker)
            .scheduler(scheduler)
            .seed(3)
            .build();
    balancers.add(lb);
    return lb;
  }

  private static double share(LoadBalancer lb, Endpoint e, int picks) {
    Map<String, Integer> counts = pickCounts(lb, picks);
    return counts.getOrDefault(e.key(), 0) / (double) picks;
  }

  private void advanceTo(long seconds, long[] now) {
    scheduler.advance(Duration.ofSeconds(seconds - now[0]), Duration.ofMillis(100));
    now[0] = seconds;
  }

  @Test
  void fourthEndpointJoiningThree_rampsFromTenPercentToFullShare() {
    List<Endpoint> four = endpoints(4);
    DynamicEndpointSource source = DynamicEndpointSource.of(four.subList(0, 3));
    LoadBalancer lb = lb(source, Strategies.roundRobin());
    Endpoint joiner = four.get(3);
    source.set(four);
    long[] now = {0};
    for (long t = 0; t < 3; t++) { // its first 3 seconds
      advanceTo(t, now);
      assertThat(share(lb, joiner, 10_000)).as("at %s s", t).isLessThanOrEqualTo(0.05);
    }
    advanceTo(15, now);
    assertThat(share(lb, joiner, 10_000)).isBetween(0.11, 0.17);
    EndpointSnapshot ramping = lb.inspect().snapshot().get(3);
    assertThat(ramping.state()).isEqualTo(EndpointSnapshot.State.RAMPING);
    assertThat(ramping.reason()).isEqualTo("slow start: 50% of weight, 30 s window");
    assertThat(ramping.effectiveWeight()).isEqualTo(0.5);
    advanceTo(31, now);
    assertThat(share(lb, joiner, 10_000)).isBetween(0.22, 0.28);
    assertThat(lb.inspect().snapshot().get(3).state()).isEqualTo(EndpointSnapshot.State.READY);
    // The ramp timer stops with the ramp: only the reading of the service's latency is left.
    assertThat(scheduler.pendingTasks()).isEqualTo(1);
  }

  @Test
  void republishingEveryTwoSeconds_doesNotResetTheRamp() {
    List<Endpoint> four = endpoints(4);
    DynamicEndpointSource source = DynamicEndpointSource.of(four.subList(0, 3));
    LoadBalancer lb = lb(source, Strategies.random());
    source.set(four);
    for (int t = 2; t <= 14; t += 2) {
      scheduler.advance(Duration.ofSeconds(2), Duration.ofMillis(100));
      List<Endpoint> same = new ArrayList<>();
      for (Endpoint e : four) {
        same.add(e.withTag("refresh", Integer.toString(t))); // forces a rebuild
      }
      source.set(same);
    }
    scheduler.advance(Duration.ofSeconds(1), Duration.ofMillis(100)); // t = 15 s
    assertThat(share(lb, four.get(3), 40_000)).isBetween(0.11, 0.17);
  }

  @Test
  void fourEndpointsStartingTogether_getAQuarterEachFromTheStart() {
    List<Endpoint> four = endpoints(4);
    LoadBalancer lb = lb(DynamicEndpointSource.of(four), Strategies.roundRobin());
    Map<String, Integer> counts = pickCounts(lb, 10_000);
    assertThat(counts.values()).containsOnly(2_500);
  }

  @Test
  void leastRequest_rampingEndpointTakesLessLoad() {
    List<Endpoint> four = endpoints(4);
    DynamicEndpointSource source = DynamicEndpointSource.of(four.subList(0, 3));
    LoadBalancer lb = lb(source, Strategies.leastRequest());
    source.set(four);
    scheduler.advance(Duration.ofSeconds(15), Duration.ofMillis(500));
    List<PickResult> held = new ArrayList<>(); // calls held open: in-flight follows weights
    int joiner = 0;
    for (int i = 0; i < 700; i++) {
      PickResult r = lb.pick();
      held.add(r);
      joiner += r.endpoint().equals(four.get(3)) ? 1 : 0;
    }
    assertThat(joiner).isBetween(85, 115); // 50 / 350 of 700
    held.forEach(r -> r.handle().onSuccess(1));
  }

  @Test
  void consistentHashing_neverRamps_soKeysStayPut() {
    List<Endpoint> four = endpoints(4);
    DynamicEndpointSource source = DynamicEndpointSource.of(four.subList(0, 3));
    LoadBalancer lb = lb(source, Strategies.maglev());
    source.set(four);
    List<String> atJoin = new ArrayList<>();
    for (long k = 0; k < 2_000; k++) {
      atJoin.add(TestEndpoints.pickKey(lb, k));
    }
    scheduler.advance(Duration.ofSeconds(31), Duration.ofSeconds(1));
    for (long k = 0; k < 2_000; k++) {
      assertThat(TestEndpoints.pickKey(lb, k)).isEqualTo(atJoin.get((int) k));
    }
  }

  @Test
  void drain_noNewPicks_inFlightFinish_survivesRefresh_resumeRamps() {
    List<Endpoint> three = endpoints(3);
    DynamicEndpointSource source = DynamicEndpointSource.of(three);
    LoadBalancer lb = lb(source, Strategies.roundRobin());
    Endpoint drained = three.get(1);
    List<PickResult> held = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      held.add(lb.pick());
    }
    lb.control().drain(drained.key());
    assertThat(pickCounts(lb, 300)).doesNotContainKey(drained.key());
    EndpointSnapshot s = lb.inspect().snapshot().get(1);
    assertThat(s.state()).isEqualTo(EndpointSnapshot.State.DRAINING);
    assertThat(s.reason()).isEqualTo("drained by the application");
    assertThat(s.inFlight()).isEqualTo(1); // its call in flight goes on
    held.forEach(r -> r.handle().onSuccess(1));
    assertThat(lb.inspect().snapshot().get(1).inFlight()).isZero();

    source.set(three.get(0), three.get(1).withTag("v", "2"), three.get(2)); // a refresh
    assertThat(pickCounts(lb, 300)).doesNotContainKey(drained.key());

    lb.control().resume(drained.key());
    assertThat(lb.inspect().snapshot().get(1).state()).isEqualTo(EndpointSnapshot.State.RAMPING);
    scheduler.advance(Duration.ofSeconds(31), Duration.ofSeconds(1));
    assertThat(pickCounts(lb, 300).get(drained.key())).isEqualTo(100);
  }

  @Test
  void setWeight_overridesDiscoveryUntilCleared() {
    List<Endpoint> two = endpoints(2);
    LoadBalancer lb =
        LoadBalancers.builder("svc")
            .strategy(Strategies.roundRobin())
            .endpoints(two)
            .seed(1)
            .build(); // no slow start
    balancers.add(lb);
    lb.control().setWeight(two.get(0).key(), 3);
    assertThat(pickCounts(lb, 4_000).get(two.get(0).key())).isEqualTo(3_000);
    lb.control().setWeight(two.get(0).key(), 0);
    assertThat(pickCounts(lb, 100)).doesNotContainKey(two.get(0).key());
    lb.control().setWeight(two.get(0).key(), -1);
    assertThat(pickCounts(lb, 4_000).get(two.get(0).key())).isEqualTo(2_000);
    assertThat(lb.pick(PickContext.empty()).isAvailable()).isTrue();
  }

  @Test
  void drainOrWeight_unknownKey_rejected() {
    LoadBalancer lb =
        LoadBalancers.builder("svc")
            .strategy(Strategies.roundRobin())
            .endpoints(endpoints(1))
            .build();
    balancers.add(lb);
    assertThatThrownBy(() -> lb.control().drain("10.9.9.9:80"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("endpointKey: 10.9.9.9:80 (expected: the key of a current endpoint)");
    assertThatThrownBy(() -> lb.control().setWeight("10.0.0.1:8080", -2))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("weight: -2 (expected: -1..1000000, -1 = discovery's weight)");
  }
}
