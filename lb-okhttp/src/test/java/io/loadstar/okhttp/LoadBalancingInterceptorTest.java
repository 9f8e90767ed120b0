package io.loadstar.okhttp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.RetryPolicy;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.OutlierDetectionConfig;
import io.loadstar.core.Strategies;
import io.loadstar.testing.Await;
import io.loadstar.testing.FakeTicker;
import io.loadstar.testing.HttpBackends;
import io.loadstar.testing.RecordingLbEventListener;
import java.io.IOException;
import java.io.InterruptedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import mockwebserver3.MockResponse;
import mockwebserver3.RecordedRequest;
import mockwebserver3.SocketEffect;
import okhttp3.Call;
import okhttp3.Callback;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Protocol;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okhttp3.tls.HandshakeCertificates;
import org.junit.jupiter.api.Test;

class LoadBalancingInterceptorTest extends OkHttpTestBase {

  private LoadBalancer balancer(List<Endpoint> endpoints) {
    return closeLater(
        LoadBalancers.builder("svc")
            .strategy(Strategies.roundRobin())
            .endpoints(endpoints)
            .build());
  }

  private static String get(OkHttpClient client, String url) throws IOException {
    try (Response r = client.newCall(new Request.Builder().url(url).build()).execute()) {
      return r.code() + " " + r.body().string();
    }
  }

  /** No response left open: every connection is idle again once the calls are done. */
  static void assertPoolIdle(OkHttpClient client) {
    assertThat(
            Await.until(
                () ->
                    client.connectionPool().idleConnectionCount()
                        == client.connectionPool().connectionCount()))
        .as(
            "connections in use: %d of %d",
            client.connectionPool().connectionCount()
                - client.connectionPool().idleConnectionCount(),
            client.connectionPool().connectionCount())
        .isTrue();
  }

  private void evenSplit(HttpBackends backends, OkHttpClient client, String url) throws Exception {
    ExecutorService pool = Executors.newFixedThreadPool(16);
    try {
      List<Future<?>> futures = new ArrayList<>();
      AtomicInteger ok = new AtomicInteger();
      for (int t = 0; t < 16; t++) {
        futures.add(
            pool.submit(
                () -> {
                  for (int i = 0; i < 3_000 / 16 + (3_000 % 16 > 0 ? 1 : 0); i++) {
                    if (get(client, url).startsWith("200 backend-")) {
                      ok.incrementAndGet();
                    }
                  }
                  return null;
                }));
      }
      for (Future<?> f : futures) {
        f.get(60, TimeUnit.SECONDS);
      }
      int total = ok.get();
      assertThat(total).isEqualTo(backends.total());
      for (int c : backends.counts()) {
        assertThat(100.0 * c / total).as("share of %d", c).isBetween(30.0, 36.0);
      }
    } finally {
      pool.shutdownNow();
    }
  }

  @Test
  void keepAlive_sixteenThreads_eachOfThreeBackendsGetsAThird() throws Exception {
    HttpBackends backends = closeLater(HttpBackends.start(3));
    LoadBalancingInterceptor lb =
        LoadBalancingInterceptor.builder()
            .service("svc.test", balancer(backends.endpoints()))
            .build();
    OkHttpClient client = lb.wrap(base);
    evenSplit(backends, client, "http://svc.test:" + backends.port() + "/");
    // Pooled per endpoint: at most one keep-alive connection per caller thread and endpoint.
    assertThat(client.connectionPool().connectionCount()).isBetween(3, 48);
    RecordedRequest first = backends.received(0).get(0);
    assertThat(first.getHeaders().get("Host")).isEqualTo("svc.test:" + backends.port());
    assertPoolIdle(client);
  }

  @Test
  void http2PriorKnowledge_eachOfThreeBackendsGetsAThird_overOneConnectionEach() throws Exception {
    HttpBackends backends =
        closeLater(
            HttpBackends.start(
                3,
                s -> s.setProtocols(List.of(Protocol.H2_PRIOR_KNOWLEDGE)),
                HttpBackends.Handler.ok()));
    LoadBalancingInterceptor lb =
        LoadBalancingInterceptor.builder()
            .service("svc.test", balancer(backends.endpoints()))
            .build();
    OkHttpClient client =
        lb.wrap(base.newBuilder().protocols(List.of(Protocol.H2_PRIOR_KNOWLEDGE)).build());
    evenSplit(backends, client, "http://svc.test:" + backends.port() + "/");
    // HTTP/2 multiplexes: without per-endpoint pooling one connection would carry everything, and
    // the even split above could not happen. Each endpoint has its own connections. How many is
    // not fixed: 16 callers starting at once may race to connect to one endpoint, and OkHttp keeps
    // a connection that lost such a race. What holds is at least one per endpoint and at most one
    // per endpoint and caller, while the 3,000 requests were multiplexed over them.
    assertThat(client.connectionPool().connectionCount()).isBetween(3, 3 * 16);
    for (List<RecordedRequest> received : backends.received()) {
      assertThat(received.stream().map(RecordedRequest::getConnectionIndex).distinct().count())
          .isBetween(1L, 16L);
    }
    assertPoolIdle(client);
  }

