package io.loadstar.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.CallFailure;
import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LbEventListener;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.core.internal.SerialExecutor;
import io.loadstar.testing.Await;
import io.loadstar.testing.FakeTicker;
import io.loadstar.testing.ManualScheduler;
import java.net.ConnectException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Request threads never run the control loop: a call that crosses a threshold hands the work to a
 * Loadstar thread, which ejects, rebuilds and tells the listeners.
 */
class HandOffTest {

  @Test
  void handOff_neverRunsOnTheCaller_aBurstAsksTheDrainerOnce_tasksRunInOrder() {
    List<Runnable> drainer = new ArrayList<>();
    SerialExecutor loop = new SerialExecutor("svc", drainer::add);
    List<Integer> ran = new ArrayList<>();
    for (int i = 0; i < 100; i++) {
      int n = i;
      loop.handOff(() -> ran.add(n));
    }
    assertThat(ran).isEmpty();
    assertThat(drainer).hasSize(1);
    drainer.get(0).run();
    assertThat(ran).hasSize(100).isSorted();
    loop.handOff(() -> ran.add(100)); // the drain ran: the next hand-off asks again
    assertThat(drainer).hasSize(2);
    // A thread that drains the loop for its own task runs what was handed off before it.
    loop.execute(() -> ran.add(101));
    assertThat(ran).endsWith(100, 101);
    drainer.get(1).run(); // finds nothing left: harmless
    assertThat(ran).hasSize(102);
  }

  @Test
  void settle_runsWhatWasHandedOff_returnsAtOnceWhenNothingIsQueued() {
    List<Runnable> drainer = new ArrayList<>();
    SerialExecutor loop = new SerialExecutor("svc", drainer::add);
    assertThat(loop.settle(0)).isTrue();
    List<String> ran = new ArrayList<>();
    loop.handOff(() -> ran.add("ejection"));
    assertThat(loop.settle(TimeUnit.SECONDS.toNanos(10))).isTrue();
    assertThat(ran).containsExactly("ejection");
  }

  @Test
  void pacer_manyAsksInOneTask_publishOnce_afterTheTask_publishNowAnswersThem_thenRunsAfter() {
    SerialExecutor loop = new SerialExecutor("svc");
    List<String> log = new ArrayList<>();
    RebuildPacer pacer = new RebuildPacer(loop, () -> log.add("publish"));
    loop.execute(
        () -> {
          pacer.request();
          pacer.afterNextPublish(() -> log.add("released"));
          pacer.request();
          pacer.request();
          log.add("task done");
        });
    assertThat(log).containsExactly("task done", "publish", "released");
    log.clear();
    loop.execute(
        () -> {
          pacer.request();
          pacer.publishNow(); // a change that must be visible at once answers the asks before it
          log.add("task done");
        });
    assertThat(log).containsExactly("publish", "task done");
    assertThat(pacer.isAsked()).isFalse();
  }

  @Test
  void aListChangeThatLetsARefusedEjectionThrough_publishesOnce_withTheEjection() {
    List<Endpoint> three = TestEndpoints.endpoints(6).subList(0, 3);
    List<Endpoint> six = TestEndpoints.endpoints(6);
    DynamicEndpointSource source = DynamicEndpointSource.of(three);
    FakeTicker ticker = new FakeTicker();
    ManualScheduler scheduler = new ManualScheduler(ticker);
    try (LoadBalancer lb =
        LoadBalancers.builder("svc")
            .source(source)
            .strategy(Strategies.roundRobin())
            .outlierDetection(OutlierDetectionConfig.builder().maxEjectionPercent(34).build())
            .ticker(ticker)
            .scheduler(scheduler)
            .build()) {
      // Two of three fail: the cap (34% of 3: one) ejects one and refuses the other.
      for (int i = 0; i < 300; i++) {
        PickResult r = lb.pick(PickContext.empty());
        if (r.endpoint().equals(three.get(2))) {
          r.handle().onSuccess(1_000);
        } else {
          r.handle().onFailure(CallFailure.status(503), 1_000);
        }
        TestEndpoints.settle(lb);
      }
      assertThat(lb.inspect().snapshot())
          .extracting(EndpointSnapshot::state)
          .containsOnlyOnce(EndpointSnapshot.State.EJECTED);
      DefaultLoadBalancer balancer = (DefaultLoadBalancer) lb;
      int[] before = new int[1];
      balancer.executeSerially(() -> before[0] = balancer.publications());
      source.set(six); // 34% of 6: two; the refused one is ejected with the list change
      int[] after = new int[1];
      balancer.executeSerially(() -> after[0] = balancer.publications());
      assertThat(after[0] - before[0]).isEqualTo(1);
      assertThat(lb.inspect().snapshot())
          .filteredOn(st -> st.state() == EndpointSnapshot.State.EJECTED)
          .hasSize(2);
    }
  }

