package io.loadstar.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.Endpoint;
import io.loadstar.api.HealthCheckResult;
import io.loadstar.api.LoadBalancer;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Test;

class ConfigToBuilderTest {

  @Test
  void healthCheckConfig_toBuilder_keepsEverySetting_andADefaultedIntervalFollows() {
    HealthCheckConfig c =
        HealthCheckConfig.builder()
            .interval(Duration.ofSeconds(3))
            .downInterval(Duration.ofSeconds(9))
            .timeout(Duration.ofMillis(700))
            .rise(4)
            .fall(5)
            .port(9200)
            .jitter(0.05)
            .initiallyHealthy(false)
            .build();
    HealthCheckConfig copy = c.toBuilder().build();
    assertThat(copy.toString()).isEqualTo(c.toString());
    HealthCheckConfig slower = c.toBuilder().interval(Duration.ofSeconds(6)).build();
    assertThat(slower.fastInterval()).isEqualTo(Duration.ofSeconds(6)); // never set: follows
    assertThat(slower.downInterval()).isEqualTo(Duration.ofSeconds(9)); // set: kept
    assertThat(slower.port()).isEqualTo(9200);
  }

  @Test
  void outlierDetectionConfig_toBuilder_keepsEverySetting() {
    OutlierDetectionConfig c =
        OutlierDetectionConfig.builder()
            .consecutiveFailures(7)
            .failureRateThreshold(40)
            .minimumCalls(30)
            .interval(Duration.ofSeconds(5))
            .baseEjectionTime(Duration.ofSeconds(10))
            .maxEjectionTime(Duration.ofSeconds(60))
            .maxEjectionPercent(34)
            .alwaysAllowOne(false)
            .trialCalls(2)
            .serverErrorsAreFailures(false)
            .slowCalls(Duration.ofMillis(400), 60)
            .build();
    OutlierDetectionConfig copy = c.toBuilder().build();
    assertThat(copy.toString()).isEqualTo(c.toString());
    assertThat(copy.serverErrorsAreFailures()).isFalse();
    assertThat(copy.slowCallDuration()).isEqualTo(Duration.ofMillis(400));
    assertThat(copy.slowCallRateThreshold()).isEqualTo(60);
    assertThat(OutlierDetectionConfig.defaults().toBuilder().build().slowCallDuration())
        .isEqualTo(Duration.ZERO);
  }

  @Test
  void tierConfig_toBuilder_keepsEverySetting() {
    TierConfig c =
        TierConfig.builder().panicThreshold(30).failFastInPanic(true).spillover(true).build();
    TierConfig copy = c.toBuilder().build();
    assertThat(copy.toString()).isEqualTo(c.toString());
    assertThat(copy.panicThreshold()).isEqualTo(30);
    assertThat(copy.failFastInPanic()).isTrue();
    assertThat(copy.spillover()).isTrue();
    assertThat(TierConfig.defaults().panicThreshold()).isEqualTo(50);
  }

  @Test
  void slowStartConfig_withers_keepTheOtherSetting() {
    SlowStartConfig c = SlowStartConfig.of(Duration.ofSeconds(10)).withFloorPercent(25);
    assertThat(c.window()).isEqualTo(Duration.ofSeconds(10));
    assertThat(c.floorPercent()).isEqualTo(25);
    assertThat(c.withWindow(Duration.ofMinutes(1)).floorPercent()).isEqualTo(25);
    assertThat(SlowStartConfig.defaults().window()).isEqualTo(Duration.ofSeconds(30));
  }

  @Test
  void build_leavesTheBuilderAsItWas_eachSettingsCopyBuildsItsOwnHealthChecks() {
    LoadBalancers.Builder b =
        LoadBalancers.builder("svc")
            .endpoints(List.of(Endpoint.of("10.0.0.1", 80)))
            .healthChecks(
                (target, timeout) -> HealthCheckResult.healthy(), HealthCheckConfig.defaults())
            .slowStart(Duration.ofSeconds(10));
    BalancerSettings first = b.settings();
    BalancerSettings second = b.settings();
    assertThat(first.healthChecks()).isNotNull().isNotSameAs(second.healthChecks());
    assertThat(first.ownsHealthChecks()).isTrue();
    assertThat(first.slowStartNanos()).isEqualTo(Duration.ofSeconds(10).toNanos());
    first.healthChecks().close();
    second.healthChecks().close();
    try (LoadBalancer lb = b.build()) {
      assertThat(lb.name()).isEqualTo("svc");
    }
    BalancerSettings third = b.settings(); // before, build() stored the service it built
    assertThat(third.ownsHealthChecks()).isTrue();
    assertThat(third.healthChecks()).isNotSameAs(first.healthChecks());
    third.healthChecks().close();
    b.slowStart(Duration.ofSeconds(20)); // changing the builder changes no copy taken before
    assertThat(first.slowStartNanos()).isEqualTo(Duration.ofSeconds(10).toNanos());
  }
}
