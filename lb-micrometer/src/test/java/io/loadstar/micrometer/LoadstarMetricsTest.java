package io.loadstar.micrometer;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.loadstar.api.CallFailure;
import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSource;
import io.loadstar.api.EndpointUpdate;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickResult;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.OutlierDetectionConfig;
import io.loadstar.core.SplitControl;
import io.loadstar.core.TrafficSplit;
import io.loadstar.testing.FakeTicker;
import io.loadstar.testing.ManualScheduler;
import io.micrometer.core.instrument.Meter;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.io.IOException;
import java.net.ConnectException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Every documented meter exists and moves when its event happens. */
class LoadstarMetricsTest {

  private static final Endpoint E1 = Endpoint.of("10.0.0.1", 80).withZone("a");
  private static final Endpoint E2 = Endpoint.of("10.0.0.2", 80).withZone("a");
  private static final Endpoint E3 = Endpoint.of("10.0.0.3", 80).withZone("b");

  private final SimpleMeterRegistry registry = new SimpleMeterRegistry();
  private final LoadstarMetrics metrics = LoadstarMetrics.of(registry, 0);
  private final FakeTicker ticker = new FakeTicker();
  private final ManualScheduler scheduler = new ManualScheduler(ticker);
  private final List<AutoCloseable> closeables = new ArrayList<>();
  private final AtomicReference<EndpointSource.Listener> source = new AtomicReference<>();

  @AfterEach
  void tearDown() throws Exception {
    for (AutoCloseable c : closeables) {
      c.close();
    }
    metrics.close();
  }

  private LoadBalancers.Builder builder() {
    return LoadBalancers.builder("api")
        .source(
            new EndpointSource() {
              @Override
              public void start(Context context) {
                source.set(context::publish);
                context.publish(EndpointUpdate.of(E1, E2, E3));
              }

              @Override
              public void close() {}
            })
        .ticker(ticker)
        .scheduler(scheduler)
        .seed(1);
  }

  private LoadBalancer bound(LoadBalancers.Builder b) {
    LoadBalancer lb = b.build();
    closeables.add(lb);
    metrics.bind(lb);
    return lb;
  }

  private double gauge(String name, Endpoint e) {
    return registry.get(name).tag("service", "api").tag("endpoint", e.key()).gauge().value();
  }

  private double calls(Endpoint e, String outcome) {
    return registry
        .get("loadstar.endpoint.calls")
        .tag("endpoint", e.key())
        .tag("outcome", outcome)
        .functionCounter()
        .count();
  }

  private double serviceGauge(String name) {
    return registry.get(name).tag("service", "api").gauge().value();
  }

  @Test
  void aClosedBalancersGauges_readNaN_neverThrow() {
    LoadBalancer lb = bound(builder());
    assertThat(gauge("loadstar.endpoint.state", E1)).isZero();
    lb.close();
    ticker.advance(java.time.Duration.ofSeconds(1));
    assertThat(gauge("loadstar.endpoint.state", E1)).isNaN();
  }

  @Test
  void endpointGauges_andCallCounters_followTheBalancer() {
    LoadBalancer lb = bound(builder());
    assertThat(gauge("loadstar.endpoint.state", E1)).isZero(); // READY
    assertThat(gauge("loadstar.endpoint.weight", E1)).isEqualTo(1.0);
    assertThat(registry.get("loadstar.endpoint.state").tag("zone", "b").gauge()).isNotNull();

    List<PickResult> open = new ArrayList<>();
    for (int i = 0; i < 30; i++) {
      open.add(lb.pick());
    }
    double inFlight =
        gauge("loadstar.endpoint.in.flight", E1)
            + gauge("loadstar.endpoint.in.flight", E2)
            + gauge("loadstar.endpoint.in.flight", E3);
    assertThat(inFlight).isEqualTo(30);
    for (int i = 0; i < open.size(); i++) {
      if (i % 3 == 0) {
        open.get(i).handle().onFailure(CallFailure.status(503), 1_000);
      } else {
        open.get(i).handle().onSuccess(1_000);
      }
    }
    double ok = calls(E1, "success") + calls(E2, "success") + calls(E3, "success");
    double failed = calls(E1, "failure") + calls(E2, "failure") + calls(E3, "failure");
    assertThat(ok).isEqualTo(20);
    assertThat(failed).isEqualTo(10);
  }

  @Test
  void ejection_countedByReason_stateGaugeSaysEjected() {
    LoadBalancer lb = bound(builder());
    for (int i = 0; i < 100 && gauge("loadstar.endpoint.state", E1) != 5; i++) {
      PickResult r = lb.pick();
      if (r.endpoint().equals(E1)) {
        r.handle().onFailure(CallFailure.notSent(new ConnectException("refused")), 1_000);
      } else {
        r.handle().onSuccess(1_000);
      }
    }
    assertThat(gauge("loadstar.endpoint.state", E1)).isEqualTo(5); // EJECTED
    assertThat(gauge("loadstar.endpoint.weight", E1)).isZero();
    assertThat(
            registry
                .get("loadstar.ejections")
                .tag("service", "api")
                .tag("reason", "consecutive_failures")
                .counter()
                .count())
        .isEqualTo(1);
  }

