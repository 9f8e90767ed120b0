package io.loadstar.core;

import static io.loadstar.core.TestEndpoints.endpoints;
import static io.loadstar.core.TestEndpoints.pickCounts;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSource;
import io.loadstar.api.EndpointUpdate;
import io.loadstar.api.LbEventListener;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.NoEndpointAvailableException;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.api.Picker;
import io.loadstar.core.internal.SharedThreads;
import io.loadstar.testing.Await;
import io.loadstar.testing.FakeTicker;
import io.loadstar.testing.RecordingLbEventListener;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class LoadBalancerTest {

  private static <T> T onLoop(LoadBalancer lb, java.util.function.Supplier<T> read) {
    CompletableFuture<T> f = new CompletableFuture<>();
    ((DefaultLoadBalancer) lb).executeSerially(() -> f.complete(read.get()));
    return f.join();
  }

  @Test
  void listUpdatedEverySecond_roundRobinSharesStayWithinThreePoints() {
    // 1,000 updates (one per "second"), each changing a tag so that the picker is rebuilt, and
    // only 7 picks between updates over 10 endpoints: had a rebuild reset the cursor, the first 7
    // endpoints would get 1/7 each and the last 3 nothing.
    List<Endpoint> list = endpoints(10);
    DynamicEndpointSource source = DynamicEndpointSource.of(list);
    try (LoadBalancer lb = LoadBalancers.builder("svc").source(source).seed(9).build()) {
      Map<String, Integer> total = new java.util.HashMap<>();
      int updates = 1_000;
      int picksPerUpdate = 7;
      for (int second = 0; second < updates; second++) {
        List<Endpoint> next = new ArrayList<>();
        for (Endpoint e : list) {
          next.add(e.withTag("generation", Integer.toString(second)));
        }
        source.set(next);
        pickCounts(lb, picksPerUpdate).forEach((k, v) -> total.merge(k, v, Integer::sum));
      }
      assertThat(total).hasSize(10);
      for (int count : total.values()) {
        assertThat((double) count / (updates * picksPerUpdate)).isBetween(0.07, 0.13);
      }
      assertThat(onLoop(lb, ((DefaultLoadBalancer) lb)::publications)).isEqualTo(updates + 1);
    }
  }

  @Test
  void noOpUpdate_publishesNoNewPicker() {
    List<Endpoint> list = endpoints(3);
    DynamicEndpointSource source = DynamicEndpointSource.of(list);
    RecordingLbEventListener events = new RecordingLbEventListener();
    try (LoadBalancer lb =
        LoadBalancers.builder("svc").source(source).eventListener(events).build()) {
      Picker before = ((DefaultLoadBalancer) lb).currentPicker();
      List<Endpoint> reordered = new ArrayList<>(list);
      java.util.Collections.reverse(reordered);
      source.set(reordered); // same set, other order
      source.set(list.get(0), list.get(1), list.get(2), list.get(1)); // a duplicate
      assertThat(((DefaultLoadBalancer) lb).currentPicker()).isSameAs(before);
      assertThat(events.updates).hasSize(1);
      assertThat(onLoop(lb, ((DefaultLoadBalancer) lb)::publications)).isEqualTo(1);
    }
  }

  @Test
  void concurrentSets_balancerEndsWithTheLastValueSet() throws Exception {
    DynamicEndpointSource source = DynamicEndpointSource.of(endpoints(1));
    try (LoadBalancer lb = LoadBalancers.builder("svc").source(source).build()) {
      for (int round = 0; round < 20; round++) {
        java.util.concurrent.CyclicBarrier barrier = new java.util.concurrent.CyclicBarrier(2);
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 2; t++) {
          int offset = t;
          Thread thread =
              new Thread(
                  () -> {
                    try {
                      barrier.await();
                    } catch (Exception e) {
                      throw new IllegalStateException(e);
                    }
                    for (int i = 0; i < 2_000; i++) {
                      source.set(endpoints(1 + (i * 2 + offset) % 7));
                    }
                  });
          thread.start();
          threads.add(thread);
        }
        for (Thread thread : threads) {
          thread.join(TimeUnit.SECONDS.toMillis(30));
        }
        assertThat(lb.inspect().endpoints())
            .isEqualTo(EndpointLists.canonical(source.current().endpoints()));
      }
    }
  }

  @Test
  void weightChange_keepsLiveInFlightCount() {
    Endpoint a = Endpoint.of("10.0.0.1", 80);
    DynamicEndpointSource source = DynamicEndpointSource.of(List.of(a));
    try (LoadBalancer lb =
        LoadBalancers.builder("svc").source(source).maxInFlightPerEndpoint(1).build()) {
      PickResult held = lb.pick();
      source.set(a.withWeight(5));
      assertThat(lb.inspect().endpoints()).containsExactly(a.withWeight(5));
      // The in-flight slot taken before the update still counts against the limit.
      assertThat(lb.pick().isAvailable()).isFalse();
      held.handle().onSuccess(0);
      PickResult next = lb.pick();
      assertThat(next.endpoint().weight()).isEqualTo(5);
      next.handle().onSuccess(0);
    }
  }

  @Test
  void discoveryError_keepsLastGoodEndpoints() {
    List<Endpoint> list = endpoints(3);
    DynamicEndpointSource source = DynamicEndpointSource.of(list);
    RecordingLbEventListener events = new RecordingLbEventListener();
    try (LoadBalancer lb =
        LoadBalancers.builder("svc").source(source).eventListener(events).build()) {
      IOException error = new IOException("SERVFAIL");
      source.fail(error);
      assertThat(lb.inspect().endpoints()).isEqualTo(list);
      assertThat(pickCounts(lb, 30)).hasSize(3);
      assertThat(events.discoveryErrors).containsExactly(error);
    }
  }

  @Test
  void emptyUpdate_keepsLastGoodEndpointsUnlessAccepted() {
    List<Endpoint> list = endpoints(2);
    DynamicEndpointSource source = DynamicEndpointSource.of(list);
    RecordingLbEventListener events = new RecordingLbEventListener();
    try (LoadBalancer lb =
        LoadBalancers.builder("svc").source(source).eventListener(events).build()) {
      source.set(List.of());
      assertThat(lb.inspect().endpoints()).isEqualTo(list);
      assertThat(events.discoveryErrors)
          .singleElement()
          .extracting(Throwable::getMessage)
          .isEqualTo("discovery returned no endpoints; keeping the last 2");
    }
    DynamicEndpointSource accepting = DynamicEndpointSource.of(list);
    try (LoadBalancer lb =
        LoadBalancers.builder("svc")
            .source(accepting)
            .keepLastEndpoints(java.time.Duration.ZERO)
            .build()) {
      accepting.set(List.of());
      assertThat(lb.inspect().endpoints()).isEmpty();
      assertThat(lb.pick().reason()).isEqualTo("0 candidates, no endpoints discovered yet");
    }
  }

  @Test
  void keepLastEndpoints_servesTheLastListForAtMostTheAge_thenDropsItNamingTheError() {
    List<Endpoint> list = endpoints(2);
    DynamicEndpointSource source = DynamicEndpointSource.of(list);
    FakeTicker ticker = new FakeTicker();
    try (LoadBalancer lb =
        LoadBalancers.builder("svc")
            .source(source)
            .ticker(ticker)
            .keepLastEndpoints(java.time.Duration.ofSeconds(60))
            .build()) {
      ticker.advance(java.time.Duration.ofSeconds(59));
      source.fail(new IOException("SERVFAIL"));
      source.set(List.of());
      assertThat(lb.inspect().endpoints()).isEqualTo(list);
      ticker.advance(java.time.Duration.ofSeconds(1));
      source.fail(new IOException("SERVFAIL"));
      assertThat(lb.inspect().endpoints()).isEmpty();
      assertThat(lb.pick().reason())
          .isEqualTo(
              "0 candidates, no endpoints discovered yet; last discovery error:"
                  + " java.io.IOException: SERVFAIL");
      source.set(list); // discovery answers again: served at once
      assertThat(lb.inspect().endpoints()).isEqualTo(list);
      assertThat(lb.pick().isAvailable()).isTrue();
    }
  }

  @Test
  void afterClose_everyMethodThatActsOrAnswers_refusesNamingTheService() throws Exception {
    LoadBalancer lb = LoadBalancers.builder("orders").endpoints(endpoints(2)).build();
    String key = endpoints(2).get(0).key();
    lb.close();
    String closed = "LoadBalancer 'orders' is closed";
    assertThatThrownBy(() -> lb.inspect().explain(PickContext.empty())).hasMessage(closed);
    assertThatThrownBy(lb.inspect()::snapshot).hasMessage(closed);
    assertThatThrownBy(lb.inspect()::endpoints).hasMessage(closed);
    assertThatThrownBy(() -> lb.control().drain(key)).hasMessage(closed);
    assertThatThrownBy(() -> lb.control().resume(key)).hasMessage(closed);
    assertThatThrownBy(() -> lb.control().setWeight(key, 3)).hasMessage(closed);
    assertThatThrownBy(() -> lb.inspect().explain(PickContext.empty()))
        .isInstanceOf(IllegalStateException.class);
    // Picks and calls in flight at shutdown get a clean failure, not an exception of a new kind.
    assertThat(lb.pick().isAvailable()).isFalse();
    assertThat(lb.pick().reason()).contains(closed);
    assertThat(lb.inspect().peek(PickContext.empty())).isEmpty();
    assertThatThrownBy(() -> lb.execute(e -> "never"))
        .isInstanceOf(NoEndpointAvailableException.class)
        .hasMessageContaining(closed);
    assertThat(lb.awaitReady(java.time.Duration.ofMillis(1))).isFalse();
    lb.close(); // idempotent
  }

  @Test
  void duplicateKeysWithDifferentWeights_refusedNamingTheKeyAndBothWeights() {
    Endpoint a = Endpoint.of("10.0.0.1", 80);
    assertThatThrownBy(() -> LoadBalancers.builder("svc").endpoints(a, a.withWeight(2)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "endpoints: endpoint 10.0.0.1:80 is listed twice, with weights 1 and 2 (expected: each"
                + " key once, or copies that are equal)");
    // Equal copies are one endpoint.
    try (LoadBalancer lb = LoadBalancers.builder("svc").endpoints(a, a).build()) {
      assertThat(lb.inspect().endpoints()).containsExactly(a);
    }
    // From discovery: the update is refused like an error, and the last good list kept.
    List<Endpoint> list = endpoints(2);
    DynamicEndpointSource source = DynamicEndpointSource.of(list);
    RecordingLbEventListener events = new RecordingLbEventListener();
    try (LoadBalancer lb =
        LoadBalancers.builder("svc").source(source).eventListener(events).build()) {
      source.set(List.of(a, a.withZone("b")));
      assertThat(lb.inspect().endpoints()).isEqualTo(list);
      assertThat(events.discoveryErrors)
          .singleElement()
          .extracting(Throwable::getMessage)
          .isEqualTo(
              "discovery: endpoint 10.0.0.1:80 is listed twice, with zones '' and 'b' (expected:"
                  + " each key once, or copies that are equal)");
    }
  }

  @Test
  void noEndpointsYet_executeFailsWithServiceNameAndLastDiscoveryError() {
    DynamicEndpointSource source = DynamicEndpointSource.create();
    try (LoadBalancer lb = LoadBalancers.builder("orders").source(source).build()) {
      source.fail(new IOException("NXDOMAIN for orders.svc"));
      assertThatThrownBy(() -> lb.execute(e -> "never"))
          .isInstanceOf(NoEndpointAvailableException.class)
          .hasMessage(
              "no endpoint available for 'orders': 0 candidates, no endpoints discovered yet; last"
                  + " discovery error: java.io.IOException: NXDOMAIN for orders.svc")
          .hasCauseInstanceOf(IOException.class)
          .extracting(e -> ((NoEndpointAvailableException) e).service())
          .isEqualTo("orders");
    }
  }

  @Test
  void tiers_backupUsedOnlyWhenPrimaryTierCannotServe() {
    Endpoint primary1 = Endpoint.of("10.0.0.1", 80);
    Endpoint primary2 = Endpoint.of("10.0.0.2", 80);
    Endpoint backup = Endpoint.of("10.0.1.1", 80).withPriority(1);
    DynamicEndpointSource source = DynamicEndpointSource.of(List.of(primary1, primary2, backup));
    try (LoadBalancer lb = LoadBalancers.builder("svc").source(source).build()) {
      assertThat(pickCounts(lb, 1_000).keySet()).containsOnly(primary1.key(), primary2.key());
      // Both primaries already tried by this call: the backup serves the retry.
      PickResult r = lb.pick(PickContext.empty().withTried(primary1).withTried(primary2));
      assertThat(r.endpoint()).isEqualTo(backup);
      r.handle().onCancel();
      // Primaries drained to weight 0: the backup tier takes everything.
      source.set(primary1.withWeight(0), primary2.withWeight(0), backup);
      assertThat(pickCounts(lb, 100).keySet()).containsOnly(backup.key());
      source.set(primary1.withWeight(0), primary2.withWeight(0));
      assertThat(lb.pick().reason()).isEqualTo("0 of 2 ready (2 drained or with weight 0)");
    }
  }

  @Test
  void execute_success_returnsValueAndReleasesInFlight() throws Exception {
    try (LoadBalancer lb =
        LoadBalancers.builder("svc").endpoints(endpoints(1)).maxInFlightPerEndpoint(1).build()) {
      for (int i = 0; i < 5; i++) {
        assertThat(lb.<String>execute(e -> e.host())).isEqualTo("10.0.0.1");
      }
      assertThat(lb.pick().isAvailable()).isTrue();
    }
  }

  @Test
  void execute_callThrows_rethrowsSameExceptionAndReleasesInFlight() {
    try (LoadBalancer lb =
        LoadBalancers.builder("svc").endpoints(endpoints(1)).maxInFlightPerEndpoint(1).build()) {
      SocketTimeoutException timeout = new SocketTimeoutException("read timed out");
      assertThatThrownBy(
              () ->
                  lb.execute(
                      e -> {
                        throw timeout;
                      }))
          .isSameAs(timeout);
      IllegalStateException bug = new IllegalStateException("bug");
      assertThatThrownBy(
              () ->
                  lb.execute(
                      e -> {
                        throw bug;
                      }))
          .isSameAs(bug);
      assertThat(lb.pick().isAvailable()).isTrue();
    }
  }

  @Test
  void oneSourceForTwoBalancers_secondBuildFailsNamingIt_firstStillFollowsTheSource() {
    DynamicEndpointSource source = DynamicEndpointSource.of(endpoints(2));
    try (LoadBalancer first = LoadBalancers.builder("first").source(source).build()) {
      assertThatThrownBy(() -> LoadBalancers.builder("second").source(source).build())
          .isInstanceOf(IllegalStateException.class)
          .hasMessage(
              "DynamicEndpointSource{EndpointUpdate{2 endpoints}} already serves a balancer"
                  + " (expected: one source per balancer; give each balancer its own"
                  + " DynamicEndpointSource and set() both)");
      source.set(endpoints(3)); // the failed build did not close the first one's source
      assertThat(first.inspect().endpoints()).hasSize(3);
    }
  }

  @Test
  void compositeSource_usesUnionAndKeepsEachSourcesLastGoodList() {
    DynamicEndpointSource first = DynamicEndpointSource.of(endpoints(2));
    DynamicEndpointSource second = DynamicEndpointSource.of(List.of(Endpoint.of("10.9.9.9", 80)));
    try (LoadBalancer lb = LoadBalancers.builder("svc").source(first).source(second).build()) {
      assertThat(lb.inspect().endpoints()).hasSize(3);
      second.fail(new IOException("down"));
      assertThat(lb.inspect().endpoints()).hasSize(3);
      first.set(endpoints(1));
      assertThat(lb.inspect().endpoints())
          .containsExactly(Endpoint.of("10.0.0.1", 8080), Endpoint.of("10.9.9.9", 80));
    }
  }

  @Test
  void throwingListener_isIgnoredAndBalancerKeepsWorking() {
    LbEventListener throwing =
        new LbEventListener() {
          @Override
          public void endpointsUpdated(String service, List<Endpoint> endpoints) {
            throw new IllegalStateException("listener bug");
          }

          @Override
          public void pickFailed(String service, String reason) {
            throw new IllegalStateException("listener bug");
          }
        };
    DynamicEndpointSource source = DynamicEndpointSource.of(endpoints(2));
    try (LoadBalancer lb =
        LoadBalancers.builder("svc").source(source).eventListener(throwing).build()) {
      source.set(endpoints(3));
      assertThat(lb.inspect().endpoints()).hasSize(3);
      assertThat(lb.pick(allTried(endpoints(3))).isAvailable()).isFalse();
    }
  }

  @Test
  void listenerThatClosesTheBalancer_closesItCleanly() {
    AtomicReference<LoadBalancer> ref = new AtomicReference<>();
    LbEventListener closing =
        new LbEventListener() {
          @Override
          public void endpointsUpdated(String service, List<Endpoint> endpoints) {
            if (endpoints.size() == 3) {
              ref.get().close();
            }
          }
        };
    DynamicEndpointSource source = DynamicEndpointSource.of(endpoints(2));
    LoadBalancer lb = LoadBalancers.builder("svc").source(source).eventListener(closing).build();
    ref.set(lb);
    source.set(endpoints(3)); // the listener closes the balancer from inside the control loop
    source.set(endpoints(4)); // ignored: closed
    assertThat(lb.pick().reason()).isEqualTo("LoadBalancer 'svc' is closed");
  }

  private static PickContext allTried(List<Endpoint> endpoints) {
    PickContext c = PickContext.empty();
    for (Endpoint e : endpoints) {
      c = c.withTried(e);
    }
    return c;
  }

  @Test
  void close_givesBackTheSharedTimerAndClosesSources() throws Exception {
    AtomicReference<Boolean> sourceClosed = new AtomicReference<>(false);
    EndpointSource source =
        new EndpointSource() {
          @Override
          public void start(Context context) {
            context.publish(EndpointUpdate.of(endpoints(2)));
          }

          @Override
          public void close() {
            sourceClosed.set(true);
          }
        };
    int before = SharedThreads.users();
    LoadBalancer lb = LoadBalancers.builder("closing").source(source).build();
    // Start the balancer's timers, as health checks will (outlier detection's sweep already has).
    CompletableFuture<Boolean> ran = new CompletableFuture<>();
    ((DefaultLoadBalancer) lb)
        .executeSerially(
            () ->
                ((DefaultLoadBalancer) lb)
                    .scheduler()
                    .schedule(() -> ran.complete(true), 0, TimeUnit.NANOSECONDS));
    assertThat(ran.get(10, TimeUnit.SECONDS)).isTrue();
    assertThat(SharedThreads.users()).isEqualTo(before + 1);
    assertThat(timerThreads()).hasSize(1);

    lb.close();

    assertThat(SharedThreads.users()).isEqualTo(before);
    if (before == 0) { // no other balancer of this JVM holds it: the thread is gone
      Await.until(() -> timerThreads().isEmpty());
      assertThat(timerThreads()).isEmpty();
    }
    assertThat(sourceClosed.get()).isTrue();
    assertThat(lb.pick().reason()).isEqualTo("LoadBalancer 'closing' is closed");
    lb.close(); // idempotent
    assertThat(SharedThreads.users()).isEqualTo(before);
  }

  @Test
  void fiftyBalancers_shareOneTimerThread_theLastCloseStopsIt() throws Exception {
    int before = SharedThreads.users();
    List<LoadBalancer> balancers = new ArrayList<>();
    for (int i = 0; i < 50; i++) {
      balancers.add(
          LoadBalancers.builder("svc-" + i)
              .endpoints(endpoints(3))
              .slowStart(java.time.Duration.ofSeconds(30))
              .build());
    }
    assertThat(SharedThreads.users()).isEqualTo(before + 50); // outlier detection's sweep timers
    assertThat(timerThreads()).hasSize(1);
    balancers.forEach(LoadBalancer::close);
    assertThat(SharedThreads.users()).isEqualTo(before);
    if (before == 0) {
      Await.until(() -> timerThreads().isEmpty());
      assertThat(timerThreads()).isEmpty();
    }
  }

  private static List<Thread> timerThreads() {
    List<Thread> found = new ArrayList<>();
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      if (t.getName().equals("loadstar-timer") && t.isAlive()) {
        found.add(t);
      }
    }
    return found;
  }
}
