package io.loadstar.httpclient5;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.RetryPolicy;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.Strategies;
import io.loadstar.testing.Concurrently;
import io.loadstar.testing.HttpBackends;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.net.ConnectException;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import mockwebserver3.MockResponse;
import mockwebserver3.RecordedRequest;
import okhttp3.tls.HandshakeCertificates;
import okhttp3.tls.HeldCertificate;
import org.apache.hc.client5.http.classic.methods.HttpGet;
import org.apache.hc.client5.http.classic.methods.HttpPost;
import org.apache.hc.client5.http.config.ConnectionConfig;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManager;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManagerBuilder;
import org.apache.hc.client5.http.protocol.HttpClientContext;
import org.apache.hc.client5.http.ssl.DefaultClientTlsStrategy;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.io.entity.EntityUtils;
import org.apache.hc.core5.http.io.entity.InputStreamEntity;
import org.apache.hc.core5.http.io.entity.StringEntity;
import org.apache.hc.core5.util.Timeout;
import org.junit.jupiter.api.Test;

/**
 * The classic client against real backends on 127.0.0.1-.3 (one port): a pick per request,
 * connections per endpoint, the service's name kept for Host and TLS, the retry rules, and no
 * connection left leased on any path.
 */
class ClassicClientTest extends HttpClient5TestBase {

  private PoolingHttpClientConnectionManager pool;

  private LoadBalancer balancer(List<Endpoint> endpoints) {
    return closeLater(LoadBalancers.builder("svc").endpoints(endpoints).build());
  }

  private LoadBalancer roundRobin(List<Endpoint> endpoints) {
    return closeLater(
        LoadBalancers.builder("svc")
            .endpoints(endpoints)
            .strategy(Strategies.roundRobin())
            .build());
  }

  private CloseableHttpClient client(LoadBalancer lb) {
    return client(lb, null);
  }

  private CloseableHttpClient client(LoadBalancer lb, HandshakeCertificates trust) {
    PoolingHttpClientConnectionManagerBuilder cm =
        PoolingHttpClientConnectionManagerBuilder.create()
            .setMaxConnPerRoute(20)
            .setMaxConnTotal(100)
            .setDefaultConnectionConfig(
                ConnectionConfig.custom()
                    .setConnectTimeout(Timeout.ofSeconds(2))
                    .setSocketTimeout(Timeout.ofSeconds(5))
                    .build());
    if (trust != null) {
      cm.setTlsSocketStrategy(new DefaultClientTlsStrategy(trust.sslContext()));
    }
    pool = cm.build();
    HttpClientLoadBalancing balancing =
        HttpClientLoadBalancing.builder().service("svc.test", lb).build();
    return closeLater(balancing.configure(HttpClients.custom().setConnectionManager(pool)).build());
  }

  private static String get(CloseableHttpClient client, String url) throws IOException {
    return client.execute(
        new HttpGet(url), r -> r.getCode() + " " + EntityUtils.toString(r.getEntity()));
  }

  private static int status(
      CloseableHttpClient client,
      org.apache.hc.core5.http.ClassicHttpRequest request,
      HttpClientContext context)
      throws IOException {
    return client.execute(request, context, r -> r.getCode());
  }

  private void assertNothingLeased() {
    assertThat(pool.getTotalStats().getLeased()).as("leased connections").isZero();
  }

  @Test
  void keepAlive_eachOfThreeBackendsGetsAThird_overConnectionsOfItsOwn() throws Exception {
    HttpBackends backends = closeLater(HttpBackends.start(3));
    CloseableHttpClient client = client(roundRobin(backends.endpoints()));
    for (int i = 0; i < 30; i++) {
      assertThat(get(client, "http://svc.test:" + backends.port() + "/"))
          .startsWith("200 backend-");
    }
    assertThat(backends.counts()).containsExactly(10, 10, 10);
    assertThat(pool.getRoutes()).hasSize(3); // one route, so one pool, per endpoint
    for (int i = 0; i < 3; i++) {
      RecordedRequest r = backends.received(i).get(9);
      assertThat(r.getHeaders().get("Host")).isEqualTo("svc.test:" + backends.port());
      assertThat(r.getConnectionIndex()).isEqualTo(0); // kept alive: one connection each
    }
    assertNothingLeased();
  }

