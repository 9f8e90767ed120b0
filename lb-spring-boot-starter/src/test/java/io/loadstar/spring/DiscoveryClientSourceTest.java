package io.loadstar.spring;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.testing.Concurrently;
import io.loadstar.testing.HttpBackends;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.annotation.Configuration;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.web.client.RestClient;

/**
 * A service whose endpoints come from Spring Cloud's DiscoveryClient (here its simple,
 * property-backed one): the instances and their zone metadata reach the balancer, and a backend
 * killed while still registered costs no GET.
 */
// Closed when the class ends: its balancers stop probing backends the class has stopped.
@DirtiesContext
@SpringBootTest(
    classes = DiscoveryClientSourceTest.App.class,
    webEnvironment = SpringBootTest.WebEnvironment.NONE,
    properties = {
      "spring.http.clients.reactive.connector=http-components",
      "loadstar.services.orders.host=orders.test",
      "loadstar.services.orders.discovery.service-id=orders"
    })
class DiscoveryClientSourceTest {

  @Configuration(proxyBeanMethods = false)
  @EnableAutoConfiguration
  static class App {}

  private static HttpBackends backends;

  @Autowired private RestClient.Builder restClientBuilder;
  @Autowired private LoadstarServices services;

  @DynamicPropertySource
  static void registry(DynamicPropertyRegistry registry) throws Exception {
    backends = HttpBackends.startAt(170, 3, s -> {}, HttpBackends.Handler.ok());
    String simple = "spring.cloud.discovery.client.simple.instances.orders[";
    for (int i = 0; i < 3; i++) {
      Endpoint e = backends.endpoint(i);
      String uri = "http://" + e.authority();
      registry.add(simple + i + "].uri", () -> uri);
      String zone = i == 0 ? "a" : "b";
      registry.add(simple + i + "].metadata.zone", () -> zone);
    }
  }

  @AfterAll
  static void stop() {
    backends.close();
  }

  @Test
  void instancesFromTheDiscoveryClient_areBalanced_andAKilledOneCostsNoGet() throws Exception {
    LoadBalancer lb = services.balancer("orders");
    assertThat(lb.inspect().endpoints())
        .extracting(Endpoint::key)
        .containsExactlyInAnyOrder(
            backends.endpoint(0).key(), backends.endpoint(1).key(), backends.endpoint(2).key());
    assertThat(lb.inspect().endpoints())
        .filteredOn(e -> e.key().equals(backends.endpoint(0).key()))
        .extracting(Endpoint::zone)
        .containsExactly("a");

    RestClient client = restClientBuilder.build();
    String url = "http://orders.test:" + backends.port() + "/";
    backends.kill(1); // still registered: only the calls can tell
    Concurrently.Outcome outcome =
        Concurrently.run(4, 200, i -> client.get().uri(url).retrieve().body(String.class));
    assertThat(outcome.failed()).as("%s", outcome).isZero();
    EndpointSnapshot dead =
        lb.inspect().snapshot().stream()
            .filter(s -> s.endpoint().key().equals(backends.endpoint(1).key()))
            .findFirst()
            .orElseThrow();
    assertThat(dead.state()).isEqualTo(EndpointSnapshot.State.EJECTED);
  }
}
