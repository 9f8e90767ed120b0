package io.loadstar.spring;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.testing.Concurrently;
import io.loadstar.testing.HttpBackends;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.restclient.RestTemplateBuilder;
import org.springframework.context.annotation.Configuration;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.web.client.RestClient;
import org.springframework.web.client.RestTemplate;
import org.springframework.web.reactive.function.client.WebClient;

/**
 * A Spring Boot application calling three real loopback backends per service through each of
 * RestClient, RestTemplate and WebClient, configured by properties only: one backend killed, one
 * answering 503, one 100 ms slow. Each (scenario, client) pair has a service and backends of its
 * own, so no pair starts from what another taught its balancer. A subclass picks the transport (its
 * {@code @SpringBootTest} properties) and may run each scenario beside another balancer.
 */
abstract class FailoverScenarios {

  /** The application: Boot's auto-configuration and nothing else. */
  @Configuration(proxyBeanMethods = false)
  @EnableAutoConfiguration
  static class App {}

  /** The clients Boot builds. */
  enum Client {
    REST_CLIENT,
    REST_TEMPLATE,
    WEB_CLIENT
  }

  /** What one backend of the three does. */
  enum Scenario {
    KILLED,
    FAILING,
    SLOW
  }

  static final Map<String, HttpBackends> BACKENDS = new LinkedHashMap<>();

  @Autowired RestClient.Builder restClientBuilder;
  @Autowired RestTemplateBuilder restTemplateBuilder;
  @Autowired WebClient.Builder webClientBuilder;
  @Autowired LoadstarServices services;

  static String service(Scenario scenario, Client client) {
    return (scenario + "-" + client).toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /** Three backends for {@code scenario}: backend 1 answers 503 or backend 0 is slow. */
  static HttpBackends start(int first, Scenario scenario) throws Exception {
    HttpBackends.Handler handler =
        switch (scenario) {
          case FAILING -> HttpBackends.Handler.failingAt(1);
          case SLOW -> HttpBackends.Handler.slowAt(0, 100);
          default -> HttpBackends.Handler.ok();
        };
    return HttpBackends.startAt(first, 3, s -> {}, handler);
  }

  @DynamicPropertySource
  static void services(DynamicPropertyRegistry registry) throws Exception {
    int first = 1;
    for (Scenario scenario : Scenario.values()) {
      for (Client client : Client.values()) {
        HttpBackends b = start(first, scenario);
        first += 3;
        String name = service(scenario, client);
        BACKENDS.put(name, b);
        String prefix = "loadstar.services." + name + ".";
        registry.add(prefix + "host", () -> name + ".test");
        for (int i = 0; i < 3; i++) {
          String endpoint = b.endpoint(i).authority();
          registry.add(prefix + "endpoints[" + i + "]", () -> endpoint);
        }
      }
    }
  }

  @AfterAll
  static void stopBackends() {
    BACKENDS.values().forEach(HttpBackends::close);
    BACKENDS.clear();
  }

  /**
   * Called after each scenario's run through Loadstar ({@code threads} callers, {@code calls}
   * calls, {@code outcome}), before its assertions: to run the scenario beside another balancer.
   */
  void beside(
      Scenario scenario,
      Client client,
      int threads,
      int calls,
      HttpBackends backends,
      Concurrently.Outcome outcome)
      throws Exception {}

  /** Makes one GET through {@code client}; a non-2xx answer throws, as the client does. */
  private Concurrently.Call getter(Client client, String url) {
    switch (client) {
      case REST_CLIENT:
        RestClient rest = restClientBuilder.build();
        return i -> rest.get().uri(url).retrieve().toEntity(String.class);
      case REST_TEMPLATE:
        RestTemplate template = restTemplateBuilder.build();
        return i -> template.getForEntity(url, String.class);
      default:
        WebClient web = webClientBuilder.build();
        return i ->
            web.get().uri(url).retrieve().toEntity(String.class).block(Duration.ofSeconds(30));
    }
  }

  private String url(Scenario scenario, Client client) {
    String name = service(scenario, client);
    return "http://" + name + ".test:" + BACKENDS.get(name).port() + "/";
  }

  @ParameterizedTest
  @EnumSource(Client.class)
  void oneBackendKilled_noGetFails_andItIsEjected(Client client) throws Exception {
    String name = service(Scenario.KILLED, client);
    HttpBackends backends = BACKENDS.get(name);
    backends.kill(2);
    Concurrently.Outcome outcome =
        Concurrently.run(4, 300, getter(client, url(Scenario.KILLED, client)));
    beside(Scenario.KILLED, client, 4, 300, backends, outcome);
    assertThat(outcome.failed()).as("%s", outcome).isZero();
    LoadBalancer lb = services.balancer(name);
    EndpointSnapshot dead = lb.inspect().snapshot().get(2);
    assertThat(dead.state()).as("%s", dead).isEqualTo(EndpointSnapshot.State.EJECTED);
  }

  @ParameterizedTest
  @EnumSource(Client.class)
  void oneBackendAnswers503_noGetFails_andItIsEjectedAfterTheFifth(Client client) throws Exception {
    String name = service(Scenario.FAILING, client);
    Concurrently.Outcome outcome =
        Concurrently.run(1, 300, getter(client, url(Scenario.FAILING, client)));
    beside(Scenario.FAILING, client, 1, 300, BACKENDS.get(name), outcome);
    assertThat(outcome.failed()).as("%s", outcome).isZero();
    assertThat(BACKENDS.get(name).counts()[1]).isEqualTo(5); // one caller: nothing in flight
    LoadBalancer lb = services.balancer(name);
    assertThat(lb.inspect().snapshot().get(1).state()).isEqualTo(EndpointSnapshot.State.EJECTED);
  }

  @ParameterizedTest
  @EnumSource(Client.class)
  void oneBackend100msSlow_getsAtMostATenthOfTheRequests(Client client) throws Exception {
    String name = service(Scenario.SLOW, client);
    Concurrently.Outcome outcome =
        Concurrently.run(8, 480, getter(client, url(Scenario.SLOW, client)));
    HttpBackends backends = BACKENDS.get(name);
    beside(Scenario.SLOW, client, 8, 480, backends, outcome);
    assertThat(outcome.failed()).as("%s", outcome).isZero();
    assertThat(backends.counts()[0])
        .as("requests per backend: %s", Arrays.toString(backends.counts()))
        .isLessThanOrEqualTo(backends.total() / 10);
  }
}
