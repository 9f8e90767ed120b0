package io.loadstar.spring;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static org.assertj.core.api.Assertions.assertThat;

import com.github.tomakehurst.wiremock.WireMockServer;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.Ticker;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.Strategies;
import io.loadstar.httpclient5.HttpClientLoadBalancing;
import io.loadstar.testing.Await;
import io.loadstar.testing.BadBackends;
import io.loadstar.testing.BadBackends.BadAnswer;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.function.Function;
import java.util.function.IntSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.springframework.http.client.JdkClientHttpRequestFactory;
import org.springframework.http.client.reactive.ReactorClientHttpConnector;
import org.springframework.web.client.RestClient;
import org.springframework.web.reactive.function.client.WebClient;

/**
 * Backends that answer badly (WireMock's faults, a raw socket that resets mid-body) on the
 * transports balanced by address: RestClient on the JDK client, WebClient on Reactor Netty. Each
 * bad answer counts as the endpoint's failure, a GET is retried on a healthy endpoint (a body that
 * breaks early too: it is read ahead), a POST is not sent again, and nothing stays in flight. On
 * {@link BadBackends}: two healthy backends on 127.0.0.1 and .2, the bad one on .3.
 */
class ByAddressBadInputTest {

  /** The clients under test, each on its transport. */
  enum Client {
    REST_CLIENT_ON_JDK,
    WEB_CLIENT_ON_REACTOR_NETTY
  }

  private final List<AutoCloseable> closeables = new ArrayList<>();
  private BadBackends backends;
  private int port;

  @BeforeEach
  void startHealthyBackends() throws Exception {
    backends = BadBackends.startHealthy();
    port = backends.port();
  }

  @AfterEach
  void stopAll() throws Exception {
    closeBadBackendAndBalancer();
    backends.close();
  }

  private void closeBadBackendAndBalancer() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
    closeables.clear();
    backends.stopBad();
  }

  private IntSupplier startBad(BadAnswer answer) throws IOException {
    return backends.startBad(answer);
  }

  private LoadBalancer balancer() {
    LoadBalancer lb =
        LoadBalancers.builder("svc")
            .endpoints(backends.endpoints())
            .strategy(Strategies.roundRobin())
            .build();
    closeables.add(lb);
    return lb;
  }

  /** A call through {@code client}: the answer's status and body, or the exception's class. */
  private Function<String, String> client(Client client, LoadBalancer lb) {
    AddressRewriting rewriting =
        new AddressRewriting(
            HttpClientLoadBalancing.builder().service("svc.test", lb).build(),
            Map.of("svc", ServiceProperties.TlsName.SERVICE));
    String base = "http://svc.test:" + port;
    if (client == Client.REST_CLIENT_ON_JDK) {
      RestClient rest =
          RestClient.builder()
              .requestFactory(new JdkClientHttpRequestFactory())
              .requestInterceptor(new RewritingInterceptor(rewriting, "Jdk", Ticker.system()))
              .build();
      return method -> {
        try {
          var entity =
              "GET".equals(method)
                  ? rest.get().uri(base + "/x").retrieve().toEntity(String.class)
                  : rest.post().uri(base + "/pay").body("pay").retrieve().toEntity(String.class);
          return entity.getStatusCode().value() + " " + entity.getBody();
        } catch (RuntimeException e) {
          return e.getClass().getSimpleName();
        }
      };
    }
    WebClient web =
        WebClient.builder()
            .clientConnector(new ReactorClientHttpConnector())
            .filter(new RewritingExchangeFilter(rewriting, "Reactor", Ticker.system(), true))
            .build();
    return method -> {
      try {
        var spec =
            "GET".equals(method)
                ? web.get().uri(base + "/x")
                : web.post().uri(base + "/pay").bodyValue("pay");
        var entity = spec.retrieve().toEntity(String.class).block(Duration.ofSeconds(30));
        return entity.getStatusCode().value() + " " + entity.getBody();
      } catch (RuntimeException e) {
        return e.getClass().getSimpleName();
      }
    };
  }

  @ParameterizedTest
  @EnumSource(BadAnswer.class)
  void get_badAnswerFromOneOfThree_everyRequestSucceeds_endpointEjectedAfterFive(BadAnswer answer)
      throws Exception {
    for (Client c : Client.values()) {
      IntSupplier badReceived = startBad(answer);
      LoadBalancer lb = balancer();
      Function<String, String> call = client(c, lb);
      for (int i = 0; i < 60; i++) {
        assertThat(call.apply("GET")).as("%s, %s", c, answer).startsWith("200 ok-");
      }
      EndpointSnapshot bad = lb.inspect().snapshot().get(2);
      assertThat(bad.state()).as("%s, %s", c, bad).isEqualTo(EndpointSnapshot.State.EJECTED);
      assertThat(bad.failures()).as("%s", c).isEqualTo(5);
      assertThat(bad.successes()).isZero();
      assertThat(badReceived.getAsInt()).as("%s", c).isEqualTo(5);
      assertThat(
              Await.until(() -> lb.inspect().snapshot().stream().allMatch(e -> e.inFlight() == 0)))
          .isTrue();
      closeBadBackendAndBalancer();
    }
  }

  @ParameterizedTest
  @EnumSource(BadAnswer.class)
  void post_badAnswer_notSentAgain_failsOnce(BadAnswer answer) throws Exception {
    for (Client c : Client.values()) {
      IntSupplier badReceived = startBad(answer);
      LoadBalancer lb = balancer();
      Function<String, String> call = client(c, lb);
      int failed = 0;
      for (int i = 0; i < 3; i++) {
        int healthyBefore = healthyTotal();
        String outcome = call.apply("POST");
        if (!outcome.startsWith("200 ok-")) {
          failed++;
          assertThat(healthyTotal()).as("%s, %s: sent again", c, answer).isEqualTo(healthyBefore);
        }
      }
      assertThat(failed).as("%s, %s", c, answer).isEqualTo(1);
      assertThat(Await.until(() -> badReceived.getAsInt() == 1)).isTrue();
      assertThat(lb.inspect().snapshot().get(2).failures()).isEqualTo(1);
      assertThat(Await.until(() -> lb.inspect().snapshot().get(2).inFlight() == 0)).isTrue();
      closeBadBackendAndBalancer();
    }
  }

  @ParameterizedTest
  @EnumSource(Client.class)
  void bodiesBeyondTheReadAhead_arriveWhole_andTheirAttemptsEndWithThem(Client c) throws Exception {
    // 192 KiB: past the 64 KiB read ahead, within WebClient's 256 KiB to buffer.
    String big = "0123456789abcdef".repeat(12 * 1024);
    for (WireMockServer server : backends.healthy()) {
      server.stubFor(
          any(com.github.tomakehurst.wiremock.client.WireMock.urlEqualTo("/x"))
              .willReturn(aResponse().withBody(big).withChunkedDribbleDelay(40, 0)));
    }
    startBad(BadAnswer.EMPTY_RESPONSE);
    LoadBalancer lb = balancer();
    Function<String, String> call = client(c, lb);
    for (int i = 0; i < 9; i++) {
      assertThat(call.apply("GET")).isEqualTo("200 " + big);
    }
    assertThat(Await.until(() -> lb.inspect().snapshot().stream().allMatch(e -> e.inFlight() == 0)))
        .isTrue();
    assertThat(
            lb.inspect().snapshot().get(0).successes() + lb.inspect().snapshot().get(1).successes())
        .isEqualTo(9);
  }

  private int healthyTotal() {
    return backends.healthyReceived();
  }
}
