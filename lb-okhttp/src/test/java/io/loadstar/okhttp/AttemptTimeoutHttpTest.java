package io.loadstar.okhttp;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.AttemptTimeout;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.RetryPolicy;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.Strategies;
import io.loadstar.testing.Await;
import io.loadstar.testing.Concurrently;
import io.loadstar.testing.HttpBackends;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import mockwebserver3.MockResponse;
import mockwebserver3.RecordedRequest;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import okio.Buffer;
import org.junit.jupiter.api.Test;

/**
 * The balancer's attempt timeout through OkHttp: a backend that accepts connections and never
 * answers costs an idempotent call the attempt timeout, not the client's read timeout; calls that
 * cannot be retried once sent keep the client's timeouts, and so does a body the caller reads.
 */
class AttemptTimeoutHttpTest extends OkHttpTestBase {

  /** Backend 0 takes {@code delay} before its headers; the others answer at once. */
  private HttpBackends firstDelayed(int n, long delay, TimeUnit unit) throws IOException {
    return closeLater(
        HttpBackends.start(
            n,
            s -> {},
            (i, r) ->
                i == 0
                    ? new MockResponse.Builder().headersDelay(delay, unit).body("slow-0").build()
                    : new MockResponse.Builder().body("backend-" + i).build()));
  }

  @Test
  void withTheDefaults_aHungBackend_costsNoGetItsReadTimeout() throws Exception {
    HttpBackends backends = firstDelayed(3, 60, TimeUnit.SECONDS); // it never answers in time
    LoadBalancer balancer =
        closeLater(LoadBalancers.builder("svc").endpoints(backends.endpoints()).build());
    // The client's read timeout is a minute: a GET that waited for it would fail the call below.
    OkHttpClient client =
        balanced(
            balancer,
            b -> b.readTimeout(Duration.ofMinutes(1)).callTimeout(Duration.ofSeconds(20)));

    Concurrently.Outcome outcome = getsAnsweredByLiveBackends(client, backends, 3, 150);
    assertThat(outcome.failed()).as("%s", outcome).isZero();
    EndpointSnapshot hung = snapshotOf(balancer, backends.endpoint(0));
    // Each attempt it got timed out; least request then sends it first attempts last.
    assertThat(hung.failures()).as("%s", hung).isBetween(1L, 10L);
    assertThat(Await.until(() -> snapshotOf(balancer, backends.endpoint(0)).inFlight() == 0))
        .isTrue();
  }

  private LoadBalancer hashed(HttpBackends backends, AttemptTimeout timeout) {
    return closeLater(
        LoadBalancers.builder("svc")
            .endpoints(backends.endpoints())
            .strategy(Strategies.ringHash())
            .retryPolicy(RetryPolicy.builder().attemptTimeout(timeout).build())
            .build());
  }

  @Test
  void aSlowAnswer_cutsAGet_butNotAPost_whichCannotBeSentTwice() throws Exception {
    HttpBackends backends = firstDelayed(2, 600, TimeUnit.MILLISECONDS);
    LoadBalancer balancer = hashed(backends, AttemptTimeout.fixed(Duration.ofMillis(100)));
    OkHttpClient client =
        LoadBalancingInterceptor.builder().service("svc.test", balancer).build().wrap(base);
    PickContext key = keyFirstOn(balancer, backends.endpoint(0));
    String url = "http://svc.test:" + backends.port() + "/";

    Request get = new Request.Builder().url(url).tag(PickContext.class, key).build();
    try (Response r = client.newCall(get).execute()) {
      assertThat(r.body().string()).isEqualTo("backend-1");
      List<CallAttempts.Attempt> attempts = CallAttempts.of(r).attempts();
      assertThat(attempts).hasSize(2);
      assertThat(attempts.get(0).endpoint()).isEqualTo(backends.endpoint(0));
      assertThat(attempts.get(0).error()).isInstanceOf(SocketTimeoutException.class);
    }

    Request post =
        new Request.Builder()
            .url(url)
            .post(RequestBody.create("pay", TEXT))
            .tag(PickContext.class, key)
            .build();
    try (Response r = client.newCall(post).execute()) {
      assertThat(r.body().string()).isEqualTo("slow-0");
      assertThat(CallAttempts.of(r).attempts()).hasSize(1);
    }
    assertThat(snapshotOf(balancer, backends.endpoint(0)).failures()).isEqualTo(1);
  }