  @Test
  void tls_certificateOnlyForTheServiceName_verifiesAndSendsSniAndHost() throws Exception {
    HandshakeCertificates server = SvcTestCertificates.SERVER;
    HandshakeCertificates client = SvcTestCertificates.CLIENT;
    HttpBackends backends =
        closeLater(
            HttpBackends.start(
                3, s -> s.useHttps(server.sslSocketFactory()), HttpBackends.Handler.ok()));
    LoadBalancingInterceptor lb =
        LoadBalancingInterceptor.builder()
            .service("svc.test", balancer(backends.endpoints()))
            .build();
    OkHttpClient https =
        lb.wrap(
            base.newBuilder()
                .sslSocketFactory(client.sslSocketFactory(), client.trustManager())
                .build());
    for (int i = 0; i < 30; i++) {
      assertThat(get(https, "https://svc.test:" + backends.port() + "/"))
          .startsWith("200 backend-");
    }
    assertThat(backends.counts()).containsExactly(10, 10, 10);
    for (List<RecordedRequest> received : backends.received()) {
      RecordedRequest r = received.get(0);
      assertThat(r.getHandshakeServerNames()).containsExactly("svc.test");
      // HTTP/2 through ALPN: the Host header travels as the :authority pseudo-header.
      assertThat(r.getVersion()).isEqualTo("HTTP/2");
      assertThat(r.getUrl().host()).isEqualTo("svc.test");
    }
    // The certificate is not valid for the addresses: going by IP would fail verification.
    OkHttpClient direct =
        base.newBuilder()
            .sslSocketFactory(client.sslSocketFactory(), client.trustManager())
            .build();
    assertThatThrownBy(() -> get(direct, "https://127.0.0.1:" + backends.port() + "/"))
        .isInstanceOf(javax.net.ssl.SSLPeerUnverifiedException.class);
    assertPoolIdle(https);
  }

  @Test
  void oneBackendRefuses_noGetFails_andItIsEjectedAfterFiveFailures() throws Exception {
    HttpBackends backends = closeLater(HttpBackends.start(2));
    Endpoint refused = Endpoint.of("127.0.0.3", backends.port()); // nothing listens there
    List<Endpoint> endpoints = new ArrayList<>(backends.endpoints());
    endpoints.add(refused);
    LoadBalancer balancer =
        closeLater(
            LoadBalancers.builder("svc")
                .strategy(Strategies.roundRobin())
                .endpoints(endpoints)
                .outlierDetection(OutlierDetectionConfig.builder().maxEjectionPercent(50).build())
                .build());
    OkHttpClient client =
        LoadBalancingInterceptor.builder().service("svc.test", balancer).build().wrap(base);
    ExecutorService pool = Executors.newFixedThreadPool(16);
    AtomicInteger failed = new AtomicInteger();
    try {
      List<Future<?>> futures = new ArrayList<>();
      for (int t = 0; t < 16; t++) {
        futures.add(
            pool.submit(
                () -> {
                  for (int i = 0; i < 100; i++) {
                    try {
                      if (!get(client, "http://svc.test:" + backends.port() + "/")
                          .startsWith("200")) {
                        failed.incrementAndGet();
                      }
                    } catch (IOException e) {
                      failed.incrementAndGet();
                    }
                  }
                  return null;
                }));
      }
      for (Future<?> f : futures) {
        f.get(60, TimeUnit.SECONDS);
      }
    } finally {
      pool.shutdownNow();
    }
    assertThat(failed.get()).isZero();
    assertThat(backends.total()).isEqualTo(1_600);
    EndpointSnapshot down = snapshotOf(balancer, refused);
    assertThat(down.state()).isEqualTo(EndpointSnapshot.State.EJECTED);
    // 5 consecutive failures eject it; callers already past their pick may add one each.
    long attempts = 1_600 + down.failures();
    assertThat(down.failures()).isBetween(5L, 5L + 16);
    assertThat(100.0 * (down.failures() - 5) / attempts).isLessThan(1.0);
  }

  @Test
  void connectFailure_namesTheEndpointsAddressAndPort_notTheUrls() throws Exception {
    int deadPort;
    try (java.net.ServerSocket s =
        new java.net.ServerSocket(0, 1, java.net.InetAddress.getByName("127.0.0.6"))) {
      deadPort = s.getLocalPort();
    }
    LoadBalancer balancer = balancer(List.of(Endpoint.of("127.0.0.6", deadPort)));
    OkHttpClient client =
        LoadBalancingInterceptor.builder().service("svc.test", balancer).build().wrap(base);
    assertThatThrownBy(() -> get(client, "http://svc.test:8080/"))
        .isInstanceOf(java.net.ConnectException.class)
        .hasMessage("Failed to connect to 127.0.0.6:" + deadPort + " (an endpoint of svc)")
        .hasCauseInstanceOf(java.net.ConnectException.class);
  }

  @Test
  void post_connectRefused_sentOnceToAnotherEndpoint() throws Exception {
    HttpBackends backends = closeLater(HttpBackends.start(1));
    Endpoint refused = Endpoint.of("127.0.0.2", backends.port());
    LoadBalancer balancer = balancer(List.of(backends.endpoint(0), refused));
    OkHttpClient client =
        LoadBalancingInterceptor.builder().service("svc.test", balancer).build().wrap(base);
    int retried = 0;
    for (int i = 0; i < 10; i++) {
      Request post =
          new Request.Builder()
              .url("http://svc.test:" + backends.port() + "/orders")
              .post(RequestBody.create("order-" + i, TEXT))
              .build();
      try (Response r = client.newCall(post).execute()) {
        assertThat(r.code()).isEqualTo(200);
        CallAttempts attempts = CallAttempts.of(r);
        assertThat(attempts.servedBy()).isEqualTo(backends.endpoint(0));
        if (attempts.attempts().size() == 2) {
          retried++;
          assertThat(attempts.attempts().get(0).endpoint()).isEqualTo(refused);
          assertThat(attempts.attempts().get(0).error())
              .isInstanceOf(java.net.ConnectException.class);
        }
      }
    }
    assertThat(retried).isPositive();
    assertThat(backends.total()).isEqualTo(10); // each POST received exactly once
    for (int i = 0; i < 10; i++) {
      assertThat(backends.received(0).get(i).getBody().utf8()).isEqualTo("order-" + i);
    }
  }