  /** Records the threads that told it of state changes and rollbacks. */
  private static final class Threads extends LbEventListener {
    final Map<String, Thread> byEvent = new ConcurrentHashMap<>();

    @Override
    public void endpointStateChanged(
        String service, Endpoint endpoint, EndpointSnapshot.State state, String reason) {
      byEvent.putIfAbsent(state.name(), Thread.currentThread());
    }

    @Override
    public void canaryRolledBack(String service, String reason) {
      byEvent.putIfAbsent("ROLLED_BACK", Thread.currentThread());
    }
  }

  @Test
  void fifthFailure_ejectionRebuildAndListeners_runOnALoadstarThread_notTheRequestThread() {
    List<Endpoint> endpoints = TestEndpoints.endpoints(3);
    Endpoint bad = endpoints.get(0);
    Threads threads = new Threads();
    try (LoadBalancer lb =
        LoadBalancers.builder("svc").endpoints(endpoints).eventListener(threads).build()) {
      int failures = 0;
      for (int i = 0; i < 1_000 && failures < 5; i++) {
        PickResult r = lb.pick(PickContext.empty());
        if (r.endpoint().equals(bad)) {
          r.handle().onFailure(CallFailure.notSent(new ConnectException("refused")), 1_000);
          failures++;
        } else {
          r.handle().onSuccess(1_000);
        }
      }
      assertThat(failures).isEqualTo(5);
      assertThat(Await.until(() -> threads.byEvent.containsKey("EJECTED"))).isTrue();
      Thread ejecting = threads.byEvent.get("EJECTED");
      assertThat(ejecting).isNotSameAs(Thread.currentThread());
      assertThat(ejecting.getName()).isEqualTo("loadstar-timer");
      assertThat(TestEndpoints.snapshotOf(lb, bad).state())
          .isEqualTo(EndpointSnapshot.State.EJECTED);
    }
  }

  @Test
  void everyEndpointHeldForADecisionNotYetTaken_picksStillServed_notFailed() {
    List<Endpoint> endpoints = TestEndpoints.endpoints(3);
    FakeTicker ticker = new FakeTicker();
    ManualScheduler idleTimer = new ManualScheduler(ticker); // the hand-offs wait: nothing runs
    try (LoadBalancer lb =
        LoadBalancers.builder("svc")
            .endpoints(endpoints)
            .strategy(Strategies.roundRobin())
            .ticker(ticker)
            .scheduler(idleTimer)
            .build()) {
      Set<Endpoint> served = new HashSet<>();
      for (int i = 0; i < 300; i++) {
        PickResult r = lb.pick(PickContext.empty());
        assertThat(r.isAvailable()).as("pick %d: %s", i, r).isTrue();
        served.add(r.endpoint());
        r.handle().onFailure(CallFailure.status(503), 1_000); // every endpoint crosses 5 in a row
      }
      assertThat(served).containsExactlyInAnyOrderElementsOf(endpoints);
      PickResult tried = lb.pick(PickContext.empty().withTried(endpoints.get(0)));
      assertThat(tried.endpoint()).isNotEqualTo(endpoints.get(0)); // a retry still goes elsewhere
      tried.handle().onCancel();
      // The loop decides: one ejected (the cap), the others failing and going last.
      TestEndpoints.settle(lb);
      assertThat(lb.inspect().snapshot())
          .extracting(EndpointSnapshot::state)
          .containsOnlyOnce(EndpointSnapshot.State.EJECTED);
    }
  }