  @Test
  void eachAttemptTellsTheServerItsTimeBudget_inTheDocumentedHeader() throws Exception {
    HttpBackends backends = closeLater(HttpBackends.start(2));
    LoadBalancer balancer = hashed(backends, AttemptTimeout.fixed(Duration.ofMillis(300)));
    String url = "http://svc.test:" + backends.port() + "/";
    OkHttpClient noDeadline =
        LoadBalancingInterceptor.builder().service("svc.test", balancer).build().wrap(base);
    OkHttpClient deadline = balanced(balancer, b -> b.callTimeout(Duration.ofSeconds(5)));
    OkHttpClient silent =
        LoadBalancingInterceptor.builder()
            .service("svc.test", balancer)
            .timeoutHeader(null)
            .build()
            .wrap(base.newBuilder().callTimeout(Duration.ofSeconds(5)).build());
    Request get = new Request.Builder().url(url).build();
    Request post = new Request.Builder().url(url).post(RequestBody.create("x", TEXT)).build();

    // A GET's attempt gives up after 300 ms: that is its budget, with or without a call deadline.
    assertThat(budgetSent(noDeadline, get, backends)).isEqualTo("300");
    assertThat(budgetSent(deadline, get, backends)).isEqualTo("300");
    // A POST keeps the client's read timeout: its budget is the call's time left, if any.
    assertThat(budgetSent(noDeadline, post, backends)).isNull();
    assertThat(Integer.parseInt(budgetSent(deadline, post, backends))).isBetween(4_000, 5_000);
    assertThat(budgetSent(silent, get, backends)).isNull();
  }

  /** The time budget header the backend received with {@code request}. */
  private static String budgetSent(OkHttpClient client, Request request, HttpBackends backends)
      throws Exception {
    try (Response r = client.newCall(request).execute()) {
      r.body().string();
      int server = backends.endpoints().indexOf(CallAttempts.of(r).servedBy());
      // The newest request that server recorded (it records a request before answering it).
      RecordedRequest last = null;
      for (RecordedRequest next;
          (next = backends.server(server).takeRequest(0, TimeUnit.SECONDS)) != null; ) {
        last = next;
      }
      return last.getHeaders().get(LoadBalancingInterceptor.DEFAULT_TIMEOUT_HEADER);
    }
  }

  @Test
  void aBodyTheCallerReads_keepsTheClientsReadTimeout() throws Exception {
    // Headers and the first 80 KB at once (the read-ahead takes 64 KiB of it), then a 400 ms
    // pause, four times the attempt timeout, before the rest.
    Buffer body = new Buffer().write(new byte[160_000]);
    HttpBackends backends =
        closeLater(
            HttpBackends.start(
                2,
                s -> {},
                (i, r) ->
                    new MockResponse.Builder()
                        .body(body.clone())
                        .throttleBody(80_000, 400, TimeUnit.MILLISECONDS)
                        .build()));
    LoadBalancer balancer = hashed(backends, AttemptTimeout.fixed(Duration.ofMillis(100)));
    OkHttpClient client =
        LoadBalancingInterceptor.builder().service("svc.test", balancer).build().wrap(base);
    Request get =
        new Request.Builder()
            .url("http://svc.test:" + backends.port() + "/")
            .tag(PickContext.class, keyFirstOn(balancer, backends.endpoint(0)))
            .build();
    try (Response r = client.newCall(get).execute()) {
      assertThat(r.body().bytes()).hasSize(160_000);
      assertThat(CallAttempts.of(r).attempts()).hasSize(1);
    }
    assertThat(snapshotOf(balancer, backends.endpoint(0)).failures()).isZero();
  }
}
