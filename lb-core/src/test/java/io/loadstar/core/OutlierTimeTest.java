package io.loadstar.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.CallFailure;
import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.HealthCheckResult;
import io.loadstar.api.HealthChecker;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickResult;
import io.loadstar.testing.FakeTicker;
import io.loadstar.testing.ManualScheduler;
import io.loadstar.testing.RecordingLbEventListener;
import java.net.ConnectException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Outlier detection over time, on tickers that start where System.nanoTime() may: at 0, after ten
 * days of uptime, at a negative value, and a minute before the long wraps.
 */
class OutlierTimeTest {

  private static final Duration STEP = Duration.ofMillis(50);

  private final List<AutoCloseable> closeables = new ArrayList<>();
  private FakeTicker ticker;
  private ManualScheduler scheduler;

  private RecordingLbEventListener events;

  static Stream<Long> origins() {
    return FakeTicker.origins().stream();
  }

  @AfterEach
  void tearDown() throws Exception {
    for (AutoCloseable c : closeables) {
      c.close();
    }
  }

  private void clock(long origin) {
    ticker = new FakeTicker(origin);
    scheduler = new ManualScheduler(ticker);
    events = new RecordingLbEventListener(ticker);
  }

  private LoadBalancer lb(
      List<Endpoint> endpoints, OutlierDetectionConfig config, HealthCheckService checks) {
    LoadBalancers.Builder b =
        LoadBalancers.builder("svc")
            .strategy(Strategies.roundRobin())
            .endpoints(endpoints)
            .outlierDetection(config)
            .scheduler(scheduler)
            .ticker(ticker)
            .seed(7)
            .eventListener(events);
    if (checks != null) {
      b.healthChecks(checks);
    }
    LoadBalancer lb = b.build();
    closeables.add(lb);
    return lb;
  }

  /** Makes {@code n} calls; those to {@code bad} fail with {@code failure} when it is non-null. */
  private static void calls(LoadBalancer lb, int n, Endpoint bad, CallFailure failure) {
    for (int i = 0; i < n; i++) {
      PickResult r = lb.pick();
      if (failure != null && r.endpoint().equals(bad)) {
        r.handle().onFailure(failure, 1_000_000);
      } else {
        r.handle().onSuccess(1_000_000);
      }
    }
    TestEndpoints.settle(lb);
  }

  /** Runs {@code total} of traffic, 30 calls every step, running timers as time passes. */
  private void run(LoadBalancer lb, Duration total, Endpoint bad, CallFailure failure) {
    for (long t = 0; t < total.toNanos(); t += STEP.toNanos()) {
      calls(lb, 30, bad, failure);
      ticker.advance(STEP);
      scheduler.runDueTasks();
    }
  }

  /** How long each ended ejection lasted, in seconds: from EJECTED to the next READY. */
  private List<Double> ejectionSeconds() {
    List<Double> out = new ArrayList<>();
    long ejectedAt = 0;
    boolean ejected = false;
    for (RecordingLbEventListener.StateChange c : events.stateChanges) {
      if (c.state() == EndpointSnapshot.State.EJECTED) {
        ejectedAt = c.atNanos();
        ejected = true;
      } else if (c.state() == EndpointSnapshot.State.READY && ejected) {
        out.add((c.atNanos() - ejectedAt) / 1e9);
        ejected = false;
      }
    }
    return out;
  }

  private static OutlierDetectionConfig.Builder config(int baseSeconds, int maxSeconds) {
    return OutlierDetectionConfig.builder()
        .baseEjectionTime(Duration.ofSeconds(baseSeconds))
        .maxEjectionTime(Duration.ofSeconds(maxSeconds))
        .maxEjectionPercent(50);
  }

  @ParameterizedTest
  @MethodSource("origins")
  void anEndpointAnswering503ToEverything_isEjectedForDoublingTimes_upToTheMaximum(long origin) {
    List<Endpoint> endpoints = TestEndpoints.endpoints(3);
    Endpoint bad = endpoints.get(1);
    clock(origin);
    LoadBalancer lb = lb(endpoints, config(1, 20).build(), null);
    run(lb, Duration.ofSeconds(150), bad, CallFailure.status(503));
    List<Double> seconds = ejectionSeconds();
    assertThat(seconds).hasSizeGreaterThanOrEqualTo(7);
    double[] expected = {1, 2, 4, 8, 16, 20, 20};
    for (int i = 0; i < expected.length; i++) {
      double want = expected[i];
      assertThat(seconds.get(i))
          .as("ejection %d of %s", i + 1, seconds)
          .isBetween(want * 0.8, Math.min(20, want * 1.2) + 2 * STEP.toNanos() / 1e9);
    }
  }

