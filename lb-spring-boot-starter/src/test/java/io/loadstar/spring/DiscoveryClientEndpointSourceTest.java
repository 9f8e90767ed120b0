package io.loadstar.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.core.LoadBalancers;
import io.loadstar.testing.Await;
import io.loadstar.testing.FakeTicker;
import io.loadstar.testing.ManualScheduler;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.springframework.cloud.client.DefaultServiceInstance;
import org.springframework.cloud.client.ServiceInstance;
import org.springframework.cloud.client.discovery.DiscoveryClient;
import org.springframework.cloud.client.discovery.ReactiveDiscoveryClient;
import reactor.core.publisher.Flux;

/**
 * The DiscoveryClient source on the balancer's clock (fake, from several origins): read at start,
 * again every refresh interval and at once when asked; a failing registry keeps the last endpoints;
 * instances with bad data are skipped.
 */
class DiscoveryClientEndpointSourceTest {

  /** A registry's answers, as a DiscoveryClient gives them; can be told to fail. */
  private static final class Registry implements DiscoveryClient {
    final List<ServiceInstance> instances = new CopyOnWriteArrayList<>();
    final AtomicInteger reads = new AtomicInteger();
    volatile boolean down;

    void add(String host, int port, Map<String, String> metadata) {
      instances.add(
          new DefaultServiceInstance(host + ":" + port, "orders", host, port, false, metadata));
    }

    @Override
    public String description() {
      return "a test registry";
    }

    @Override
    public List<ServiceInstance> getInstances(String serviceId) {
      reads.incrementAndGet();
      if (down) {
        throw new IllegalStateException("registry unreachable");
      }
      return List.copyOf(instances);
    }

    @Override
    public List<String> getServices() {
      return List.of("orders");
    }
  }

  /** A balancer fed by {@code source}, on the test's clock and scheduler. */
  private static LoadBalancer balancer(
      DiscoveryClientEndpointSource source, FakeTicker ticker, ManualScheduler scheduler) {
    return LoadBalancers.builder("orders")
        .source(source)
        .ticker(ticker)
        .scheduler(scheduler)
        .build();
  }

  static List<Long> origins() {
    return FakeTicker.origins();
  }

  private static List<String> keys(LoadBalancer lb) {
    return lb.inspect().endpoints().stream()
        .map(Endpoint::key)
        .sorted()
        .collect(Collectors.toList());
  }

  @ParameterizedTest
  @MethodSource("origins")
  void readAtStart_everyInterval_andAtOnceWhenAsked_keepingTheLastOnFailure(long origin) {
    FakeTicker ticker = new FakeTicker(origin);
    ManualScheduler scheduler = new ManualScheduler(ticker);
    Registry registry = new Registry();
    registry.add("10.0.0.1", 8080, Map.of("zone", "a", "weight", "3"));
    registry.add("10.0.0.2", 8080, Map.of("version", "v2"));
    DiscoveryClientEndpointSource source =
        new DiscoveryClientEndpointSource(registry, "orders", Duration.ofSeconds(5));
    try (LoadBalancer lb = balancer(source, ticker, scheduler)) {
      scheduler.runDueTasks(); // the first read
      assertThat(Await.until(() -> keys(lb).size() == 2)).isTrue();
      Endpoint first =
          lb.inspect().endpoints().stream()
              .filter(e -> e.host().equals("10.0.0.1"))
              .findFirst()
              .orElseThrow();
      assertThat(first.zone()).isEqualTo("a");
      assertThat(first.weight()).isEqualTo(3);
      Endpoint second =
          lb.inspect().endpoints().stream()
              .filter(e -> e.host().equals("10.0.0.2"))
              .findFirst()
              .orElseThrow();
      assertThat(second.tags()).containsEntry("version", "v2");

      registry.add("10.0.0.3", 8080, Map.of());
      int reads = registry.reads.get();
      ticker.advance(Duration.ofSeconds(4));
      scheduler.runDueTasks();
      assertThat(registry.reads).hasValue(reads); // not yet: the interval is 5 s
      ticker.advance(Duration.ofSeconds(1));
      scheduler.runDueTasks();
      assertThat(Await.until(() -> keys(lb).size() == 3)).isTrue();

      registry.add("10.0.0.4", 8080, Map.of());
      source.refresh(); // a registry said it changed: no waiting for the interval
      assertThat(Await.until(() -> keys(lb).size() == 4)).isTrue();

      registry.down = true;
      int before = registry.reads.get();
      source.refresh();
      assertThat(Await.until(() -> registry.reads.get() > before)).isTrue();
      assertThat(keys(lb)).hasSize(4); // the last good list stays
    }
  }

