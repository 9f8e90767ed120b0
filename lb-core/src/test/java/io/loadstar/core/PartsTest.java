package io.loadstar.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.CallFailure;
import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.HealthCheckResult;
import io.loadstar.api.PickResult;
import io.loadstar.testing.FakeTicker;
import java.net.ConnectException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.LongAdder;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The balancer's parts tested alone, through the seam they are built on (BalancerHost): outlier
 * detection, active health and the canary driver, each with a fake host and no balancer.
 */
class PartsTest {

  static List<Long> origins() {
    return FakeTicker.origins();
  }

  private static void fail(EndpointState s) {
    PickResult r = s.tryAcquire();
    assertThat(r).isNotNull();
    r.handle().onFailure(CallFailure.notSent(new ConnectException("refused")), 1_000);
  }

  private static void succeed(EndpointState s) {
    PickResult r = s.tryAcquire();
    assertThat(r).isNotNull();
    r.handle().onSuccess(1_000);
  }

  @ParameterizedTest
  @MethodSource("origins")
  void outlierDetector_fiveFailuresEject_theTimeEnds_trialCallsRestore(long origin) {
    FakeHost host = new FakeHost(origin);
    OutlierDetectionConfig config = OutlierDetectionConfig.defaults();
    LoadBalancers.Builder b =
        LoadBalancers.builder("svc").ticker(host.ticker).outlierDetection(config);
    OutlierDetector detector = new OutlierDetector(config, 1, host);
    List<EndpointState> states = host.list(b, TestEndpoints.endpoints(3), detector);
    host.loop.execute(detector::start);
    EndpointState dead = states.get(0);
    for (int i = 0; i < 4; i++) {
      fail(dead);
    }
    assertThat(dead.ejection.isEjected()).isFalse();
    fail(dead);
    assertThat(dead.ejection.isEjected()).isTrue();
    assertThat(dead.ejection.reason()).startsWith("ejected: 5 consecutive connect failures, for ");
    assertThat(host.republished).isEqualTo(1);
    assertThat(host.listener.changesTo(EndpointSnapshot.State.EJECTED)).hasSize(1);
    // Base 30 s, jittered: over within 45 s; then trial calls, and it ramps up again.
    host.advanceMillis(45_000);
    assertThat(dead.ejection.isEjected()).isFalse();
    assertThat(host.ramped).containsExactly(dead);
    for (int i = 0; i < config.trialCalls(); i++) {
      succeed(dead);
    }
    assertThat(dead.probation).isFalse();
  }

  @ParameterizedTest
  @MethodSource("origins")
  void activeHealth_failingProbesMarkUnhealthy_passingOnesHealthyAgain(long origin) {
    FakeHost host = new FakeHost(origin);
    AtomicBoolean up = new AtomicBoolean(true);
    HealthCheckConfig config =
        HealthCheckConfig.builder()
            .interval(Duration.ofSeconds(1))
            .rise(2)
            .fall(2)
            .jitter(0)
            .build();
    HealthCheckService service =
        TestEndpoints.inlineChecks(
            (target, timeout) ->
                up.get() ? HealthCheckResult.healthy() : HealthCheckResult.unhealthy("503"),
            config,
            host.scheduler);
    LoadBalancers.Builder b = LoadBalancers.builder("svc").ticker(host.ticker);
    ActiveHealth health = new ActiveHealth(service, true, host, null);
    EndpointState s = host.list(b, TestEndpoints.endpoints(1), null).get(0);
    host.loop.execute(() -> health.watch(s));
    host.advanceMillis(3_000);
    assertThat(s.health.healthy).isTrue();
    up.set(false);
    host.advanceMillis(3_000);
    assertThat(s.health.healthy).isFalse();
    assertThat(s.health.healthReason).isEqualTo("check failed: 503");
    assertThat(host.listener.changesTo(EndpointSnapshot.State.UNHEALTHY)).hasSize(1);
    up.set(true);
    host.advanceMillis(3_000);
    assertThat(s.health.healthy).isTrue();
    assertThat(host.ramped).containsExactly(s);
    host.loop.execute(() -> health.close(host.states));
  }

  @ParameterizedTest
  @MethodSource("origins")
  void canaryDriver_aCanaryFailingEverything_isRolledBackAtItsFifthFailure(long origin) {
    FakeHost host = new FakeHost(origin);
    SplitControl control =
        SplitControl.of(TrafficSplit.toTag("version", "v2").percent(10).rollbackOnErrors(5));
    LoadBalancers.Builder b =
        LoadBalancers.builder("svc")
            .ticker(host.ticker)
            .outlierDetection(OutlierDetectionConfig.disabled());
    SnapshotBuilder snapshots = SnapshotBuilder.of(b.settings(), new LongAdder(), host.events);
    List<EndpointState> states =
        host.list(
            b,
            List.of(
                Endpoint.of("10.0.0.1", 80),
                Endpoint.of("10.0.0.2", 80),
                Endpoint.of("10.0.0.3", 80).withTag("version", "v2")),
            null);
    CanaryDriver driver = new CanaryDriver(control, snapshots, host);
    host.loop.execute(
        () -> {
          driver.start();
          driver.listed();
        });
    for (int i = 0; i < 50; i++) {
      succeed(states.get(0));
      succeed(states.get(1));
    }
    for (int i = 0; i < 4; i++) {
      fail(states.get(2));
    }
    assertThat(control.rollbackReason()).isEmpty();
    fail(states.get(2));
    assertThat(control.rollbackReason()).startsWith("canary failed 5 of 5 calls");
    assertThat(control.split().percentAt(Duration.ZERO)).isZero();
    assertThat(snapshots.canaryShare().parts).isZero();
    assertThat(host.republished).isPositive();
    host.loop.execute(driver::close);
  }
}
