package io.loadstar.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.loadstar.api.CallFailure;
import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointUpdate;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Each validation message, verbatim, once. */
class ValidationTest {

  @Test
  void endpoint_negativeWeight() {
    assertThatThrownBy(() -> Endpoint.of("a", 80).withWeight(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("weight: -1 (expected: 0..1000000)");
  }

  @Test
  void endpoint_portZero() {
    assertThatThrownBy(() -> Endpoint.of("a", 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("port: 0 (expected: 1..65535)");
  }

  @Test
  void endpoint_portAbove65535() {
    assertThatThrownBy(() -> Endpoint.of("a", 65536))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("port: 65536 (expected: 1..65535)");
  }

  @Test
  void endpoint_hostThatIsNoHostNameOrIpLiteral_isRejectedNamingIt() {
    for (String bad :
        List.of(
            "  ",
            "",
            "a b",
            "host:8080",
            "http://svc.test",
            "svc.test/x",
            "a..b",
            "300.1.2.3",
            "10.1",
            "[::1",
            "::g",
            "-".repeat(64))) {
      assertThatThrownBy(() -> Endpoint.of(bad, 80))
          .isInstanceOf(IllegalArgumentException.class)
          .hasMessage(
              "host: '"
                  + bad
                  + "' (expected: a host name or IP literal, without scheme, port or path)");
    }
  }

  @Test
  void endpoint_trailingDotAndBrackets_areTheSameHost() {
    assertThat(Endpoint.of("db.internal.", 80)).isEqualTo(Endpoint.of("db.internal", 80));
    assertThat(Endpoint.of("[::1]", 80)).isEqualTo(Endpoint.of("::1", 80));
    assertThat(Endpoint.of("::1", 80).authority()).isEqualTo("[::1]:80");
    assertThat(Endpoint.of("_http._tcp.svc", 80).host()).isEqualTo("_http._tcp.svc");
    assertThat(Endpoint.of("10.0.0.7", 80).address())
        .isEqualTo(new java.net.InetSocketAddress("10.0.0.7", 80).getAddress());
    assertThat(Endpoint.of("db.internal", 80).address()).isNull();
    assertThat(Endpoint.of("db.internal", 80).socketAddress().isUnresolved()).isTrue();
  }

  @Test
  void endpoint_priorityOutOfRange() {
    assertThatThrownBy(() -> Endpoint.of("a", 80).withPriority(1001))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("priority: 1001 (expected: 0..1000)");
  }

  @Test
  void endpoint_blankKey() {
    assertThatThrownBy(() -> Endpoint.of("a", 80).withKey(""))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("key: '' (expected: not blank)");
  }

  @Test
  void endpoint_unresolvedSocketAddress() {
    assertThatThrownBy(
            () -> Endpoint.of(java.net.InetSocketAddress.createUnresolved("svc.test", 80)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("socketAddress: svc.test/<unresolved>:80 (expected: a resolved address)");
  }

  @Test
  void maglev_nonPrimeTableSize() {
    assertThatThrownBy(() -> MaglevConfig.builder().tableSize(65536))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("tableSize: 65536 (expected: a prime in 251..16777213)");
  }

  @Test
  void maglev_tableSizeTooSmall() {
    assertThatThrownBy(() -> MaglevConfig.builder().tableSize(13))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("tableSize: 13 (expected: a prime in 251..16777213)");
  }

  @Test
  void boundedLoadFactor_belowOne() {
    assertThatThrownBy(() -> RingHashConfig.builder().boundedLoadFactor(0.9))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("boundedLoadFactor: 0.9 (expected: 1.0..100.0)");
  }

  @Test
  void ringHash_ringSizeZero() {
    assertThatThrownBy(() -> RingHashConfig.builder().maxRingSize(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxRingSize: 0 (expected: 1..8388608)");
  }

  @Test
  void ringHash_minAboveMax() {
    assertThatThrownBy(() -> RingHashConfig.builder().minRingSize(5000).maxRingSize(4000).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("minRingSize 5000 cannot be greater than maxRingSize 4000");
  }

  @Test
  void leastRequest_oneChoice() {
    assertThatThrownBy(() -> Strategies.leastRequest(1, 1.0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("choices: 1 (expected: 2..10)");
  }

  @Test
  void leastRequest_negativeBias() {
    assertThatThrownBy(() -> Strategies.leastRequest(2, -0.5))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("bias: -0.5 (expected: 0.0..10.0)");
  }

  @Test
  void peakEwma_tinyDecay() {
    assertThatThrownBy(() -> Strategies.peakEwma(Duration.ofMillis(1), Duration.ofMillis(5)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("decay: PT0.001S (expected: PT0.1S..PT10M)");
  }

  @Test
  void peakEwma_zeroDefaultRtt() {
    assertThatThrownBy(() -> Strategies.peakEwma(Duration.ofSeconds(10), Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("defaultRtt: PT0S (expected: PT0.000001S..PT1M)");
  }

  @Test
  void strategies_unknownName() {
    assertThatThrownBy(() -> Strategies.named("fastest"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage(
            "strategy: fastest (expected: roundRobin, random, leastRequest, peakEwma, ringHash or"
                + " maglev)");
  }

  @Test
  void builder_inFlightLimitZero() {
    assertThatThrownBy(() -> LoadBalancers.builder("svc").maxInFlightPerEndpoint(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxInFlightPerEndpoint: 0 (expected: 1..1000000)");
  }

  @Test
  void builder_blankName() {
    assertThatThrownBy(() -> LoadBalancers.builder(""))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("name: '' (expected: not blank)");
  }

  @Test
  void builder_noSource() {
    assertThatThrownBy(() -> LoadBalancers.builder("svc").build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("LoadBalancer 'svc' needs a source() or endpoints()");
  }

  @Test
  void compositeSource_empty() {
    assertThatThrownBy(() -> CompositeEndpointSource.of(List.of()))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("sources: [] (expected: at least one source)");
  }

  @Test
  void endpointUpdate_bothListAndError() {
    assertThatThrownBy(
            () -> EndpointUpdate.builder().endpoints(List.of()).error(new Exception()).build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("endpoints() cannot be combined with error()");
  }

  @Test
  void callFailure_statusOutOfRange() {
    assertThatThrownBy(() -> CallFailure.status(42))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("status: 42 (expected: 100..999)");
  }

  @Test
  void healthCheck_intervalTooShort() {
    assertThatThrownBy(() -> HealthCheckConfig.builder().interval(Duration.ofMillis(5)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("interval: PT0.005S (expected: PT0.01S..PT1H)");
  }

  @Test
  void healthCheck_timeoutZero() {
    assertThatThrownBy(() -> HealthCheckConfig.builder().timeout(Duration.ZERO))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("timeout: PT0S (expected: PT0.001S..PT1M)");
  }

  @Test
  void healthCheck_fallZero() {
    assertThatThrownBy(() -> HealthCheckConfig.builder().fall(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("fall: 0 (expected: 1..100)");
  }

  @Test
  void healthCheck_portOutOfRange() {
    assertThatThrownBy(() -> HealthCheckConfig.builder().port(70000))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("port: 70000 (expected: 1..65535)");
  }

  @Test
  void healthCheck_jitterTooLarge() {
    assertThatThrownBy(() -> HealthCheckConfig.builder().jitter(0.6))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("jitter: 0.6 (expected: 0.0..0.5)");
  }

  @Test
  void outlier_negativeConsecutiveFailures() {
    assertThatThrownBy(() -> OutlierDetectionConfig.builder().consecutiveFailures(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("consecutiveFailures: -1 (expected: 0..1000, 0 = off)");
  }

  @Test
  void outlier_failureRateAbove100() {
    assertThatThrownBy(() -> OutlierDetectionConfig.builder().failureRateThreshold(101))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("failureRateThreshold: 101 (expected: 0..100, 0 = off)");
  }

  @Test
  void outlier_minimumCallsZero() {
    assertThatThrownBy(() -> OutlierDetectionConfig.builder().minimumCalls(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("minimumCalls: 0 (expected: 1..1000000)");
  }

  @Test
  void outlier_maxEjectionPercentNegative() {
    assertThatThrownBy(() -> OutlierDetectionConfig.builder().maxEjectionPercent(-5))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("maxEjectionPercent: -5 (expected: 0..100)");
  }

  @Test
  void outlier_trialCallsZero() {
    assertThatThrownBy(() -> OutlierDetectionConfig.builder().trialCalls(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("trialCalls: 0 (expected: 1..100)");
  }

  @Test
  void outlier_ejectionTimeTooShort() {
    assertThatThrownBy(
            () -> OutlierDetectionConfig.builder().baseEjectionTime(Duration.ofMillis(10)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("baseEjectionTime: PT0.01S (expected: PT0.1S..PT1H)");
  }

  @Test
  void outlier_baseLongerThanMax() {
    assertThatThrownBy(
            () ->
                OutlierDetectionConfig.builder()
                    .baseEjectionTime(Duration.ofMinutes(10))
                    .maxEjectionTime(Duration.ofMinutes(5))
                    .build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessage("baseEjectionTime PT10M cannot be longer than maxEjectionTime PT5M");
  }

  @Test
  void builder_panicThresholdAbove100() {
    assertThatThrownBy(() -> TierConfig.builder().panicThreshold(150))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("panicThreshold: 150 (expected: 0..100, 0 = off)");
  }

  @Test
  void builder_slowStartTooShort() {
    assertThatThrownBy(() -> LoadBalancers.builder("svc").slowStart(Duration.ofMillis(500)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("slowStart window: PT0.5S (expected: PT1S..PT1H)");
    assertThatThrownBy(() -> SlowStartConfig.defaults().withFloorPercent(0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("slowStart floorPercent: 0 (expected: 1..100)");
  }

  @Test
  void outlier_slowCallDurationZero() {
    assertThatThrownBy(() -> OutlierDetectionConfig.builder().slowCalls(Duration.ZERO, 50))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("slowCallDuration: PT0S (expected: PT0.001S..PT10M)");
  }

  @Test
  void outlier_slowCallRateZero() {
    assertThatThrownBy(() -> OutlierDetectionConfig.builder().slowCalls(Duration.ofSeconds(1), 0))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("slowCallRateThreshold: 0 (expected: 1..100)");
  }

  @Test
  void builder_selectionTimeoutTooLong() {
    assertThatThrownBy(() -> LoadBalancers.builder("svc").selectionTimeout(Duration.ofMinutes(6)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessage("selectionTimeout: PT6M (expected: PT0S..PT5M)");
  }
}
