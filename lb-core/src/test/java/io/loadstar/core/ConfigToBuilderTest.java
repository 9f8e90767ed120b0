package io.loadstar.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
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
}
