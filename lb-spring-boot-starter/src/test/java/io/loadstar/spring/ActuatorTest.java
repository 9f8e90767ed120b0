package io.loadstar.spring;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.testing.Await;
import io.loadstar.testing.HttpBackends;
import io.micrometer.core.instrument.MeterRegistry;
import java.util.List;
import java.util.Map;
import mockwebserver3.MockResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.boot.test.web.server.LocalServerPort;
import org.springframework.context.annotation.Configuration;
import org.springframework.core.ParameterizedTypeReference;
import org.springframework.http.ResponseEntity;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.web.client.RestClient;

/**
 * A web application with Actuator: {@code /actuator/loadstar} shows each service's endpoints and an
 * explanation of a pick, {@code /actuator/health/loadstar} names the services that have no usable
 * endpoint, and the services' meters are in the application's registry.
 */
// Closed when the class ends: its balancers stop probing backends the class has stopped.
@DirtiesContext
@SpringBootTest(
    classes = ActuatorTest.App.class,
    webEnvironment = SpringBootTest.WebEnvironment.RANDOM_PORT,
    properties = {
      "management.endpoints.web.exposure.include=loadstar,health",
      "management.endpoint.health.show-details=always",
      "spring.http.clients.reactive.connector=http-components",
      "loadstar.services.orders.host=orders.test",
      "loadstar.services.orders.strategy=round-robin",
      "loadstar.services.gone.host=gone.test",
      "loadstar.services.gone.health-check.enabled=true",
      "loadstar.services.gone.health-check.interval=100ms",
      "loadstar.services.gone.health-check.timeout=100ms",
      "loadstar.services.gone.health-check.fall=1"
    })
class ActuatorTest {

  @Configuration(proxyBeanMethods = false)
  @EnableAutoConfiguration
  static class App {}

  private static HttpBackends orders;
  private static HttpBackends gone;

  @LocalServerPort private int port;
  @Autowired private RestClient.Builder restClientBuilder;
  @Autowired private MeterRegistry registry;

  @DynamicPropertySource
  static void backends(DynamicPropertyRegistry registry) throws Exception {
    orders = HttpBackends.startAt(150, 3, s -> {}, HttpBackends.Handler.ok());
    gone =
        HttpBackends.startAt(
            160, 2, s -> {}, (i, r) -> new MockResponse.Builder().body("gone-" + i).build());
    for (int i = 0; i < 3; i++) {
      String endpoint = orders.endpoint(i).authority();
      registry.add("loadstar.services.orders.endpoints[" + i + "]", () -> endpoint);
    }
    for (int i = 0; i < 2; i++) {
      String endpoint = gone.endpoint(i).authority();
      registry.add("loadstar.services.gone.endpoints[" + i + "]", () -> endpoint);
    }
  }

  @AfterAll
  static void stop() {
    orders.close();
    gone.close();
  }

  private ResponseEntity<Map<String, Object>> actuator(String path) {
    return restClientBuilder
        .build()
        .get()
        .uri("http://127.0.0.1:" + port + "/actuator/" + path)
        .retrieve()
        .onStatus(status -> true, (request, response) -> {})
        .toEntity(new ParameterizedTypeReference<Map<String, Object>>() {});
  }

  @SuppressWarnings("unchecked")
  private static <T> T at(Object map, String key) {
    return (T) ((Map<String, Object>) map).get(key);
  }

  @Test
  void endpointHealthAndMeters_showWhatTheBalancersSee() {
    RestClient client = restClientBuilder.build();
    for (int i = 0; i < 6; i++) {
      client.get().uri("http://orders.test:" + orders.port() + "/").retrieve().body(String.class);
    }
    ResponseEntity<Map<String, Object>> up = actuator("health/loadstar");
    assertThat(up.getStatusCode().value()).isEqualTo(200);
    assertThat(up.getBody().get("status")).isEqualTo("UP");
    gone.kill(0);
    gone.kill(1);
    for (int i = 0; i < 6; i++) {
      try {
        client.get().uri("http://gone.test:" + gone.port() + "/").retrieve().body(String.class);
      } catch (RuntimeException expected) {
        // every endpoint refuses: the call fails, and each failure counts
      }
    }

    Map<String, Object> all = actuator("loadstar").getBody();
    Map<String, Object> services = at(all, "services");
    assertThat(services).containsOnlyKeys("orders", "gone");
    List<Map<String, Object>> endpoints = at(services.get("orders"), "endpoints");
    assertThat(endpoints).hasSize(3);
    assertThat(endpoints)
        .allSatisfy(
            e -> {
              assertThat(e.get("state")).isEqualTo("READY");
              assertThat(((Number) e.get("successes")).longValue()).isEqualTo(2);
            });
    assertThat((String) at(services.get("orders"), "host")).isEqualTo("orders.test");

    Map<String, Object> one = actuator("loadstar/orders").getBody();
    Map<String, Object> explain = at(one, "explain");
    assertThat((String) explain.get("strategy")).containsIgnoringCase("round");
    assertThat((List<?>) explain.get("candidates")).hasSize(3);
    assertThat(actuator("loadstar/nothing").getStatusCode().value()).isEqualTo(404);

    // Both of gone's endpoints fail their TCP checks within a few probes (real time: polled).
    assertThat(Await.until(() -> actuator("health/loadstar").getStatusCode().value() == 503))
        .isTrue();
    ResponseEntity<Map<String, Object>> health = actuator("health/loadstar");
    assertThat(health.getStatusCode().value()).isEqualTo(503);
    assertThat(health.getBody().get("status")).isEqualTo("DOWN");
    Map<String, Object> details = at(health.getBody(), "details");
    assertThat((List<?>) details.get("noUsableEndpoint")).isEqualTo(List.of("gone"));

    assertThat(registry.find("loadstar.endpoint.in.flight").tag("service", "orders").gauges())
        .hasSize(3);
  }
}
