package io.loadstar.httpclient5;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.AttemptTimeout;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.RetryPolicy;
import io.loadstar.core.LoadBalancers;
import io.loadstar.testing.Await;
import io.loadstar.testing.Concurrently;
import io.loadstar.testing.HttpBackends;
import java.io.IOException;
import java.net.SocketTimeoutException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.apache.hc.client5.http.classic.methods.HttpGet;
import org.apache.hc.client5.http.classic.methods.HttpPost;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManager;
import org.apache.hc.client5.http.impl.io.PoolingHttpClientConnectionManagerBuilder;
import org.apache.hc.client5.http.protocol.HttpClientContext;
import org.apache.hc.core5.http.ContentType;
import org.apache.hc.core5.http.io.entity.EntityUtils;
import org.apache.hc.core5.http.io.entity.StringEntity;
import org.apache.hc.core5.util.Timeout;
import org.junit.jupiter.api.Test;

/**
 * The balancer's attempt timeout and hedging through the classic client, against real servers: a
 * backend that takes requests and never answers costs a GET the attempt timeout, not the client's
 * response timeout (a minute here); a POST keeps the client's; a body the caller reads keeps the
 * client's socket timeout; a hedged GET's first answer wins and the other attempt's connection is
 * shut; an abort stops both; nothing stays leased.
 */
class ClassicTimeoutHedgingTest extends HttpClient5TestBase {

  private PoolingHttpClientConnectionManager pool;

  /** A client whose own timeouts are a minute: a request that waited for them would show. */
  private CloseableHttpClient client(LoadBalancer lb) {
    pool =
        PoolingHttpClientConnectionManagerBuilder.create()
            .setMaxConnPerRoute(20)
            .setMaxConnTotal(100)
            .setDefaultConnectionConfig(connectIn2s(Timeout.ofMinutes(1)))
            .build();
    HttpClientLoadBalancing balancing =
        HttpClientLoadBalancing.builder().service("svc.test", lb).build();
    return closeLater(balancing.configure(HttpClients.custom().setConnectionManager(pool)).build());
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
    CloseableHttpClient client = client(lb);
    String url = "http://svc.test:" + backends.port() + "/";

    Concurrently.Outcome outcome =
        Concurrently.run(
            3,
            90,
            i -> {
              HttpClientContext context = HttpClientContext.create();
              String body =
                  client.execute(
                      new HttpGet(url), context, r -> EntityUtils.toString(r.getEntity()));
              assertThat(body).startsWith("backend-");
              for (CallAttempts.Attempt a : CallAttempts.of(context).attempts()) {
                if (a.endpoint().equals(backends.endpoint(0))) {
                  assertThat(a.error())
                      .isInstanceOf(SocketTimeoutException.class)
                      .hasMessageContaining("within the attempt timeout");
                }
              }
            });
    assertThat(outcome.failed()).as("%s", outcome).isZero();
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
    CloseableHttpClient client = client(lb);
    String url = "http://svc.test:" + backends.port() + "/";

    HttpClientContext get = firstOn(lb, backends.endpoint(0));
    byte[] body =
        client.execute(new HttpGet(url), get, r -> EntityUtils.toByteArray(r.getEntity()));
    assertThat(body).hasSize(160_000); // from backend 1, read whole past its pause
    List<CallAttempts.Attempt> attempts = CallAttempts.of(get).attempts();
    assertThat(attempts).hasSize(2);
    assertThat(attempts.get(0).endpoint()).isEqualTo(backends.endpoint(0));
    assertThat(attempts.get(0).error()).isInstanceOf(SocketTimeoutException.class);

    HttpPost post = new HttpPost(url);
    post.setEntity(new StringEntity("pay", ContentType.TEXT_PLAIN));
    HttpClientContext postContext = firstOn(lb, backends.endpoint(0));
    String answer = client.execute(post, postContext, r -> EntityUtils.toString(r.getEntity()));
    assertThat(answer).isEqualTo("slow-0");
    assertThat(CallAttempts.of(postContext).attempts()).hasSize(1);
    assertNothingLeased();
  }

  @Test
  void aHedgedGet_theHedgesAnswerWins_andTheHungAttemptIsCut() throws Exception {
    HttpBackends backends = backends(3, 1);
    LoadBalancer lb = hashed(backends, HEDGED_ONLY);
    CloseableHttpClient client = client(lb);
    HttpClientContext context = firstOn(lb, backends.endpoint(0));

    String body =
        client.execute(
            new HttpGet("http://svc.test:" + backends.port() + "/"),
            context,
            r -> EntityUtils.toString(r.getEntity()));

    assertThat(body).startsWith("backend-");
    assertThat(CallAttempts.of(context).attempts()).as("the cut first is not listed").hasSize(1);
    assertThat(lb.inspect().retryStats().hedges()).isEqualTo(1);
    assertThat(Await.until(() -> idle(lb))).isTrue();
    assertThat(lb.inspect().snapshot().get(0).failures()).as("overtaken, not failed").isZero();
    assertNothingLeased();
  }

  @Test
  void anAbortedHedgedGet_stopsBothAttempts_andLeavesNothingLeased() throws Exception {
    HttpBackends backends = backends(2, 2);
    LoadBalancer lb = hashed(backends, HEDGED_ONLY);
    CloseableHttpClient client = client(lb);
    HttpGet get = new HttpGet("http://svc.test:" + backends.port() + "/");
    CompletableFuture<Object> call =
        CompletableFuture.supplyAsync(
            () -> {
              try {
                return client.execute(get, r -> r.getCode());
              } catch (IOException e) {
                return e;
              }
            });
    assertThat(Await.until(() -> backends.total() == 2)).as("the first and its hedge").isTrue();
    get.cancel();
    assertThat(call.get(10, TimeUnit.SECONDS)).isInstanceOf(IOException.class);
    assertThat(Await.until(() -> idle(lb))).isTrue();
    assertThat(lb.inspect().snapshot()).allSatisfy(e -> assertThat(e.failures()).isZero());
    assertNothingLeased();
  }
}