  /** Backend 0 reads the request, body included, then drops the connection; backend 1 answers. */
  private HttpBackends dropOnFirst() throws IOException {
    return closeLater(
        HttpBackends.start(
            2,
            s -> {},
            (i, r) ->
                i == 0
                    ? new MockResponse.Builder()
                        .onResponseStart(new SocketEffect.CloseSocket(true, false, false))
                        .build()
                    : new MockResponse.Builder().body("backend-1").build()));
  }

  /** A ring-hash balancer, so that a key fixes the order in which endpoints are tried. */
  private LoadBalancer hashed(List<Endpoint> endpoints) {
    return closeLater(
        LoadBalancers.builder("svc").endpoints(endpoints).strategy(Strategies.ringHash()).build());
  }

  /**
   * A client through the interceptor with OkHttp's own retry on a failed connection off (it would
   * resend on the same endpoint), so that receipts count only what the interceptor sends.
   */
  private OkHttpClient noOkHttpRetry(LoadBalancer balancer) {
    return LoadBalancingInterceptor.builder()
        .service("svc.test", balancer)
        .build()
        .wrap(base.newBuilder().retryOnConnectionFailure(false).build());
  }

  /** A hash key whose first two picks (with the first excluded from the second) miss target. */
  private static io.loadstar.api.PickContext keyTryingLast(LoadBalancer lb, Endpoint target) {
    for (int k = 0; ; k++) {
      io.loadstar.api.PickContext c = io.loadstar.api.PickContext.ofHashKey("k" + k);
      io.loadstar.api.PickResult first = lb.pick(c);
      first.handle().onCancel();
      io.loadstar.api.PickResult second = lb.pick(c.withTried(first.endpoint()));
      second.handle().onCancel();
      if (!first.endpoint().equals(target) && !second.endpoint().equals(target)) {
        return c;
      }
    }
  }

  /** Executes {@code call} on a new thread; completes with its exception, or null on a response. */
  private static CompletableFuture<IOException> executeInBackground(Call call) {
    CompletableFuture<IOException> failed = new CompletableFuture<>();
    Thread caller =
        new Thread(
            () -> {
              try (Response r = call.execute()) {
                failed.complete(null);
              } catch (IOException e) {
                failed.complete(e);
              }
            });
    caller.start();
    return failed;
  }

  @Test
  void possiblyProcessed_postNotRetried_postWithOptInRetriedOnce_getRetried() throws Exception {
    HttpBackends backends = dropOnFirst();
    LoadBalancer balancer = hashed(backends.endpoints());
    OkHttpClient client = noOkHttpRetry(balancer);
    io.loadstar.api.PickContext key = keyFirstOn(balancer, backends.endpoint(0));
    String url = "http://svc.test:" + backends.port() + "/pay";

    Request post =
        new Request.Builder()
            .url(url)
            .post(RequestBody.create("pay", TEXT))
            .tag(io.loadstar.api.PickContext.class, key)
            .build();
    assertThatThrownBy(() -> client.newCall(post).execute()).isInstanceOf(IOException.class);
    assertThat(backends.counts()).containsExactly(1, 0);

    Request optIn = post.newBuilder().tag(Idempotency.class, Idempotency.IDEMPOTENT).build();
    try (Response r = client.newCall(optIn).execute()) {
      assertThat(r.body().string()).isEqualTo("backend-1");
      assertThat(CallAttempts.of(r).attempts()).hasSize(2);
    }
    assertThat(backends.counts()).containsExactly(2, 1);

    Request withKey = post.newBuilder().header("Idempotency-Key", "8e03978e").build();
    try (Response r = client.newCall(withKey).execute()) {
      assertThat(r.body().string()).isEqualTo("backend-1");
    }
    assertThat(backends.counts()).containsExactly(3, 2);

    Request getRequest =
        new Request.Builder().url(url).tag(io.loadstar.api.PickContext.class, key).build();
    try (Response r = client.newCall(getRequest).execute()) {
      assertThat(r.body().string()).isEqualTo("backend-1");
    }
    assertThat(backends.counts()).containsExactly(4, 3);
    assertPoolIdle(client);
  }

  @Test
  void oneShotBody_neverSentTwice_evenWhenIdempotent() throws Exception {
    HttpBackends backends = dropOnFirst();
    LoadBalancer balancer = hashed(backends.endpoints());
    OkHttpClient client = noOkHttpRetry(balancer);
    io.loadstar.api.PickContext key = keyFirstOn(balancer, backends.endpoint(0));
    RequestBody oneShot =
        new RequestBody() {
          @Override
          public MediaType contentType() {
            return TEXT;
          }

          @Override
          public boolean isOneShot() {
            return true;
          }

          @Override
          public void writeTo(okio.BufferedSink sink) throws IOException {
            sink.writeUtf8("stream");
          }
        };
    Request put =
        new Request.Builder()
            .url("http://svc.test:" + backends.port() + "/")
            .put(oneShot)
            .tag(io.loadstar.api.PickContext.class, key)
            .build();
    assertThatThrownBy(() -> client.newCall(put).execute()).isInstanceOf(IOException.class);
    assertThat(backends.counts()).containsExactly(1, 0);
  }

