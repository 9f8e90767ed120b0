package io.loadstar.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.loadstar.api.CallFailure;
import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Zone-aware routing: 2 local (zone a) + 2 remote (zone b) endpoints, fake time. */
class ZoneRoutingTest extends FakeTimeTest {

  private static final Endpoint A1 = Endpoint.of("10.0.1.1", 80).withZone("a");
  private static final Endpoint A2 = Endpoint.of("10.0.1.2", 80).withZone("a");
  private static final Endpoint B1 = Endpoint.of("10.0.2.1", 80).withZone("b");
  private static final Endpoint B2 = Endpoint.of("10.0.2.2", 80).withZone("b");
  private static final Set<String> LOCAL = Set.of(A1.key(), A2.key());

  private LoadBalancer lb(LoadBalancers.Builder b) {
    LoadBalancer lb = b.ticker(ticker).scheduler(scheduler).seed(3).build();
    closeLater(lb);
    return lb;
  }

  private static LoadBalancers.Builder fourInTwoZones() {
    return LoadBalancers.builder("svc").endpoints(List.of(A1, A2, B1, B2)).zone("a");
  }

  private static double localShare(LoadBalancer lb, int picks) {
    Map<String, Integer> counts = TestEndpoints.pickCounts(lb, picks);
    int local = 0;
    for (Map.Entry<String, Integer> e : counts.entrySet()) {
      if (LOCAL.contains(e.getKey())) {
        local += e.getValue();
      }
    }
    return local / (double) picks;
  }

  @Test
  void bothLocalsHealthy_allPicksLocal() {
    assertThat(localShare(lb(fourInTwoZones()), 20_000)).isGreaterThanOrEqualTo(0.95);
  }

  @Test
  void noZoneKnown_orRoutingDisabled_orTooFewEndpoints_picksIgnoreZones() {
    assertThat(localShare(lb(fourInTwoZones().zone("")), 20_000)).isBetween(0.47, 0.53);
    assertThat(localShare(lb(fourInTwoZones().zoneRouting(ZoneRouting.disabled())), 20_000))
        .isBetween(0.47, 0.53);
    LoadBalancer two = lb(LoadBalancers.builder("svc").endpoints(List.of(A1, B1)).zone("a"));
    Map<String, Integer> counts = TestEndpoints.pickCounts(two, 20_000);
    assertThat(counts.get(A1.key()) / 20_000.0).isBetween(0.47, 0.53); // below minClusterSize 3
  }

  @Test
  void oneLocalEjected_even_keepsPerEndpointLoadEven_spillsAThirdRemote() {
    LoadBalancer lb = lb(fourInTwoZones());
    TestEndpoints.eject(lb, A1);
    // Local capacity 1/3 of the usable, expected 1/2: 2/3 stays local, 1/3 spills to zone b.
    // Fleet-wide (zone b's callers stay home), every usable endpoint then gets a third.
    assertThat(localShare(lb, 30_000)).isBetween(0.64, 0.69);
  }

  @Test
  void oneLocalEjected_localFirst_staysLocal() {
    LoadBalancer lb =
        lb(
            fourInTwoZones()
                .zoneRouting(ZoneRouting.builder().policy(ZoneRouting.Policy.LOCAL_FIRST).build()));
    TestEndpoints.eject(lb, A1);
    assertThat(localShare(lb, 20_000)).isEqualTo(1.0);
  }

  @Test
  void bothLocalsEjected_everythingRemote_fromTheNextPick() {
    LoadBalancer lb =
        lb(
            fourInTwoZones()
                .outlierDetection(OutlierDetectionConfig.builder().maxEjectionPercent(50).build()));
    TestEndpoints.eject(lb, A1);
    TestEndpoints.eject(
        lb, A2); // the ejection is applied on the control loop before the failing call returns
    assertThat(localShare(lb, 20_000)).isZero();
  }

  @Test
  void bothLocalsFailing_secondEjectionRefusedByTheCap_stillMovesTheZonesShareAway() {
    LoadBalancer lb = lb(fourInTwoZones()); // default cap: one ejection of four
    TestEndpoints.eject(lb, A1);
    for (int i = 0; i < 5; i++) { // A2 fails too, but the cap refuses to eject it
      PickResult r = lb.pick(PickContext.builder().tried(B1).tried(B2).build());
      assertThat(r.endpoint()).isEqualTo(A2);
      r.handle().onFailure(CallFailure.status(503), 1_000);
    }
    assertThat(TestEndpoints.state(lb, A2)).isEqualTo(EndpointSnapshot.State.READY);
    assertThat(TestEndpoints.snapshotOf(lb, A2).reason()).contains("not ejected");
    // Zone a has no capacity left that serves well: its share goes to zone b.
    assertThat(localShare(lb, 20_000)).isZero();
  }

