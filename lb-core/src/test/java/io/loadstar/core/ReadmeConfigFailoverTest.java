package io.loadstar.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.testing.Await;
import io.loadstar.testing.Concurrently;
import io.loadstar.testing.TcpBackend;
import java.io.IOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

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

  /** The README's "Use it" settings, with these endpoints, strategy and check port. */
  private LoadBalancer useItConfiguration(
      List<Endpoint> endpoints, String strategy, int checkPort) {
    LoadBalancer orders =
        LoadBalancers.builder("orders")
            .endpoints(endpoints)
            .strategy(Strategies.named(strategy))
            .maxInFlightPerEndpoint(200)
            .healthChecks(
                TcpHealthChecker.create(),
                HealthCheckConfig.builder().port(checkPort).rise(2).fall(3).build())
            .outlierDetection(OutlierDetectionConfig.builder().maxEjectionPercent(34).build())
            .slowStart(Duration.ofSeconds(30))
            .build();
    closeables.add(orders);
    return orders;
  }

  /** Makes {@code calls} TCP-connect calls from 4 threads; returns the failed ones' count. */
  private static int callFromFourThreads(LoadBalancer orders, int calls) throws Exception {
    Concurrently.Outcome outcome =
        Concurrently.run(
            4,
            calls,
            i ->
                orders.execute(
                    PickContext.ofHashKey("user-" + i),
                    e -> {
                      try (Socket s = new Socket()) {
                        s.connect(e.socketAddress(), 2_000);
                      }
                      return null;
                    }));
    if (outcome.failed() > 0) {
      System.err.println("failed calls: " + outcome);
    }
    return outcome.failed();
  }

  /** A loopback port nothing listens on. */
  private static int refusedPort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      return s.getLocalPort();
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

    LoadBalancer orders = useItConfiguration(endpoints, strategy, port);

    int failed = callFromFourThreads(orders, 400);
    assertThat(failed).isZero();
    EndpointSnapshot deadState =
        orders.inspect().snapshot().stream()
            .filter(s -> s.endpoint().equals(dead))
            .findFirst()
            .get();
    // Ejected after 5 failures in a row, plus the calls already on their way to it then (at
    // most one per caller, give or take a snapshot being replaced); peak EWMA may stop picking it
    // before that (its cost after a failure is the failure penalty) and leave it READY.
    assertThat(deadState.failures()).isBetween(1L, 20L);
    if (deadState.failures() >= 5) {
      assertThat(deadState.state())
          .isIn(EndpointSnapshot.State.EJECTED, EndpointSnapshot.State.UNHEALTHY);
    }
    assertThat(orders.inspect().snapshot().stream().mapToInt(EndpointSnapshot::inFlight).sum())
        .isZero();
  }

  @ParameterizedTest(name = "{0}")
  @ValueSource(strings = {"roundRobin", "leastRequest"})
  void useItConfigurationCopiedWithItsCheckPort_checksAllFail_panicStillAvoidsTheDeadOne(
      String strategy) throws Exception {
    // The README's check port 9200 copied as is: nothing answers there, every check fails, the
    // tier panics and spreads picks over all endpoints, but not over the one real calls ejected.
    int noChecks = refusedPort();
    TcpBackend first = TcpBackend.start("127.0.0.1", 0);
    closeables.add(first);
    int port = first.port();
    closeables.add(TcpBackend.start("127.0.0.2", port));
    Endpoint dead = Endpoint.of("127.0.0.3", port);
    List<Endpoint> endpoints =
        List.of(Endpoint.of("127.0.0.1", port), Endpoint.of("127.0.0.2", port), dead);
    LoadBalancer orders = useItConfiguration(endpoints, strategy, noChecks);
    assertThat(callFromFourThreads(orders, 400)).isZero();
    // Three failed checks at 2 s: about 6 s of real probing until all are UNHEALTHY.
    assertThat(
            Await.until(
                () ->
                    orders.inspect().snapshot().stream()
                        .filter(x -> !x.endpoint().equals(dead))
                        .allMatch(x -> x.state() == EndpointSnapshot.State.UNHEALTHY)))
        .isTrue();
    assertThat(callFromFourThreads(orders, 400)).isZero();
  }
}
