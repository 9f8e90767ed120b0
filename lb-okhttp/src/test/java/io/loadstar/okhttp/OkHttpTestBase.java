package io.loadstar.okhttp;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.testing.Concurrently;
import io.loadstar.testing.HttpBackends;
import java.util.ArrayList;
import java.util.List;
import java.util.function.UnaryOperator;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.AfterEach;

/**
 * What the interceptor's tests share: a base client, resources closed after each test in reverse
 * order, and the lookups they make of a balancer.
 */
abstract class OkHttpTestBase {

  static final MediaType TEXT = MediaType.get("text/plain");

  private final List<AutoCloseable> resources = new ArrayList<>();
  final OkHttpClient base = new OkHttpClient.Builder().build();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = resources.size() - 1; i >= 0; i--) {
      resources.get(i).close();
    }
    base.dispatcher().executorService().shutdown();
    base.connectionPool().evictAll();
  }

  /**
   * The base client with {@code balancer}'s interceptor for {@code svc.test}, its timeouts set by
   * {@code timeouts} (read and call timeouts, say).
   */
  final OkHttpClient balanced(LoadBalancer balancer, UnaryOperator<OkHttpClient.Builder> timeouts) {
    return LoadBalancingInterceptor.builder()
        .service("svc.test", balancer)
        .build()
        .wrap(timeouts.apply(base.newBuilder()).build());
  }

  /** Closes {@code resource} after the test. */
  <T extends AutoCloseable> T closeLater(T resource) {
    resources.add(resource);
    return resource;
  }

  /** The state of {@code endpoint} in {@code lb}'s snapshot. */
  static EndpointSnapshot snapshotOf(LoadBalancer lb, Endpoint endpoint) {
    return lb.inspect().snapshot().stream()
        .filter(s -> s.endpoint().key().equals(endpoint.key()))
        .findFirst()
        .orElseThrow();
  }

  /**
   * Sends {@code count} GETs to svc.test on {@code backends}' port from {@code threads} threads,
   * each of which must be answered by a backend that answers ({@code backend-<index>}).
   */
  static Concurrently.Outcome getsAnsweredByLiveBackends(
      OkHttpClient client, HttpBackends backends, int threads, int count) throws Exception {
    Request get = new Request.Builder().url("http://svc.test:" + backends.port() + "/").build();
    return Concurrently.run(
        threads,
        count,
        i -> {
          try (Response r = client.newCall(get).execute()) {
            assertThat(r.body().string()).startsWith("backend-");
          }
        });
  }

  /** A hash key whose first pick in {@code lb} (a consistent-hash balancer) is {@code target}. */
  static PickContext keyFirstOn(LoadBalancer lb, Endpoint target) {
    for (int k = 0; ; k++) {
      PickContext c = PickContext.ofHashKey("k" + k);
      PickResult r = lb.pick(c);
      r.handle().onCancel();
      if (r.endpoint().equals(target)) {
        return c;
      }
    }
  }
}
