package io.loadstar.httpclient5;

import static com.github.tomakehurst.wiremock.client.WireMock.aResponse;
import static com.github.tomakehurst.wiremock.client.WireMock.any;
import static com.github.tomakehurst.wiremock.client.WireMock.anyUrl;
import static com.github.tomakehurst.wiremock.core.WireMockConfiguration.options;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.github.tomakehurst.wiremock.WireMockServer;
import com.github.tomakehurst.wiremock.http.Fault;
import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.SelectionStrategy;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.Strategies;
import io.loadstar.testing.Await;
import io.loadstar.testing.ResettingHttpBackend;
import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.IntSupplier;
import org.apache.hc.client5.http.async.methods.SimpleHttpResponse;
import org.apache.hc.client5.http.async.methods.SimpleRequestBuilder;
import org.apache.hc.client5.http.async.methods.SimpleRequestProducer;
import org.apache.hc.client5.http.async.methods.SimpleResponseConsumer;
import org.apache.hc.client5.http.classic.methods.HttpGet;
import org.apache.hc.client5.http.classic.methods.HttpPost;
import org.apache.hc.client5.http.impl.async.CloseableHttpAsyncClient;
import org.apache.hc.client5.http.impl.async.HttpAsyncClients;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManager;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManagerBuilder;
import org.apache.hc.client5.http.impl.nio.PoolingAsyncClientConnectionManager;
import org.apache.hc.client5.http.impl.nio.PoolingAsyncClientConnectionManagerBuilder;
import org.apache.hc.client5.http.protocol.HttpClientContext;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.io.entity.EntityUtils;
import org.apache.hc.core5.http.io.entity.StringEntity;
import org.apache.hc.core5.io.CloseMode;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * Backends that answer badly, from WireMock's faults and a raw socket that resets mid-body, for the
 * classic and the async client: each bad answer counts as the endpoint's failure, a GET is retried
 * on a healthy endpoint, a POST is not sent again, and no connection is left leased. Two healthy
 * WireMock backends on 127.0.0.1 and .2, the bad one on .3, one port.
 */
class BadNetworkInputTest {

  /** The bad answers under test. */
  enum BadAnswer {
    MALFORMED_CHUNKED_BODY,
    RANDOM_DATA_THEN_CLOSE,
    EMPTY_RESPONSE,
    RESET_BEFORE_ANSWERING,
    RESET_MID_BODY
  }

  private final List<AutoCloseable> closeables = new ArrayList<>();
  private final List<WireMockServer> healthy = new ArrayList<>();
  private int port;