  @Test
  void tls_certificateOnlyForTheServiceName_verifiesAndSendsSniAndHost() throws Exception {
    HeldCertificate root = new HeldCertificate.Builder().certificateAuthority(0).build();
    HeldCertificate svc =
        new HeldCertificate.Builder().addSubjectAlternativeName("svc.test").signedBy(root).build();
    HandshakeCertificates server = new HandshakeCertificates.Builder().heldCertificate(svc).build();
    HandshakeCertificates trust =
        new HandshakeCertificates.Builder().addTrustedCertificate(root.certificate()).build();
    HttpBackends backends =
        closeLater(
            HttpBackends.start(
                3, s -> s.useHttps(server.sslSocketFactory()), HttpBackends.Handler.ok()));
    CloseableHttpClient client = client(roundRobin(backends.endpoints()), trust);
    for (int i = 0; i < 30; i++) {
      assertThat(get(client, "https://svc.test:" + backends.port() + "/"))
          .startsWith("200 backend-");
    }
    assertThat(backends.counts()).containsExactly(10, 10, 10);
    for (int i = 0; i < 3; i++) {
      RecordedRequest r = backends.received(i).get(0);
      assertThat(r.getHandshakeServerNames()).containsExactly("svc.test");
      assertThat(r.getHeaders().get("Host")).isEqualTo("svc.test:" + backends.port());
    }
    // The certificate is not valid for the addresses: going by IP fails verification.
    try (CloseableHttpClient direct =
        HttpClients.custom()
            .setConnectionManager(
                PoolingHttpClientConnectionManagerBuilder.create()
                    .setTlsSocketStrategy(new DefaultClientTlsStrategy(trust.sslContext()))
                    .build())
            .build()) {
      assertThatThrownBy(() -> get(direct, "https://127.0.0.1:" + backends.port() + "/"))
          .isInstanceOf(javax.net.ssl.SSLException.class)
          .hasMessageContaining("127.0.0.1");
    }
    assertNothingLeased();
  }

  @Test
  void oneBackendKilled_noGetFails_andItIsEjectedAfterFiveFailures() throws Exception {
    HttpBackends backends = closeLater(HttpBackends.start(3));
    LoadBalancer lb = balancer(backends.endpoints());
    CloseableHttpClient client = client(lb);
    String url = "http://svc.test:" + backends.port() + "/";
    for (int i = 0; i < 30; i++) {
      get(client, url);
    }
    backends.kill(2);
    for (int i = 0; i < 200; i++) {
      assertThat(get(client, url)).startsWith("200 backend-");
    }
    EndpointSnapshot dead = lb.inspect().snapshot().get(2);
    assertThat(dead.state()).as("%s", dead).isEqualTo(EndpointSnapshot.State.EJECTED);
    assertThat(dead.inFlight()).isZero();
    assertNothingLeased();
  }

  @Test
  void oneBackendAnswers503_noGetFails_itIsEjectedAfterTheFifth_andAllResponsesAreClosed()
      throws Exception {
    HttpBackends backends = closeLater(HttpBackends.start(3, HttpBackends.Handler.failingAt(1)));
    LoadBalancer lb = balancer(backends.endpoints());
    CloseableHttpClient client = client(lb);
    for (int i = 0; i < 200; i++) {
      assertThat(get(client, "http://svc.test:" + backends.port() + "/"))
          .startsWith("200 backend-");
    }
    assertThat(backends.counts()[1]).isEqualTo(5);
    EndpointSnapshot bad = lb.inspect().snapshot().get(1);
    assertThat(bad.state()).isEqualTo(EndpointSnapshot.State.EJECTED);
    assertThat(bad.failures()).isEqualTo(5);
    assertThat(lb.inspect().snapshot()).allSatisfy(e -> assertThat(e.inFlight()).isZero());
    assertNothingLeased();
  }

