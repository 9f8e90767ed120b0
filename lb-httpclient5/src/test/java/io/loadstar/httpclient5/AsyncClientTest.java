package io.loadstar.httpclient5;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.Strategies;
import io.loadstar.testing.HttpBackends;
import java.io.IOException;
import java.net.ConnectException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;
import java.util.concurrent.Future;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import mockwebserver3.MockResponse;
import mockwebserver3.RecordedRequest;
import okhttp3.tls.HandshakeCertificates;
import okhttp3.tls.HeldCertificate;
import org.apache.hc.client5.http.async.methods.SimpleHttpResponse;
import org.apache.hc.client5.http.async.methods.SimpleRequestBuilder;
import org.apache.hc.client5.http.async.methods.SimpleResponseConsumer;
import org.apache.hc.client5.http.impl.async.CloseableHttpAsyncClient;
import org.apache.hc.client5.http.impl.nio.PoolingAsyncClientConnectionManager;
import org.apache.hc.client5.http.impl.nio.PoolingAsyncClientConnectionManagerBuilder;
import org.apache.hc.client5.http.protocol.HttpClientContext;
import org.apache.hc.client5.http.ssl.ClientTlsStrategyBuilder;
import org.apache.hc.core5.concurrent.FutureCallback;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.nio.AsyncEntityProducer;
import org.apache.hc.core5.http.nio.AsyncRequestProducer;
import org.apache.hc.core5.http.nio.DataStreamChannel;
import org.apache.hc.core5.http.nio.entity.AsyncEntityProducers;
import org.apache.hc.core5.http.nio.support.BasicRequestProducer;
import org.apache.hc.core5.util.Timeout;
import org.junit.jupiter.api.Test;

/**
 * The async client against real backends on 127.0.0.1-.3 (one port): a pick per request, the
 * service's name kept for Host and TLS (HTTP/2 over ALPN), retries on another endpoint from the I/O
 * callbacks, the last answer handed over when nothing is left, and nothing left leased.
 */
class AsyncClientTest extends HttpClient5TestBase {

  private PoolingAsyncClientConnectionManager pool;

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

  private CloseableHttpAsyncClient client(LoadBalancer lb) {
    return client(lb, null);
  }

  private CloseableHttpAsyncClient client(LoadBalancer lb, HandshakeCertificates trust) {
    PoolingAsyncClientConnectionManagerBuilder cm =
        PoolingAsyncClientConnectionManagerBuilder.create()
            .setMaxConnPerRoute(20)
            .setMaxConnTotal(100)
            .setDefaultConnectionConfig(connectIn2s(Timeout.ofSeconds(5)));
    if (trust != null) {
      cm.setTlsStrategy(
          ClientTlsStrategyBuilder.create().setSslContext(trust.sslContext()).buildAsync());
    }
    pool = cm.build();
    return asyncClient(lb, pool);
  }

  private static String get(CloseableHttpAsyncClient client, String url) throws Exception {
    SimpleHttpResponse r =
        send(client, SimpleRequestBuilder.get(url).build(), HttpClientContext.create());
    return r.getCode() + " " + r.getBodyText();
  }

  private void assertNothingLeased() {
    assertNothingLeased(pool);
  }

  @Test
  void eachOfThreeBackendsGetsAThird_overConnectionsOfItsOwn_hostKept() throws Exception {
    HttpBackends backends = closeLater(HttpBackends.start(3));
    CloseableHttpAsyncClient client = client(roundRobin(backends.endpoints()));
    for (int i = 0; i < 30; i++) {
      assertThat(get(client, "http://svc.test:" + backends.port() + "/"))
          .startsWith("200 backend-");
    }
    assertThat(backends.counts()).containsExactly(10, 10, 10);
    assertThat(pool.getRoutes()).hasSize(3);
    for (int i = 0; i < 3; i++) {
      RecordedRequest r = backends.received(i).get(9);
      assertThat(r.getHeaders().get("Host")).isEqualTo("svc.test:" + backends.port());
      // Kept alive: ten requests over fewer connections (the async pool may open a second one
      // when a request starts before the last one's connection is back in the pool).
      assertThat(backends.received(i).stream().map(RecordedRequest::getConnectionIndex).distinct())
          .hasSizeLessThan(5);
    }
    assertNothingLeased();
  }

  @Test
  void tls_http2_certificateOnlyForTheServiceName_verifiesAndSendsSni() throws Exception {
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
    CloseableHttpAsyncClient client = client(roundRobin(backends.endpoints()), trust);
    for (int i = 0; i < 30; i++) {
      assertThat(get(client, "https://svc.test:" + backends.port() + "/"))
          .startsWith("200 backend-");
    }
    assertThat(backends.counts()).containsExactly(10, 10, 10);
    for (int i = 0; i < 3; i++) {
      RecordedRequest r = backends.received(i).get(0);
      assertThat(r.getHandshakeServerNames()).containsExactly("svc.test");
      assertThat(r.getUrl().host()).isEqualTo("svc.test");
    }
    assertNothingLeased();
  }

