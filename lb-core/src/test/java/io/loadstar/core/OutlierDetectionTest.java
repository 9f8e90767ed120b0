package io.loadstar.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.CallFailure;
import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.HealthCheckResult;
import io.loadstar.api.LbEventListener;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.testing.FakeTicker;
import io.loadstar.testing.ManualScheduler;
import io.loadstar.testing.TcpBackend;
import java.io.IOException;
import java.net.ConnectException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Passive outlier detection, with fake time; real TCP connects where calls are made. */
class OutlierDetectionTest {

  private final FakeTicker ticker = new FakeTicker();
  private final ManualScheduler scheduler = new ManualScheduler(ticker);
  private final List<AutoCloseable> closeables = new ArrayList<>();
  private final List<String> events = new CopyOnWriteArrayList<>();
  private final LbEventListener recorder =
      new LbEventListener() {
        @Override
        public void endpointStateChanged(
            String service, Endpoint endpoint, EndpointSnapshot.State state, String reason) {
          events.add(endpoint.host() + " " + state);
        }

        @Override
        public void panicChanged(String service, boolean panic, String reason) {
          events.add("panic " + panic + (reason.isEmpty() ? "" : ": " + reason));
        }
      };

  @AfterEach
  void tearDown() throws Exception {
    for (AutoCloseable c : closeables) {
      c.close();
    }
  }

  private LoadBalancer lb(List<Endpoint> endpoints, OutlierDetectionConfig config) {
    LoadBalancer lb =
        LoadBalancers.builder("svc")
            .strategy(Strategies.roundRobin())
            .endpoints(endpoints)
            .outlierDetection(config)
            .scheduler(scheduler)
            .ticker(ticker)
            .eventListener(recorder)
            .seed(5)
            .build();
    closeables.add(lb);
    return lb;
  }

  private static Socket connect(Endpoint e) throws IOException {
    Socket s = new Socket();
    s.connect(new InetSocketAddress(e.host(), e.port()), 2_000);
    return s;
  }

  private static EndpointSnapshot snapshotOf(LoadBalancer lb, Endpoint e) {
    return lb.inspect().snapshot().stream()
        .filter(s -> s.endpoint().key().equals(e.key()))
        .findFirst()
        .get();
  }

  @Test
  void closedBackend_fiveConsecutiveConnectFailures_ejectedAtOnce() throws Exception {
    TcpBackend a = TcpBackend.start("127.0.0.1", 0);
    closeables.add(a);
    closeables.add(TcpBackend.start("127.0.0.2", a.port()));
    TcpBackend.start("127.0.0.3", a.port()).close();
    Endpoint closed = Endpoint.of("127.0.0.3", a.port());
    List<Endpoint> endpoints =
        List.of(Endpoint.of("127.0.0.1", a.port()), Endpoint.of("127.0.0.2", a.port()), closed);
    LoadBalancer lb =
        lb(endpoints, OutlierDetectionConfig.builder().maxEjectionPercent(34).build());
    Map<String, Integer> attempts = new HashMap<>();
    int failures = 0;
    for (int i = 0; i < 300; i++) {
      PickResult peek = lb.pick();
      peek.handle().onCancel();
      try {
        lb.execute(
            e -> {
              attempts.merge(e.host(), 1, Integer::sum);
              connect(e).close();
              return null;
            });
      } catch (ConnectException e) {
        failures++;
      }
      // The timer thread takes what the request thread handed the control loop, at once.
      scheduler.runDueTasks();
    }
    // No time passed: the fifth connect failure in a row ejected it before the next call.
    // Each refused call was retried at once on another endpoint: no call failed.
    assertThat(failures).isZero();
    assertThat(attempts.get("127.0.0.3")).isEqualTo(5);
    EndpointSnapshot s = snapshotOf(lb, closed);
    assertThat(s.state()).isEqualTo(EndpointSnapshot.State.EJECTED);
    assertThat(s.reason())
        .matches("ejected: 5 consecutive connect failures, for (2[4-9]|3[0-6]) s");
    assertThat(events).containsExactly("127.0.0.3 EJECTED");
  }