  @Test
  void all503_budgetKeepsAttemptsWithin120PercentOfRequests_responsesClosed() throws Exception {
    HttpBackends backends =
        closeLater(
            HttpBackends.start(3, s -> {}, (i, r) -> new MockResponse.Builder().code(503).build()));
    FakeTicker ticker = new FakeTicker();
    RecordingLbEventListener events = new RecordingLbEventListener();
    // One budget per service: the balancer's, on the requests' clock, telling its listener.
    LoadBalancer lb =
        closeLater(
            LoadBalancers.builder("svc")
                .strategy(Strategies.roundRobin())
                .endpoints(backends.endpoints())
                .ticker(ticker)
                .eventListener(events)
                .build());
    LoadBalancingInterceptor interceptor =
        LoadBalancingInterceptor.builder()
            // The requests' clock: backoffs cost none of it.
            .service("svc.test", BackoffClock.of(lb, (nanos, giveUp) -> {}))
            .ticker(ticker)
            .build();
    OkHttpClient client = interceptor.wrap(base);
    int requests = 1_000;
    for (int i = 0; i < requests; i++) {
      assertThat(get(client, "http://svc.test:" + backends.port() + "/")).startsWith("503");
      ticker.advance(Duration.ofMillis(10)); // 1,000 requests over 10 s
    }
    int attempts = backends.total();
    assertThat(attempts).isLessThanOrEqualTo((int) (1.2 * requests)).isGreaterThan(requests);
    assertThat(events.budgetEvents).hasSize(1);
    assertThat(lb.inspect().retryStats().refusedByBudget()).isPositive();
    assertPoolIdle(client);
  }

  /** Two backends: the first answers {@code status}, the second 200 with {@code body}. */
  private HttpBackends firstAnswersWithSecondBody(int status, String body) throws IOException {
    return closeLater(
        HttpBackends.start(
            2,
            s -> {},
            (i, r) ->
                i == 0
                    ? new MockResponse.Builder().code(status).build()
                    : new MockResponse.Builder().body(body).build()));
  }

  @Test
  void oneRetryEngine_httpCallsAndExecuteShareTheBalancersPolicyBudgetAndCounters()
      throws Exception {
    HttpBackends backends = firstAnswersWithSecondBody(503, "ok");
    LoadBalancer lb =
        closeLater(
            LoadBalancers.builder("svc")
                .endpoints(backends.endpoints())
                .strategy(Strategies.ringHash())
                .outlierDetection(OutlierDetectionConfig.disabled())
                .build());
    OkHttpClient client =
        LoadBalancingInterceptor.builder().service("svc.test", lb).build().wrap(base);
    Request get =
        new Request.Builder()
            .url("http://svc.test:" + backends.port() + "/")
            .tag(io.loadstar.api.PickContext.class, keyFirstOn(lb, backends.endpoint(0)))
            .build();
    try (Response r = client.newCall(get).execute()) {
      assertThat(r.body().string()).isEqualTo("ok");
    }
    assertThat(lb.inspect().retryStats().retries()).isEqualTo(1);
    // A call through execute() is retried by the same engine: its counters go on.
    List<Endpoint> tried = new ArrayList<>();
    String value =
        lb.execute(
            keyFirstOn(lb, backends.endpoint(0)),
            e -> {
              tried.add(e);
              if (tried.size() == 1) {
                throw new java.net.ConnectException("refused");
              }
              return "done";
            });
    assertThat(value).isEqualTo("done");
    assertThat(lb.inspect().retryStats().retries()).isEqualTo(2);
    assertThat(lb.inspect().retryStats().windowCalls()).isEqualTo(2);
  }

  @Test
  void failureStatus_otherEndpointDrained_theResponseIsReturnedNotLost() throws Exception {
    HttpBackends backends =
        closeLater(
            HttpBackends.start(2, s -> {}, (i, r) -> new MockResponse.Builder().code(503).build()));
    LoadBalancer balancer = balancer(backends.endpoints());
    balancer.control().drain(backends.endpoint(1).key()); // listed and untried, but not usable
    OkHttpClient client =
        LoadBalancingInterceptor.builder().service("svc.test", balancer).build().wrap(base);
    try (Response r =
        client
            .newCall(new Request.Builder().url("http://svc.test:" + backends.port() + "/").build())
            .execute()) {
      assertThat(r.code()).isEqualTo(503);
      assertThat(CallAttempts.of(r).attempts()).hasSize(1);
    }
    assertThat(backends.counts()).containsExactly(1, 0);
    assertPoolIdle(client);
  }

  @Test
  void retryAfter_withinCap_waitedThenRetried_beyondCap_returned() throws Exception {
    HttpBackends backends =
        closeLater(
            HttpBackends.start(
                2,
                s -> {},
                (i, r) ->
                    i == 0
                        ? new MockResponse.Builder()
                            .code(503)
                            .addHeader("Retry-After", r.getUrl().queryParameter("after"))
                            .build()
                        : new MockResponse.Builder().body("backend-1").build()));
    FakeTicker ticker = new FakeTicker();
    List<Long> waits = new java.util.concurrent.CopyOnWriteArrayList<>();
    LoadBalancer balancer = hashed(backends.endpoints());
    OkHttpClient client =
        LoadBalancingInterceptor.builder()
            .service(
                "svc.test",
                BackoffClock.of(
                    balancer,
                    (nanos, giveUp) -> {
                      waits.add(nanos);
                      ticker.advance(Duration.ofNanos(nanos));
                    }))
            .ticker(ticker)
            .build()
            .wrap(base);
    io.loadstar.api.PickContext key = keyFirstOn(balancer, backends.endpoint(0));
    Request soon =
        new Request.Builder()
            .url("http://svc.test:" + backends.port() + "/?after=1")
            .tag(io.loadstar.api.PickContext.class, key)
            .build();
    try (Response r = client.newCall(soon).execute()) {
      assertThat(r.code()).as("%s %s %s", CallAttempts.of(r), waits, r.headers()).isEqualTo(200);
    }
    assertThat(waits).containsExactly(Duration.ofSeconds(1).toNanos());
    Request late =
        soon.newBuilder().url("http://svc.test:" + backends.port() + "/?after=120").build();
    try (Response r = client.newCall(late).execute()) {
      assertThat(r.code()).isEqualTo(503);
      assertThat(CallAttempts.of(r).attempts()).hasSize(1);
    }
    assertPoolIdle(client);
  }

