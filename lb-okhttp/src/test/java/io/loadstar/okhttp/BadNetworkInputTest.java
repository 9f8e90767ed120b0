package io.loadstar.okhttp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.OutlierDetectionConfig;
import io.loadstar.core.Strategies;
import io.loadstar.testing.Await;
import io.loadstar.testing.BadBackends;
import io.loadstar.testing.BadBackends.BadAnswer;
import java.io.IOException;
import java.util.ArrayList;
import java.util.List;
import java.util.function.IntSupplier;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

/**
 * HttpBackends that answer badly, from WireMock's faults and a raw socket that resets mid-body:
 * each bad answer counts as the endpoint's failure, is retried by the idempotency rules, and leaves
 * no connection behind. On {@link BadBackends}: two healthy backends on 127.0.0.1 and .2, the bad
 * one on .3.
 */
class BadNetworkInputTest {

  private final List<AutoCloseable> closeables = new ArrayList<>();
  private final OkHttpClient base = new OkHttpClient.Builder().build();
  private BadBackends backends;
  private int port;

  @BeforeEach
  void startHealthyBackends() throws Exception {
    backends = BadBackends.startHealthy();
    port = backends.port();
  }

  @AfterEach
  void stopAll() throws Exception {
    for (AutoCloseable c : closeables) {
      c.close();
    }
    backends.close();
    base.dispatcher().executorService().shutdown();
    base.connectionPool().evictAll();
  }

  /** Starts the bad backend on 127.0.0.3 and returns how to count what it received. */
  private IntSupplier startBad(BadAnswer answer) throws IOException {
    return backends.startBad(answer);
  }

  private LoadBalancer balancer(io.loadstar.api.SelectionStrategy strategy) {
    LoadBalancer lb =
        LoadBalancers.builder("svc")
            .endpoints(backends.endpoints())
            .strategy(strategy)
            .outlierDetection(OutlierDetectionConfig.defaults())
            .build();
    closeables.add(lb);
    return lb;
  }

  private OkHttpClient client(LoadBalancer lb) {
    // OkHttp's own retry would resend on the same endpoint; off, receipts count only ours.
    return LoadBalancingInterceptor.builder()
        .service("svc.test", lb)
        .build()
        .wrap(base.newBuilder().retryOnConnectionFailure(false).build());
  }

  @ParameterizedTest
  @EnumSource(BadAnswer.class)
  void get_badAnswerFromOneOfThree_everyRequestSucceeds_endpointEjected_noConnectionLeft(
      BadAnswer answer) throws Exception {
    IntSupplier badReceived = startBad(answer);
    LoadBalancer lb = balancer(Strategies.roundRobin());
    OkHttpClient client = client(lb);
    for (int i = 0; i < 60; i++) {
      try (Response r =
          client
              .newCall(new Request.Builder().url("http://svc.test:" + port + "/x").build())
              .execute()) {
        assertThat(r.code()).isEqualTo(200);
        assertThat(r.body().string()).startsWith("ok-");
      }
    }
    EndpointSnapshot bad = lb.inspect().snapshot().get(2);
    assertThat(bad.state()).as("%s", bad).isEqualTo(EndpointSnapshot.State.EJECTED);
    assertThat(bad.failures()).isEqualTo(5);
    assertThat(bad.successes()).isZero();
    assertThat(badReceived.getAsInt()).isEqualTo(5);
    LoadBalancingInterceptorTest.assertPoolIdle(client);
  }

  @ParameterizedTest
  @EnumSource(BadAnswer.class)
  void post_badAnswer_notSentAgain_failsOnce_noConnectionLeft(BadAnswer answer) throws Exception {
    IntSupplier badReceived = startBad(answer);
    LoadBalancer lb = balancer(Strategies.ringHash());
    OkHttpClient client = client(lb);
    PickContext key = keyOn(lb, Endpoint.of("127.0.0.3", port));
    Request post =
        new Request.Builder()
            .url("http://svc.test:" + port + "/pay")
            .post(RequestBody.create("pay", MediaType.get("text/plain")))
            .tag(PickContext.class, key)
            .build();
    assertThatThrownBy(
            () -> {
              try (Response r = client.newCall(post).execute()) {
                r.body().string(); // a body that breaks fails here, for a POST
              }
            })
        .isInstanceOf(IOException.class);
    assertThat(Await.until(() -> badReceived.getAsInt() == 1)).isTrue();
    assertThat(backends.healthyReceived()).isZero();
    assertThat(lb.inspect().snapshot().get(2).failures()).isEqualTo(1);
    assertThat(lb.inspect().snapshot().get(2).inFlight()).isZero();
    LoadBalancingInterceptorTest.assertPoolIdle(client);
  }

  private static PickContext keyOn(LoadBalancer lb, Endpoint target) {
    for (int k = 0; ; k++) {
      PickContext c = PickContext.ofHashKey("user-" + k);
      if (lb.inspect().peek(c).orElseThrow().equals(target)) {
        return c;
      }
    }
  }
}