  /** Fails calls to {@code target}, succeeds calls elsewhere. */
  private static void calls(LoadBalancer lb, int n, Endpoint target, boolean targetFails) {
    for (int i = 0; i < n; i++) {
      PickResult r = lb.pick();
      if (r.endpoint().key().equals(target.key()) && targetFails) {
        r.handle().onFailure(CallFailure.notSent(new ConnectException("refused")), 1_000);
      } else {
        r.handle().onSuccess(1_000);
      }
    }
    TestEndpoints.settle(lb);
  }

  private static int picksOf(LoadBalancer lb, Endpoint target, int n) {
    int count = 0;
    for (int i = 0; i < n; i++) {
      PickResult r = lb.pick();
      count += r.endpoint().key().equals(target.key()) ? 1 : 0;
      r.handle().onSuccess(1_000);
    }
    TestEndpoints.settle(lb);
    return count;
  }

  @Test
  void ejectionEnds_trialCallsGated_failingTrialEjectsLonger_passingTrialRestores() {
    List<Endpoint> endpoints = TestEndpoints.endpoints(3);
    Endpoint bad = endpoints.get(2);
    LoadBalancer lb =
        lb(
            endpoints,
            OutlierDetectionConfig.builder().maxEjectionPercent(50).trialCalls(3).build());
    calls(lb, 100, bad, true);
    assertThat(snapshotOf(lb, bad).state()).isEqualTo(EndpointSnapshot.State.EJECTED);
    assertThat(picksOf(lb, bad, 300)).isZero();

    ticker.advance(Duration.ofSeconds(37)); // past 30 s + 20% jitter
    scheduler.runDueTasks();
    assertThat(snapshotOf(lb, bad).state()).isEqualTo(EndpointSnapshot.State.READY);
    // Only 3 trial calls get through while they are outstanding.
    List<PickResult> held = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      held.add(lb.pick());
    }
    assertThat(held.stream().filter(r -> r.endpoint().equals(bad)).count()).isEqualTo(3);
    // One trial fails: ejected again, for about twice as long.
    for (PickResult r : held) {
      if (r.endpoint().equals(bad)) {
        r.handle().onFailure(CallFailure.status(503), 1_000);
      } else {
        r.handle().onSuccess(1_000);
      }
    }
    EndpointSnapshot again = snapshotOf(lb, bad);
    assertThat(again.state()).isEqualTo(EndpointSnapshot.State.EJECTED);
    assertThat(again.reason())
        .matches("ejected: a trial call failed after ejection, for (4[8-9]|[5-6][0-9]|7[0-2]) s");