  @Test
  void oneBackendSlow_leastRequestSendsItAtMostATenth() throws Exception {
    HttpBackends backends = closeLater(HttpBackends.start(3, HttpBackends.Handler.slowAt(0, 100)));
    LoadBalancer lb = balancer(backends.endpoints()); // least request: the default
    CloseableHttpClient client = client(lb);
    String url = "http://svc.test:" + backends.port() + "/";
    Concurrently.Outcome outcome = Concurrently.run(8, 480, i -> get(client, url));
    assertThat(outcome.failed()).as("%s", outcome).isZero();
    assertThat(backends.counts()[0])
        .as("%s", java.util.Arrays.toString(backends.counts()))
        .isLessThanOrEqualTo(backends.total() / 10);
    assertNothingLeased();
  }

  @Test
  void post_connectRefused_sentOnceToAnotherEndpoint_butNeverTwiceOnceItWasSent() throws Exception {
    HttpBackends backends =
        closeLater(
            HttpBackends.start(
                3,
                (i, r) ->
                    i == 1
                        ? new MockResponse.Builder().code(503).build()
                        : new MockResponse.Builder().body("backend-" + i).build()));
    backends.kill(0);
    LoadBalancer lb =
        closeLater(
            LoadBalancers.builder("svc")
                .endpoints(backends.endpoints())
                .strategy(Strategies.ringHash())
                .build());
    CloseableHttpClient client = client(lb);
    String url = "http://svc.test:" + backends.port() + "/pay";
    // Keyed on the dead endpoint: refused before anything was sent, so sent to another.
    HttpClientContext onDead = context(keyOn(lb, backends.endpoint(0)));
    HttpPost post = new HttpPost(url);
    post.setEntity(new StringEntity("pay", ContentType.TEXT_PLAIN));
    int code = status(client, post, onDead);
    assertThat(code).isIn(200, 503);
    CallAttempts attempts = CallAttempts.of(onDead);
    assertThat(attempts.attempts()).hasSize(2);
    assertThat(attempts.attempts().get(0).error()).isInstanceOf(ConnectException.class);
    // Keyed on the 503 one: it may have been processed, so the 503 is the answer.
    int before = backends.counts()[1];
    HttpClientContext on503 = context(keyOn(lb, backends.endpoint(1)));
    HttpPost post2 = new HttpPost(url);
    post2.setEntity(new StringEntity("pay", ContentType.TEXT_PLAIN));
    assertThat(status(client, post2, on503)).isEqualTo(503);
    assertThat(backends.counts()[1]).isEqualTo(before + 1);
    assertThat(CallAttempts.of(on503).attempts()).hasSize(1);
    // The same POST said to be idempotent is retried elsewhere.
    HttpClientContext optIn = context(keyOn(lb, backends.endpoint(1)));
    Idempotency.IDEMPOTENT.applyTo(optIn);
    HttpPost post3 = new HttpPost(url);
    post3.setEntity(new StringEntity("pay", ContentType.TEXT_PLAIN));
    assertThat(status(client, post3, optIn)).isEqualTo(200);
    assertThat(CallAttempts.of(optIn).servedBy()).isEqualTo(backends.endpoint(2));
    assertNothingLeased();
  }

  @Test
  void nonRepeatableEntity_neverSentTwice_evenWhenIdempotent() throws Exception {
    HttpBackends backends =
        closeLater(HttpBackends.start(2, (i, r) -> new MockResponse.Builder().code(503).build()));
    LoadBalancer lb = balancer(backends.endpoints());
    CloseableHttpClient client = client(lb);
    org.apache.hc.client5.http.classic.methods.HttpPut put =
        new org.apache.hc.client5.http.classic.methods.HttpPut(
            "http://svc.test:" + backends.port() + "/x");
    put.setEntity(
        new InputStreamEntity(
            new ByteArrayInputStream("once".getBytes(StandardCharsets.UTF_8)),
            4,
            ContentType.TEXT_PLAIN));
    assertThat(status(client, put, HttpClientContext.create())).isEqualTo(503);
    assertThat(backends.total()).isEqualTo(1);
    assertNothingLeased();
  }

