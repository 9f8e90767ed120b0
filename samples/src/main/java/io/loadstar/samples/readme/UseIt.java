package io.loadstar.samples.readme;

// tag::readme[]
import io.loadstar.api.CallFailure;
import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.core.HealthCheckConfig;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.OutlierDetectionConfig;
import io.loadstar.core.Strategies;
import io.loadstar.core.TcpHealthChecker;
import java.sql.Connection;
import java.sql.DriverManager;
import java.time.Duration;

// end::readme[]

/** The README's "Use it" section. */
final class UseIt {

  private UseIt() {}

  static void useIt() throws Exception {
    // tag::readme[]
    LoadBalancer orders =
        LoadBalancers.builder("orders")
            .endpoints(
                Endpoint.of("10.0.0.7", 8080),
                Endpoint.of("10.0.0.8", 8080).withWeight(2),
                Endpoint.of("10.0.9.1", 8080).withPriority(1)) // a backup
            .strategy(Strategies.leastRequest())
            .maxInFlightPerEndpoint(200)
            .healthChecks(
                TcpHealthChecker.create(), // check port 9200 every 2 s
                HealthCheckConfig.builder().port(9200).rise(2).fall(3).build())
            .outlierDetection(OutlierDetectionConfig.builder().maxEjectionPercent(34).build())
            .slowStart(Duration.ofSeconds(30))
            .build();

    // Any client: Loadstar picks, you call, Loadstar records the outcome and retries a call that
    // never reached its endpoint (a refused connect, even wrapped by the driver) on another one.
    try (Connection c =
        orders.execute(
            endpoint ->
                DriverManager.getConnection(
                    "jdbc:mariadb://" + endpoint.authority() + "/orders"))) {
      c.createStatement().execute("SELECT 1");
    }

    // Or pick and report yourself: exactly once per pick, on every path, or the slot leaks.
    PickResult pick = orders.pick(); // least request: the less busy of two, by weight
    if (pick.isAvailable()) {
      long start = System.nanoTime();
      try {
        send(pick.endpoint());
        pick.handle().onSuccess(System.nanoTime() - start);
      } catch (Throwable t) {
        pick.handle().onFailure(CallFailure.classify(t), System.nanoTime() - start);
        throw t;
      }
    }

    // Only looking: where would a call go now, and why not elsewhere? Neither takes a slot.
    orders.inspect().peek(PickContext.empty()).ifPresent(e -> System.out.println(e));
    System.out.println(orders.inspect().explain(PickContext.empty()));

    orders.close(); // stops sources and timers
    // end::readme[]
  }

  private static void send(Endpoint endpoint) throws java.io.IOException {
    try (java.net.Socket s = new java.net.Socket()) {
      s.connect(endpoint.socketAddress(), 1_000);
    }
  }
}
