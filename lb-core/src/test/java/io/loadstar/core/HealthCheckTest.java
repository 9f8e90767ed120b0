package io.loadstar.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.HealthCheckResult;
import io.loadstar.api.HealthChecker;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickResult;
import io.loadstar.testing.Await;
import io.loadstar.testing.FakeTicker;
import io.loadstar.testing.ManualScheduler;
import io.loadstar.testing.RecordingLbEventListener;
import io.loadstar.testing.TcpBackend;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Active health checks against real TCP servers on loopback, with fake time. */
class HealthCheckTest {

  private final FakeTicker ticker = new FakeTicker();
  private final ManualScheduler scheduler = new ManualScheduler(ticker);
  private final List<AutoCloseable> closeables = new ArrayList<>();

  @AfterEach
  void tearDown() throws Exception {
    for (AutoCloseable c : closeables) {
      c.close();
    }
  }

  private <T extends AutoCloseable> T closeLater(T c) {
    closeables.add(c);
    return c;
  }

  /** Probes run inline on the scheduler's thread: runDueTasks() completes them. */
  private HealthCheckService service(HealthChecker checker, HealthCheckConfig config) {
    return closeLater(TestEndpoints.inlineChecks(checker, config, scheduler));
  }

  /** Three backends on 127.0.0.1-3 with one port; the third is closed. */
  private List<Endpoint> threeBackendsOneClosed() throws IOException {
    TcpBackend first = closeLater(TcpBackend.start("127.0.0.1", 0));
    int port = first.port();
    closeLater(TcpBackend.start("127.0.0.2", port));
    TcpBackend third = TcpBackend.start("127.0.0.3", port);
    third.close();
    return List.of(
        Endpoint.of("127.0.0.1", port),
        Endpoint.of("127.0.0.2", port),
        Endpoint.of("127.0.0.3", port));
  }

  private static Set<String> picked(LoadBalancer lb, int picks) {
    Set<String> keys = new HashSet<>();
    for (int i = 0; i < picks; i++) {
      PickResult r = lb.pick();
      keys.add(r.endpoint().key());
      r.handle().onSuccess(1);
    }
    return keys;
  }

  @Test
  void closedBackend_interval1sFall2_outAfterTwoChecks() throws Exception {
    List<Endpoint> endpoints = threeBackendsOneClosed();
    HealthCheckConfig config =
        HealthCheckConfig.builder().interval(Duration.ofSeconds(1)).fall(2).jitter(0).build();
    RecordingLbEventListener events = new RecordingLbEventListener();
    List<String> stateEvents = new java.util.concurrent.CopyOnWriteArrayList<>();
    LoadBalancer lb =
        closeLater(
            LoadBalancers.builder("svc")
                .endpoints(endpoints)
                .healthChecks(service(TcpHealthChecker.create(), config))
                .eventListener(
                    new io.loadstar.api.LbEventListener() {
                      @Override
                      public void endpointStateChanged(
                          String service, Endpoint e, EndpointSnapshot.State state, String reason) {
                        stateEvents.add(e.host() + " " + state + " " + reason);
                      }
                    })
                .build());

    scheduler.runDueTasks(); // first check of each: the closed one has failed once
    assertThat(picked(lb, 30)).hasSize(3);

    ticker.advance(Duration.ofSeconds(1));
    scheduler.runDueTasks(); // second check: fall 2 reached
    assertThat(picked(lb, 30))
        .containsExactlyInAnyOrder(endpoints.get(0).key(), endpoints.get(1).key());
    EndpointSnapshot closed = lb.inspect().snapshot().get(2);
    assertThat(closed.state()).isEqualTo(EndpointSnapshot.State.UNHEALTHY);
    assertThat(closed.reason())
        .isEqualTo("check failed: connection refused on port " + endpoints.get(2).port());
    assertThat(closed.effectiveWeight()).isZero();
    assertThat(stateEvents)
        .containsExactly(
            "127.0.0.3 UNHEALTHY check failed: connection refused on port "
                + endpoints.get(2).port());
    assertThat(events.updates).isEmpty(); // not the listener under test
  }

  /** A checker whose results follow a script, per target port; counts probes. */
  private static final class ScriptedChecker implements HealthChecker {
    final Map<Integer, java.util.function.IntPredicate> healthyAtProbe = new ConcurrentHashMap<>();
    final Map<Integer, AtomicInteger> probes = new ConcurrentHashMap<>();

    @Override
    public HealthCheckResult check(Endpoint target, Duration timeout) {
      int n = probes.computeIfAbsent(target.port(), p -> new AtomicInteger()).getAndIncrement();
      return healthyAtProbe.getOrDefault(target.port(), i -> true).test(n)
          ? HealthCheckResult.healthy()
          : HealthCheckResult.unhealthy("scripted failure " + n);
    }
  }