  @Test
  void aPickThroughTheSnapshotBeforeTheEjection_neverReachesTheEjectedEndpoint() {
    List<Endpoint> endpoints = TestEndpoints.endpoints(3);
    Endpoint bad = endpoints.get(0);
    FakeTicker ticker = new FakeTicker();
    try (LoadBalancer lb =
        LoadBalancers.builder("svc")
            .endpoints(endpoints)
            .strategy(Strategies.roundRobin())
            .ticker(ticker)
            .scheduler(new ManualScheduler(ticker))
            .build()) {
      DefaultLoadBalancer balancer = (DefaultLoadBalancer) lb;
      io.loadstar.api.Picker before = balancer.currentPicker(); // a slow request read it here
      for (int failures = 0; failures < 5; ) {
        PickResult r = lb.pick(PickContext.empty());
        if (r.endpoint().equals(bad)) {
          r.handle().onFailure(CallFailure.notSent(new ConnectException("refused")), 1_000);
          failures++;
        } else {
          r.handle().onSuccess(1_000);
        }
      }
      TestEndpoints.settle(lb); // the timer ejects it and publishes
      assertThat(TestEndpoints.snapshotOf(lb, bad).state())
          .isEqualTo(EndpointSnapshot.State.EJECTED);
      for (int i = 0; i < 300; i++) {
        PickResult r = before.pick(PickContext.empty()); // ... and picks only now
        assertThat(r.endpoint()).isNotEqualTo(bad);
        r.handle().onSuccess(1_000);
      }
    }
  }

  @Test
  void canaryFailures_rollbackRunsOnALoadstarThread_notTheRequestThread() {
    TrafficSplit v2 = TrafficSplit.toTag("version", "v2");
    List<Endpoint> endpoints =
        List.of(
            Endpoint.of("10.0.1.1", 80).withTags(Map.of("version", "v1")),
            Endpoint.of("10.0.1.2", 80).withTags(Map.of("version", "v1")),
            Endpoint.of("10.0.2.1", 80).withTags(Map.of("version", "v2")));
    SplitControl control = SplitControl.of(v2.percent(20).rollbackOnErrors(5));
    Threads threads = new Threads();
    try (LoadBalancer lb =
        LoadBalancers.builder("svc")
            .endpoints(endpoints)
            .trafficSplit(control)
            .outlierDetection(OutlierDetectionConfig.disabled())
            .eventListener(threads)
            .build()) {
      for (int i = 0; i < 10_000 && !threads.byEvent.containsKey("ROLLED_BACK"); i++) {
        PickResult r = lb.pick(PickContext.empty());
        if (r.endpoint().tags().get("version").equals("v2")) {
          r.handle().onFailure(CallFailure.status(503), 1_000);
        } else {
          r.handle().onSuccess(1_000);
        }
      }
      assertThat(Await.until(() -> threads.byEvent.containsKey("ROLLED_BACK"))).isTrue();
      assertThat(threads.byEvent.get("ROLLED_BACK")).isNotSameAs(Thread.currentThread());
      assertThat(control.rollbackReason()).startsWith("canary failed");
    }
  }

  @Test
  void splitSetFromTheBalancersOwnListener_returnsWithoutWaiting_andIsAppliedRightAfter() {
    TrafficSplit v2 = TrafficSplit.toTag("version", "v2");
    Endpoint stable = Endpoint.of("10.0.1.1", 80).withTags(Map.of("version", "v1"));
    Endpoint canary = Endpoint.of("10.0.2.1", 80).withTags(Map.of("version", "v2"));
    SplitControl control = SplitControl.of(v2.percent(0));
    DynamicEndpointSource source = DynamicEndpointSource.of(List.of(stable, canary));
    CountDownLatch setReturned = new CountDownLatch(1);
    List<Integer> sizes = new CopyOnWriteArrayList<>();
    try (LoadBalancer lb =
        LoadBalancers.builder("svc")
            .source(source)
            .trafficSplit(control)
            .eventListener(
                new LbEventListener() {
                  @Override
                  public void endpointsUpdated(String service, List<Endpoint> listed) {
                    sizes.add(listed.size());
                    if (listed.size() == 3) {
                      control.set(v2.percent(100)); // on this balancer's control loop
                      setReturned.countDown();
                    }
                  }
                })
            .build()) {
      Endpoint canary2 = Endpoint.of("10.0.2.2", 80).withTags(Map.of("version", "v2"));
      source.set(stable, canary, canary2);
      assertThat(setReturned.getCount()).isZero(); // the listener ran on this thread, and returned
      PickResult r = lb.pick(PickContext.empty());
      r.handle().onCancel();
      assertThat(r.endpoint().tags()).containsEntry("version", "v2"); // applied after the update
      assertThat(sizes).containsExactly(2, 3);
    }
  }
}
