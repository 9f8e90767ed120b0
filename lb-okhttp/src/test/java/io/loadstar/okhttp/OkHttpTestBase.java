package io.loadstar.okhttp;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import java.util.ArrayList;
import java.util.List;
import okhttp3.MediaType;
import okhttp3.OkHttpClient;
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
