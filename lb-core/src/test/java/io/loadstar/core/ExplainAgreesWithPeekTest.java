package io.loadstar.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.CallFailure;
import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickExplanation;
import io.loadstar.api.PickResult;
import io.loadstar.api.SelectionStrategy;
import java.net.ConnectException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.function.UnaryOperator;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * explain() and peek() agree, for every strategy under every routing feature: where explain names
 * the endpoint, every peek goes there; where it says the pick is drawn, every peek lands among the
 * endpoints it names.
 */
class ExplainAgreesWithPeekTest extends FakeTimeTest {

  private static final Endpoint A1 = Endpoint.of("10.0.1.1", 80).withZone("a");
  private static final Endpoint A2 = Endpoint.of("10.0.1.2", 80).withZone("a");
  private static final Endpoint A3 = Endpoint.of("10.0.1.3", 80).withZone("a").withTag("v", "2");
  private static final Endpoint B1 = Endpoint.of("10.0.2.1", 80).withZone("b");
  private static final Endpoint B2 = Endpoint.of("10.0.2.2", 80).withZone("b");
  private static final Endpoint C1 = Endpoint.of("10.0.3.1", 80).withZone("a").withPriority(1);

  static Stream<Arguments> cases() {
    Map<String, SelectionStrategy> strategies =
        Map.of(
            "leastRequest", Strategies.leastRequest(),
            "roundRobin", Strategies.roundRobin(),
            "random", Strategies.random(),
            "peakEwma", Strategies.peakEwma(),
            "ringHash", Strategies.ringHash(),
            "maglev", Strategies.maglev());
    Map<String, UnaryOperator<LoadBalancers.Builder>> features =
        Map.of(
            "plain", b -> b,
            "zones", b -> b.zone("a"),
            "canary 20%", b -> b.trafficSplit(TrafficSplit.toTag("v", "2").percent(20)),
            "canary 0%", b -> b.trafficSplit(TrafficSplit.toTag("v", "2").percent(0)),
            "canary 100%", b -> b.trafficSplit(TrafficSplit.toTag("v", "2").percent(100)),
            "sticky", b -> b.affinity(Affinity.returnImmediately()),
            "zones + sticky + canary",
                b ->
                    b.zone("a")
                        .affinity(Affinity.returnImmediately())
                        .trafficSplit(TrafficSplit.toTag("v", "2").percent(10)),
            "spill-over", b -> b.tiers(TierConfig.builder().spillover(true).build()));
    List<Arguments> out = new ArrayList<>();
    for (var s : strategies.entrySet()) {
      for (var f : features.entrySet()) {
        for (String fault : List.of("none", "two ejected", "one failing, cap refused")) {
          out.add(Arguments.of(s.getKey(), s.getValue(), f.getKey(), f.getValue(), fault));
        }
      }
    }
    return out.stream();
  }

  @ParameterizedTest(name = "{0}, {2}, {4}")
  @MethodSource("cases")
  void explainNamesWherePeekGoes(
      String strategyName,
      SelectionStrategy strategy,
      String feature,
      UnaryOperator<LoadBalancers.Builder> features,
      String fault) {
    LoadBalancer lb =
        closeLater(
            features
                .apply(
                    LoadBalancers.builder("svc")
                        .endpoints(A1, A2, A3, B1, B2, C1)
                        .strategy(strategy)
                        .outlierDetection(
                            OutlierDetectionConfig.builder()
                                .maxEjectionPercent(fault.equals("two ejected") ? 34 : 10)
                                .build()))
                .ticker(ticker)
                .scheduler(scheduler)
                .seed(11)
                .build());
    if (fault.equals("two ejected")) {
      eject(lb, A1);
      eject(lb, B1);
    } else if (fault.equals("one failing, cap refused")) {
      eject(lb, B2);
      for (int i = 0; i < 5; i++) { // the cap (one of six) refuses A2's ejection: it goes last
        PickResult r =
            lb.pick(PickContext.builder().tried(A1).tried(A3).tried(B1).tried(C1).build());
        assertThat(r.endpoint()).isEqualTo(A2);
        r.handle().onFailure(CallFailure.notSent(new ConnectException("refused")), 1_000);
      }
    }
    PickResult busy = lb.pick(PickContext.builder().tried(A1).build()); // one call in flight
    List<PickContext> contexts = new ArrayList<>();
    contexts.add(PickContext.empty());
    contexts.add(PickContext.builder().tried(A2).build());
    for (int k = 0; k < 10; k++) {
      contexts.add(PickContext.ofHashKey("user-" + k));
    }
    for (PickContext context : contexts) {
      PickExplanation e = lb.inspect().explain(context);
      Set<Endpoint> peeked = new HashSet<>();
      for (int i = 0; i < 60; i++) {
        lb.inspect().peek(context).ifPresent(peeked::add);
      }
      if (e.chosen().isPresent()) {
        assertThat(peeked).as("%s\n%s", context, e).containsOnly(e.chosen().get());
      } else {
        for (Endpoint p : peeked) {
          assertThat(e.decision()).as("%s\n%s", context, e).contains(p.key());
        }
      }
    }
    busy.handle().onSuccess(1_000);
  }

  /** Fails 5 calls to {@code target}, reached by excluding every other endpoint. */
  private static void eject(LoadBalancer lb, Endpoint target) {
    PickContext.Builder others = PickContext.builder();
    for (Endpoint e : List.of(A1, A2, A3, B1, B2, C1)) {
      if (!e.equals(target)) {
        others.tried(e);
      }
    }
    for (int i = 0; i < 5; i++) {
      PickResult r = lb.pick(others.build());
      assertThat(r.endpoint()).isEqualTo(target);
      r.handle().onFailure(CallFailure.notSent(new ConnectException("refused")), 1_000);
    }
    assertThat(TestEndpoints.state(lb, target))
        .isEqualTo(io.loadstar.api.EndpointSnapshot.State.EJECTED);
  }

  @ParameterizedTest(name = "{0}")
  @MethodSource("io.loadstar.core.OutlierTimeTest#origins")
  void leastRequestTie_namesTheTiedCandidates_notOneBest(long ignored) {
    LoadBalancer lb =
        closeLater(
            LoadBalancers.builder("svc")
                .endpoints(A1, A2)
                .ticker(ticker)
                .scheduler(scheduler)
                .seed(3)
                .build());
    PickExplanation e = lb.inspect().explain(PickContext.empty());
    assertThat(e.chosen()).isEmpty();
    assertThat(e.decision()).contains(A1.key()).contains(A2.key()).contains("(tied)");
    Set<Endpoint> peeked = new HashSet<>();
    for (int i = 0; i < 100; i++) {
      peeked.add(lb.inspect().peek(PickContext.empty()).orElseThrow());
    }
    assertThat(peeked).containsExactlyInAnyOrder(A1, A2);
    PickResult busy = lb.pick(PickContext.builder().tried(A2).build());
    assertThat(lb.inspect().explain(PickContext.empty()).chosen()).contains(A2);
    busy.handle().onSuccess(1_000);
  }
}
