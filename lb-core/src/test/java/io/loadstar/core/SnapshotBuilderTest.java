package io.loadstar.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.Endpoint;
import io.loadstar.api.LbEventListener;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.testing.FakeTicker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.api.Test;

/** The snapshot builder as a function of endpoint states, settings and time: no balancer. */
class SnapshotBuilderTest {

  private final FakeTicker ticker = new FakeTicker();

  private LoadBalancers.Builder settings() {
    return LoadBalancers.builder("svc").ticker(ticker).seed(7);
  }

  private static List<EndpointState> states(LoadBalancers.Builder b, List<Endpoint> endpoints) {
    EndpointStateFactory factory =
        new EndpointStateFactory(b.settings(), new LongAdder(), null, new FakeHost(0));
    List<EndpointState> out = new ArrayList<>();
    for (Endpoint e : endpoints) {
      out.add(factory.create(e));
    }
    return out;
  }

  private static SnapshotBuilder builder(LoadBalancers.Builder b) {
    return SnapshotBuilder.of(
        b.settings(), new LongAdder(), new ServiceEvents("svc", LbEventListener.NONE));
  }

  private static Set<String> picked(TieredPicker picker, int picks) {
    Set<String> keys = new HashSet<>();
    for (int i = 0; i < picks; i++) {
      PickResult r = picker.pick(PickContext.empty());
      if (r.isAvailable()) {
        keys.add(r.endpoint().key());
        r.handle().onSuccess(0);
      }
    }
    return keys;
  }

  @Test
  void noStates_aSnapshotThatSaysNothingWasDiscovered() {
    SnapshotBuilder.Snapshot s = builder(settings()).build(List.of(), ticker.nanoTime());
    assertThat(s.panicReason()).isNull();
    assertThat(s.ramping()).isFalse();
    assertThat(s.picker().pick(PickContext.empty()).reason())
        .isEqualTo(SnapshotBuilder.NO_ENDPOINTS);
  }

  @Test
  void tiers_thePreferredTierServesWhileItHasUsableEndpoints() {
    LoadBalancers.Builder b = settings();
    List<EndpointState> states =
        states(
            b,
            List.of(
                Endpoint.of("10.0.0.1", 80),
                Endpoint.of("10.0.0.2", 80),
                Endpoint.of("10.0.1.1", 80).withPriority(1)));
    SnapshotBuilder.Snapshot s = builder(b).build(states, ticker.nanoTime());
    assertThat(s.picker().tierCount()).isEqualTo(2);
    assertThat(picked(s.picker(), 50)).containsExactlyInAnyOrder("10.0.0.1:80", "10.0.0.2:80");
    assertThat(s.panicReason()).isNull();
  }

  @Test
  void panic_belowTheThreshold_picksOverAllListedEndpointsOfTheTier() {
    LoadBalancers.Builder b = settings();
    List<EndpointState> states = states(b, TestEndpoints.endpoints(3));
    states.get(0).health.healthy = false;
    states.get(1).health.healthy = false;
    SnapshotBuilder.Snapshot s = builder(b).build(states, ticker.nanoTime());
    assertThat(s.panicReason())
        .isEqualTo("1 of 3 endpoints usable in tier 0, below the panic threshold of 50%");
    assertThat(picked(s.picker(), 60)).hasSize(3);
  }

  @Test
  void failFastInPanic_picksNothing_andTheMessageCountsByState() {
    LoadBalancers.Builder b = settings().tiers(TierConfig.builder().failFastInPanic(true).build());
    List<EndpointState> states = states(b, TestEndpoints.endpoints(4));
    states.get(0).health.healthy = false;
    states.get(1).health.healthy = false;
    states.get(2).operator.draining = true;
    SnapshotBuilder.Snapshot s = builder(b).build(states, ticker.nanoTime());
    assertThat(s.panicReason()).startsWith("1 of 3 endpoints usable in tier 0");
    assertThat(s.picker().pick(PickContext.empty()).reason())
        .isEqualTo("0 of 4 ready (2 unhealthy, 1 drained or with weight 0)");
  }

  @Test
  void slowStart_rampsTheWeightStrategiesSee_andEndsTheRampWhenTheWindowIsOver() {
    LoadBalancers.Builder b = settings().slowStart(Duration.ofSeconds(10));
    List<EndpointState> states = states(b, TestEndpoints.endpoints(2));
    states.get(0).routing.rampStartNanos = ticker.nanoTime();
    SnapshotBuilder builder = builder(b);
    ticker.advance(Duration.ofSeconds(5));
    SnapshotBuilder.Snapshot s = builder.build(states, ticker.nanoTime());
    assertThat(s.ramping()).isTrue();
    assertThat(states.get(0).weight()).isEqualTo(50);
    assertThat(states.get(1).weight()).isEqualTo(100);
    ticker.advance(Duration.ofSeconds(5));
    s = builder.build(states, ticker.nanoTime());
    assertThat(s.ramping()).isFalse();
    assertThat(states.get(0).weight()).isEqualTo(100);
    assertThat(states.get(0).routing.rampStartNanos).isEqualTo(Long.MIN_VALUE);
  }

  @Test
  void spillover_aDegradedTierSendsItsShareToTheNext() {
    LoadBalancers.Builder b = settings().tiers(TierConfig.builder().spillover(true).build());
    List<Endpoint> endpoints = new ArrayList<>(TestEndpoints.endpoints(4));
    endpoints.add(Endpoint.of("10.0.9.1", 80).withPriority(1));
    List<EndpointState> states = states(b, endpoints);
    states.get(0).health.healthy = false;
    states.get(1).health.healthy = false;
    states.get(2).health.healthy = false;
    // Tier 0: 1 of 4 usable, health 35%; tier 1 takes the remaining 65%.
    SnapshotBuilder.Snapshot s = builder(b).build(states, ticker.nanoTime());
    int second = 0;
    for (int i = 0; i < 10_000; i++) {
      PickResult r = s.picker().pick(PickContext.empty());
      second += r.endpoint().priority() == 1 ? 1 : 0;
      r.handle().onSuccess(0);
    }
    assertThat(second).isBetween(6_200, 6_800);
    assertThat(s.panicReason()).isNull();
  }
}
