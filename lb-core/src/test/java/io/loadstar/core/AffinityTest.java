package io.loadstar.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import java.time.Duration;
import java.util.HashSet;
import java.util.Set;
import org.junit.jupiter.api.Test;

/** Sticky keys over 5 endpoints, fake time; E1 is the key's endpoint. */
class AffinityTest extends FakeTimeTest {

  private static final PickContext K = PickContext.ofHashKey("user-42");

  private LoadBalancer lb(Affinity affinity) {
    LoadBalancer lb =
        LoadBalancers.builder("svc")
            .endpoints(TestEndpoints.endpoints(5))
            .affinity(affinity)
            .outlierDetection(
                OutlierDetectionConfig.builder().baseEjectionTime(Duration.ofSeconds(10)).build())
            .ticker(ticker)
            .scheduler(scheduler)
            .seed(9)
            .build();
    closeLater(lb);
    return lb;
  }

  /** Where {@code n} picks of the key went (each completed). */
  private static Set<Endpoint> picks(LoadBalancer lb, PickContext key, int n) {
    Set<Endpoint> seen = new HashSet<>();
    for (int i = 0; i < n; i++) {
      PickResult r = lb.pick(key);
      seen.add(r.endpoint());
      r.handle().onSuccess(1_000);
      TestEndpoints.settle(lb); // the control loop takes a trial's outcome before the next call
    }
    return seen;
  }

  private static Endpoint only(Set<Endpoint> seen) {
    assertThat(seen).hasSize(1);
    return seen.iterator().next();
  }

  /** Ejects e1, then returns the one endpoint the key moved to. */
  private Endpoint ejectAndFallBack(LoadBalancer lb, Endpoint e1) {
    TestEndpoints.eject(lb, e1);
    return only(picks(lb, K, 1_000));
  }

  /** Lets the ejection run out (10 s +- 20%): E1 is usable again (on trial calls). */
  private void recover(LoadBalancer lb, Endpoint e1) {
    for (int i = 0; i < 200 && TestEndpoints.state(lb, e1) == EndpointSnapshot.State.EJECTED; i++) {
      scheduler.advance(Duration.ofMillis(100), Duration.ofMillis(100));
    }
    assertThat(TestEndpoints.state(lb, e1)).isNotEqualTo(EndpointSnapshot.State.EJECTED);
  }

  @Test
  void returnImmediately_keyStaysOnItsEndpoint_movesToOne_andBackAtOnce() {
    LoadBalancer lb = lb(Affinity.returnImmediately());
    Endpoint e1 = only(picks(lb, K, 1_000));
    Endpoint e2 = ejectAndFallBack(lb, e1);
    assertThat(e2).isNotEqualTo(e1);
    recover(lb, e1);
    // Back on E1 once its trial calls are through; the trial calls themselves land on E1 first.
    picks(lb, K, 50);
    assertThat(only(picks(lb, K, 1_000))).isEqualTo(e1);
  }

  @Test
  void returnAfter30s_staysOnTheFallback_untilE1HasBeenUsableFor30s() {
    LoadBalancer lb = lb(Affinity.returnAfter(Duration.ofSeconds(30)));
    Endpoint e1 = only(picks(lb, K, 1_000));
    Endpoint e2 = ejectAndFallBack(lb, e1);
    recover(lb, e1);
    long recovered = ticker.nanoTime();
    long backAfter = -1;
    for (int s = 1; s <= 40 && backAfter < 0; s++) {
      scheduler.advance(Duration.ofSeconds(1), Duration.ofMillis(100));
      Set<Endpoint> seen = picks(lb, K, 100);
      if (seen.equals(Set.of(e1))) {
        backAfter = (ticker.nanoTime() - recovered) / 1_000_000_000L;
      } else {
        assertThat(seen).containsExactly(e2); // one fallback, never spread
      }
    }
    assertThat(backAfter).isBetween(29L, 31L); // 30 s +- 1 s steps
  }

  @Test
  void neverReturn_movedKeyStaysOnItsFallback_otherKeysUnaffected() {
    LoadBalancer lb = lb(Affinity.neverReturn(10_000));
    Endpoint e1 = only(picks(lb, K, 1_000));
    Endpoint e2 = ejectAndFallBack(lb, e1);
    recover(lb, e1);
    scheduler.advance(Duration.ofMinutes(5), Duration.ofSeconds(1));
    assertThat(only(picks(lb, K, 1_000))).isEqualTo(e2);
    // A key first seen now, whose endpoint is E1, goes to E1.
    for (int k = 0; k < 10_000; k++) {
      PickContext other = PickContext.ofHashKey("new-" + k);
      if (only(picks(lb, other, 1)).equals(e1)) {
        return;
      }
    }
    throw new AssertionError("no new key went to " + e1);
  }