    ticker.advance(Duration.ofSeconds(73));
    scheduler.runDueTasks();
    calls(lb, 300, bad, false); // trials pass: back in full rotation
    assertThat(picksOf(lb, bad, 300)).isEqualTo(100);
    assertThat(events)
        .containsExactly(
            "10.0.0.3 EJECTED", "10.0.0.3 READY", "10.0.0.3 EJECTED", "10.0.0.3 READY");
  }

  @Test
  void maxEjection50Percent_allFailing_neverMoreThanOneOfThreeEjected() {
    List<Endpoint> endpoints = TestEndpoints.endpoints(3);
    LoadBalancer lb =
        lb(endpoints, OutlierDetectionConfig.builder().maxEjectionPercent(50).build());
    for (int round = 0; round < 20; round++) {
      for (int i = 0; i < 100; i++) {
        PickResult r = lb.pick();
        r.handle().onFailure(CallFailure.notSent(new ConnectException()), 1_000);
        long ejected =
            lb.inspect().snapshot().stream()
                .filter(s -> s.state() == EndpointSnapshot.State.EJECTED)
                .count();
        assertThat(ejected).isLessThanOrEqualTo(1);
      }
      ticker.advance(Duration.ofSeconds(10));
      scheduler.runDueTasks();
    }
  }

  @Test
  void defaults_twoToFiveEndpoints_aDeadOneIsAlwaysEjected() {
    for (int n = 2; n <= 5; n++) {
      List<Endpoint> endpoints = TestEndpoints.endpoints(n);
      Endpoint bad = endpoints.get(n - 1);
      LoadBalancer lb = lb(endpoints, OutlierDetectionConfig.defaults());
      calls(lb, 20 * n, bad, true);
      assertThat(snapshotOf(lb, bad).state())
          .as("%d endpoints", n)
          .isEqualTo(EndpointSnapshot.State.EJECTED);
    }
  }

  @Test
  void sameSeed_sameEjectionTimes_theJitterComesFromTheBalancersSeed() {
    List<String> reasons = new ArrayList<>();
    for (long seed : new long[] {7, 7, 8}) {
      List<Endpoint> endpoints = TestEndpoints.endpoints(3);
      LoadBalancer lb =
          LoadBalancers.builder("svc")
              .strategy(Strategies.roundRobin())
              .endpoints(endpoints)
              .scheduler(scheduler)
              .ticker(ticker)
              .seed(seed)
              .build();
      closeables.add(lb);
      StringBuilder times = new StringBuilder();
      for (int round = 0; round < 4; round++) { // ejected, trial fails, ejected longer, ...
        calls(lb, 60, endpoints.get(2), true);
        times.append(snapshotOf(lb, endpoints.get(2)).reason()).append(" | ");
        ticker.advance(Duration.ofSeconds(400));
        scheduler.runDueTasks();
      }
      reasons.add(times.toString());
    }
    assertThat(reasons.get(0)).isEqualTo(reasons.get(1));
    assertThat(reasons.get(0)).isNotEqualTo(reasons.get(2));
  }

  @Test
  void balancerWithoutOutlierSettings_ejectsADeadEndpoint_disabledEjectsNothing() {
    List<Endpoint> endpoints = TestEndpoints.endpoints(3);
    Endpoint bad = endpoints.get(2);
    LoadBalancer byDefault =
        LoadBalancers.builder("svc").strategy(Strategies.roundRobin()).endpoints(endpoints).build();
    closeables.add(byDefault);
    calls(byDefault, 60, bad, true);
    assertThat(snapshotOf(byDefault, bad).state()).isEqualTo(EndpointSnapshot.State.EJECTED);

    LoadBalancer off =
        LoadBalancers.builder("svc")
            .strategy(Strategies.roundRobin())
            .endpoints(endpoints)
            .outlierDetection(OutlierDetectionConfig.disabled())
            .build();
    closeables.add(off);
    calls(off, 600, bad, true);
    assertThat(snapshotOf(off, bad).state()).isEqualTo(EndpointSnapshot.State.READY);
    assertThat(snapshotOf(off, bad).failures()).isEqualTo(200);
    assertThat(OutlierDetectionConfig.disabled().isEnabled()).isFalse();
    assertThat(OutlierDetectionConfig.defaults().isEnabled()).isTrue();
  }

  @Test
  void capRefusesAnEjection_shownInSnapshotAndLoggedOnce_ejectedOnceTheCapHasRoom() {
    List<Endpoint> endpoints = TestEndpoints.endpoints(3);
    Endpoint first = endpoints.get(0);
    Endpoint second = endpoints.get(1);
    LoadBalancer lb = lb(endpoints, OutlierDetectionConfig.builder().alwaysAllowOne(false).build());
    calls(lb, 60, first, true);
    EndpointSnapshot refused = snapshotOf(lb, first);
    assertThat(refused.state()).isEqualTo(EndpointSnapshot.State.READY);
    assertThat(refused.reason())
        .matches(
            "failing \\(\\d+ consecutive connect failures\\), not ejected: 0 of 3 endpoints"
                + " already ejected, the most maxEjectionPercent 10 allows;"
                + " goes last: takes only what the others cannot serve");
    // Failing, it goes last (first attempts go elsewhere) until an interval passes without a
    // counted failure; then it takes its share again, and answers.
    for (int i = 0; i < 2; i++) {
      ticker.advance(Duration.ofSeconds(10));
      scheduler.runDueTasks();
    }
    calls(lb, 30, first, false); // it answers again: nothing to show any more
    assertThat(snapshotOf(lb, first).reason()).isEmpty();

    // 34% allows one of three: the second failing endpoint waits for the first to come back.
    LoadBalancer capped =
        lb(endpoints, OutlierDetectionConfig.builder().maxEjectionPercent(34).build());
    for (int i = 0; i < 60; i++) {
      PickResult r = capped.pick();
      Endpoint e = r.endpoint();
      if (e.equals(first) || e.equals(second)) {
        r.handle().onFailure(CallFailure.notSent(new ConnectException("refused")), 1_000);
      } else {
        r.handle().onSuccess(1_000);
      }
    }
    Endpoint ejected =
        snapshotOf(capped, first).state() == EndpointSnapshot.State.EJECTED ? first : second;
    Endpoint waiting = ejected.equals(first) ? second : first;
    assertThat(snapshotOf(capped, ejected).state()).isEqualTo(EndpointSnapshot.State.EJECTED);
    assertThat(snapshotOf(capped, waiting).state()).isEqualTo(EndpointSnapshot.State.READY);
    assertThat(snapshotOf(capped, waiting).reason())
        .matches(
            "failing \\(\\d+ consecutive connect failures\\), not ejected: 1 of 3 endpoints.*");
    // Its failures stop counting after a whole interval without one (it goes last, so it got
    // none): when the ejection ends and the cap has room, it is not ejected for old failures.
    scheduler.advance(Duration.ofSeconds(37), Duration.ofSeconds(1));
    assertThat(snapshotOf(capped, ejected).state()).isEqualTo(EndpointSnapshot.State.READY);
    assertThat(snapshotOf(capped, waiting).state()).isEqualTo(EndpointSnapshot.State.READY);
    assertThat(snapshotOf(capped, waiting).reason()).isEmpty();
    // Failing again, it is ejected now that the cap has room.
    TestEndpoints.eject(capped, waiting);
    assertThat(snapshotOf(capped, waiting).reason())
        .matches("ejected: 5 consecutive connect failures, for \\d+ s");
  }

  @Test
  void
      capRefusesAnEjection_theFailingEndpointGoesLast_retriesStillReachIt_backAfterACleanInterval() {
    List<Endpoint> endpoints = TestEndpoints.endpoints(3);
    Endpoint dead = endpoints.get(0);
    Endpoint good = endpoints.get(1);
    Endpoint failing = endpoints.get(2);
    LoadBalancer lb = lb(endpoints, OutlierDetectionConfig.defaults()); // 10%, one always allowed
    calls(lb, 30, dead, true);
    assertThat(snapshotOf(lb, dead).state()).isEqualTo(EndpointSnapshot.State.EJECTED);
    calls(lb, 30, failing, true);
    assertThat(snapshotOf(lb, failing).state()).isEqualTo(EndpointSnapshot.State.READY);
    assertThat(snapshotOf(lb, failing).reason()).startsWith("failing (5 consecutive");

    assertThat(picksOf(lb, good, 200))
        .as("first attempts skip the failing endpoint")
        .isEqualTo(200);
    PickResult retry = lb.pick(PickContext.builder().tried(good).build());
    assertThat(retry.isAvailable()).as("a retry may still use it: it is not ejected").isTrue();
    assertThat(retry.endpoint()).isEqualTo(failing);
    retry.handle().onCancel();

    ticker.advance(Duration.ofSeconds(10)); // the interval it failed in
    scheduler.runDueTasks();
    assertThat(picksOf(lb, failing, 100)).isZero();
    ticker.advance(Duration.ofSeconds(10)); // an interval without a counted failure
    scheduler.runDueTasks();
    assertThat(snapshotOf(lb, failing).reason()).isEmpty();
    assertThat(picksOf(lb, failing, 100)).isEqualTo(50);
  }

  @Test
  void leastRequest_endpointHeldBackForTrialCalls_picksGoElsewhereNeverFail() {
    List<Endpoint> endpoints = TestEndpoints.endpoints(3);
    Endpoint bad = endpoints.get(2);
    LoadBalancer lb =
        LoadBalancers.builder("svc")
            .endpoints(endpoints)
            .strategy(Strategies.leastRequest())
            .outlierDetection(OutlierDetectionConfig.builder().trialCalls(1).build())
            .scheduler(scheduler)
            .ticker(ticker)
            .build();
    closeables.add(lb);
    calls(lb, 60, bad, true);
    ticker.advance(Duration.ofSeconds(37));
    scheduler.runDueTasks(); // trial calls: one permit for the bad endpoint
    List<PickResult> held = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      PickResult r = lb.pick();
      assertThat(r.isAvailable()).as("pick %d: %s", i, r).isTrue();
      held.add(r); // nothing completes: the bad endpoint's one trial call stays out
    }
    assertThat(held.stream().filter(r -> r.endpoint().equals(bad)).count()).isEqualTo(1);
    held.forEach(r -> r.handle().onSuccess(1));
  }

  @Test
  void cancelledTrialCall_givesItsPermitBack_theTrialCanStillEnd() {
    List<Endpoint> endpoints = TestEndpoints.endpoints(3);
    Endpoint bad = endpoints.get(2);
    LoadBalancer lb = lb(endpoints, OutlierDetectionConfig.builder().trialCalls(1).build());
    calls(lb, 60, bad, true);
    ticker.advance(Duration.ofSeconds(37));
    scheduler.runDueTasks();
    PickResult trial = null;
    for (int i = 0; i < 3 && trial == null; i++) {
      PickResult r = lb.pick();
      if (r.endpoint().equals(bad)) {
        trial = r;
      } else {
        r.handle().onCancel();
      }
    }
    assertThat(trial).isNotNull();
    trial.handle().onCancel(); // the caller gave up: not an outcome of the trial
    calls(lb, 30, bad, false);
    assertThat(picksOf(lb, bad, 300)).isEqualTo(100); // trial passed, back in full rotation
  }

  @Test
  void failureRateOverInterval_ejectsWithoutConsecutiveRun() {
    List<Endpoint> endpoints = TestEndpoints.endpoints(4);
    Endpoint flaky = endpoints.get(1);
    LoadBalancer lb =
        lb(endpoints, OutlierDetectionConfig.builder().maxEjectionPercent(25).build());
    int n = 0;
    for (int i = 0; i < 400; i++) {
      PickResult r = lb.pick();
      if (r.endpoint().equals(flaky) && n++ % 5 < 3) { // 60% failures, never 5 in a row
        r.handle()
            .onFailure(CallFailure.possiblyProcessed(new java.net.SocketTimeoutException()), 1);
      } else {
        r.handle().onSuccess(1);
      }
    }
    assertThat(snapshotOf(lb, flaky).state()).isEqualTo(EndpointSnapshot.State.READY);
    ticker.advance(Duration.ofSeconds(10));
    scheduler.runDueTasks();
    EndpointSnapshot s = snapshotOf(lb, flaky);
    assertThat(s.state()).isEqualTo(EndpointSnapshot.State.EJECTED);
    assertThat(s.reason()).startsWith("ejected: 60% of 100 calls failed in 10 s, for ");
  }

  @Test
  void clientErrorStatuses_doNotCount_serverErrorsDo() {
    List<Endpoint> endpoints = TestEndpoints.endpoints(2);
    LoadBalancer lb =
        lb(endpoints, OutlierDetectionConfig.builder().maxEjectionPercent(50).build());
    for (int i = 0; i < 100; i++) {
      PickResult r = lb.pick();
      r.handle().onFailure(CallFailure.status(404), 1);
    }
    assertThat(lb.inspect().snapshot())
        .extracting(EndpointSnapshot::state)
        .containsOnly(EndpointSnapshot.State.READY);
    for (int i = 0; i < 10; i++) {
      PickResult r = lb.pick();
      r.handle().onFailure(CallFailure.status(502), 1);
    }
    assertThat(lb.inspect().snapshot())
        .extracting(EndpointSnapshot::state)
        .contains(EndpointSnapshot.State.EJECTED);
  }

  @Test
  void passingHealthChecks_endAnEjectionOnlyAfterRiseInARow() {
    List<Endpoint> endpoints = TestEndpoints.endpoints(2);
    Endpoint bad = endpoints.get(0);
    java.util.concurrent.atomic.AtomicBoolean passing =
        new java.util.concurrent.atomic.AtomicBoolean(true);
    HealthCheckService checks =
        TestEndpoints.inlineChecks(
            (target, timeout) ->
                passing.get() || !target.equals(bad)
                    ? HealthCheckResult.healthy()
                    : HealthCheckResult.unhealthy("refused"),
            HealthCheckConfig.builder()
                .interval(Duration.ofSeconds(5))
                .rise(2)
                .fall(3)
                .jitter(0)
                .build(),
            scheduler);
    closeables.add(checks);
    LoadBalancer lb =
        LoadBalancers.builder("svc")
            .strategy(Strategies.roundRobin())
            .endpoints(endpoints)
            .outlierDetection(OutlierDetectionConfig.defaults())
            .healthChecks(checks)
            .scheduler(scheduler)
            .ticker(ticker)
            .build();
    closeables.add(lb);
    scheduler.runDueTasks(); // first probes
    calls(lb, 50, bad, true);
    assertThat(snapshotOf(lb, bad).state()).isEqualTo(EndpointSnapshot.State.EJECTED);
    ticker.advance(Duration.ofSeconds(5));
    scheduler.runDueTasks(); // one pass: not enough
    assertThat(snapshotOf(lb, bad).state()).isEqualTo(EndpointSnapshot.State.EJECTED);
    passing.set(false);
    ticker.advance(Duration.ofSeconds(5));
    scheduler.runDueTasks(); // a failure starts the count over
    passing.set(true);
    ticker.advance(Duration.ofSeconds(5));
    scheduler.runDueTasks();
    assertThat(snapshotOf(lb, bad).state()).isEqualTo(EndpointSnapshot.State.EJECTED);
    ticker.advance(Duration.ofSeconds(5));
    scheduler.runDueTasks(); // the second pass in a row: trial calls, well before 30 s
    assertThat(snapshotOf(lb, bad).state()).isEqualTo(EndpointSnapshot.State.READY);
    calls(lb, 10, bad, false);
    assertThat(picksOf(lb, bad, 100)).isEqualTo(50);
  }

  @Test
  void panic_twoOfThreeUnhealthy_spreadsOverAll_orFailsFast() {
    List<Endpoint> endpoints = TestEndpoints.endpoints(3);
    HealthCheckService checks =
        TestEndpoints.inlineChecks(
            (target, timeout) ->
                target.host().equals("10.0.0.1")
                    ? HealthCheckResult.healthy()
                    : HealthCheckResult.unhealthy("down"),
            HealthCheckConfig.builder().fall(1).jitter(0).build(),
            scheduler);
    closeables.add(checks);
    LoadBalancer lb =
        LoadBalancers.builder("svc")
            .strategy(Strategies.roundRobin())
            .endpoints(endpoints)
            .healthChecks(checks)
            .eventListener(recorder)
            .scheduler(scheduler)
            .build();
    closeables.add(lb);
    LoadBalancer failFast =
        LoadBalancers.builder("svc2")
            .strategy(Strategies.roundRobin())
            .endpoints(endpoints)
            .healthChecks(checks)
            .tiers(TierConfig.builder().failFastInPanic(true).build())
            .scheduler(scheduler)
            .build();
    closeables.add(failFast);
    scheduler.runDueTasks();
    assertThat(lb.inspect().snapshot())
        .extracting(EndpointSnapshot::state)
        .containsExactly(
            EndpointSnapshot.State.READY,
            EndpointSnapshot.State.UNHEALTHY,
            EndpointSnapshot.State.UNHEALTHY);
    assertThat(TestEndpoints.pickCounts(lb, 300)).hasSize(3); // spread over all three
    assertThat(events)
        .contains(
            "panic true: 1 of 3 endpoints usable in tier 0, below the panic threshold of 50%");
    assertThat(failFast.pick().isAvailable()).isFalse();
  }

  @Test
  void tenThousandEndpointsComeAndGo_noOutlierStateOrTimerOutlivesItsEndpoint() {
    Endpoint stable = Endpoint.of("10.9.0.1", 80);
    DynamicEndpointSource source = DynamicEndpointSource.of(List.of(stable));
    LoadBalancer lb =
        LoadBalancers.builder("svc")
            .strategy(Strategies.roundRobin())
            .source(source)
            .outlierDetection(
                OutlierDetectionConfig.builder()
                    .maxEjectionPercent(50)
                    .consecutiveFailures(1)
                    .build())
            .scheduler(scheduler)
            .ticker(ticker)
            .tiers(TierConfig.builder().panicThreshold(0).build())
            .build();
    closeables.add(lb);
    for (int i = 0; i < 10_000; i++) {
      Endpoint transient1 = Endpoint.of("10.8." + (i / 250) + "." + (i % 250), 80);
      source.set(stable, transient1);
      PickResult r = lb.pick(io.loadstar.api.PickContext.empty().withTried(stable));
      r.handle().onFailure(CallFailure.notSent(new ConnectException()), 1); // ejected: a timer
      source.set(stable);
    }
    assertThat(lb.inspect().snapshot()).hasSize(1);
    scheduler.runDueTasks(); // the hand-offs the test thread's own changes already ran
    // Only the failure-rate sweep and the latency reading are left; every ejection timer went
    // with its endpoint.
    assertThat(scheduler.pendingTasks()).isEqualTo(2);
  }

  @Test
  void slowCalls_overTheRateThreshold_eject_fastCallsDoNot() {
    List<Endpoint> endpoints = TestEndpoints.endpoints(4);
    Endpoint slow = endpoints.get(2);
    LoadBalancer lb =
        lb(
            endpoints,
            OutlierDetectionConfig.builder()
                .maxEjectionPercent(25)
                .slowCalls(Duration.ofMillis(500), 50)
                .build());
    int n = 0;
    for (int i = 0; i < 400; i++) {
      PickResult r = lb.pick();
      boolean isSlow = r.endpoint().equals(slow) && n++ % 10 < 6; // 60% of its calls slow
      r.handle()
          .onSuccess(isSlow ? Duration.ofMillis(800).toNanos() : Duration.ofMillis(5).toNanos());
    }
    ticker.advance(Duration.ofSeconds(10));
    scheduler.runDueTasks();
    EndpointSnapshot s = snapshotOf(lb, slow);
    assertThat(s.state()).isEqualTo(EndpointSnapshot.State.EJECTED);
    assertThat(s.reason())
        .startsWith("ejected: 60% of 100 calls took 500 ms or longer in 10 s, for ");
    assertThat(
            lb.inspect().snapshot().stream()
                .filter(x -> x.state() == EndpointSnapshot.State.EJECTED))
        .hasSize(1);
  }
}