  @Test
  void oneBackendKilled_noGetFails_andItIsEjected() throws Exception {
    HttpBackends backends = closeLater(HttpBackends.start(3));
    LoadBalancer lb = balancer(backends.endpoints());
    CloseableHttpAsyncClient client = client(lb);
    String url = "http://svc.test:" + backends.port() + "/";
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
  void oneBackendAnswers503_noGetFails_itIsEjectedAfterTheFifth() throws Exception {
    HttpBackends backends = closeLater(HttpBackends.start(3, HttpBackends.Handler.failingAt(1)));
    LoadBalancer lb = balancer(backends.endpoints());
    CloseableHttpAsyncClient client = client(lb);
    for (int i = 0; i < 200; i++) {
      assertThat(get(client, "http://svc.test:" + backends.port() + "/"))
          .startsWith("200 backend-");
    }
    assertThat(backends.counts()[1]).isEqualTo(5);
    assertThat(lb.inspect().snapshot().get(1).state()).isEqualTo(EndpointSnapshot.State.EJECTED);
    assertThat(
            io.loadstar.testing.Await.until(
                () -> lb.inspect().snapshot().stream().allMatch(e -> e.inFlight() == 0)))
        .isTrue();
    assertNothingLeased();
  }

  @Test
  void oneBackendSlow_leastRequestSendsItAtMostATenth() throws Exception {
    HttpBackends backends = closeLater(HttpBackends.start(3, HttpBackends.Handler.slowAt(0, 100)));
    CloseableHttpAsyncClient client = client(balancer(backends.endpoints()));
    String url = "http://svc.test:" + backends.port() + "/";
    Semaphore concurrency = new Semaphore(8);
    AtomicInteger failed = new AtomicInteger();
    List<Future<SimpleHttpResponse>> all = new ArrayList<>();
    for (int i = 0; i < 480; i++) {
      concurrency.acquire();
      all.add(
          client.execute(
              SimpleRequestBuilder.get(url).build(),
              new FutureCallback<>() {
                @Override
                public void completed(SimpleHttpResponse result) {
                  concurrency.release();
                }

                @Override
                public void failed(Exception ex) {
                  failed.incrementAndGet();
                  concurrency.release();
                }

                @Override
                public void cancelled() {
                  failed.incrementAndGet();
                  concurrency.release();
                }
              }));
    }
    for (Future<SimpleHttpResponse> f : all) {
      assertThat(f.get(30, TimeUnit.SECONDS).getCode()).isEqualTo(200);
    }
    assertThat(failed).hasValue(0);
    assertThat(backends.counts()[0])
        .as("%s", java.util.Arrays.toString(backends.counts()))
        .isLessThanOrEqualTo(backends.total() / 10);
    assertNothingLeased();
  }

  @Test
  void allAnswer503_theLastAnswerIsHandedOverWithItsBody() throws Exception {
    HttpBackends backends =
        closeLater(
            HttpBackends.start(
                3, (i, r) -> new MockResponse.Builder().code(503).body("busy-" + i).build()));
    LoadBalancer lb = balancer(backends.endpoints());
    CloseableHttpAsyncClient client = client(lb);
    HttpClientContext context = HttpClientContext.create();
    SimpleHttpResponse r =
        send(
            client,
            SimpleRequestBuilder.get("http://svc.test:" + backends.port() + "/").build(),
            context);
    assertThat(r.getCode()).isEqualTo(503);
    assertThat(r.getBodyText()).startsWith("busy-");
    assertThat(CallAttempts.of(context).attempts()).hasSize(3);
    assertThat(backends.total()).isEqualTo(3);
    assertNothingLeased();
  }

  @Test
  void post_connectRefusedRetriedElsewhere_but503NotRepeated() throws Exception {
    HttpBackends backends =
        closeLater(HttpBackends.start(2, (i, r) -> new MockResponse.Builder().code(503).build()));
    backends.kill(0);
    LoadBalancer lb =
        closeLater(
            LoadBalancers.builder("svc")
                .endpoints(backends.endpoints())
                .strategy(Strategies.roundRobin())
                .outlierDetection(io.loadstar.core.OutlierDetectionConfig.disabled())
                .build());
    CloseableHttpAsyncClient client = client(lb);
    String url = "http://svc.test:" + backends.port() + "/pay";
    for (int i = 0; i < 4; i++) {
      HttpClientContext context = HttpClientContext.create();
      SimpleHttpResponse r =
          send(
              client,
              SimpleRequestBuilder.post(url).setBody("pay", ContentType.TEXT_PLAIN).build(),
              context);
      assertThat(r.getCode()).isEqualTo(503); // sent once to the live one, never twice
      List<CallAttempts.Attempt> attempts = CallAttempts.of(context).attempts();
      assertThat(attempts.get(attempts.size() - 1).endpoint()).isEqualTo(backends.endpoint(1));
      if (attempts.size() == 2) {
        assertThat(attempts.get(0).error()).isInstanceOf(ConnectException.class);
      }
    }
    assertThat(backends.counts()[1]).isEqualTo(4);
    assertNothingLeased();
  }

  @Test
  void nonRepeatableEntity_neverSentTwice_evenWhenIdempotent() throws Exception {
    HttpBackends backends =
        closeLater(HttpBackends.start(2, (i, r) -> new MockResponse.Builder().code(503).build()));
    CloseableHttpAsyncClient client = client(balancer(backends.endpoints()));
    AsyncEntityProducer once =
        new OneShot(AsyncEntityProducers.create("once", ContentType.TEXT_PLAIN));
    AsyncRequestProducer put =
        new BasicRequestProducer(
            "PUT", java.net.URI.create("http://svc.test:" + backends.port() + "/x"), once);
    SimpleHttpResponse r =
        client.execute(put, SimpleResponseConsumer.create(), null).get(30, TimeUnit.SECONDS);
    assertThat(r.getCode()).isEqualTo(503);
    assertThat(backends.total()).isEqualTo(1);
    assertNothingLeased();
  }

  @Test
  void cancel_duringAStalledAttempt_releasesTheEndpoint_andCountsNoFailure() throws Exception {
    HttpBackends backends =
        closeLater(
            HttpBackends.start(
                1,
                (i, r) ->
                    new MockResponse.Builder()
                        .body("late")
                        .headersDelay(20, TimeUnit.SECONDS)
                        .build()));
    LoadBalancer lb = balancer(backends.endpoints());
    CloseableHttpAsyncClient client = client(lb);
    Future<SimpleHttpResponse> f =
        client.execute(
            SimpleRequestBuilder.get("http://svc.test:" + backends.port() + "/").build(), null);
    assertThat(io.loadstar.testing.Await.until(() -> backends.total() == 1)).isTrue();
    assertThat(lb.inspect().snapshot().get(0).inFlight()).isEqualTo(1);
    f.cancel(true);
    assertThat(
            io.loadstar.testing.Await.until(() -> lb.inspect().snapshot().get(0).inFlight() == 0))
        .isTrue();
    assertThat(lb.inspect().snapshot().get(0).failures()).isZero();
    assertThat(backends.total()).isEqualTo(1); // not retried
  }

  @Test
  void noEndpoint_failsWithEndpointUnavailableException() {
    LoadBalancer lb =
        closeLater(
            LoadBalancers.builder("svc")
                .endpoints(List.of())
                .selectionTimeout(Duration.ZERO)
                .build());
    CloseableHttpAsyncClient client = client(lb);
    assertThatThrownBy(() -> get(client, "http://svc.test:8080/"))
        .isInstanceOf(EndpointUnavailableException.class)
        .hasMessageContaining("'svc'");
  }

  @Test
  void otherHosts_passThroughUntouched() throws Exception {
    HttpBackends backends = closeLater(HttpBackends.start(1));
    LoadBalancer lb = balancer(List.of(Endpoint.of("127.0.0.9", backends.port())));
    CloseableHttpAsyncClient client = client(lb);
    HttpClientContext context = HttpClientContext.create();
    SimpleHttpResponse r =
        send(
            client,
            SimpleRequestBuilder.get("http://127.0.0.1:" + backends.port() + "/").build(),
            context);
    assertThat(r.getBodyText()).isEqualTo("backend-0");
    assertThat(CallAttempts.of(context)).isNull();
  }

  /** An entity producer that says it cannot be repeated (a stream). */
  private static final class OneShot implements AsyncEntityProducer {
    private final AsyncEntityProducer delegate;

    OneShot(AsyncEntityProducer delegate) {
      this.delegate = delegate;
    }

    @Override
    public boolean isRepeatable() {
      return false;
    }

    @Override
    public void failed(Exception cause) {
      delegate.failed(cause);
    }

    @Override
    public long getContentLength() {
      return delegate.getContentLength();
    }

    @Override
    public String getContentType() {
      return delegate.getContentType();
    }

    @Override
    public String getContentEncoding() {
      return delegate.getContentEncoding();
    }

    @Override
    public boolean isChunked() {
      return delegate.isChunked();
    }

    @Override
    public Set<String> getTrailerNames() {
      return delegate.getTrailerNames();
    }

    @Override
    public int available() {
      return delegate.available();
    }

    @Override
    public void produce(DataStreamChannel channel) throws IOException {
      delegate.produce(channel);
    }

    @Override
    public void releaseResources() {
      delegate.releaseResources();
    }
  }
}
