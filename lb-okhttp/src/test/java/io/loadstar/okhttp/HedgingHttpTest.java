package io.loadstar.okhttp;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.loadstar.api.AttemptTimeout;
import io.loadstar.api.Endpoint;
import io.loadstar.api.Hedging;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.RetryPolicy;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.Strategies;
import io.loadstar.testing.Await;
import io.loadstar.testing.Concurrently;
import io.loadstar.testing.HttpBackends;
import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import mockwebserver3.MockResponse;
import okhttp3.Call;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.RequestBody;
import okhttp3.Response;
import org.junit.jupiter.api.Test;

/**
 * Hedged requests through OkHttp, against real servers: a GET that waits on a hung backend gets a
 * second attempt on another after the hedging delay, the first answer wins and the other attempt is
 * cancelled (its connection closed, its endpoint not blamed); a POST is never hedged; a caller's
 * cancel stops both attempts. The attempt timeout is off where it would rescue the call first.
 */
class HedgingHttpTest extends OkHttpTestBase {

  private static final RetryPolicy HEDGED_ONLY =
      RetryPolicy.builder()
          .hedging(Hedging.after(Duration.ofMillis(50)))
          .attemptTimeout(AttemptTimeout.none())
          .build();

  /** Backends whose first {@code hung} take a minute before their headers; the others answer. */
  private HttpBackends backends(int n, int hung) throws IOException {
    return closeLater(HttpBackends.start(n, HttpBackends.Handler.hungBelow(hung)));
  }

  private LoadBalancer hashed(HttpBackends backends, RetryPolicy policy) {
    return closeLater(
        LoadBalancers.builder("svc")
            .endpoints(backends.endpoints())
            .strategy(Strategies.ringHash())
            .retryPolicy(policy)
            .build());
  }

  private OkHttpClient client(LoadBalancer balancer) {
    return balanced(
        balancer, b -> b.readTimeout(Duration.ofMinutes(2)).callTimeout(Duration.ofSeconds(30)));
  }

  private static boolean idle(LoadBalancer balancer, List<Endpoint> endpoints) {
    return endpoints.stream().allMatch(e -> snapshotOf(balancer, e).inFlight() == 0);
  }

  @Test
  void aGetWaitingOnAHungBackend_isHedged_andTheHedgesAnswerWins() throws Exception {
    HttpBackends backends = backends(3, 1);
    LoadBalancer balancer = hashed(backends, HEDGED_ONLY);
    OkHttpClient client = client(balancer);
    PickContext key = keyFirstOn(balancer, backends.endpoint(0));
    Request get =
        new Request.Builder()
            .url("http://svc.test:" + backends.port() + "/")
            .tag(PickContext.class, key)
            .build();

    try (Response r = client.newCall(get).execute()) {
      assertThat(r.body().string()).startsWith("backend-");
      CallAttempts attempts = CallAttempts.of(r);
      assertThat(attempts.attempts()).as("the cancelled first is not listed").hasSize(1);
      assertThat(attempts.servedBy()).isNotEqualTo(backends.endpoint(0));
    }
    assertThat(backends.received(0)).hasSize(1);
    assertThat(balancer.inspect().retryStats().hedges()).isEqualTo(1);
    assertThat(Await.until(() -> idle(balancer, backends.endpoints()))).isTrue();
    assertThat(snapshotOf(balancer, backends.endpoint(0)).failures())
        .as("an attempt its hedge beat blames nobody")
        .isZero();
  }

  @Test
  void aPost_isNeverHedged() throws Exception {
    HttpBackends backends =
        closeLater(
            HttpBackends.start(
                2,
                s -> {},
                (i, r) ->
                    new MockResponse.Builder()
                        .headersDelay(i == 0 ? 300 : 0, TimeUnit.MILLISECONDS)
                        .body("backend-" + i)
                        .build()));
    LoadBalancer balancer = hashed(backends, HEDGED_ONLY);
    Request post =
        new Request.Builder()
            .url("http://svc.test:" + backends.port() + "/")
            .post(RequestBody.create("pay", TEXT))
            .tag(PickContext.class, keyFirstOn(balancer, backends.endpoint(0)))
            .build();
    try (Response r = client(balancer).newCall(post).execute()) {
      assertThat(r.body().string()).isEqualTo("backend-0");
    }
    assertThat(backends.received(1)).isEmpty();
    assertThat(balancer.inspect().retryStats().hedges()).isZero();
  }

  @Test
  void theCallersCancel_stopsBothAttempts_andBlamesNoEndpoint() throws Exception {
    HttpBackends backends = backends(2, 2);
    LoadBalancer balancer = hashed(backends, HEDGED_ONLY);
    Call call =
        client(balancer)
            .newCall(new Request.Builder().url("http://svc.test:" + backends.port() + "/").build());
    CompletableFuture<Response> running = CompletableFuture.supplyAsync(() -> execute(call));

    assertThat(
            Await.until(() -> backends.received(0).size() == 1 && backends.received(1).size() == 1))
        .as("the first attempt and its hedge reached the servers")
        .isTrue();
    call.cancel();
    assertThatThrownBy(running::join).hasRootCauseInstanceOf(IOException.class);
    assertThat(Await.until(() -> idle(balancer, backends.endpoints()))).isTrue();
    for (Endpoint e : backends.endpoints()) {
      assertThat(snapshotOf(balancer, e).failures()).isZero();
    }
  }

  private static Response execute(Call call) {
    try {
      return call.execute();
    } catch (IOException e) {
      throw new java.util.concurrent.CompletionException(e);
    }
  }

  @Test
  void withTheDefaultsPlusHedging_callsFromThreeThreads_noneFails() throws Exception {
    HttpBackends backends = backends(3, 1);
    RetryPolicy defaultsPlusHedging =
        RetryPolicy.builder().hedging(Hedging.after(Duration.ofMillis(50))).build();
    LoadBalancer balancer =
        closeLater(
            LoadBalancers.builder("svc")
                .endpoints(backends.endpoints())
                .retryPolicy(defaultsPlusHedging)
                .build());
    OkHttpClient client = client(balancer);

    Concurrently.Outcome outcome = getsAnsweredByLiveBackends(client, backends, 3, 120);
    assertThat(outcome.failed()).as("%s", outcome).isZero();
    assertThat(Await.until(() -> idle(balancer, backends.endpoints()))).isTrue();
    long hedges = balancer.inspect().retryStats().hedges();
    assertThat(hedges).as("the hung backend's first attempts were hedged").isPositive();
  }
}