  @Test
  void panic_retries_andDiscoveryStaleness() throws Exception {
    LoadBalancer lb =
        bound(
            builder()
                .outlierDetection(
                    OutlierDetectionConfig.builder().maxEjectionPercent(100).build()));
    assertThat(serviceGauge("loadstar.panic")).isZero();
    // A call that is refused by the first endpoint is retried on another: one retry.
    Endpoint[] first = new Endpoint[1];
    lb.execute(
        e -> {
          if (first[0] == null) {
            first[0] = e;
            throw new ConnectException("refused");
          }
          return "ok";
        });
    assertThat(registry.get("loadstar.retries").tag("service", "api").functionCounter().count())
        .isEqualTo(1);
    assertThat(serviceGauge("loadstar.retry.budget.used")).isPositive();
    assertThat(registry.get("loadstar.retries.refused").tag("service", "api").functionCounter())
        .isNotNull();

    // Two of three ejected: 1 of 3 usable is below the panic threshold of 50%.
    for (Endpoint e : List.of(E1, E2)) {
      for (int i = 0; i < 1_000 && gauge("loadstar.endpoint.state", e) != 5; i++) {
        PickResult r = lb.pick();
        if (r.endpoint().equals(e)) {
          r.handle().onFailure(CallFailure.notSent(new ConnectException("refused")), 1_000);
        } else {
          r.handle().onSuccess(1_000);
        }
      }
    }
    assertThat(serviceGauge("loadstar.panic")).isEqualTo(1);

    assertThat(serviceGauge("loadstar.discovery.staleness")).isZero();
    source.get().onUpdate(EndpointUpdate.failed(new IOException("registry down")));
    long spin = System.nanoTime();
    while (System.nanoTime() == spin) {
      Thread.onSpinWait(); // the staleness is real time since the last good answer
    }
    assertThat(serviceGauge("loadstar.discovery.staleness")).isPositive();
    source.get().onUpdate(EndpointUpdate.of(E1, E2, E3));
    assertThat(serviceGauge("loadstar.discovery.staleness")).isZero();
  }

  @Test
  void endpointLeaving_removesItsMeters_closeRemovesAll() {
    bound(builder());
    source.get().onUpdate(EndpointUpdate.of(E1, E2));
    assertThat(registry.find("loadstar.endpoint.state").tag("endpoint", E3.key()).meters())
        .isEmpty();
    assertThat(registry.find("loadstar.endpoint.calls").tag("endpoint", E3.key()).meters())
        .isEmpty();
    assertThat(registry.find("loadstar.endpoint.state").meters()).hasSize(2);
    metrics.close();
    assertThat(registry.getMeters().stream().map(Meter::getId).map(Meter.Id::getName))
        .noneMatch(n -> n.startsWith("loadstar."));
  }

  @Test
  void canaryRollback_counted() {
    SplitControl split =
        SplitControl.of(TrafficSplit.toTag("version", "v2").percent(50).rollbackOnErrors(5));
    LoadBalancer lb =
        bound(builder().trafficSplit(split).outlierDetection(OutlierDetectionConfig.disabled()));
    source.get().onUpdate(EndpointUpdate.of(E1, E2, E3.withTag("version", "v2")));
    for (int i = 0; i < 200; i++) {
      PickResult r = lb.pick();
      if (r.endpoint().key().equals(E3.key())) {
        r.handle().onFailure(CallFailure.status(503), 1_000);
      } else {
        r.handle().onSuccess(1_000);
      }
    }
    scheduler.advance(Duration.ofSeconds(1), Duration.ofSeconds(1));
    assertThat(registry.get("loadstar.canary.rollbacks").tag("service", "api").counter().count())
        .isEqualTo(1);
  }

  @Test
  void twoBalancersOfOneName_refused() {
    bound(builder());
    LoadBalancer other = builder().build();
    closeables.add(other);
    assertThatThrownBy(() -> metrics.bind(other))
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("a balancer named 'api' is bound already");
  }

  @Test
  void ejectionReasons_bounded() {
    assertThat(LoadstarMetrics.ejectionReason("5 consecutive connect failures"))
        .isEqualTo("consecutive_failures");
    assertThat(LoadstarMetrics.ejectionReason("failure rate 60% over 100 calls"))
        .isEqualTo("failure_rate");
    assertThat(LoadstarMetrics.ejectionReason("slow calls: p50 900 ms")).isEqualTo("slow_calls");
    assertThat(LoadstarMetrics.ejectionReason("something new")).isEqualTo("other");
  }
}
