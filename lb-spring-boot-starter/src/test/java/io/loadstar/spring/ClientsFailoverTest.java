package io.loadstar.spring;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.testing.Concurrently;
import io.loadstar.testing.HttpBackends;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import org.junit.jupiter.api.AfterAll;
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
 * The failover scenarios on Apache HttpClient 5 (RestClient and RestTemplate on Boot's default for
 * them with the starter, WebClient on the HttpClient 5 connector), which keeps the service's name
 * for {@code Host} and TLS. Each scenario runs the same way through Spring Cloud LoadBalancer (its
 * own application, its defaults) beside it, on backends of its own; the figures of both are printed
 * at the end (the starter's README has them).
 */
// Closed when the class ends: its balancers stop probing backends the class has stopped.
@DirtiesContext
@SpringBootTest(
    classes = FailoverScenarios.App.class,
    webEnvironment = SpringBootTest.WebEnvironment.NONE,
    properties = "spring.http.clients.reactive.connector=http-components")
class ClientsFailoverTest extends FailoverScenarios {

  /** The same scenarios' backends for Spring Cloud LoadBalancer, by its service id. */
  private static final Map<String, HttpBackends> SCLB_BACKENDS = new LinkedHashMap<>();

  /** Each run's figures, for the side-by-side table printed at the end. */
  private static final Map<String, String> FIGURES = new TreeMap<>();

  private static ConfigurableApplicationContext scLb;

  @DynamicPropertySource
  static void scLbBackends(DynamicPropertyRegistry registry) throws Exception {
    int first = 40;
    for (Scenario scenario : Scenario.values()) {
      if (scenario == Scenario.HUNG) {
        continue; // not run through Spring Cloud LoadBalancer: see beside()
      }
      for (Client client : Client.values()) {
        SCLB_BACKENDS.put("sclb-" + service(scenario, client), start(first, scenario));
        first += 3;
      }
    }
  }

  @AfterAll
  static void stopScLb() {
    if (scLb != null) {
      scLb.close();
      scLb = null;
    }
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
  @Override
  void beside(
      Scenario scenario,
      Client client,
      int threads,
      int calls,
      HttpBackends loadstarBackends,
      Concurrently.Outcome loadstar)
      throws Exception {
    if (scenario == Scenario.HUNG) {
      // It does not retry, and its clients' default timeouts are no shorter than the hung
      // backend's minute: each GET it sent there (a third of them) would wait that minute.
      FIGURES.put(
          scenario + " " + client,
          loadstarFigures(loadstar, calls, loadstarBackends)
              + " | Spring Cloud LoadBalancer not run (no retries, and no timeout under a minute by"
              + " default: a third of its GETs would wait the hung backend's minute)");
      return;
    }
    String id = "sclb-" + service(scenario, client);
    HttpBackends backends = SCLB_BACKENDS.get(id);
    if (scenario == Scenario.KILLED) {
      backends.kill(2);
    }
    // Spring Cloud LoadBalancer over HttpClient 5 waits HttpClient's default second before it
    // retries a 503 on the same instance: 60 calls from 4 threads, so that it ends in seconds.
    int scLbThreads = scenario == Scenario.FAILING ? 4 : threads;
    int scLbCalls = scenario == Scenario.FAILING ? 60 : calls;
    Concurrently.Outcome outcome = Concurrently.run(scLbThreads, scLbCalls, scLbGetter(client, id));
    FIGURES.put(
        scenario + " " + client,
        loadstarFigures(loadstar, calls, loadstarBackends)
            + " | Spring Cloud LoadBalancer "
            + outcome.failed()
            + " of "
            + scLbCalls
            + " failed, per backend "
            + Arrays.toString(backends.counts()));
    assertThat(backends.total())
        .as("requests reached Spring Cloud LoadBalancer's backends")
        .isPositive();
  }

  /** Loadstar's side of a scenario's figures: failed calls, and requests per backend. */
  private static String loadstarFigures(
      Concurrently.Outcome loadstar, int calls, HttpBackends backends) {
    return "Loadstar "
        + loadstar.failed()
        + " of "
        + calls
        + " failed, per backend "
        + Arrays.toString(backends.counts());
  }
}
