package io.loadstar.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.testing.TcpBackend;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The README's "Use it" configuration, as users copy it, with each strategy: one of 3 or 4 primary
 * endpoints refuses connections, and no call made through execute() fails. The settings are the
 * README's (ReadmeTest in samples guards that they still are); only the addresses are loopback ones
 * and the check port is the backends' own.
 */
class ReadmeConfigFailoverTest {

  private final List<AutoCloseable> closeables = new ArrayList<>();

  @AfterEach
  void tearDown() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
  }

  static Stream<Arguments> strategiesAndSizes() {
    List<Arguments> cases = new ArrayList<>();
    for (String strategy :
        List.of("roundRobin", "random", "leastRequest", "peakEwma", "ringHash", "maglev")) {
      cases.add(Arguments.of(strategy, 3));
      cases.add(Arguments.of(strategy, 4));
    }
    return cases.stream();
  }

  @ParameterizedTest(name = "{0}, 1 of {1} dead")
  @MethodSource("strategiesAndSizes")
  void useItConfiguration_oneDeadPrimary_noCallFails(String strategy, int primaries)
      throws Exception {
    TcpBackend first = TcpBackend.start("127.0.0.1", 0);
    closeables.add(first);
    int port = first.port();
    List<Endpoint> endpoints = new ArrayList<>();
    endpoints.add(Endpoint.of("127.0.0.1", port));
    for (int i = 2; i < primaries; i++) {
      closeables.add(TcpBackend.start("127.0.0." + i, port));
      endpoints.add(Endpoint.of("127.0.0." + i, port));
    }
    Endpoint dead = Endpoint.of("127.0.0." + primaries, port); // nothing listens there
    endpoints.add(dead);
    closeables.add(TcpBackend.start("127.0.0.9", port));
    endpoints.add(Endpoint.of("127.0.0.9", port).withPriority(1)); // a backup

    LoadBalancer orders =
        LoadBalancers.builder("orders")
            .endpoints(endpoints)
            .strategy(Strategies.named(strategy))
            .maxInFlightPerEndpoint(200)
            .healthChecks(
                TcpHealthChecker.create(),
                HealthCheckConfig.builder().port(port).rise(2).fall(3).build())
            .outlierDetection(OutlierDetectionConfig.builder().maxEjectionPercent(34).build())
            .slowStart(Duration.ofSeconds(30))
            .build();
    closeables.add(orders);

    AtomicInteger failed = new AtomicInteger();
    java.util.concurrent.atomic.AtomicReference<Exception> firstFailure =
        new java.util.concurrent.atomic.AtomicReference<>();
    AtomicInteger next = new AtomicInteger();
    ExecutorService callers = Executors.newFixedThreadPool(4);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        done.add(
            callers.submit(
                () -> {
                  int i;
                  while ((i = next.getAndIncrement()) < 400) {
                    try {
                      orders.execute(
                          PickContext.ofHashKey("user-" + i),
                          e -> {
                            try (Socket s = new Socket()) {
                              s.connect(e.socketAddress(), 2_000);
                            }
                            return null;
                          });
                    } catch (Exception e) {
                      if (failed.incrementAndGet() == 1) {
                        firstFailure.set(e);
                      }
                    }
                  }
                }));
      }
      for (Future<?> f : done) {
        f.get(60, TimeUnit.SECONDS);
      }
    } finally {
      callers.shutdownNow();
    }
    assertThat(failed.get()).as("failed calls, the first: %s", firstFailure.get()).isZero();
    EndpointSnapshot deadState =
        orders.snapshot().stream().filter(s -> s.endpoint().equals(dead)).findFirst().get();
    // Ejected after 5 failures in a row, plus the calls already on their way to it then (at
    // most one per caller, give or take a snapshot being replaced); peak EWMA may stop picking it
    // before that (its cost after a failure is the failure penalty) and leave it READY.
    assertThat(deadState.failures()).isBetween(1L, 20L);
    if (deadState.failures() >= 5) {
      assertThat(deadState.state())
          .isIn(EndpointSnapshot.State.EJECTED, EndpointSnapshot.State.UNHEALTHY);
    }
    assertThat(orders.snapshot().stream().mapToInt(EndpointSnapshot::inFlight).sum()).isZero();
  }
}