  @Test
  void allAnswer503_theLastAnswerIsReturned_andEveryDiscardedOneClosed() throws Exception {
    HttpBackends backends =
        closeLater(
            HttpBackends.start(
                3, (i, r) -> new MockResponse.Builder().code(503).body("busy-" + i).build()));
    LoadBalancer lb = balancer(backends.endpoints());
    CloseableHttpClient client = client(lb);
    HttpClientContext context = HttpClientContext.create();
    String answer =
        client.execute(
            new HttpGet("http://svc.test:" + backends.port() + "/"),
            context,
            r -> r.getCode() + " " + EntityUtils.toString(r.getEntity()));
    assertThat(answer).startsWith("503 busy-");
    assertThat(CallAttempts.of(context).attempts()).hasSize(3); // the policy's 3 attempts
    assertThat(backends.total()).isEqualTo(3);
    assertThat(lb.inspect().snapshot()).allSatisfy(e -> assertThat(e.inFlight()).isZero());
    assertNothingLeased();
  }

  @Test
  void retryableStatusThatIsNoFailure_retriedElsewhereWithoutBlamingTheEndpoint() throws Exception {
    HttpBackends backends =
        closeLater(
            HttpBackends.start(
                2,
                (i, r) ->
                    i == 0
                        ? new MockResponse.Builder().code(429).build()
                        : new MockResponse.Builder().body("backend-" + i).build()));
    LoadBalancer lb =
        closeLater(
            LoadBalancers.builder("svc")
                .endpoints(backends.endpoints())
                .strategy(Strategies.roundRobin())
                .retryPolicy(RetryPolicy.builder().retryableStatuses(429, 503).build())
                .build());
    CloseableHttpClient client = client(lb);
    for (int i = 0; i < 10; i++) {
      assertThat(get(client, "http://svc.test:" + backends.port() + "/"))
          .isEqualTo("200 backend-1");
    }
    assertThat(lb.inspect().snapshot().get(0).failures()).isZero();
    assertNothingLeased();
  }

  @Test
  void inFlight_coversTheBodyUntilItIsClosed() throws Exception {
    HttpBackends backends = closeLater(HttpBackends.start(1));
    LoadBalancer lb = balancer(backends.endpoints());
    CloseableHttpClient client = client(lb);
    HttpGet get = new HttpGet("http://svc.test:" + backends.port() + "/");
    try (var response = client.executeOpen(null, get, null)) {
      assertThat(lb.inspect().snapshot().get(0).inFlight())
          .as("the body is not read yet; read ahead keeps it")
          .isEqualTo(1);
      assertThat(EntityUtils.toString(response.getEntity())).isEqualTo("backend-0");
    }
    assertThat(lb.inspect().snapshot().get(0).inFlight()).isZero();
    assertThat(lb.inspect().snapshot().get(0).successes()).isEqualTo(1);
    assertNothingLeased();
  }

  @Test
  void otherHosts_passThroughUntouched_andKeepTheirOwnRetries() throws Exception {
    HttpBackends backends = closeLater(HttpBackends.start(1));
    LoadBalancer lb = balancer(List.of(Endpoint.of("127.0.0.9", backends.port())));
    CloseableHttpClient client = client(lb);
    HttpClientContext context = HttpClientContext.create();
    String answer =
        client.execute(
            new HttpGet("http://127.0.0.1:" + backends.port() + "/"),
            context,
            r -> EntityUtils.toString(r.getEntity()));
    assertThat(answer).isEqualTo("backend-0");
    assertThat(CallAttempts.of(context)).isNull();
    assertThat(lb.inspect().snapshot().get(0).successes()).isZero();
  }

