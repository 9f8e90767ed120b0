package io.loadstar.httpclient5;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.SelectionStrategy;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.Strategies;
import io.loadstar.testing.Await;
import io.loadstar.testing.BadBackends;
import io.loadstar.testing.BadBackends.BadAnswer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
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
 * on a healthy endpoint, a POST is not sent again, and no connection is left leased. On {@link
 * BadBackends}: two healthy backends on 127.0.0.1 and .2, the bad one on .3.
 */
class BadNetworkInputTest {

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
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
    backends.close();
  }

  /** Starts the bad backend on 127.0.0.3 and returns how many requests it received. */
  private IntSupplier startBad(BadAnswer answer) throws IOException {
    return backends.startBad(answer);
  }

  private LoadBalancer balancer(SelectionStrategy strategy) {
    LoadBalancer lb =
        LoadBalancers.builder("svc").endpoints(backends.endpoints()).strategy(strategy).build();
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
    assertThat(backends.healthyReceived()).isZero();
    assertThat(lb.inspect().snapshot().get(2).failures()).isEqualTo(1);
    assertThat(Await.until(() -> lb.inspect().snapshot().get(2).inFlight() == 0)).isTrue();
  }

  private static PickContext keyOn(LoadBalancer lb, Endpoint target) {
    return ClassicClientTest.keyOn(lb, target);
  }
}
