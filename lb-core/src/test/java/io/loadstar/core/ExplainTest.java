package io.loadstar.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickExplanation;
import io.loadstar.api.PickResult;
import java.util.List;
import org.junit.jupiter.api.Test;

/** explain(ctx): candidates, why each is out, scores, the chosen one; no slot taken. */
class ExplainTest extends FakeTimeTest {

  private static final Endpoint A1 = Endpoint.of("10.0.1.1", 80).withZone("a");
  private static final Endpoint A2 = Endpoint.of("10.0.1.2", 80).withZone("a");
  private static final Endpoint B1 = Endpoint.of("10.0.2.1", 80).withZone("b");
  private static final Endpoint B2 = Endpoint.of("10.0.2.2", 80).withZone("b").withTag("v", "2");

  private LoadBalancer lb(LoadBalancers.Builder b) {
    return closeLater(b.ticker(ticker).scheduler(scheduler).seed(4).build());
  }

  private static PickExplanation.Candidate of(PickExplanation e, Endpoint endpoint) {
    return e.candidates().stream()
        .filter(c -> c.endpoint().equals(endpoint))
        .findFirst()
        .orElseThrow();
  }

  @Test
  void leastRequest_withZones_ejectedAndTriedAndOtherZone_explained_bestChosen() {
    LoadBalancer lb =
        lb(
            LoadBalancers.builder("api")
                .endpoints(A1, A2, B1, B2)
                .zone("a")
                .outlierDetection(OutlierDetectionConfig.builder().maxEjectionPercent(50).build()));
    for (int i = 0; i < 5; i++) { // zone a keeps every pick: reach B1 by excluding the rest
      PickResult r = lb.pick(PickContext.builder().tried(A1).tried(A2).tried(B2).build());
      r.handle()
          .onFailure(
              io.loadstar.api.CallFailure.notSent(new java.net.ConnectException("refused")), 1_000);
    }
    PickResult busy = lb.pick(PickContext.builder().tried(A2).tried(B2).build());
    assertThat(busy.endpoint()).isEqualTo(A1); // one call in flight on A1

    PickExplanation e = lb.inspect().explain(PickContext.builder().tried(B2).build());
    assertThat(of(e, A1).eligible()).isTrue();
    assertThat(of(e, A1).score()).isEqualTo("in flight 1 / weight 1 = 1.000");
    assertThat(of(e, A2).eligible()).isTrue();
    assertThat(of(e, B1).eligible()).isFalse();
    assertThat(of(e, B1).why()).startsWith("EJECTED: ejected: 5 consecutive connect failures");
    assertThat(of(e, B2).why()).isEqualTo("already tried by this call");
    assertThat(e.chosen()).contains(A2); // fewer in flight than A1
    assertThat(e.routing()).contains("zones (local a): a 100.0% b 0.0%");
    assertThat(e.decision()).startsWith("power of two choices");
    assertThat(e.toString()).contains("-> 10.0.1.2:80  READY").contains(" - 10.0.2.1:80  EJECTED");

    // No slot was taken: A1 has its one call, A2 none.
    assertThat(TestEndpoints.snapshotOf(lb, A2).inFlight()).isZero();
    assertThat(TestEndpoints.snapshotOf(lb, A1).inFlight()).isEqualTo(1);
    busy.handle().onSuccess(1_000);
  }

  @Test
  void hashKey_chosenIsWhereThePickGoes_orTheTwoAKeyedPickIsDrawnAmongWithACanary() {
    LoadBalancer plain =
        lb(LoadBalancers.builder("api").endpoints(A1, A2, B1, B2).strategy(Strategies.maglev()));
    for (int k = 0; k < 50; k++) {
      PickContext key = PickContext.ofHashKey("user-" + k);
      assertThat(plain.inspect().explain(key).chosen()).isEqualTo(plain.inspect().peek(key));
    }
    LoadBalancer lb =
        lb(
            LoadBalancers.builder("api")
                .endpoints(List.of(A1, A2, B1, B2))
                .strategy(Strategies.maglev())
                .trafficSplit(TrafficSplit.toTag("v", "2").percent(5)));
    for (int k = 0; k < 50; k++) {
      PickContext key = PickContext.ofHashKey("user-" + k);
      PickExplanation e = lb.inspect().explain(key);
      // A keyed pick first draws canary or stable by share, then takes the key's owner there.
      assertThat(e.chosen()).isEmpty();
      assertThat(e.decision()).startsWith("drawn at random among 2: ").contains(B2.key());
      for (int i = 0; i < 20; i++) {
        assertThat(e.decision()).contains(lb.inspect().peek(key).orElseThrow().key());
      }
    }
    PickExplanation e = lb.inspect().explain(PickContext.empty());
    assertThat(of(e, B2).why()).isEqualTo("canary");
    assertThat(e.routing()).contains("canary {v=2} takes 5.0% of picks without a key");
  }

  @Test
  void stickyKey_chosenIsTheKeysEndpoint() {
    LoadBalancer lb =
        lb(
            LoadBalancers.builder("api")
                .endpoints(A1, A2, B1, B2)
                .affinity(Affinity.returnImmediately()));
    for (int k = 0; k < 50; k++) {
      PickContext key = PickContext.ofHashKey("user-" + k);
      PickExplanation e = lb.inspect().explain(key);
      PickResult r = lb.pick(key);
      r.handle().onCancel();
      assertThat(e.chosen()).contains(r.endpoint());
    }
  }
}
