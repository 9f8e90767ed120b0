package io.loadstar.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.testing.Await;
import io.loadstar.testing.Concurrently;
import io.loadstar.testing.HttpBackends;
import java.time.Duration;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import mockwebserver3.MockResponse;
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
    SLOW,
    HUNG
  }

  static final Map<String, HttpBackends> BACKENDS = new LinkedHashMap<>();

  @Autowired RestClient.Builder restClientBuilder;
  @Autowired RestTemplateBuilder restTemplateBuilder;
  @Autowired WebClient.Builder webClientBuilder;
  @Autowired LoadstarServices services;

  static String service(Scenario scenario, Client client) {
    return (scenario + "-" + client).toLowerCase(Locale.ROOT).replace('_', '-');
  }

  /**
   * Three backends for {@code scenario}: backend 1 answers 503, backend 0 is slow, or backend 2
   * takes a minute before its headers.
   */
  static HttpBackends start(int first, Scenario scenario) throws Exception {
    HttpBackends.Handler handler =
        switch (scenario) {
          case FAILING -> HttpBackends.Handler.failingAt(1);
          case SLOW -> HttpBackends.Handler.slowAt(0, 100);
          case HUNG ->
              (i, r) ->
                  i == 2
                      ? new MockResponse.Builder()
                          .headersDelay(60, TimeUnit.SECONDS)
                          .body("backend-2")
                          .build()
                      : new MockResponse.Builder().body("backend-" + i).build();
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

  /**
   * Whether {@code client} cuts an attempt that waits past the balancer's attempt timeout (a
   * transport that runs each attempt as one blocking exchange cannot).
   */
  boolean cutsHungAttempts(Client client) {
    return true;
  }

  /**
   * Runs {@code calls} GETs from {@code threads} callers through {@code client} in {@code
   * scenario}, runs it {@link #beside} the other balancer, and asserts that none failed.
   */
  private void noGetFails(Scenario scenario, Client client, int threads, int calls)
      throws Exception {
    Concurrently.Outcome outcome =
        Concurrently.run(threads, calls, getter(client, url(scenario, client)));
    beside(scenario, client, threads, calls, BACKENDS.get(service(scenario, client)), outcome);
    assertThat(outcome.failed()).as("%s", outcome).isZero();
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
    noGetFails(Scenario.KILLED, client, 4, 300);
    LoadBalancer lb = services.balancer(name);
    EndpointSnapshot dead = lb.inspect().snapshot().get(2);
    assertThat(dead.state()).as("%s", dead).isEqualTo(EndpointSnapshot.State.EJECTED);
  }

  @ParameterizedTest
  @EnumSource(Client.class)
  void oneBackendAnswers503_noGetFails_andItIsEjectedAfterTheFifth(Client client) throws Exception {
    String name = service(Scenario.FAILING, client);
    noGetFails(Scenario.FAILING, client, 1, 300);
    assertThat(BACKENDS.get(name).counts()[1]).isEqualTo(5); // one caller: nothing in flight
    LoadBalancer lb = services.balancer(name);
    assertThat(lb.inspect().snapshot().get(1).state()).isEqualTo(EndpointSnapshot.State.EJECTED);
  }

  @ParameterizedTest
  @EnumSource(Client.class)
  void oneBackend100msSlow_getsAtMostATenthOfTheRequests(Client client) throws Exception {
    String name = service(Scenario.SLOW, client);
    HttpBackends backends = BACKENDS.get(name);
    noGetFails(Scenario.SLOW, client, 8, 480);
    assertThat(backends.counts()[0])
        .as("requests per backend: %s", Arrays.toString(backends.counts()))
        .isLessThanOrEqualTo(backends.total() / 10);
  }

  @ParameterizedTest
  @EnumSource(Client.class)
  void oneBackendHung_withTheDefaults_noGetFails_andItsAttemptsAreCut(Client client)
      throws Exception {
    assumeTrue(
        cutsHungAttempts(client),
        client + " on this transport runs an attempt as one blocking exchange: it cannot be cut");
    String name = service(Scenario.HUNG, client);
    HttpBackends backends = BACKENDS.get(name);
    noGetFails(Scenario.HUNG, client, 4, 120);
    LoadBalancer lb = services.balancer(name);
    EndpointSnapshot hung = lb.inspect().snapshot().get(2);
    // Its attempts were cut (a minute before it answers) and counted as its failures; none is
    // left in flight.
    assertThat(hung.failures()).as("%s", hung).isPositive();
    assertThat(Await.until(() -> lb.inspect().snapshot().get(2).inFlight() == 0))
        .as("%s", lb.inspect().snapshot().get(2))
        .isTrue();
  }
}