  @org.junit.jupiter.params.ParameterizedTest
  @org.junit.jupiter.params.provider.MethodSource("io.loadstar.core.OutlierTimeTest#origins")
  void bothLocalsAnswer503ThenRecover_trafficBackLocalWithinTwoCleanIntervals_noLateEjection(
      long origin) {
    io.loadstar.testing.FakeTicker t = new io.loadstar.testing.FakeTicker(origin);
    io.loadstar.testing.ManualScheduler s = new io.loadstar.testing.ManualScheduler(t);
    io.loadstar.testing.RecordingLbEventListener events =
        new io.loadstar.testing.RecordingLbEventListener(t);
    LoadBalancer lb =
        closeLater(
            fourInTwoZones() // the defaults: the cap ejects one of the four
                .ticker(t)
                .scheduler(s)
                .seed(3)
                .eventListener(events)
                .build());
    java.time.Duration step = java.time.Duration.ofMillis(100);
    int failed = 0;
    // Both local endpoints answer 503 for 5 s; calls are retried on another endpoint.
    for (int i = 0; i < 50; i++) {
      failed += zoneTraffic(lb, 50, true);
      s.advance(step, step);
    }
    assertThat(failed).isZero();
    assertThat(events.changesTo(EndpointSnapshot.State.EJECTED)).hasSize(1);
    events.stateChanges.clear();
    // They recover. Traffic is back in zone a within two clean outlier intervals (10 s each).
    double seconds = 0;
    while (localShare(lb, 300) < 0.6 && seconds < 60) {
      zoneTraffic(lb, 50, false);
      s.advance(step, step);
      seconds += 0.1;
    }
    assertThat(seconds).as("seconds until traffic is back in zone a").isLessThanOrEqualTo(20.1);
    // The ejected one returns after its ejection time (30 s +-20%): all local again.
    for (int i = 0; i < 400; i++) {
      zoneTraffic(lb, 50, false);
      s.advance(step, step);
    }
    assertThat(localShare(lb, 3_000)).isGreaterThanOrEqualTo(0.95);
    assertThat(events.changesTo(EndpointSnapshot.State.EJECTED))
        .as("ejections for failures older than a clean interval")
        .isEmpty();
  }

  /** {@code calls} calls of up to 3 attempts (as by default); zone a answers 503 if failing. */
  private static int zoneTraffic(LoadBalancer lb, int calls, boolean localFailing) {
    int failed = 0;
    for (int i = 0; i < calls; i++) {
      PickContext.Builder ctx = PickContext.builder();
      boolean ok = false;
      for (int attempt = 0; attempt < 3 && !ok; attempt++) {
        PickResult r = lb.pick(ctx.build());
        if (!r.isAvailable()) {
          break;
        }
        if (localFailing && r.endpoint().zone().equals("a")) {
          r.handle().onFailure(CallFailure.status(503), 1_000_000);
          ctx.tried(r.endpoint());
        } else {
          r.handle().onSuccess(1_000_000);
          ok = true;
        }
      }
      failed += ok ? 0 : 1;
    }
    return failed;
  }

  @Test
  void retryAfterLocalFailures_mayGoRemote_exclusionsArePerEndpoint() {
    LoadBalancer lb = lb(fourInTwoZones());
    PickResult r = lb.pick(PickContext.builder().tried(A1).build());
    assertThat(r.endpoint()).isEqualTo(A2); // still local while a local one is left
    r.handle().onSuccess(1_000);
    PickResult remote = lb.pick(PickContext.builder().tried(A1).tried(A2).build());
    assertThat(remote.isAvailable()).isTrue();
    assertThat(remote.endpoint().zone()).isEqualTo("b");
    remote.handle().onSuccess(1_000);
  }

  @Test
  void zone_fromTheEnvironment_andChecked() {
    assertThat(ZoneRouting.zoneFromEnvironment(null)).isEmpty();
    assertThat(ZoneRouting.zoneFromEnvironment(" ")).isEmpty();
    assertThat(ZoneRouting.zoneFromEnvironment("eu-west-1a")).isEqualTo("eu-west-1a");
    assertThat(ZoneRouting.zoneFromEnvironment(" eu ")).isEmpty(); // logged, ignored
    assertThatThrownBy(() -> LoadBalancers.builder("svc").zone(" a"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("zone: ' a' (expected: a zone name such as eu-west-1a");
    assertThatThrownBy(() -> ZoneRouting.builder().minClusterSize(0))
        .hasMessage("minClusterSize: 0 (expected: 1..10000)");
  }
}
