package io.loadstar.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.loadstar.api.LoadBalancer;
import io.loadstar.testing.Await;
import io.loadstar.testing.HttpBackends;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import mockwebserver3.RecordedRequest;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.web.client.ResourceAccessException;
import org.springframework.web.client.RestClient;
import org.springframework.web.reactive.function.client.WebClient;

/**
 * The failover scenarios on the transports that cannot connect to one address while verifying
 * another name, balanced by sending each attempt to the endpoint's address: RestClient and
 * RestTemplate on the JDK's HttpClient, WebClient on Reactor Netty (Boot's default connector).
 * Plain HTTP works; HTTPS is refused before anything is sent.
 */
// Closed when the class ends: its balancers stop probing backends the class has stopped.
@DirtiesContext
@SpringBootTest(
    classes = FailoverScenarios.App.class,
    webEnvironment = SpringBootTest.WebEnvironment.NONE,
    properties = {
      "spring.http.clients.imperative.factory=jdk",
      "loadstar.timeout-header=Request-Timeout-Ms" // renamed: WebClient sends this one
    })
class ByAddressClientsTest extends FailoverScenarios {

  private static HttpBackends plain;
  private static HttpBackends hedged;

  @DynamicPropertySource
  static void plainService(DynamicPropertyRegistry registry) throws Exception {
    plain = HttpBackends.startAt(28, 3, s -> {}, HttpBackends.Handler.ok());
    registry.add("loadstar.services.plain.host", () -> "plain.test");
    registry.add("loadstar.services.plain.strategy", () -> "round-robin");
    for (int i = 0; i < 3; i++) {
      String endpoint = plain.endpoint(i).authority();
      registry.add("loadstar.services.plain.endpoints[" + i + "]", () -> endpoint);
    }
    // Backend 0 hangs; no attempt timeout, so only a hedge can answer a GET sent to it first.
    hedged = HttpBackends.startAt(120, 3, s -> {}, HttpBackends.Handler.hungBelow(1));
    registry.add("loadstar.services.hedged.host", () -> "hedged.test");
    registry.add("loadstar.services.hedged.strategy", () -> "round-robin");
    registry.add("loadstar.services.hedged.retry.hedging", () -> "50ms");
    registry.add("loadstar.services.hedged.retry.attempt-timeout", () -> "none");
    for (int i = 0; i < 3; i++) {
      String endpoint = hedged.endpoint(i).authority();
      registry.add("loadstar.services.hedged.endpoints[" + i + "]", () -> endpoint);
    }
  }

  @AfterAll
  static void stopPlain() {
    plain.close();
    hedged.close();
  }

  /** RestClient and RestTemplate run each attempt as one blocking exchange of the JDK client. */
  @Override
  boolean cutsHungAttempts(Client client) {
    return client == Client.WEB_CLIENT;
  }

  @Test
  void eachClient_reachesEveryEndpointByAddress_withTheRequestUnchangedOtherwise() {
    java.net.URI url = java.net.URI.create("http://plain.test:" + plain.port() + "/items?q=a%20b");
    RestClient rest = restClientBuilder.build();
    WebClient web = webClientBuilder.build();
    List<String> hosts = new ArrayList<>();
    for (int i = 0; i < 3; i++) {
      assertThat(rest.get().uri(url).retrieve().body(String.class)).startsWith("backend-");
      assertThat(restTemplateBuilder.build().getForObject(url, String.class))
          .startsWith("backend-");
      assertThat(
              web.get().uri(url).retrieve().bodyToMono(String.class).block(Duration.ofSeconds(30)))
          .startsWith("backend-");
    }
    assertThat(plain.counts()).containsExactly(3, 3, 3);
    int told = 0;
    for (int i = 0; i < 3; i++) {
      for (RecordedRequest r : plain.received(i)) {
        assertThat(r.getTarget()).isEqualTo("/items?q=a%20b");
        hosts.add(r.getHeaders().get("Host"));
        assertThat(r.getHeaders().get("Loadstar-Timeout-Ms")).as("renamed").isNull();
        String budget = r.getHeaders().get("Request-Timeout-Ms");
        if (String.valueOf(r.getHeaders().get("User-Agent")).startsWith("ReactorNetty")) {
          // WebClient cuts an attempt at its timeout, and tells the server (1 s until measured).
          assertThat(budget).as("WebClient's attempt budget").isNotNull();
          assertThat(Integer.parseInt(budget)).isBetween(1, 1000);
          told++;
        } else {
          assertThat(budget)
              .as("the JDK client's attempts are never cut: nothing to tell")
              .isNull();
        }
      }
    }
    assertThat(told).as("WebClient's requests").isEqualTo(3);
    System.out.println("ByAddressClientsTest: Host headers received: " + hosts);
  }

  @Test
  void webClient_hedgesAsTheServicesRetryHedgingSays() {
    WebClient web = webClientBuilder.baseUrl("http://hedged.test:" + hedged.port()).build();
    for (int i = 0; i < 6; i++) {
      assertThat(
              web.get().uri("/").retrieve().bodyToMono(String.class).block(Duration.ofSeconds(30)))
          .startsWith("backend-")
          .isNotEqualTo("backend-0");
    }
    LoadBalancer lb = services.balancer("hedged");
    assertThat(hedged.counts()[0]).as("GETs sent to the hung backend first").isPositive();
    assertThat(lb.inspect().retryStats().hedges()).isEqualTo(hedged.counts()[0]);
    assertThat(Await.until(() -> lb.inspect().snapshot().stream().allMatch(e -> e.inFlight() == 0)))
        .isTrue();
    assertThat(lb.inspect().snapshot()).allSatisfy(e -> assertThat(e.failures()).isZero());
  }

  @Test
  void https_isRefusedBeforeAnythingIsSent_namingTheSettings() {
    String url = "https://plain.test:" + plain.port() + "/";
    int before = plain.total();
    assertThatThrownBy(() -> restClientBuilder.build().get().uri(url).retrieve().body(String.class))
        .isInstanceOf(ResourceAccessException.class)
        .hasMessageContaining("spring.http.clients.imperative.factory=http-components")
        .hasMessageContaining("loadstar.services.plain.tls-name=endpoint-address");
    assertThatThrownBy(
            () ->
                webClientBuilder
                    .build()
                    .get()
                    .uri(url)
                    .retrieve()
                    .bodyToMono(String.class)
                    .block(Duration.ofSeconds(30)))
        .hasMessageContaining("loadstar.services.plain.tls-name=endpoint-address");
    assertThat(plain.total()).isEqualTo(before);
  }
}
