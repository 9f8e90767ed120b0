package io.loadstar.core;

import static io.loadstar.core.TestEndpoints.endpoints;
import static io.loadstar.core.TestEndpoints.pickCounts;
import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.api.SelectionStrategy;
import io.loadstar.testing.FakeTicker;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class StrategyDistributionTest {

  private static final Endpoint A = Endpoint.of("10.0.0.1", 80).withWeight(5);
  private static final Endpoint B = Endpoint.of("10.0.0.2", 80).withWeight(3);
  private static final Endpoint C = Endpoint.of("10.0.0.3", 80).withWeight(2);

  static Stream<Arguments> allStrategies() {
    return Stream.of(
        Arguments.of("roundRobin", Strategies.roundRobin()),
        Arguments.of("random", Strategies.random()),
        Arguments.of("leastRequest", Strategies.leastRequest()),
        Arguments.of("leastRequest3", Strategies.leastRequest(3, 1.5)),
        Arguments.of("peakEwma", Strategies.peakEwma()),
        Arguments.of("ringHash", Strategies.ringHash()),
        Arguments.of("maglev", Strategies.maglev()));
  }

  private static LoadBalancer lb(SelectionStrategy strategy, List<Endpoint> endpoints) {
    return LoadBalancers.builder("svc").strategy(strategy).endpoints(endpoints).seed(42).build();
  }

  /** 5 standard deviations of a binomial count: a false failure about once in 3.5 million runs. */
  private static double tolerance(int n, double p) {
    return 5 * Math.sqrt(n * p * (1 - p));
  }

  @Test
  void defaultStrategy_sendsAnEndpointWhoseCallsPileUpNoNewCalls_roundRobinKeepsItsShare() {
    List<Endpoint> list = endpoints(3);
    Endpoint slow = list.get(0);
    try (LoadBalancer byDefault = LoadBalancers.builder("svc").endpoints(list).seed(3).build();
        LoadBalancer roundRobin =
            LoadBalancers.builder("svc")
                .endpoints(list)
                .strategy(Strategies.roundRobin())
                .seed(3)
                .build()) {
      for (LoadBalancer lb : List.of(byDefault, roundRobin)) {
        // A slow endpoint: its calls stay in flight while the others' complete at once.
        List<PickResult> stuck = new ArrayList<>();
        for (int i = 0; i < 300; i++) {
          PickResult r = lb.pick();
          if (r.endpoint().equals(slow)) {
            stuck.add(r);
          } else {
            r.handle().onSuccess(1_000);
          }
        }
        if (lb == byDefault) {
          // Only the first call, when nothing was in flight anywhere.
          assertThat(stuck).as("least request, the default").hasSizeLessThanOrEqualTo(1);
        } else {
          assertThat(stuck).as("round robin").hasSize(100);
        }
        stuck.forEach(r -> r.handle().onSuccess(100_000_000));
      }
    }
  }

  @Test
  void roundRobin_weights532_sharesWithinOnePercentagePoint() {
    try (LoadBalancer lb = lb(Strategies.roundRobin(), List.of(A, B, C))) {
      Map<String, Integer> counts = pickCounts(lb, 10_000);
      assertThat(counts.get(A.key())).isBetween(4_900, 5_100);
      assertThat(counts.get(B.key())).isBetween(2_900, 3_100);
      assertThat(counts.get(C.key())).isBetween(1_900, 2_100);
    }
  }

  @Test
  void roundRobin_weights532_interleavesWithoutBursts() {
    try (LoadBalancer lb = lb(Strategies.roundRobin(), List.of(A, B, C))) {
      int longestRun = 0;
      int run = 0;
      String previous = "";
      for (int i = 0; i < 1_000; i++) {
        PickResult r = lb.pick();
        r.handle().onSuccess(0);
        run = r.endpoint().key().equals(previous) ? run + 1 : 1;
        longestRun = Math.max(longestRun, run);
        previous = r.endpoint().key();
      }
      assertThat(longestRun).isLessThanOrEqualTo(2); // A A once per cycle of 10, never A A A
    }
  }

  @Test
  void roundRobin_equalWeights_neverPicksSameEndpointTwiceInARow() {
    try (LoadBalancer lb = lb(Strategies.roundRobin(), endpoints(7))) {
      String previous = "";
      for (int i = 0; i < 10_000; i++) {
        PickResult r = lb.pick();
        r.handle().onSuccess(0);
        assertThat(r.endpoint().key()).isNotEqualTo(previous);
        previous = r.endpoint().key();
      }
    }
  }

  @Test
  void roundRobin_twoBalancers_startAtDifferentPositions() {
    List<String> firsts = new ArrayList<>();
    for (int seed = 0; seed < 20; seed++) {
      try (LoadBalancer lb =
          LoadBalancers.builder("svc").endpoints(endpoints(10)).seed(seed).build()) {
        firsts.add(lb.pick().endpoint().key());
      }
    }
    assertThat(firsts.stream().distinct().count()).isGreaterThan(3);
  }

  /** A, B and C (weights 5, 3, 2) got 50%, 30% and 20% of {@code n} picks, within tolerance. */
  private static void assertShares532(Map<String, Integer> counts, int n) {
    assertThat((double) counts.get(A.key()))
        .isCloseTo(n * 0.5, org.assertj.core.data.Offset.offset(tolerance(n, 0.5)));
    assertThat((double) counts.get(B.key()))
        .isCloseTo(n * 0.3, org.assertj.core.data.Offset.offset(tolerance(n, 0.3)));
    assertThat((double) counts.get(C.key()))
        .isCloseTo(n * 0.2, org.assertj.core.data.Offset.offset(tolerance(n, 0.2)));
  }

  @Test
  void random_weights532_sharesWithinTolerance() {
    int n = 100_000;
    try (LoadBalancer lb = lb(Strategies.random(), List.of(A, B, C))) {
      assertShares532(pickCounts(lb, n), n);
    }
  }

  @Test
  void leastRequest_equalWeightsIdle_sharesUniformWithinTolerance() {
    int n = 100_000;
    int endpoints = 5;
    try (LoadBalancer lb = lb(Strategies.leastRequest(), endpoints(endpoints))) {
      Map<String, Integer> counts = pickCounts(lb, n);
      assertThat(counts).hasSize(endpoints);
      for (int c : counts.values()) {
        assertThat((double) c)
            .isCloseTo(
                (double) n / endpoints,
                org.assertj.core.data.Offset.offset(tolerance(n, 1.0 / endpoints)));
      }
    }
  }

  @Test
  void leastRequest_idleEndpointsOfUnequalWeight_pickedInProportionToTheirWeights() {
    int n = 100_000;
    // Three endpoints: two candidates drawn by weight. Two: an exact scan from a start drawn by
    // weight. Either way the first drawn wins every tie at 0 in flight.
    try (LoadBalancer lb = lb(Strategies.leastRequest(), List.of(A, B, C))) {
      assertShares532(pickCounts(lb, n), n);
    }
    Endpoint twice = Endpoint.of("10.0.0.1", 80).withWeight(2);
    Endpoint once = Endpoint.of("10.0.0.2", 80);
    try (LoadBalancer lb = lb(Strategies.leastRequest(), List.of(twice, once))) {
      Map<String, Integer> counts = pickCounts(lb, n);
      assertThat((double) counts.get(twice.key()))
          .isCloseTo(n * 2 / 3.0, org.assertj.core.data.Offset.offset(tolerance(n, 2 / 3.0)));
    }
  }

  @Test
  void leastRequest_twoEndpointsWithDifferentInFlight_neverPicksTheBusierOne() {
    Endpoint busy = Endpoint.of("10.0.0.1", 80);
    Endpoint idle = Endpoint.of("10.0.0.2", 80);
    DynamicEndpointSource source = DynamicEndpointSource.of(List.of(busy));
    try (LoadBalancer lb =
        LoadBalancers.builder("svc").strategy(Strategies.leastRequest()).source(source).build()) {
      // Hold calls open on `busy` while it is alone; its state survives the update below.
      List<PickResult> held = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        held.add(lb.pick());
      }
      source.set(busy, idle);
      for (int i = 0; i < 10_000; i++) {
        PickResult r = lb.pick();
        assertThat(r.endpoint()).isEqualTo(idle);
        r.handle().onSuccess(0);
      }
      held.forEach(r -> r.handle().onSuccess(0));
    }
  }

  @Test
  void leastRequest_underLoad_inFlightFollowsWeights() {
    Endpoint heavy = Endpoint.of("10.0.0.1", 80).withWeight(3);
    Endpoint light = Endpoint.of("10.0.0.2", 80).withWeight(1);
    try (LoadBalancer lb = lb(Strategies.leastRequest(), List.of(heavy, light))) {
      int heavyCount = 0;
      List<PickResult> held = new ArrayList<>();
      for (int i = 0; i < 400; i++) { // calls that never complete: in-flight decides
        PickResult r = lb.pick();
        held.add(r);
        heavyCount += r.endpoint().equals(heavy) ? 1 : 0;
      }
      assertThat(heavyCount).isBetween(297, 303);
      held.forEach(r -> r.handle().onSuccess(0));
    }
  }

  @Test
  void peakEwma_slowEndpoint_getsFewPicks() {
    FakeTicker ticker = new FakeTicker();
    List<Endpoint> list = endpoints(3);
    try (LoadBalancer lb =
        LoadBalancers.builder("svc")
            .strategy(Strategies.peakEwma())
            .endpoints(list)
            .ticker(ticker)
            .seed(7)
            .build()) {
      Map<String, Integer> counts = new java.util.HashMap<>();
      for (int i = 0; i < 3_000; i++) {
        PickResult r = lb.pick();
        boolean slow = r.endpoint().equals(list.get(0));
        ticker.advance(Duration.ofMillis(1));
        r.handle()
            .onSuccess(slow ? Duration.ofMillis(100).toNanos() : Duration.ofMillis(1).toNanos());
        counts.merge(r.endpoint().key(), 1, Integer::sum);
      }
      assertThat(counts.getOrDefault(list.get(0).key(), 0)).isLessThan(300);
      assertThat(counts.get(list.get(1).key())).isGreaterThan(1_000);
      assertThat(counts.get(list.get(2).key())).isGreaterThan(1_000);
    }
  }

  @Test
  void peakEwma_failingEndpoint_isPenalised() {
    FakeTicker ticker = new FakeTicker();
    List<Endpoint> list = endpoints(2);
    try (LoadBalancer lb =
        LoadBalancers.builder("svc")
            .strategy(Strategies.peakEwma())
            .endpoints(list)
            .ticker(ticker)
            .seed(7)
            .build()) {
      int toFailing = 0;
      for (int i = 0; i < 1_000; i++) {
        PickResult r = lb.pick();
        ticker.advance(Duration.ofMillis(1));
        if (r.endpoint().equals(list.get(0))) {
          toFailing++;
          r.handle()
              .onFailure(
                  io.loadstar.api.CallFailure.notSent(new java.net.ConnectException()), 100_000);
        } else {
          r.handle().onSuccess(Duration.ofMillis(2).toNanos());
        }
      }
      assertThat(toFailing).isLessThan(20);
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("allStrategies")
  void pick_triedEndpoints_areNeverPickedAgain(String name, SelectionStrategy strategy) {
    List<Endpoint> list = endpoints(5);
    try (LoadBalancer lb = lb(strategy, list)) {
      for (long key = 0; key < 2_000; key++) {
        PickContext context =
            PickContext.builder().hashKey(key).tried(list.get(0)).tried(list.get(3)).build();
        PickResult r = lb.pick(context);
        assertThat(r.endpoint()).isNotIn(list.get(0), list.get(3));
        r.handle().onCancel();
      }
      PickContext allTried = PickContext.empty();
      for (Endpoint e : list) {
        allTried = allTried.withTried(e);
      }
      PickResult none = lb.pick(allTried);
      assertThat(none.isAvailable()).isFalse();
      assertThat(none.reason()).isEqualTo("0 of 5 ready (5 already tried)");
    }
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("allStrategies")
  void pick_endpointsAtInFlightLimit_areSkipped(String name, SelectionStrategy strategy) {
    List<Endpoint> list = endpoints(3);
    try (LoadBalancer lb =
        LoadBalancers.builder("svc")
            .strategy(strategy)
            .endpoints(list)
            .maxInFlightPerEndpoint(2)
            .seed(3)
            .build()) {
      List<PickResult> held = new ArrayList<>();
      for (int i = 0; i < 6; i++) {
        PickResult r = lb.pick(PickContext.ofHashKey(i % 2));
        assertThat(r.isAvailable()).as("pick %s", i).isTrue();
        held.add(r);
      }
      Map<String, Long> perEndpoint =
          held.stream()
              .collect(
                  java.util.stream.Collectors.groupingBy(
                      r -> r.endpoint().key(), java.util.stream.Collectors.counting()));
      assertThat(perEndpoint.values()).containsOnly(2L);
      PickResult full = lb.pick(PickContext.ofHashKey(1));
      assertThat(full.isAvailable()).isFalse();
      assertThat(full.reason()).isEqualTo("0 of 3 ready (3 at in-flight limit 2)");
      held.get(0).handle().onSuccess(0);
      PickResult again = lb.pick(PickContext.ofHashKey(5));
      assertThat(again.endpoint()).isEqualTo(held.get(0).endpoint());
    }
  }
}
