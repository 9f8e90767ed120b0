package io.loadstar.spring;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.testing.Concurrently;
import io.loadstar.testing.HttpBackends;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import mockwebserver3.MockResponse;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.restclient.RestTemplateBuilder;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.cloud.client.loadbalancer.LoadBalanced;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.web.client.RestClient;
import org.springframework.web.client.RestTemplate;
import org.springframework.web.reactive.function.client.WebClient;

/**
 * A Spring Boot application calling three real loopback backends per service through each of
 * RestClient, RestTemplate and WebClient, configured by properties only: one backend killed, one
 * answering 503, one 100 ms slow. Each (scenario, client) pair has a service and backends of its
 * own, so no pair starts from what another taught its balancer. Each scenario runs the same way
 * through Spring Cloud LoadBalancer (its own application, its defaults) beside it, on backends of
 * its own; the figures of both are printed at the end (the starter's README has them).
 */
// Closed when the class ends: its balancers stop probing backends the class has stopped.
@DirtiesContext
@SpringBootTest(
    classes = ClientsFailoverTest.App.class,
    webEnvironment = SpringBootTest.WebEnvironment.NONE,
    properties = "spring.http.clients.reactive.connector=http-components")
class ClientsFailoverTest {

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

  private static final Map<String, HttpBackends> BACKENDS = new LinkedHashMap<>();

  /** The same scenarios' backends for Spring Cloud LoadBalancer, by its service id. */
  private static final Map<String, HttpBackends> SCLB_BACKENDS = new LinkedHashMap<>();

  /** Each run's figures, for the side-by-side table printed at the end. */
  private static final Map<String, String> FIGURES = new java.util.TreeMap<>();

  private static ConfigurableApplicationContext scLb;

  @Autowired private RestClient.Builder restClientBuilder;
  @Autowired private RestTemplateBuilder restTemplateBuilder;
  @Autowired private WebClient.Builder webClientBuilder;
  @Autowired private LoadstarServices services;