  /** A port on {@code host} that accepts no more connections: connects to it time out. */
  private ServerSocket blackHole(String host, int port) throws IOException {
    ServerSocket s = closeLater(new ServerSocket(port, 1, InetAddress.getByName(host)));
    for (int i = 0; i < 2; i++) {
      Socket filler = new Socket();
      filler.connect(s.getLocalSocketAddress(), 1_000);
      closeLater(filler);
    }
    return s;
  }

  @Test
  void blackHoles_connectTimeoutsRetriedOnTheNext_callTimeoutCoversAllAttempts() throws Exception {
    HttpBackends backends = closeLater(HttpBackends.start(1));
    blackHole("127.0.0.2", backends.port());
    blackHole("127.0.0.3", backends.port());
    Endpoint hole1 = Endpoint.of("127.0.0.2", backends.port());
    Endpoint hole2 = Endpoint.of("127.0.0.3", backends.port());
    LoadBalancer balancer = hashed(List.of(backends.endpoint(0), hole1, hole2));
    OkHttpClient client =
        LoadBalancingInterceptor.builder()
            .service("svc.test", balancer)
            .build()
            .wrap(
                base.newBuilder()
                    .connectTimeout(Duration.ofMillis(400))
                    .callTimeout(Duration.ofSeconds(3))
                    .build());
    // A key whose first two choices are the black holes.
    io.loadstar.api.PickContext key = keyTryingLast(balancer, backends.endpoint(0));
    Request request =
        new Request.Builder()
            .url("http://svc.test:" + backends.port() + "/")
            .tag(io.loadstar.api.PickContext.class, key)
            .build();
    Endpoint first;
    Endpoint second;
    try (Response r = client.newCall(request).execute()) {
      assertThat(r.body().string()).isEqualTo("backend-0");
      List<CallAttempts.Attempt> attempts = CallAttempts.of(r).attempts();
      assertThat(attempts).hasSize(3);
      assertThat(attempts.get(0).error()).isInstanceOf(SocketTimeoutException.class);
      assertThat(attempts.get(1).error()).isInstanceOf(SocketTimeoutException.class);
      first = attempts.get(0).endpoint();
      second = attempts.get(1).endpoint();
    }
    // Connect timeouts are endpoint failures, counted as not sent.
    assertThat(snapshotOf(balancer, hole1).failures()).isEqualTo(1);
    assertThat(snapshotOf(balancer, hole2).failures()).isEqualTo(1);

    // A call timeout shorter than two connect timeouts ends the call during its second attempt.
    OkHttpClient impatient = client.newBuilder().callTimeout(Duration.ofMillis(600)).build();
    assertThatThrownBy(() -> impatient.newCall(request).execute())
        .isInstanceOf(InterruptedIOException.class)
        .hasMessage("timeout");
    assertThat(snapshotOf(balancer, first).failures()).isEqualTo(2);
    assertThat(snapshotOf(balancer, second).failures()).isEqualTo(1); // cut short: not its fault
    for (EndpointSnapshot s : balancer.inspect().snapshot()) {
      assertThat(s.inFlight()).as("in flight at %s", s.endpoint()).isZero();
    }
  }