  @Test
  void oneEndpointLeaving_movesOnlyItsOwnKeys() {
    LoadBalancer lb = lb(Affinity.returnImmediately());
    int keys = 2_000;
    Endpoint[] before = new Endpoint[keys];
    for (int k = 0; k < keys; k++) {
      before[k] = only(picks(lb, PickContext.ofHashKey("k" + k), 1));
    }
    Endpoint gone = before[0];
    lb.control().drain(gone.key());
    int moved = 0;
    for (int k = 0; k < keys; k++) {
      Endpoint now = only(picks(lb, PickContext.ofHashKey("k" + k), 1));
      if (!before[k].equals(gone)) {
        assertThat(now).isEqualTo(before[k]);
      } else {
        moved++;
      }
    }
    assertThat(moved).isBetween(keys / 5 - 150, keys / 5 + 150); // its fifth, roughly
  }

  /** The share of 100,000 string keys each endpoint of {@code endpoints} takes, sticky. */
  private java.util.Map<String, Double> keyShares(java.util.List<Endpoint> endpoints) {
    LoadBalancer lb =
        closeLater(
            LoadBalancers.builder("svc")
                .endpoints(endpoints)
                .affinity(Affinity.returnImmediately())
                .ticker(ticker)
                .scheduler(scheduler)
                .seed(9)
                .build());
    java.util.Map<String, Double> shares = new java.util.TreeMap<>();
    int keys = 100_000;
    for (int k = 0; k < keys; k++) {
      PickResult r = lb.pick(PickContext.ofHashKey("user-" + k));
      shares.merge(r.endpoint().key(), 1.0 / keys, Double::sum);
      r.handle().onCancel();
    }
    return shares;
  }

  @Test
  void keysSpreadWithinTenPercentOfTheFairShare_overFourBackends_manyAddressSets() {
    java.util.SplittableRandom random = new java.util.SplittableRandom(17);
    for (int set = 0; set < 12; set++) {
      java.util.List<Endpoint> four = new java.util.ArrayList<>();
      int port = set < 4 ? 8080 + set : 1024 + random.nextInt(60_000);
      for (int i = 1; i <= 4; i++) {
        four.add(
            set % 2 == 0
                ? Endpoint.of("127.0.0." + i, port)
                : Endpoint.of("10." + random.nextInt(256) + ".0." + i, port));
      }
      java.util.Map<String, Double> shares = keyShares(four);
      assertThat(shares).as("%s", four).hasSize(4);
      assertThat(shares.values()).as("%s", shares).allMatch(x -> x >= 0.225 && x <= 0.275);
    }
  }

  @Test
  void anEndpointJoiningOrLeaving_movesOnlyItsOwnKeys_notOthersBetweenThem() {
    java.util.List<Endpoint> five = new java.util.ArrayList<>();
    for (int i = 1; i <= 5; i++) {
      five.add(Endpoint.of("127.0.0." + i, 80));
    }
    DynamicEndpointSource source = DynamicEndpointSource.of(five);
    LoadBalancer lb =
        closeLater(
            LoadBalancers.builder("svc")
                .source(source)
                .affinity(Affinity.returnImmediately())
                .ticker(ticker)
                .scheduler(scheduler)
                .build());
    int keys = 20_000;
    String[] before = new String[keys];
    for (int k = 0; k < keys; k++) {
      before[k] = TestEndpoints.pickKey(lb, k);
    }
    source.set(five.subList(0, 4)); // 127.0.0.5 leaves
    for (int k = 0; k < keys; k++) {
      String now = TestEndpoints.pickKey(lb, k);
      if (!before[k].equals("127.0.0.5:80")) {
        assertThat(now).as("key %s", k).isEqualTo(before[k]);
      }
    }
    source.set(five); // and joins again: every key is back where it was
    for (int k = 0; k < keys; k++) {
      assertThat(TestEndpoints.pickKey(lb, k)).isEqualTo(before[k]);
    }
  }

  @Test
  void keysFollowTheWeights() {
    java.util.Map<String, Double> shares =
        keyShares(
            java.util.List.of(
                Endpoint.of("127.0.0.1", 80),
                Endpoint.of("127.0.0.2", 80).withWeight(2),
                Endpoint.of("127.0.0.3", 80).withWeight(5)));
    assertThat(shares.get("127.0.0.1:80")).isBetween(0.125 * 0.9, 0.125 * 1.1);
    assertThat(shares.get("127.0.0.2:80")).isBetween(0.25 * 0.9, 0.25 * 1.1);
    assertThat(shares.get("127.0.0.3:80")).isBetween(0.625 * 0.9, 0.625 * 1.1);
  }

  @Test
  void picksWithoutAKey_unchanged() {
    LoadBalancer lb = lb(Affinity.returnImmediately());
    assertThat(TestEndpoints.pickCounts(lb, 10_000)).hasSize(5);
  }

  @Test
  void badSettings_nameTheValue() {
    assertThatThrownBy(() -> Affinity.returnAfter(Duration.ZERO))
        .hasMessage("healthyFor: PT0S (expected: 1s..1d)");
    assertThatThrownBy(() -> Affinity.neverReturn(0))
        .hasMessage("maxMovedKeys: 0 (expected: 1..10000000)");
  }
}
