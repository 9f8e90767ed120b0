package io.loadstar.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.Endpoint;
import io.loadstar.api.HealthCheckResult;
import io.loadstar.api.LoadBalancer;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.junit.jupiter.api.Test;

class TierSpilloverTest extends FakeTimeTest {

  /** Primary tier 10.0.0.1-4 (the last two fail their checks), backup tier 10.0.1.1-2. */
  private LoadBalancer lb(boolean spillover) {
    Set<String> down = Set.of("10.0.0.3", "10.0.0.4");
    HealthCheckService checks =
        TestEndpoints.inlineChecks(
            (target, timeout) ->
                down.contains(target.host())
                    ? HealthCheckResult.unhealthy("down")
                    : HealthCheckResult.healthy(),
            HealthCheckConfig.builder().fall(1).jitter(0).build(),
            scheduler);
    closeLater(checks);
    List<Endpoint> endpoints = new ArrayList<>();
    for (int i = 1; i <= 4; i++) {
      endpoints.add(Endpoint.of("10.0.0." + i, 80));
    }
    endpoints.add(Endpoint.of("10.0.1.1", 80).withPriority(1));
    endpoints.add(Endpoint.of("10.0.1.2", 80).withPriority(1));
    LoadBalancer lb =
        LoadBalancers.builder("svc")
            .endpoints(endpoints)
            .healthChecks(checks)
            .tiers(TierConfig.builder().spillover(spillover).build())
            .scheduler(scheduler)
            .seed(8)
            .build();
    closeLater(lb);
    scheduler.runDueTasks();
    return lb;
  }

  private static double backupShare(LoadBalancer lb, int picks) {
    Map<String, Integer> counts = TestEndpoints.pickCounts(lb, picks);
    int backup = counts.getOrDefault("10.0.1.1:80", 0) + counts.getOrDefault("10.0.1.2:80", 0);
    return backup / (double) picks;
  }

  @Test
  void allOrNothing_halfHealthyPrimary_keepsAllTraffic() {
    assertThat(backupShare(lb(false), 10_000)).isZero();
  }

  @Test
  void spillover_halfHealthyPrimary_keeps70Percent_backupTakes30() {
    // 2 of 4 usable: health min(100, 1.4 x 50) = 70; the backup tier takes the other 30.
    double share = backupShare(lb(true), 40_000);
    assertThat(share).isBetween(0.28, 0.32);
  }

  @Test
  void fastAndDownIntervals_followHaproxy() {
    // Probe results per probe number: up, fail, fail (down with fall 2), fail, pass, pass (up).
    boolean[] script = {true, false, false, false, true, true, true};
    int[] probe = {0};
    List<Long> probeTimes = new ArrayList<>();
    HealthCheckService checks =
        TestEndpoints.inlineChecks(
            (target, timeout) -> {
              probeTimes.add(ticker.nanoTime() / 1_000_000);
              return script[Math.min(probe[0]++, script.length - 1)]
                  ? HealthCheckResult.healthy()
                  : HealthCheckResult.unhealthy("down");
            },
            HealthCheckConfig.builder()
                .interval(Duration.ofSeconds(10))
                .fastInterval(Duration.ofSeconds(1))
                .downInterval(Duration.ofSeconds(30))
                .rise(2)
                .fall(2)
                .jitter(0)
                .build(),
            scheduler);
    closeLater(checks);
    LoadBalancer lb =
        LoadBalancers.builder("svc")
            .endpoints(Endpoint.of("10.0.0.1", 80))
            .healthChecks(checks)
            .build();
    closeLater(lb);
    scheduler.advance(Duration.ofSeconds(100), Duration.ofMillis(500));
    long t0 = probeTimes.get(0);
    List<Long> relative = new ArrayList<>();
    for (long t : probeTimes) {
      relative.add(t - t0);
    }
    // up: 10 s; one failure: fastinter 1 s; down: downinter 30 s; a pass while down: fastinter;
    // up again: inter.
    assertThat(relative.subList(0, 7))
        .containsExactly(0L, 10_000L, 11_000L, 41_000L, 71_000L, 72_000L, 82_000L);
  }
}