  @Test
  void allBlackHoled_failsAfterEachEndpointOnceWithTheConnectTimeouts() throws Exception {
    int port;
    try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      port = probe.getLocalPort();
    }
    List<Endpoint> holes = new ArrayList<>();
    for (int i = 1; i <= 3; i++) {
      blackHole("127.0.0." + i, port);
      holes.add(Endpoint.of("127.0.0." + i, port));
    }
    OkHttpClient client =
        LoadBalancingInterceptor.builder()
            .service("svc.test", balancer(holes))
            .build()
            .wrap(
                base.newBuilder()
                    .connectTimeout(Duration.ofMillis(400))
                    .callTimeout(Duration.ofSeconds(3))
                    .build());
    assertThatThrownBy(() -> get(client, "http://svc.test:" + port + "/"))
        .isInstanceOf(SocketTimeoutException.class)
        .satisfies(e -> assertThat(e.getSuppressed()).hasSize(1)); // the chain of 3 attempts
  }

  @Test
  void cancel_duringAStalledAttempt_releasesTheEndpointAndFailsTheCall() throws Exception {
    HttpBackends backends =
        closeLater(
            HttpBackends.start(
                1,
                s -> {},
                (i, r) ->
                    new MockResponse.Builder()
                        .headersDelay(30, TimeUnit.SECONDS)
                        .body("x")
                        .build()));
    LoadBalancer balancer = balancer(backends.endpoints());
    OkHttpClient client =
        LoadBalancingInterceptor.builder().service("svc.test", balancer).build().wrap(base);
    Call call =
        client.newCall(
            new Request.Builder().url("http://svc.test:" + backends.port() + "/").build());
    CompletableFuture<Throwable> outcome = new CompletableFuture<>();
    call.enqueue(
        new Callback() {
          @Override
          public void onFailure(Call c, IOException e) {
            outcome.complete(e);
          }

          @Override
          public void onResponse(Call c, Response response) {
            response.close();
            outcome.complete(null);
          }
        });
    assertThat(backends.server(0).takeRequest(10, TimeUnit.SECONDS)).isNotNull();
    call.cancel();
    assertThat(outcome.get(10, TimeUnit.SECONDS)).isInstanceOf(IOException.class);
    assertThat(Await.until(() -> balancer.inspect().snapshot().get(0).inFlight() == 0)).isTrue();
    assertThat(balancer.inspect().snapshot().get(0).failures()).isZero();
  }

  /** Backend 0 never answers in time; backend 1 answers at once. */
  private HttpBackends stallOnFirst() throws IOException {
    return closeLater(
        HttpBackends.start(
            2,
            s -> {},
            (i, r) ->
                i == 0
                    ? new MockResponse.Builder().headersDelay(30, TimeUnit.SECONDS).build()
                    : new MockResponse.Builder().body("backend-1").build()));
  }

  @Test
  void attemptTimeout_stalledAttemptAbandoned_idempotentRetriedElsewhere() throws Exception {
    HttpBackends backends = stallOnFirst();
    LoadBalancer balancer = hashed(backends.endpoints());
    OkHttpClient client =
        LoadBalancingInterceptor.builder()
            .service("svc.test", balancer)
            .attemptTimeout(Duration.ofMillis(300))
            .build()
            .wrap(base);
    Request get =
        new Request.Builder()
            .url("http://svc.test:" + backends.port() + "/")
            .tag(io.loadstar.api.PickContext.class, keyFirstOn(balancer, backends.endpoint(0)))
            .build();
    try (Response r = client.newCall(get).execute()) {
      assertThat(r.body().string()).isEqualTo("backend-1");
      List<CallAttempts.Attempt> attempts = CallAttempts.of(r).attempts();
      assertThat(attempts).hasSize(2);
      assertThat(attempts.get(0).error()).isInstanceOf(InterruptedIOException.class);
    }
    assertThat(snapshotOf(balancer, backends.endpoint(0)).failures()).isEqualTo(1);
    assertThat(Await.until(() -> snapshotOf(balancer, backends.endpoint(0)).inFlight() == 0))
        .isTrue();
  }

  @Test
  void cancel_duringARetry_cancelsTheRetryAndReleasesItsEndpoint() throws Exception {
    HttpBackends backends =
        closeLater(
            HttpBackends.start(
                1,
                s -> {},
                (i, r) ->
                    new MockResponse.Builder()
                        .headersDelay(30, TimeUnit.SECONDS)
                        .body("x")
                        .build()));
    Endpoint refused = Endpoint.of("127.0.0.2", backends.port());
    LoadBalancer balancer = hashed(List.of(refused, backends.endpoint(0)));
    OkHttpClient client =
        LoadBalancingInterceptor.builder().service("svc.test", balancer).build().wrap(base);
    Call call =
        client.newCall(
            new Request.Builder()
                .url("http://svc.test:" + backends.port() + "/")
                .tag(io.loadstar.api.PickContext.class, keyFirstOn(balancer, refused))
                .build());
    CompletableFuture<IOException> failed = executeInBackground(call);
    // The refused first attempt was retried on the stalling backend: cancel while it waits.
    assertThat(backends.server(0).takeRequest(10, TimeUnit.SECONDS)).isNotNull();
    call.cancel();
    assertThat(failed.get(10, TimeUnit.SECONDS)).isNotNull();
    assertThat(snapshotOf(balancer, backends.endpoint(0)).inFlight()).isZero();
    assertThat(snapshotOf(balancer, backends.endpoint(0)).failures()).isZero();
  }

  @Test
  void cancel_duringABackoff_wakesTheWaitAndSendsNothingMore() throws Exception {
    HttpBackends backends = closeLater(HttpBackends.start(1));
    Endpoint refused1 = Endpoint.of("127.0.0.2", backends.port());
    Endpoint refused2 = Endpoint.of("127.0.0.3", backends.port());
    LoadBalancer balancer = hashed(List.of(refused1, refused2, backends.endpoint(0)));
    CountDownLatch waiting = new CountDownLatch(1);
    OkHttpClient client =
        LoadBalancingInterceptor.builder()
            .service(
                "svc.test",
                BackoffClock.of(
                    balancer,
                    (nanos, giveUp) -> {
                      waiting.countDown();
                      while (!giveUp.getAsBoolean()) {
                        java.util.concurrent.locks.LockSupport.park(); // woken by the cancel
                      }
                    }))
            .build()
            .wrap(base);
    // A key that tries both refused endpoints first: the third attempt waits a backoff.
    io.loadstar.api.PickContext key = keyTryingLast(balancer, backends.endpoint(0));
    Call call =
        client.newCall(
            new Request.Builder()
                .url("http://svc.test:" + backends.port() + "/")
                .tag(io.loadstar.api.PickContext.class, key)
                .build());
    CompletableFuture<IOException> failed = executeInBackground(call);
    assertThat(waiting.await(10, TimeUnit.SECONDS)).isTrue();
    call.cancel();
    assertThat(failed.get(10, TimeUnit.SECONDS)).isNotNull();
    assertThat(backends.total()).isZero();
  }

  @Test
  void enqueue_retriesARefusedEndpoint() throws Exception {
    HttpBackends backends = closeLater(HttpBackends.start(1));
    LoadBalancer balancer =
        balancer(List.of(backends.endpoint(0), Endpoint.of("127.0.0.2", backends.port())));
    OkHttpClient client =
        LoadBalancingInterceptor.builder().service("svc.test", balancer).build().wrap(base);
    List<CompletableFuture<String>> results = new ArrayList<>();
    for (int i = 0; i < 20; i++) {
      CompletableFuture<String> f = new CompletableFuture<>();
      results.add(f);
      client
          .newCall(new Request.Builder().url("http://svc.test:" + backends.port() + "/").build())
          .enqueue(
              new Callback() {
                @Override
                public void onFailure(Call c, IOException e) {
                  f.completeExceptionally(e);
                }

                @Override
                public void onResponse(Call c, Response response) throws IOException {
                  try (response) {
                    f.complete(response.body().string());
                  }
                }
              });
    }
    for (CompletableFuture<String> f : results) {
      assertThat(f.get(10, TimeUnit.SECONDS)).isEqualTo("backend-0");
    }
    assertPoolIdle(client);
  }

  @Test
  void outcomes_inFlightUntilBodyClosed_5xxCountedAsFailure() throws Exception {
    HttpBackends backends =
        closeLater(
            HttpBackends.start(
                1,
                s -> {},
                (i, r) ->
                    new MockResponse.Builder()
                        .code(r.getUrl().encodedPath().equals("/fail") ? 500 : 200)
                        .body("body")
                        .build()));
    LoadBalancer balancer = balancer(backends.endpoints());
    OkHttpClient client =
        LoadBalancingInterceptor.builder().service("svc.test", balancer).build().wrap(base);
    Response open =
        client
            .newCall(new Request.Builder().url("http://svc.test:" + backends.port() + "/").build())
            .execute();
    assertThat(balancer.inspect().snapshot().get(0).inFlight()).isEqualTo(1);
    assertThat(CallAttempts.of(open).servedBy()).isEqualTo(backends.endpoint(0));
    open.close();
    assertThat(balancer.inspect().snapshot().get(0).inFlight()).isZero();
    assertThat(balancer.inspect().snapshot().get(0).successes()).isEqualTo(1);
    assertThat(get(client, "http://svc.test:" + backends.port() + "/fail")).startsWith("500");
    assertThat(balancer.inspect().snapshot().get(0).failures()).isEqualTo(1);
    assertThat(balancer.inspect().snapshot().get(0).inFlight()).isZero();
  }

  @Test
  void redirectToAnotherHost_resolvedAsTheClientWould_notSentToTheEndpoint() throws Exception {
    mockwebserver3.MockWebServer other = closeLater(new mockwebserver3.MockWebServer());
    other.enqueue(new MockResponse.Builder().body("moved").build());
    other.start(InetAddress.getByName("127.0.0.5"), 0);
    int otherPort = other.getPort();
    HttpBackends backends =
        closeLater(
            HttpBackends.start(
                1,
                s -> {},
                (i, r) ->
                    new MockResponse.Builder()
                        .code(302)
                        .addHeader("Location", "http://other.test:" + otherPort + "/moved")
                        .build()));
    OkHttpClient withDns =
        base.newBuilder()
            .dns(
                host ->
                    host.equals("other.test")
                        ? List.of(InetAddress.getByName("127.0.0.5"))
                        : okhttp3.Dns.SYSTEM.lookup(host))
            .build();
    // The endpoint listens on another port than the URL's: the redirect must keep its own address
    // (from the client's Dns) and port.
    LoadBalancer balancer = balancer(List.of(Endpoint.of("127.0.0.1", backends.port())));
    OkHttpClient client =
        LoadBalancingInterceptor.builder().service("svc.test", balancer).build().wrap(withDns);
    try (Response r =
        client
            .newCall(
                new Request.Builder().url("http://svc.test:" + (backends.port() + 1) + "/").build())
            .execute()) {
      assertThat(r.body().string()).isEqualTo("moved");
      assertThat(r.request().url().host()).isEqualTo("other.test");
    }
    assertThat(other.takeRequest().getHeaders().get("Host")).isEqualTo("other.test:" + otherPort);
  }

  @Test
  void retryableStatusThatIsNoFailure_retriedWithoutBlamingTheEndpoint() throws Exception {
    HttpBackends backends = firstAnswersWithSecondBody(429, "backend-1");
    LoadBalancer balancer =
        closeLater(
            LoadBalancers.builder("svc")
                .endpoints(backends.endpoints())
                .strategy(Strategies.ringHash())
                .retryPolicy(RetryPolicy.builder().retryableStatuses(429, 503).build())
                .build());
    OkHttpClient client =
        LoadBalancingInterceptor.builder().service("svc.test", balancer).build().wrap(base);
    Request get =
        new Request.Builder()
            .url("http://svc.test:" + backends.port() + "/")
            .tag(io.loadstar.api.PickContext.class, keyFirstOn(balancer, backends.endpoint(0)))
            .build();
    assertThat(get(client, get.url().toString())).isNotNull(); // warm, any endpoint
    try (Response r = client.newCall(get).execute()) {
      assertThat(r.body().string()).isEqualTo("backend-1");
    }
    assertThat(snapshotOf(balancer, backends.endpoint(0)).failures()).isZero();
    assertPoolIdle(client);
  }

  @Test
  void otherHosts_passThroughUntouched() throws Exception {
    HttpBackends backends = closeLater(HttpBackends.start(1));
    LoadBalancer balancer = balancer(List.of(Endpoint.of("127.0.0.9", 1)));
    OkHttpClient client =
        LoadBalancingInterceptor.builder().service("svc.test", balancer).build().wrap(base);
    try (Response r =
        client
            .newCall(new Request.Builder().url("http://127.0.0.1:" + backends.port() + "/").build())
            .execute()) {
      assertThat(r.code()).isEqualTo(200);
      assertThat(CallAttempts.of(r)).isNull();
    }
    assertThat(balancer.inspect().snapshot().get(0).successes()).isZero();
  }

  @Test
  void eventStream_handedOverAtOnce_notReadAhead() throws Exception {
    // Nine bytes, then a pause far longer than the read timeout: reading ahead would time out.
    HttpBackends backends =
        closeLater(
            HttpBackends.start(
                1,
                s -> {},
                (i, r) ->
                    new MockResponse.Builder()
                        .addHeader("Content-Type", "text/event-stream")
                        .body("data: 1\n\ndata: 2\n\n")
                        .throttleBody(9, 30, TimeUnit.SECONDS)
                        .build()));
    OkHttpClient client =
        LoadBalancingInterceptor.builder()
            .service("svc.test", balancer(backends.endpoints()))
            .build()
            .wrap(base.newBuilder().readTimeout(Duration.ofMillis(500)).build());
    try (Response r =
        client
            .newCall(new Request.Builder().url("http://svc.test:" + backends.port() + "/").build())
            .execute()) {
      assertThat(r.body().source().readUtf8(9)).isEqualTo("data: 1\n\n");
    }
    assertThat(backends.total()).isEqualTo(1);
  }

  @Test
  void serviceName_caseAndTrailingDot_matchTheSameUrls() throws Exception {
    HttpBackends backends = closeLater(HttpBackends.start(2));
    LoadBalancer balancer = balancer(backends.endpoints());
    OkHttpClient client =
        LoadBalancingInterceptor.builder().service("SVC.test.", balancer).build().wrap(base);
    for (String host : List.of("svc.test", "svc.test.", "Svc.Test")) {
      try (Response r =
          client
              .newCall(
                  new Request.Builder().url("http://" + host + ":" + backends.port() + "/").build())
              .execute()) {
        assertThat(r.code()).isEqualTo(200);
        assertThat(CallAttempts.of(r)).as(host).isNotNull();
      }
    }
    assertThat(backends.total()).isEqualTo(3);
  }

  @Test
  void noEndpoint_failsWithAnIOExceptionNamingTheServiceAndReason() {
    LoadBalancer balancer =
        closeLater(
            LoadBalancers.builder("svc")
                .strategy(Strategies.roundRobin())
                .source(io.loadstar.core.DynamicEndpointSource.of(List.of()))
                .build());
    OkHttpClient client =
        LoadBalancingInterceptor.builder().service("svc.test", balancer).build().wrap(base);
    assertThatThrownBy(() -> get(client, "http://svc.test:8080/"))
        .isInstanceOf(EndpointUnavailableException.class)
        .hasMessage("no endpoint available for 'svc': 0 candidates, no endpoints discovered yet");
  }

  @Test
  void endpointOnAnotherPortThanTheUrl_isReachedOnItsOwnPort() throws Exception {
    HttpBackends backends = closeLater(HttpBackends.start(1));
    OkHttpClient client =
        LoadBalancingInterceptor.builder()
            .service("svc.test", balancer(backends.endpoints()))
            .build()
            .wrap(base);
    try (Response r =
        client.newCall(new Request.Builder().url("http://svc.test/x").build()).execute()) {
      assertThat(r.body().string()).isEqualTo("backend-0");
    }
    assertThat(backends.received(0).get(0).getHeaders().get("Host")).isEqualTo("svc.test");
  }

  @Test
  void twoEndpointsOnOneAddress_differentPorts_neverShareAPooledConnection() throws Exception {
    // Two instances on one host, as a registry or SRV lists them: the URL's port is the first's.
    HttpBackends first = closeLater(HttpBackends.start(1));
    HttpBackends second = closeLater(HttpBackends.start(1));
    List<Endpoint> endpoints = List.of(first.endpoint(0), second.endpoint(0));
    OkHttpClient client =
        LoadBalancingInterceptor.builder()
            .service("svc.test", balancer(endpoints))
            .build()
            .wrap(base);
    for (int i = 0; i < 100; i++) {
      assertThat(get(client, "http://svc.test:" + first.port() + "/")).startsWith("200 backend-0");
    }
    // Round robin: 50 each, on keep-alive connections that must not be handed across.
    assertThat(first.total()).isEqualTo(50);
    assertThat(second.total()).isEqualTo(50);
  }

  @Test
  void builderValidation() {
    LoadBalancer balancer = balancer(List.of(Endpoint.of("127.0.0.9", 1)));
    assertThatThrownBy(() -> LoadBalancingInterceptor.builder().build())
        .hasMessage("LoadBalancingInterceptor needs at least one service()");
    assertThatThrownBy(
            () -> LoadBalancingInterceptor.builder().service("a", balancer).service("A", balancer))
        .hasMessage("host: 'A' is already balanced");
    assertThatThrownBy(
            () -> LoadBalancingInterceptor.builder().service("a.", balancer).service("a", balancer))
        .hasMessage("host: 'a' is already balanced");
    for (String bad : List.of("", " ", "svc.test:8080", "http://svc.test", "svc.test/v1")) {
      assertThatThrownBy(() -> LoadBalancingInterceptor.builder().service(bad, balancer))
          .hasMessage(
              "host: '"
                  + bad
                  + "' (expected: a URL's host such as api.internal, without scheme, port or path)");
    }
    // One selection timeout per service: the balancer's.
    assertThatThrownBy(
            () ->
                LoadBalancers.builder("svc")
                    .strategy(Strategies.roundRobin())
                    .selectionTimeout(Duration.ofMinutes(6)))
        .hasMessage("selectionTimeout: PT6M (expected: PT0S..PT5M)");
    assertThatThrownBy(() -> LoadBalancingInterceptor.builder().retryBodyReadAhead(-1))
        .hasMessage("retryBodyReadAhead: -1 (expected: 0..16777216)");
    assertThat(RetryPolicy.defaults().maxAttempts()).isEqualTo(3);
  }
}