  @Test
  void aReactiveDiscoveryClient_feedsTheBalancer_andAFailingOneKeepsTheLastEndpoints() {
    FakeTicker ticker = new FakeTicker();
    ManualScheduler scheduler = new ManualScheduler(ticker);
    Registry registry = new Registry();
    registry.add("10.0.0.1", 8080, Map.of("zone", "a"));
    registry.add("10.0.0.2", 8080, Map.of());
    ReactiveDiscoveryClient reactive =
        new ReactiveDiscoveryClient() {
          @Override
          public String description() {
            return "a reactive test registry";
          }

          @Override
          public Flux<ServiceInstance> getInstances(String serviceId) {
            return Flux.defer(() -> Flux.fromIterable(registry.getInstances(serviceId)));
          }

          @Override
          public Flux<String> getServices() {
            return Flux.just("orders");
          }
        };
    DiscoveryClientEndpointSource source =
        DiscoveryClientEndpointSource.reactive(reactive, "orders", Duration.ofSeconds(5));
    try (LoadBalancer lb = balancer(source, ticker, scheduler)) {
      scheduler.runDueTasks();
      assertThat(Await.until(() -> keys(lb).size() == 2)).isTrue();
      assertThat(lb.inspect().endpoints())
          .filteredOn(e -> e.host().equals("10.0.0.1"))
          .extracting(Endpoint::zone)
          .containsExactly("a");
      registry.add("10.0.0.3", 8080, Map.of());
      source.refresh();
      assertThat(Await.until(() -> keys(lb).size() == 3)).isTrue();
      registry.down = true; // the Flux fails
      int before = registry.reads.get();
      source.refresh();
      assertThat(Await.until(() -> registry.reads.get() > before)).isTrue();
      assertThat(keys(lb)).hasSize(3);
    }
  }

  @Test
  void instancesWithBadData_areSkipped_theOthersServe() {
    FakeTicker ticker = new FakeTicker();
    ManualScheduler scheduler = new ManualScheduler(ticker);
    Registry registry = new Registry();
    registry.add("10.0.0.1", 8080, Map.of());
    registry.add("10.0.0.2", 0, Map.of());
    registry.add("10.0.0.3", 8080, Map.of("weight", "heavy"));
    DiscoveryClientEndpointSource source =
        new DiscoveryClientEndpointSource(registry, "orders", Duration.ofSeconds(5));
    try (LoadBalancer lb = balancer(source, ticker, scheduler)) {
      scheduler.runDueTasks();
      assertThat(Await.until(() -> !keys(lb).isEmpty())).isTrue();
      assertThat(keys(lb)).containsExactly("10.0.0.1:8080");
    }
  }

  @Test
  void constructorChecks() {
    Registry registry = new Registry();
    assertThatThrownBy(
            () -> new DiscoveryClientEndpointSource(registry, " ", Duration.ofSeconds(5)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("serviceId");
    assertThatThrownBy(
            () -> new DiscoveryClientEndpointSource(registry, "orders", Duration.ofMillis(10)))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("refreshInterval: PT0.01S (expected: 100ms..1h)");
  }
}
