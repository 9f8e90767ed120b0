package io.loadstar.httpclient5;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.AttemptTimeout;
import io.loadstar.api.Endpoint;
import io.loadstar.api.Hedging;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.api.RetryPolicy;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.Strategies;
import io.loadstar.testing.Await;
import io.loadstar.testing.HttpBackends;
import java.io.IOException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import mockwebserver3.MockResponse;
import org.apache.hc.client5.http.HttpRoute;
import org.apache.hc.client5.http.async.methods.SimpleHttpRequest;
import org.apache.hc.client5.http.async.methods.SimpleHttpResponse;
import org.apache.hc.client5.http.async.methods.SimpleRequestProducer;
import org.apache.hc.client5.http.async.methods.SimpleResponseConsumer;
import org.apache.hc.client5.http.config.ConnectionConfig;
import org.apache.hc.client5.http.impl.async.CloseableHttpAsyncClient;
import org.apache.hc.client5.http.impl.async.HttpAsyncClients;
import org.apache.hc.client5.http.nio.AsyncClientConnectionManager;
import org.apache.hc.client5.http.protocol.HttpClientContext;
import org.apache.hc.core5.io.CloseMode;
import org.apache.hc.core5.pool.ConnPoolControl;
import org.apache.hc.core5.util.Timeout;
import org.junit.jupiter.api.AfterEach;

/**
 * What this module's client tests share: what they start is closed after each test, newest first;
 * hung backends, and a balancer whose first attempt a test can choose.
 */
abstract class HttpClient5TestBase {

  private final List<AutoCloseable> closeables = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
  }

  /** Closes {@code c} after the test; returns it. */
  final <T extends AutoCloseable> T closeLater(T c) {
    closeables.add(c);
    return c;
  }

  /** Hedges after 50 ms, without an attempt timeout. */
  static final RetryPolicy HEDGED_ONLY =
      RetryPolicy.builder()
          .hedging(Hedging.after(Duration.ofMillis(50)))
          .attemptTimeout(AttemptTimeout.none())
          .build();

  /** Backends whose first {@code hung} take a minute before their headers; the others answer. */
  final HttpBackends backends(int n, int hung) throws IOException {
    return closeLater(HttpBackends.start(n, HttpBackends.Handler.hungBelow(hung)));
  }

  /** A consistent-hash balancer over {@code backends}, so a test can choose the first attempt. */
  final LoadBalancer hashed(HttpBackends backends, RetryPolicy policy) {
    return closeLater(
        LoadBalancers.builder("svc")
            .endpoints(backends.endpoints())
            .strategy(Strategies.ringHash())
            .retryPolicy(policy)
            .build());
  }

  /** A context whose request's first attempt goes to {@code target} (a consistent-hash lb). */
  static HttpClientContext firstOn(LoadBalancer lb, Endpoint target) {
    for (int k = 0; ; k++) {
      PickContext c = PickContext.ofHashKey("k" + k);
      PickResult r = lb.pick(c);
      r.handle().onCancel();
      if (r.endpoint().equals(target)) {
        HttpClientContext context = HttpClientContext.create();
        context.setAttribute(HttpClientLoadBalancing.PICK_CONTEXT, c);
        return context;
      }
    }
  }

  /** Whether no endpoint of {@code lb} has a call in flight. */
  static boolean idle(LoadBalancer lb) {
    return lb.inspect().snapshot().stream().allMatch(s -> s.inFlight() == 0);
  }

  /**
   * Two backends: 0 sends its headers after 600 ms; 1 sends 80 KB at once (the read-ahead takes 64
   * KiB of it), then pauses 400 ms, four times a 100 ms attempt timeout, before the rest (160 KB in
   * all).
   */
  final HttpBackends slowHeadAndPausedBody() throws IOException {
    String big = "x".repeat(160_000);
    return closeLater(
        HttpBackends.start(
            2,
            (i, r) ->
                i == 0
                    ? new MockResponse.Builder()
                        .headersDelay(600, TimeUnit.MILLISECONDS)
                        .body("slow-0")
                        .build()
                    : new MockResponse.Builder()
                        .body(big)
                        .throttleBody(80_000, 400, TimeUnit.MILLISECONDS)
                        .build()));
  }

  /** Connects within 2 s, and waits {@code socket} for data: the client's own timeouts. */
  static ConnectionConfig connectIn2s(Timeout socket) {
    return ConnectionConfig.custom()
        .setConnectTimeout(Timeout.ofSeconds(2))
        .setSocketTimeout(socket)
        .build();
  }

  /** A started async client on {@code pool} balancing svc.test over {@code lb}; closed after. */
  final CloseableHttpAsyncClient asyncClient(LoadBalancer lb, AsyncClientConnectionManager pool) {
    HttpClientLoadBalancing balancing =
        HttpClientLoadBalancing.builder().service("svc.test", lb).build();
    CloseableHttpAsyncClient client =
        balancing.configure(HttpAsyncClients.custom().setConnectionManager(pool)).build();
    client.start();
    closeLater(() -> client.close(CloseMode.GRACEFUL));
    return client;
  }

  /** Sends {@code request} in {@code context} through {@code client}. */
  static Future<SimpleHttpResponse> execute(
      CloseableHttpAsyncClient client, SimpleHttpRequest request, HttpClientContext context) {
    return client.execute(
        SimpleRequestProducer.create(request), SimpleResponseConsumer.create(), context, null);
  }

  /** Sends {@code request} and waits for its answer (30 s at most); a failure is thrown as is. */
  static SimpleHttpResponse send(
      CloseableHttpAsyncClient client, SimpleHttpRequest request, HttpClientContext context)
      throws Exception {
    try {
      return execute(client, request, context).get(30, TimeUnit.SECONDS);
    } catch (ExecutionException e) {
      throw (Exception) e.getCause();
    }
  }

  /**
   * Asserts that {@code pool} gets every connection back, waiting for it: an async exchange gives
   * its connection back once its last callback has run, a cut one once its cancel has.
   */
  static void assertNothingLeased(ConnPoolControl<HttpRoute> pool) {
    assertThat(Await.until(() -> pool.getTotalStats().getLeased() == 0))
        .as("leased connections: %s", pool.getTotalStats())
        .isTrue();
  }
}