  @ParameterizedTest
  @MethodSource("origins")
  void theCountStartsOver_onlyAfterAWholeMaxEjectionTimeServedCleanly(long origin) {
    List<Endpoint> endpoints = TestEndpoints.endpoints(3);
    Endpoint bad = endpoints.get(2);
    clock(origin);
    LoadBalancer lb = lb(endpoints, config(1, 20).build(), null);
    CallFailure refused = CallFailure.notSent(new ConnectException("refused"));
    run(lb, Duration.ofMillis(200), bad, refused); // ejected: 1 s
    run(lb, Duration.ofSeconds(3), bad, null); // back, trials pass
    assertThat(TestEndpoints.state(lb, bad)).isEqualTo(EndpointSnapshot.State.READY);
    run(lb, Duration.ofSeconds(17), bad, null); // clean, but less than 20 s
    run(lb, Duration.ofMillis(200), bad, refused); // ejected again: 2 s
    run(lb, Duration.ofSeconds(5), bad, null);
    run(lb, Duration.ofSeconds(20), bad, null); // a whole maxEjectionTime clean
    run(lb, Duration.ofMillis(200), bad, refused); // starts over: 1 s
    run(lb, Duration.ofSeconds(3), bad, null);
    List<Double> seconds = ejectionSeconds();
    assertThat(seconds).hasSize(3);
    assertThat(seconds.get(0)).isBetween(0.8, 1.3);
    assertThat(seconds.get(1)).isBetween(1.6, 2.5);
    assertThat(seconds.get(2)).isBetween(0.8, 1.3);
  }

  /** A checker that always passes, testing {@code layer}. */
  private static HealthChecker passing(HealthChecker.Layer layer) {
    return new HealthChecker() {
      @Override
      public HealthCheckResult check(Endpoint target, Duration timeout) {
        return HealthCheckResult.healthy();
      }

      @Override
      public Layer layer() {
        return layer;
      }
    };
  }

  private HealthCheckService checks(HealthChecker checker, int port) {
    HealthCheckConfig.Builder b =
        HealthCheckConfig.builder().interval(Duration.ofSeconds(2)).rise(2).fall(3).jitter(0);
    if (port != 0) {
      b.port(port);
    }
    HealthCheckService service =
        HealthCheckService.builder(checker)
            .config(b.build())
            .scheduler(scheduler)
            .probeExecutor(Runnable::run)
            .seed(1)
            .build();
    closeables.add(service);
    return service;
  }

  /**
   * Ejects {@code bad} with {@code failure} (base 30 s) under checks by {@code checker} on {@code
   * port} (0: the endpoint's own) and returns how long the ejection lasted, in seconds.
   */
  private double ejectionUnderChecks(
      long origin, HealthChecker checker, int port, CallFailure failure) {
    clock(origin);
    List<Endpoint> endpoints = TestEndpoints.endpoints(3);
    Endpoint bad = endpoints.get(0);
    LoadBalancer lb =
        lb(
            endpoints,
            OutlierDetectionConfig.builder().maxEjectionPercent(34).build(),
            checks(checker, port));
    scheduler.runDueTasks();
    run(lb, Duration.ofMillis(100), bad, failure);
    assertThat(TestEndpoints.state(lb, bad)).isEqualTo(EndpointSnapshot.State.EJECTED);
    long start = ticker.nanoTime();
    while (TestEndpoints.state(lb, bad) == EndpointSnapshot.State.EJECTED) {
      ticker.advance(STEP);
      scheduler.runDueTasks();
    }
    return (ticker.nanoTime() - start) / 1e9;
  }

  @ParameterizedTest
  @MethodSource("origins")
  void aPassingTcpConnect_endsAnEjectionForConnectFailures_notOneFor503s(long origin) {
    HealthChecker tcp = passing(HealthChecker.Layer.CONNECT);
    CallFailure refused = CallFailure.notSent(new ConnectException("refused"));
    // Two passing connects (rise 2, every 2 s) end an ejection for refused connects.
    assertThat(ejectionUnderChecks(origin, tcp, 0, refused)).isLessThanOrEqualTo(4.1);
    // They say nothing about 503s: the ejection time (30 s +-20%) decides.
    assertThat(ejectionUnderChecks(origin, tcp, 0, CallFailure.status(503))).isGreaterThan(23.9);
    // Nor about a timeout after the request was sent.
    assertThat(
            ejectionUnderChecks(
                origin,
                tcp,
                0,
                CallFailure.possiblyProcessed(
                    new java.net.SocketTimeoutException("Read timed out"))))
        .isGreaterThan(23.9);
    // A connect to another port says nothing about the service's port.
    assertThat(ejectionUnderChecks(origin, tcp, 9200, refused)).isGreaterThan(23.9);
  }

  @ParameterizedTest
  @MethodSource("origins")
  void aPassingRequestLevelCheck_endsAnyEjection(long origin) {
    HealthChecker http = passing(HealthChecker.Layer.REQUEST);
    assertThat(ejectionUnderChecks(origin, http, 0, CallFailure.status(503)))
        .isLessThanOrEqualTo(4.1);
    assertThat(ejectionUnderChecks(origin, http, 9200, CallFailure.status(503)))
        .isLessThanOrEqualTo(4.1);
  }
}