  @Test
  void throughAProxy_aBalancedHostFailsSayingWhy_otherHostsAreNotRefused() throws Exception {
    LoadBalancer lb = balancer(List.of(Endpoint.of("127.0.0.1", 9)));
    CloseableHttpClient client =
        closeLater(
            HttpClientLoadBalancing.builder()
                .service("svc.test", lb)
                .build()
                .configure(
                    HttpClients.custom()
                        .setProxy(new org.apache.hc.core5.http.HttpHost("127.0.0.1", 9)))
                .build());
    assertThatThrownBy(() -> get(client, "http://svc.test:8080/"))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("'svc.test' is balanced by Loadstar")
        .hasMessageContaining("proxy http://127.0.0.1:9");
    assertThat(lb.inspect().snapshot().get(0).inFlight()).isZero();
  }

  @Test
  void cancel_duringAStalledAttempt_releasesTheEndpoint_andCountsNoFailure() throws Exception {
    HttpBackends backends =
        closeLater(
            HttpBackends.start(
                2,
                (i, r) ->
                    new MockResponse.Builder()
                        .body("late")
                        .headersDelay(20, TimeUnit.SECONDS)
                        .build()));
    LoadBalancer lb = balancer(backends.endpoints());
    CloseableHttpClient client = client(lb);
    HttpGet get = new HttpGet("http://svc.test:" + backends.port() + "/");
    java.util.concurrent.CompletableFuture<Object> call =
        java.util.concurrent.CompletableFuture.supplyAsync(
            () -> {
              try {
                return client.execute(get, r -> r.getCode());
              } catch (IOException e) {
                return e;
              }
            });
    assertThat(io.loadstar.testing.Await.until(() -> backends.total() == 1)).isTrue();
    get.cancel();
    assertThat(call.get(10, TimeUnit.SECONDS)).isInstanceOf(IOException.class);
    assertThat(lb.inspect().snapshot()).allSatisfy(e -> assertThat(e.inFlight()).isZero());
    assertThat(lb.inspect().snapshot()).allSatisfy(e -> assertThat(e.failures()).isZero());
    assertThat(backends.total()).isEqualTo(1); // not retried elsewhere
    assertNothingLeased();
  }

  @Test
  void noEndpoint_failsWithAnIOExceptionNamingTheServiceAndReason() throws Exception {
    LoadBalancer lb =
        closeLater(
            LoadBalancers.builder("svc")
                .endpoints(List.of())
                .selectionTimeout(Duration.ZERO)
                .build());
    CloseableHttpClient client = client(lb);
    assertThatThrownBy(() -> get(client, "http://svc.test:8080/"))
        .isInstanceOf(EndpointUnavailableException.class)
        .hasMessageContaining("'svc'");
  }

  @Test
  void builderValidation() {
    assertThatThrownBy(() -> HttpClientLoadBalancing.builder().build())
        .isInstanceOf(IllegalStateException.class)
        .hasMessageContaining("at least one service()");
    LoadBalancer lb = balancer(List.of(Endpoint.of("127.0.0.1", 1)));
    assertThatThrownBy(() -> HttpClientLoadBalancing.builder().service("svc.test:8080", lb))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("svc.test:8080");
    assertThatThrownBy(
            () -> HttpClientLoadBalancing.builder().service("svc.test", lb).service("SVC.test", lb))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("already balanced");
    assertThatThrownBy(() -> HttpClientLoadBalancing.builder().retryBodyReadAhead(-1))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("retryBodyReadAhead: -1 (expected: 0..16777216)");
  }

  static HttpClientContext context(PickContext pick) {
    HttpClientContext context = HttpClientContext.create();
    context.setAttribute(HttpClientLoadBalancing.PICK_CONTEXT, pick);
    return context;
  }

  static PickContext keyOn(LoadBalancer lb, Endpoint target) {
    for (int k = 0; ; k++) {
      PickContext c = PickContext.ofHashKey("user-" + k);
      if (lb.inspect().peek(c).orElseThrow().equals(target)) {
        return c;
      }
    }
  }
}