  @Test
  void hysteresis_alternatingFailures_neverOut_fallInARowOutOnce_riseInARowBack() {
    ScriptedChecker checker = new ScriptedChecker();
    // Port 1: every other probe fails, for 1,000 probes: never `fall` (3) failures in a row.
    checker.healthyAtProbe.put(1, i -> i % 2 == 0);
    // Port 2: probes 100-102 fail (3 in a row: out), 103 passes, 104 fails, 105-106 pass (rise 2).
    checker.healthyAtProbe.put(2, i -> !(i >= 100 && i <= 102) && i != 104);
    List<String> transitions = new java.util.concurrent.CopyOnWriteArrayList<>();
    HealthCheckConfig config =
        HealthCheckConfig.builder()
            .interval(Duration.ofSeconds(1))
            .rise(2)
            .fall(3)
            .jitter(0)
            .build();
    LoadBalancer lb =
        closeLater(
            LoadBalancers.builder("svc")
                .endpoints(Endpoint.of("10.1.0.1", 1), Endpoint.of("10.1.0.2", 2))
                .healthChecks(service(checker, config))
                .eventListener(
                    new io.loadstar.api.LbEventListener() {
                      @Override
                      public void endpointStateChanged(
                          String service, Endpoint e, EndpointSnapshot.State state, String reason) {
                        transitions.add(
                            e.port() + ":" + state + "@" + checker.probes.get(e.port()));
                      }
                    })
                .build());
    for (int probe = 0; probe < 1_000; probe++) {
      scheduler.runDueTasks();
      ticker.advance(Duration.ofSeconds(1));
    }
    assertThat(checker.probes.get(1).get()).isEqualTo(1_000);
    // Out after the third failure in a row (probe 102, the 103rd); back after probes 105 and 106.
    assertThat(transitions).containsExactly("2:UNHEALTHY@103", "2:READY@107");
    assertThat(lb.inspect().snapshot())
        .extracting(EndpointSnapshot::state)
        .containsOnly(EndpointSnapshot.State.READY);
  }

  @Test
  void separateCheckPort_decidesHealth() throws Exception {
    TcpBackend check = closeLater(TcpBackend.start("127.0.0.1", 0));
    // The service port has nothing listening; the check port does: healthy.
    Endpoint endpoint = Endpoint.of("127.0.0.1", 1);
    HealthCheckConfig config =
        HealthCheckConfig.builder().port(check.port()).initiallyHealthy(false).jitter(0).build();
    LoadBalancer lb =
        closeLater(
            LoadBalancers.builder("db")
                .endpoints(endpoint)
                .healthChecks(service(TcpHealthChecker.create(), config))
                .build());
    assertThat(lb.pick().isAvailable()).isFalse(); // excluded until the first check passes
    assertThat(lb.inspect().snapshot().get(0).reason()).isEqualTo("not checked yet");
    scheduler.runDueTasks();
    assertThat(lb.inspect().snapshot().get(0).state()).isEqualTo(EndpointSnapshot.State.READY);
    Await.until(() -> check.accepted() >= 1);
    assertThat(check.accepted()).isEqualTo(1);
  }

  @Test
  void twoBalancersSharingAService_probeEachEndpointOncePerInterval() throws Exception {
    TcpBackend a = closeLater(TcpBackend.start("127.0.0.1", 0));
    TcpBackend b = closeLater(TcpBackend.start("127.0.0.2", a.port()));
    List<Endpoint> endpoints =
        List.of(Endpoint.of("127.0.0.1", a.port()), Endpoint.of("127.0.0.2", a.port()));
    HealthCheckService shared =
        service(TcpHealthChecker.create(), HealthCheckConfig.builder().jitter(0).build());
    LoadBalancer first =
        closeLater(LoadBalancers.builder("one").endpoints(endpoints).healthChecks(shared).build());
    LoadBalancer second =
        closeLater(LoadBalancers.builder("two").endpoints(endpoints).healthChecks(shared).build());
    assertThat(shared.targets()).isEqualTo(2);
    for (int i = 0; i < 10; i++) {
      scheduler.runDueTasks();
      ticker.advance(Duration.ofSeconds(2));
    }
    Await.until(() -> a.accepted() >= 10 && b.accepted() >= 10);
    assertThat(a.accepted()).isEqualTo(10);
    assertThat(b.accepted()).isEqualTo(10);
    first.close();
    assertThat(shared.targets()).isEqualTo(2); // still watched by the second balancer
    second.close();
    assertThat(shared.targets()).isZero();
    assertThat(scheduler.pendingTasks()).isZero();
  }

