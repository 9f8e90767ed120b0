package io.loadstar.spring;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.testing.Await;
import io.loadstar.testing.HttpBackends;
import mockwebserver3.MockResponse;
import mockwebserver3.RecordedRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.annotation.Configuration;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;

/**
 * HTTP health checks from properties: each endpoint's {@code /health} is probed with the service's
 * name in {@code Host}, and the one answering 503 there is taken out of rotation.
 */
// Closed when the class ends: its balancers stop probing backends the class has stopped.
@DirtiesContext
@SpringBootTest(
    classes = HttpHealthCheckTest.App.class,
    webEnvironment = SpringBootTest.WebEnvironment.NONE,
    properties = {
      "spring.http.clients.reactive.connector=http-components",
      "loadstar.services.orders.host=orders.test",
      "loadstar.services.orders.health-check.enabled=true",
      "loadstar.services.orders.health-check.path=/health",
      "loadstar.services.orders.health-check.interval=100ms",
      "loadstar.services.orders.health-check.fall=1"
    })
class HttpHealthCheckTest {

  @Configuration(proxyBeanMethods = false)
  @EnableAutoConfiguration
  static class App {}

  private static HttpBackends backends;

  @Autowired private LoadstarServices services;

  @DynamicPropertySource
  static void backends(DynamicPropertyRegistry registry) throws Exception {
    backends =
        HttpBackends.startAt(
            190,
            2,
            s -> {},
            (i, r) ->
                new MockResponse.Builder()
                    .code(i == 1 && r.getUrl().encodedPath().equals("/health") ? 503 : 200)
                    .build());
    for (int i = 0; i < 2; i++) {
      String endpoint = backends.endpoint(i).authority();
      registry.add("loadstar.services.orders.endpoints[" + i + "]", () -> endpoint);
    }
  }

  @AfterAll
  static void stop() {
    backends.close();
  }

  @Test
  void anEndpointFailingItsHttpCheck_leavesRotation_probesCarryTheServiceName() {
    LoadBalancer lb = services.balancer("orders");
    assertThat(
            Await.until(
                () -> lb.inspect().snapshot().get(1).state() == EndpointSnapshot.State.UNHEALTHY))
        .isTrue();
    assertThat(lb.inspect().snapshot().get(0).state()).isEqualTo(EndpointSnapshot.State.READY);
    RecordedRequest probe = backends.received(0).get(0);
    assertThat(probe.getUrl().encodedPath()).isEqualTo("/health");
    assertThat(probe.getHeaders().get("Host")).startsWith("orders.test");
  }
}
