package io.loadstar.httpclient5;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.AttemptTimeout;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.Hedging;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.RetryPolicy;
import io.loadstar.core.LoadBalancers;
import io.loadstar.testing.Await;
import io.loadstar.testing.HttpBackends;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CancellationException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.apache.hc.client5.http.async.methods.SimpleHttpResponse;
import org.apache.hc.client5.http.async.methods.SimpleRequestBuilder;
import org.apache.hc.client5.http.impl.async.CloseableHttpAsyncClient;
import org.apache.hc.client5.http.impl.nio.PoolingAsyncClientConnectionManager;
import org.apache.hc.client5.http.impl.nio.PoolingAsyncClientConnectionManagerBuilder;
import org.apache.hc.client5.http.protocol.HttpClientContext;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.util.Timeout;
import org.junit.jupiter.api.Test;

/**
 * The balancer's attempt timeout and hedging through the async client, against real servers, as
 * {@link ClassicTimeoutHedgingTest} does for the classic one: a backend that takes requests and
 * never answers costs a GET the attempt timeout, not the client's socket timeout (a minute here); a
 * POST keeps the client's; a hedged GET's first answer wins and the other attempt's exchange is
 * cut; an answer that would be retried waits for the hedge beside it; a cancel stops both; nothing
 * stays leased, and every endpoint's in-flight count comes back to 0.
 */
class AsyncTimeoutHedgingTest extends HttpClient5TestBase {

  private PoolingAsyncClientConnectionManager pool;

  /** A started async client whose own timeouts are a minute: a request that waited would show. */
  private CloseableHttpAsyncClient client(LoadBalancer lb) {
    pool =
        PoolingAsyncClientConnectionManagerBuilder.create()
            .setMaxConnPerRoute(50)
            .setMaxConnTotal(200)
            .setDefaultConnectionConfig(connectIn2s(Timeout.ofMinutes(1)))
            .build();
    return asyncClient(lb, pool);
  }

  /** A GET to the service on {@code backends}' port, in {@code context}. */
  private static SimpleHttpResponse get(
      CloseableHttpAsyncClient client, HttpBackends backends, HttpClientContext context)
      throws Exception {
    return send(
        client,
        SimpleRequestBuilder.get("http://svc.test:" + backends.port() + "/").build(),
        context);
  }

  private void assertNothingLeased() {
    assertNothingLeased(pool);
  }

  @Test
  void withTheDefaults_aHungBackend_costsAGetTheAttemptTimeout_notTheClientsTimeout()
      throws Exception {
    HttpBackends backends = backends(3, 1);
    LoadBalancer lb =
        closeLater(LoadBalancers.builder("svc").endpoints(backends.endpoints()).build());
    CloseableHttpAsyncClient client = client(lb);
    String url = "http://svc.test:" + backends.port() + "/";

    // 30 rounds of 5 GETs at once, as a service's callers would send them.
    int timedOut = 0;
    for (int round = 0; round < 30; round++) {
      List<HttpClientContext> contexts = new ArrayList<>();
      List<Future<SimpleHttpResponse>> calls = new ArrayList<>();
      for (int i = 0; i < 5; i++) {
        HttpClientContext context = HttpClientContext.create();
        contexts.add(context);
        calls.add(execute(client, SimpleRequestBuilder.get(url).build(), context));
      }
      for (int i = 0; i < calls.size(); i++) {
        SimpleHttpResponse r = calls.get(i).get(30, TimeUnit.SECONDS);
        assertThat(r.getCode()).isEqualTo(200);
        assertThat(r.getBodyText()).startsWith("backend-");
        for (CallAttempts.Attempt a : CallAttempts.of(contexts.get(i)).attempts()) {
          if (a.endpoint().equals(backends.endpoint(0))) {
            assertThat(a.error())
                .isInstanceOf(SocketTimeoutException.class)
                .hasMessageContaining("within the attempt timeout");
            timedOut++;
          }
        }
      }
    }
    assertThat(timedOut).as("GETs that met the hung backend first").isPositive();
    EndpointSnapshot hung = lb.inspect().snapshot().get(0);
    assertThat(hung.failures()).as("%s", hung).isPositive();
    assertThat(Await.until(() -> idle(lb))).isTrue();
    assertNothingLeased();
  }