  @Test
  void thousandListReplacements_usableSetNeverEmpty_noProbeReachesRemovedEndpoint()
      throws Exception {
    TcpBackend keeper = closeLater(TcpBackend.start("127.0.0.1", 0));
    int port = keeper.port();
    List<TcpBackend> pool = new ArrayList<>();
    for (int i = 2; i <= 7; i++) {
      pool.add(closeLater(TcpBackend.start("127.0.0." + i, port)));
    }
    Endpoint keep = Endpoint.of("127.0.0.1", port);
    Set<String> listed = ConcurrentHashMap.newKeySet();
    AtomicInteger probesToUnlisted = new AtomicInteger();
    Map<String, AtomicInteger> probesSent = new ConcurrentHashMap<>();
    AtomicInteger connected = new AtomicInteger();
    HealthChecker counting =
        (target, timeout) -> {
          if (!listed.contains(target.key())) {
            probesToUnlisted.incrementAndGet();
          }
          probesSent.computeIfAbsent(target.key(), k -> new AtomicInteger()).incrementAndGet();
          HealthCheckResult result = TcpHealthChecker.create().check(target, timeout);
          if (result.isHealthy()) {
            connected.incrementAndGet();
          }
          return result;
        };
    DynamicEndpointSource source = DynamicEndpointSource.of(List.of(keep));
    listed.add(keep.key());
    HealthCheckConfig config = HealthCheckConfig.builder().interval(Duration.ofMillis(500)).build();
    LoadBalancer lb =
        closeLater(
            LoadBalancers.builder("svc")
                .source(source)
                .healthChecks(service(counting, config))
                .build());
    SplittableRandom random = new SplittableRandom(99);
    for (int round = 0; round < 1_000; round++) {
      List<Endpoint> next = new ArrayList<>();
      next.add(keep);
      for (TcpBackend b : pool) {
        if (random.nextInt(3) == 0) {
          next.add(Endpoint.of(b.host(), port));
        }
      }
      // Remove from `listed` only after the balancer has dropped them, add before it adds them.
      Set<String> nextKeys = new HashSet<>();
      next.forEach(e -> nextKeys.add(e.key()));
      listed.addAll(nextKeys);
      source.set(next);
      listed.retainAll(nextKeys);
      ticker.advance(Duration.ofMillis(random.nextInt(1_000)));
      scheduler.runDueTasks();
      PickResult r = lb.pick();
      assertThat(r.isAvailable()).as("round %s: %s", round, r.reason()).isTrue();
      r.handle().onSuccess(1);
    }
    assertThat(probesToUnlisted.get()).isZero();
    // The probes were real connections: the backends accepted every probe that connected, and
    // nothing beyond the probes sent. (A probe may time out under load without being accepted.)
    int sent = probesSent.values().stream().mapToInt(AtomicInteger::get).sum();
    assertThat(sent).isGreaterThan(500);
    assertThat(connected.get()).isGreaterThan(500);
    java.util.function.IntSupplier accepted =
        () -> keeper.accepted() + pool.stream().mapToInt(TcpBackend::accepted).sum();
    Await.until(() -> accepted.getAsInt() >= connected.get());
    assertThat(accepted.getAsInt()).isBetween(connected.get(), sent);
  }

  @Test
  void ownedChecks_useTheSchedulerEvenWhenItIsSetAfterThem() throws Exception {
    List<Endpoint> endpoints = threeBackendsOneClosed();
    LoadBalancer lb =
        LoadBalancers.builder("svc")
            .endpoints(endpoints)
            .outlierDetection(OutlierDetectionConfig.disabled())
            .healthChecks(TcpHealthChecker.create(), HealthCheckConfig.defaults())
            .scheduler(scheduler) // after healthChecks(..): used all the same
            .build();
    // The three probe timers, on it, and the reading of the service's latency.
    assertThat(scheduler.pendingTasks()).isEqualTo(3 + 1);
    lb.close();
    assertThat(scheduler.pendingTasks()).isZero();
  }

  @Test
  void close_stopsEveryProbe() throws Exception {
    List<Endpoint> endpoints = threeBackendsOneClosed();
    LoadBalancer lb =
        LoadBalancers.builder("svc")
            .endpoints(endpoints)
            .scheduler(scheduler)
            .outlierDetection(OutlierDetectionConfig.disabled()) // no sweep timer: 3 probe timers
            .healthChecks(TcpHealthChecker.create(), HealthCheckConfig.defaults())
            .build();
    assertThat(scheduler.pendingTasks()).isEqualTo(3 + 1); // and the latency reading
    lb.close();
    assertThat(scheduler.pendingTasks()).isZero();
  }
}