  @BeforeEach
  void startHealthyBackends() throws Exception {
    for (int tries = 0; ; tries++) {
      try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
        port = s.getLocalPort();
      }
      try {
        for (int i = 1; i <= 2; i++) {
          healthy.add(start("127.0.0." + i));
          healthy.get(i - 1).stubFor(any(anyUrl()).willReturn(aResponse().withBody("ok-" + i)));
        }
        return;
      } catch (RuntimeException e) {
        healthy.forEach(WireMockServer::stop);
        healthy.clear();
        if (!(e.getCause() instanceof BindException) || tries == 10) {
          throw e;
        }
      }
    }
  }

  @AfterEach
  void stopAll() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
    healthy.forEach(WireMockServer::stop);
  }

  private WireMockServer start(String address) {
    WireMockServer server =
        new WireMockServer(options().bindAddress(address).port(port).containerThreads(8));
    server.start();
    return server;
  }

  /** Starts the bad backend on 127.0.0.3 and returns how many requests it received. */
  private IntSupplier startBad(BadAnswer answer) throws IOException {
    if (answer == BadAnswer.RESET_MID_BODY) {
      ResettingHttpBackend raw = new ResettingHttpBackend("127.0.0.3", port);
      closeables.add(raw);
      return raw::requests;
    }
    Fault fault =
        switch (answer) {
          case MALFORMED_CHUNKED_BODY -> Fault.MALFORMED_RESPONSE_CHUNK;
          case RANDOM_DATA_THEN_CLOSE -> Fault.RANDOM_DATA_THEN_CLOSE;
          case EMPTY_RESPONSE -> Fault.EMPTY_RESPONSE;
          default -> Fault.CONNECTION_RESET_BY_PEER;
        };
    WireMockServer bad = start("127.0.0.3");
    closeables.add(bad::stop);
    bad.stubFor(any(anyUrl()).willReturn(aResponse().withFault(fault)));
    AtomicInteger counter = new AtomicInteger();
    bad.addMockServiceRequestListener((request, response) -> counter.incrementAndGet());
    return counter::get;
  }

  private LoadBalancer balancer(SelectionStrategy strategy) {
    List<Endpoint> endpoints = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      endpoints.add(Endpoint.of("127.0.0." + i, port));
    }
    LoadBalancer lb = LoadBalancers.builder("svc").endpoints(endpoints).strategy(strategy).build();
    closeables.add(lb);
    return lb;
  }

  private HttpClientLoadBalancing balancing(LoadBalancer lb) {
    return HttpClientLoadBalancing.builder().service("svc.test", lb).build();
  }

  @ParameterizedTest
  @EnumSource(BadAnswer.class)
  void classicGet_badAnswerFromOneOfThree_everyRequestSucceeds_endpointEjected_nothingLeased(
      BadAnswer answer) throws Exception {
    IntSupplier badReceived = startBad(answer);
    LoadBalancer lb = balancer(Strategies.roundRobin());
    PoolingHttpClientConnectionManager pool =
        PoolingHttpClientConnectionManagerBuilder.create().build();
    CloseableHttpClient client =
        balancing(lb).configure(HttpClients.custom().setConnectionManager(pool)).build();
    closeables.add(client);
    for (int i = 0; i < 60; i++) {
      String body =
          client.execute(
              new HttpGet("http://svc.test:" + port + "/x"),
              r -> r.getCode() + " " + EntityUtils.toString(r.getEntity()));
      assertThat(body).startsWith("200 ok-");
    }
    assertEjectedAfterFive(lb, badReceived);
    assertThat(pool.getTotalStats().getLeased()).isZero();
  }

  @ParameterizedTest
  @EnumSource(BadAnswer.class)
  void classicPost_badAnswer_notSentAgain_failsOnce_nothingLeased(BadAnswer answer)
      throws Exception {
    IntSupplier badReceived = startBad(answer);
    LoadBalancer lb = balancer(Strategies.ringHash());
    PoolingHttpClientConnectionManager pool =
        PoolingHttpClientConnectionManagerBuilder.create().build();
    CloseableHttpClient client =
        balancing(lb).configure(HttpClients.custom().setConnectionManager(pool)).build();
    closeables.add(client);
    HttpPost post = new HttpPost("http://svc.test:" + port + "/pay");
    post.setEntity(new StringEntity("pay", ContentType.TEXT_PLAIN));
    HttpClientContext context =
        ClassicClientTest.context(keyOn(lb, Endpoint.of("127.0.0.3", port)));
    assertThatThrownBy(
            () -> client.execute(post, context, r -> EntityUtils.toString(r.getEntity())))
        .isInstanceOf(IOException.class);
    assertPostFailedOnce(lb, badReceived);
    assertThat(pool.getTotalStats().getLeased()).isZero();
  }

  @ParameterizedTest
  @EnumSource(BadAnswer.class)
  void asyncGet_badAnswerFromOneOfThree_everyRequestSucceeds_endpointEjected_nothingLeased(
      BadAnswer answer) throws Exception {
    IntSupplier badReceived = startBad(answer);
    LoadBalancer lb = balancer(Strategies.roundRobin());
    PoolingAsyncClientConnectionManager pool =
        PoolingAsyncClientConnectionManagerBuilder.create().build();
    CloseableHttpAsyncClient client = async(lb, pool);
    for (int i = 0; i < 60; i++) {
      SimpleHttpResponse r =
          client
              .execute(SimpleRequestBuilder.get("http://svc.test:" + port + "/x").build(), null)
              .get(30, TimeUnit.SECONDS);
      assertThat(r.getCode() + " " + r.getBodyText()).startsWith("200 ok-");
    }
    assertEjectedAfterFive(lb, badReceived);
    assertThat(Await.until(() -> pool.getTotalStats().getLeased() == 0)).isTrue();
  }

  @ParameterizedTest
  @EnumSource(BadAnswer.class)
  void asyncPost_badAnswer_notSentAgain_failsOnce_nothingLeased(BadAnswer answer) throws Exception {
    IntSupplier badReceived = startBad(answer);
    LoadBalancer lb = balancer(Strategies.ringHash());
    PoolingAsyncClientConnectionManager pool =
        PoolingAsyncClientConnectionManagerBuilder.create().build();
    CloseableHttpAsyncClient client = async(lb, pool);
    HttpClientContext context =
        ClassicClientTest.context(keyOn(lb, Endpoint.of("127.0.0.3", port)));
    assertThatThrownBy(
            () ->
                client
                    .execute(
                        SimpleRequestProducer.create(
                            SimpleRequestBuilder.post("http://svc.test:" + port + "/pay")
                                .setBody("pay", ContentType.TEXT_PLAIN)
                                .build()),
                        SimpleResponseConsumer.create(),
                        context,
                        null)
                    .get(30, TimeUnit.SECONDS))
        .isInstanceOf(ExecutionException.class);
    assertPostFailedOnce(lb, badReceived);
    assertThat(Await.until(() -> pool.getTotalStats().getLeased() == 0)).isTrue();
  }

  private CloseableHttpAsyncClient async(
      LoadBalancer lb, PoolingAsyncClientConnectionManager pool) {
    CloseableHttpAsyncClient client =
        balancing(lb).configure(HttpAsyncClients.custom().setConnectionManager(pool)).build();
    client.start();
    closeables.add(() -> client.close(CloseMode.GRACEFUL));
    return client;
  }

  private void assertEjectedAfterFive(LoadBalancer lb, IntSupplier badReceived) {
    EndpointSnapshot bad = lb.inspect().snapshot().get(2);
    assertThat(bad.state()).as("%s", bad).isEqualTo(EndpointSnapshot.State.EJECTED);
    assertThat(bad.failures()).isEqualTo(5);
    assertThat(bad.successes()).isZero();
    assertThat(badReceived.getAsInt()).isEqualTo(5);
    assertThat(Await.until(() -> lb.inspect().snapshot().stream().allMatch(e -> e.inFlight() == 0)))
        .isTrue();
  }

  private void assertPostFailedOnce(LoadBalancer lb, IntSupplier badReceived) {
    assertThat(Await.until(() -> badReceived.getAsInt() == 1)).isTrue();
    assertThat(healthy.get(0).getAllServeEvents()).isEmpty();
    assertThat(healthy.get(1).getAllServeEvents()).isEmpty();
    assertThat(lb.inspect().snapshot().get(2).failures()).isEqualTo(1);
    assertThat(Await.until(() -> lb.inspect().snapshot().get(2).inFlight() == 0)).isTrue();
  }

  private static PickContext keyOn(LoadBalancer lb, Endpoint target) {
    return ClassicClientTest.keyOn(lb, target);
  }
}