  @Test
  void aSlowAnswer_cutsAGet_butNotAPost_andABodyTheCallerReadsKeepsTheClientsTimeout()
      throws Exception {
    HttpBackends backends = slowHeadAndPausedBody();
    RetryPolicy fixed =
        RetryPolicy.builder().attemptTimeout(AttemptTimeout.fixed(Duration.ofMillis(100))).build();
    LoadBalancer lb = hashed(backends, fixed);
    CloseableHttpAsyncClient client = client(lb);
    String url = "http://svc.test:" + backends.port() + "/";

    HttpClientContext get = firstOn(lb, backends.endpoint(0));
    SimpleHttpResponse r = send(client, SimpleRequestBuilder.get(url).build(), get);
    assertThat(r.getBodyBytes()).hasSize(160_000); // from backend 1, read whole past its pause
    List<CallAttempts.Attempt> attempts = CallAttempts.of(get).attempts();
    assertThat(attempts).hasSize(2);
    assertThat(attempts.get(0).endpoint()).isEqualTo(backends.endpoint(0));
    assertThat(attempts.get(0).error()).isInstanceOf(SocketTimeoutException.class);

    HttpClientContext post = firstOn(lb, backends.endpoint(0));
    SimpleHttpResponse answer =
        send(
            client,
            SimpleRequestBuilder.post(url).setBody("pay", ContentType.TEXT_PLAIN).build(),
            post);
    assertThat(answer.getBodyText()).isEqualTo("slow-0");
    assertThat(CallAttempts.of(post).attempts()).hasSize(1);
    assertThat(Await.until(() -> idle(lb))).isTrue();
    assertNothingLeased();
  }

  @Test
  void aPutWithABody_isCutByItsTimeout_andSentAgainWhole() throws Exception {
    HttpBackends backends = backends(2, 1);
    RetryPolicy fixed =
        RetryPolicy.builder().attemptTimeout(AttemptTimeout.fixed(Duration.ofMillis(100))).build();
    LoadBalancer lb = hashed(backends, fixed);
    CloseableHttpAsyncClient client = client(lb);
    HttpClientContext context = firstOn(lb, backends.endpoint(0));

    SimpleHttpResponse r =
        send(
            client,
            SimpleRequestBuilder.put("http://svc.test:" + backends.port() + "/")
                .setBody("payload", ContentType.TEXT_PLAIN)
                .build(),
            context);

    assertThat(r.getBodyText()).isEqualTo("backend-1");
    assertThat(backends.server(1).takeRequest().getBodySize()).as("the whole body").isEqualTo(7);
    assertThat(CallAttempts.of(context).attempts().get(0).error())
        .isInstanceOf(SocketTimeoutException.class);
    assertThat(lb.inspect().retryStats().hedges()).as("a request with a body").isZero();
    assertThat(Await.until(() -> idle(lb))).isTrue();
    assertNothingLeased();
  }

  @Test
  void aHedgedGet_theHedgesAnswerWins_andTheHungAttemptIsCut() throws Exception {
    HttpBackends backends = backends(3, 1);
    LoadBalancer lb = hashed(backends, HEDGED_ONLY);
    CloseableHttpAsyncClient client = client(lb);
    HttpClientContext context = firstOn(lb, backends.endpoint(0));

    SimpleHttpResponse r = get(client, backends, context);

    assertThat(r.getBodyText()).startsWith("backend-").isNotEqualTo("backend-0");
    assertThat(CallAttempts.of(context).attempts()).as("the cut first is not listed").hasSize(1);
    assertThat(lb.inspect().retryStats().hedges()).isEqualTo(1);
    assertThat(Await.until(() -> idle(lb))).isTrue();
    assertThat(lb.inspect().snapshot().get(0).failures()).as("overtaken, not failed").isZero();
    assertNothingLeased();
  }

  @Test
  void aFirstAttemptThatAnswersFirst_winsAndTheHedgeIsCut() throws Exception {
    // Backend 0 answers after 150 ms, three times the hedging delay; backend 1 hangs.
    HttpBackends backends =
        closeLater(
            HttpBackends.start(
                2, HttpBackends.Handler.timed(new long[] {150, 60_000}, new int[] {200, 200})));
    LoadBalancer lb = hashed(backends, HEDGED_ONLY);
    CloseableHttpAsyncClient client = client(lb);
    HttpClientContext context = firstOn(lb, backends.endpoint(0));

    SimpleHttpResponse r = get(client, backends, context);

    assertThat(r.getBodyText()).isEqualTo("backend-0");
    assertThat(lb.inspect().retryStats().hedges()).isEqualTo(1);
    assertThat(Await.until(() -> idle(lb))).isTrue();
    assertThat(lb.inspect().snapshot()).allSatisfy(e -> assertThat(e.failures()).isZero());
    assertNothingLeased();
  }

