package io.loadstar.okhttp;

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
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.OutlierDetectionConfig;
import io.loadstar.core.Strategies;
import io.loadstar.testing.Await;
import io.loadstar.testing.ResettingHttpBackend;
import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
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
 * no connection behind. Two healthy WireMock backends on 127.0.0.1 and .2, the bad one on .3, one
 * port.
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
  private final OkHttpClient base = new OkHttpClient.Builder().build();
  private final List<WireMockServer> healthy = new ArrayList<>();
  private int port;
  private WireMockServer badWireMock;

  @BeforeEach
  void startHealthyBackends() throws Exception {
    for (int tries = 0; ; tries++) {
      port = freePort();
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
    for (AutoCloseable c : closeables) {
      c.close();
    }
    healthy.forEach(WireMockServer::stop);
    if (badWireMock != null) {
      badWireMock.stop();
    }
    base.dispatcher().executorService().shutdown();
    base.connectionPool().evictAll();
  }

  private WireMockServer start(String address) {
    WireMockServer server =
        new WireMockServer(options().bindAddress(address).port(port).containerThreads(8));
    server.start();
    return server;
  }

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      return s.getLocalPort();
    }
  }

  /** Starts the bad backend on 127.0.0.3 and returns how to count what it received. */
  private IntSupplier startBad(BadAnswer answer) throws IOException {
    if (answer == BadAnswer.RESET_MID_BODY) {
      ResettingHttpBackend raw = new ResettingHttpBackend("127.0.0.3", port);
      closeables.add(raw);
      return raw::requests;
    }
    Fault fault;
    switch (answer) {
      case MALFORMED_CHUNKED_BODY:
        fault = Fault.MALFORMED_RESPONSE_CHUNK;
        break;
      case RANDOM_DATA_THEN_CLOSE:
        fault = Fault.RANDOM_DATA_THEN_CLOSE;
        break;
      case EMPTY_RESPONSE:
        fault = Fault.EMPTY_RESPONSE;
        break;
      default:
        fault = Fault.CONNECTION_RESET_BY_PEER;
    }
    badWireMock = start("127.0.0.3");
    badWireMock.stubFor(any(anyUrl()).willReturn(aResponse().withFault(fault)));
    AtomicInteger counter = new AtomicInteger();
    badWireMock.addMockServiceRequestListener((request, response) -> counter.incrementAndGet());
    return counter::get;
  }

  private List<Endpoint> endpoints() {
    List<Endpoint> list = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      list.add(Endpoint.of("127.0.0." + i, port));
    }
    return list;
  }

  private LoadBalancer balancer(io.loadstar.api.SelectionStrategy strategy) {
    LoadBalancer lb =
        LoadBalancers.builder("svc")
            .endpoints(endpoints())
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
    assertThat(healthy.get(0).getAllServeEvents()).isEmpty();
    assertThat(healthy.get(1).getAllServeEvents()).isEmpty();
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