  private static String service(Scenario scenario, Client client) {
    return (scenario + "-" + client).toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /** Three backends for {@code scenario}: backend 1 answers 503 or backend 0 is slow. */
  private static HttpBackends start(int first, Scenario scenario) throws Exception {
    return HttpBackends.startAt(
        first,
        3,
        s -> {},
        (i, r) -> {
          if (scenario == Scenario.FAILING && i == 1) {
            return new MockResponse.Builder().code(503).body("overloaded").build();
          }
          return new MockResponse.Builder()
              .body("backend-" + i)
              .headersDelay(scenario == Scenario.SLOW && i == 0 ? 100 : 0, TimeUnit.MILLISECONDS)
              .build();
        });
  }

  @DynamicPropertySource
  static void services(DynamicPropertyRegistry registry) throws Exception {
    int first = 1;
    for (Scenario scenario : Scenario.values()) {
      for (Client client : Client.values()) {
        HttpBackends b = start(first, scenario);
        SCLB_BACKENDS.put("sclb-" + service(scenario, client), start(first + 27, scenario));
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
    if (scLb != null) {
      scLb.close();
      scLb = null;
    }
    BACKENDS.values().forEach(HttpBackends::close);
    BACKENDS.clear();
    SCLB_BACKENDS.values().forEach(HttpBackends::close);
    SCLB_BACKENDS.clear();
    StringBuilder table = new StringBuilder("\nClientsFailoverTest, side by side:\n");
    FIGURES.forEach((k, v) -> table.append("  ").append(k).append(": ").append(v).append('\n'));
    System.out.println(table);
  }

  /**
   * Spring Cloud LoadBalancer's application, as its users write it: {@code @LoadBalanced} builders,
   * instances from Spring Cloud's simple DiscoveryClient, its defaults otherwise (round robin; no
   * retries, no health checks). Loadstar is off there.
   */
  @Configuration(proxyBeanMethods = false)
  @EnableAutoConfiguration
  static class ScLbApp {
    @Bean
    @LoadBalanced
    RestClient.Builder loadBalancedRestClientBuilder() {
      return RestClient.builder();
    }

    @Bean
    @LoadBalanced
    RestTemplate loadBalancedRestTemplate(RestTemplateBuilder builder) {
      return builder.build();
    }

    @Bean
    @LoadBalanced
    WebClient.Builder loadBalancedWebClientBuilder() {
      return WebClient.builder();
    }
  }

  private static synchronized ConfigurableApplicationContext scLb() {
    if (scLb == null) {
      List<String> properties = new ArrayList<>();
      properties.add("loadstar.enabled=false");
      SCLB_BACKENDS.forEach(
          (id, b) -> {
            for (int i = 0; i < 3; i++) {
              properties.add(
                  "spring.cloud.discovery.client.simple.instances."
                      + id
                      + "["
                      + i
                      + "].uri=http://"
                      + b.endpoint(i).authority());
            }
          });
      scLb =
          new SpringApplicationBuilder(ScLbApp.class)
              .web(WebApplicationType.NONE)
              .properties(properties.toArray(new String[0]))
              .run();
    }
    return scLb;
  }

  /** Makes one GET to {@code serviceId} through Spring Cloud LoadBalancer's {@code client}. */
  private static Concurrently.Call scLbGetter(Client client, String serviceId) {
    ConfigurableApplicationContext context = scLb();
    String url = "http://" + serviceId + "/";
    switch (client) {
      case REST_CLIENT:
        RestClient rest = context.getBean(RestClient.Builder.class).build();
        return i -> rest.get().uri(url).retrieve().toEntity(String.class);
      case REST_TEMPLATE:
        RestTemplate template = context.getBean(RestTemplate.class);
        return i -> template.getForEntity(url, String.class);
      default:
        WebClient web = context.getBean(WebClient.Builder.class).build();
        return i ->
            web.get().uri(url).retrieve().toEntity(String.class).block(Duration.ofSeconds(30));
    }
  }

  /**
   * Runs {@code scenario} through Spring Cloud LoadBalancer as through Loadstar, and records both
   * sides' figures. Spring Cloud LoadBalancer's are recorded, not held to Loadstar's targets.
   */
  private static void sideBySide(
      Scenario scenario, Client client, int threads, int calls, Concurrently.Outcome loadstar)
      throws Exception {
    int loadstarCalls = scenario == Scenario.SLOW ? 480 : 300;
    String name = service(scenario, client);
    HttpBackends loadstarBackends = BACKENDS.get(name);
    String id = "sclb-" + name;
    HttpBackends backends = SCLB_BACKENDS.get(id);
    if (scenario == Scenario.KILLED) {
      backends.kill(2);
    }
    Concurrently.Outcome outcome = Concurrently.run(threads, calls, scLbGetter(client, id));
    FIGURES.put(
        scenario + " " + client,
        "Loadstar "
            + loadstar.failed()
            + " of "
            + loadstarCalls
            + " failed, per backend "
            + Arrays.toString(loadstarBackends.counts())
            + " | Spring Cloud LoadBalancer "
            + outcome.failed()
            + " of "
            + calls
            + " failed, per backend "
            + Arrays.toString(backends.counts()));
    assertThat(backends.total())
        .as("requests reached Spring Cloud LoadBalancer's backends")
        .isPositive();
  }

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
    sideBySide(Scenario.KILLED, client, 4, 300, outcome);
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
    // Spring Cloud LoadBalancer over HttpClient 5 waits HttpClient's default second before it
    // retries a 503 on the same instance: 60 calls from 4 threads, so that it ends in seconds.
    sideBySide(Scenario.FAILING, client, 4, 60, outcome);
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
    sideBySide(Scenario.SLOW, client, 8, 480, outcome);
    assertThat(outcome.failed()).as("%s", outcome).isZero();
    HttpBackends backends = BACKENDS.get(name);
    assertThat(backends.counts()[0])
        .as("requests per backend: %s", Arrays.toString(backends.counts()))
        .isLessThanOrEqualTo(backends.total() / 10);
  }
}