  @Test
  void aRetryableAnswerBesideTheHedge_waitsForIt_andTheHedgesAnswerIsHandedOver() throws Exception {
    // Backend 0: 503 after 150 ms, while the hedge (sent at 50 ms) is out; backend 1: 200 at 300.
    HttpBackends backends =
        closeLater(
            HttpBackends.start(
                2, HttpBackends.Handler.timed(new long[] {150, 300}, new int[] {503, 200})));
    LoadBalancer lb = hashed(backends, HEDGED_ONLY);
    CloseableHttpAsyncClient client = client(lb);
    HttpClientContext context = firstOn(lb, backends.endpoint(0));

    SimpleHttpResponse r = get(client, backends, context);

    assertThat(r.getCode()).isEqualTo(200);
    assertThat(r.getBodyText()).isEqualTo("backend-1");
    assertThat(CallAttempts.of(context).attempts())
        .extracting(CallAttempts.Attempt::status)
        .containsExactly(503, 200);
    assertThat(Await.until(() -> idle(lb))).isTrue();
    assertNothingLeased();
  }

  @Test
  void aCancelledHedgedGet_stopsBothAttempts_andLeavesNothingLeased() throws Exception {
    HttpBackends backends = backends(2, 2);
    LoadBalancer lb = hashed(backends, HEDGED_ONLY);
    CloseableHttpAsyncClient client = client(lb);
    Future<SimpleHttpResponse> call =
        execute(
            client,
            SimpleRequestBuilder.get("http://svc.test:" + backends.port() + "/").build(),
            HttpClientContext.create());
    assertThat(Await.until(() -> backends.total() == 2)).as("the first and its hedge").isTrue();

    call.cancel(true);

    assertThat(call.isCancelled()).isTrue();
    try {
      call.get(10, TimeUnit.SECONDS);
    } catch (CancellationException expected) {
      // the caller's cancel
    }
    assertThat(Await.until(() -> idle(lb))).isTrue();
    assertThat(lb.inspect().snapshot()).allSatisfy(e -> assertThat(e.failures()).isZero());
    assertNothingLeased();
  }

  @Test
  void manyHedgedGets_atOnce_eachAnsweredOnce_andEverySlotReleased() throws Exception {
    // Backend 0 answers after 120 ms, the others at once: a third of the GETs wait past the hedging
    // delay, and some are hedged (up to the hedges' share of calls).
    HttpBackends backends = closeLater(HttpBackends.start(3, HttpBackends.Handler.slowAt(0, 120)));
    RetryPolicy policy =
        RetryPolicy.builder().hedging(Hedging.after(Duration.ofMillis(30))).build();
    LoadBalancer lb = hashed(backends, policy);
    CloseableHttpAsyncClient client = client(lb);
    String url = "http://svc.test:" + backends.port() + "/";

    List<Future<SimpleHttpResponse>> calls = new ArrayList<>();
    for (int i = 0; i < 300; i++) {
      HttpClientContext context = HttpClientContext.create();
      context.setAttribute(
          HttpClientLoadBalancing.PICK_CONTEXT, io.loadstar.api.PickContext.ofHashKey("k" + i));
      calls.add(execute(client, SimpleRequestBuilder.get(url).build(), context));
    }
    for (Future<SimpleHttpResponse> f : calls) {
      SimpleHttpResponse r = f.get(30, TimeUnit.SECONDS);
      assertThat(r.getCode()).isEqualTo(200);
      assertThat(r.getBodyText()).startsWith("backend-");
    }
    assertThat(lb.inspect().retryStats().hedges()).isPositive();
    assertThat(Await.until(() -> idle(lb))).as("%s", lb.inspect().snapshot()).isTrue();
    assertThat(lb.inspect().snapshot()).allSatisfy(e -> assertThat(e.failures()).isZero());
    assertNothingLeased();
  }
}
