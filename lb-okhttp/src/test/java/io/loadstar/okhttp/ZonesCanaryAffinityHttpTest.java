package io.loadstar.okhttp;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.core.Affinity;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.TrafficSplit;
import io.loadstar.testing.HttpBackends;
import java.io.IOException;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import mockwebserver3.MockResponse;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Zones, canary splits and sticky keys through the interceptor, against real HTTP servers. */
class ZonesCanaryAffinityHttpTest {

  private final List<AutoCloseable> closeables = new ArrayList<>();
  private final OkHttpClient base = new OkHttpClient.Builder().build();

  @AfterEach
  void tearDown() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
    base.dispatcher().executorService().shutdown();
    base.connectionPool().evictAll();
  }

  private OkHttpClient client(LoadBalancer lb, LoadBalancingInterceptor.Builder b) {
    closeables.add(lb);
    return b.service("api.internal", lb).build().wrap(base);
  }

  private static String get(OkHttpClient client, int port, String user) throws IOException {
    Request request =
        new Request.Builder()
            .url("http://api.internal:" + port + "/")
            .header("X-User", user)
            .build();
    try (Response r = client.newCall(request).execute()) {
      String body = r.body().string();
      if (r.code() != 200) {
        throw new IOException("HTTP " + r.code() + ": " + body);
      }
      return body;
    }
  }

  /**
   * The field report: a balancer spanning zones kept sending users to one zone's backends while
   * they answered 503. Here zone a's two backends turn to 503 and no GET fails; from shortly after
   * the fault on, nearly every attempt goes to zone b. With the defaults, plus the zone.
   */
  @Test
  void zoneA_answers503_noGetFails_andAttemptsMoveToZoneB() throws Exception {
    AtomicBoolean fault = new AtomicBoolean();
    HttpBackends backends =
        HttpBackends.start(
            4,
            s -> {},
            (i, r) ->
                i < 2 && fault.get()
                    ? new MockResponse.Builder().code(503).body("zone a down").build()
                    : new MockResponse.Builder().body("backend-" + i).build());
    closeables.add(backends);
    List<Endpoint> endpoints = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      endpoints.add(backends.endpoints().get(i).withZone(i < 2 ? "a" : "b"));
    }
    LoadBalancer lb = LoadBalancers.builder("api").endpoints(endpoints).zone("a").build();
    OkHttpClient client = client(lb, LoadBalancingInterceptor.builder());

    for (int i = 0; i < 200; i++) {
      get(client, backends.port(), "u" + i);
    }
    int[] healthy = backends.counts();
    assertThat(healthy[0] + healthy[1]).as("local while healthy").isGreaterThanOrEqualTo(190);

    fault.set(true);
    int failed = 0;
    for (int i = 0; i < 100; i++) { // the first moments of the fault: outlier detection learns
      try {
        get(client, backends.port(), "u" + i);
      } catch (IOException e) {
        failed++;
      }
    }
    int[] learned = backends.counts();
    for (int i = 0; i < 1_000; i++) {
      try {
        get(client, backends.port(), "u" + i);
      } catch (IOException e) {
        failed++;
      }
    }
    int[] end = backends.counts();
    int toA = end[0] + end[1] - learned[0] - learned[1];
    int toB = end[2] + end[3] - learned[2] - learned[3];
    assertThat(failed).as("failed GETs; %s", lb.inspect().snapshot()).isZero();
    assertThat(100.0 * toB / (toA + toB)).as("%% of attempts to zone b").isGreaterThanOrEqualTo(98);
  }

  @Test
  void canaryFivePercent_andAStickyHeader_throughTheInterceptor() throws Exception {
    HttpBackends backends =
        HttpBackends.start(4, s -> {}, (i, r) -> new MockResponse.Builder().body("b" + i).build());
    closeables.add(backends);
    List<Endpoint> endpoints = new ArrayList<>();
    for (int i = 0; i < 4; i++) {
      endpoints.add(backends.endpoints().get(i).withTag("version", i == 3 ? "v2" : "v1"));
    }
    LoadBalancer lb =
        LoadBalancers.builder("api")
            .endpoints(endpoints)
            .trafficSplit(TrafficSplit.toTag("version", "v2").percent(5))
            .affinity(Affinity.returnImmediately())
            .build();
    OkHttpClient client =
        client(lb, LoadBalancingInterceptor.builder().hashKey(AffinityKeys.header("X-No-Such")));
    for (int i = 0; i < 2_000; i++) {
      get(client, backends.port(), "u" + i); // no key: the split decides
    }
    int[] counts = backends.counts();
    assertThat(100.0 * counts[3] / 2_000).isBetween(3.0, 7.5);

    LoadBalancer sticky =
        LoadBalancers.builder("api")
            .endpoints(endpoints)
            .affinity(Affinity.returnImmediately())
            .build();
    OkHttpClient keyed =
        client(sticky, LoadBalancingInterceptor.builder().hashKey(AffinityKeys.header("X-User")));
    Set<String> served = new HashSet<>();
    for (int i = 0; i < 50; i++) {
      served.add(get(keyed, backends.port(), "alice"));
    }
    assertThat(served).hasSize(1); // one user, one backend
  }
}
