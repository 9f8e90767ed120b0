package io.loadstar.okhttp;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.RetryPolicy;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.OutlierDetectionConfig;
import io.loadstar.core.Strategies;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The README's OkHttp configuration, as users copy it, with each strategy (static endpoints instead
 * of DNS): one of 3 or 4 endpoints refuses connections, and no GET fails.
 */
class ReadmeConfigFailoverTest {

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

  static Stream<Arguments> strategiesAndSizes() {
    List<Arguments> cases = new ArrayList<>();
    for (String strategy :
        List.of("roundRobin", "random", "leastRequest", "peakEwma", "ringHash", "maglev")) {
      cases.add(Arguments.of(strategy, 3));
      cases.add(Arguments.of(strategy, 4));
    }
    return cases.stream();
  }

  @ParameterizedTest(name = "{0}, 1 of {1} dead")
  @MethodSource("strategiesAndSizes")
  void okHttpConfiguration_oneDeadEndpoint_noGetFails(String strategy, int endpoints)
      throws Exception {
    Backends backends = Backends.start(endpoints - 1);
    closeables.add(backends);
    List<Endpoint> list = new ArrayList<>(backends.endpoints());
    Endpoint dead = Endpoint.of("127.0.0." + endpoints, backends.port); // nothing listens there
    list.add(dead);
    LoadBalancer api =
        LoadBalancers.builder("api")
            .endpoints(list)
            .strategy(Strategies.named(strategy))
            .outlierDetection(OutlierDetectionConfig.builder().build())
            .build();
    closeables.add(api);
    OkHttpClient client =
        LoadBalancingInterceptor.builder()
            .service("api.internal", api)
            .retryPolicy(RetryPolicy.defaults())
            .build()
            .wrap(base.newBuilder().callTimeout(Duration.ofSeconds(3)).build());

    AtomicInteger failed = new AtomicInteger();
    AtomicReference<Exception> first = new AtomicReference<>();
    AtomicInteger next = new AtomicInteger();
    ExecutorService callers = Executors.newFixedThreadPool(4);
    try {
      List<Future<?>> done = new ArrayList<>();
      for (int t = 0; t < 4; t++) {
        done.add(
            callers.submit(
                () -> {
                  int i;
                  while ((i = next.getAndIncrement()) < 400) {
                    Request request =
                        new Request.Builder()
                            .url("http://api.internal:" + backends.port + "/v1/x")
                            .tag(PickContext.class, PickContext.ofHashKey("user-" + i))
                            .build();
                    try (Response r = client.newCall(request).execute()) {
                      r.body().string();
                      if (r.code() != 200) {
                        failed.incrementAndGet();
                      }
                    } catch (Exception e) {
                      first.compareAndSet(null, e);
                      failed.incrementAndGet();
                    }
                  }
                }));
      }
      for (Future<?> f : done) {
        f.get(60, TimeUnit.SECONDS);
      }
    } finally {
      callers.shutdownNow();
    }
    assertThat(failed.get())
        .as("failed GETs, the first: %s; %s", first.get(), api.snapshot())
        .isZero();
    assertThat(backends.total()).isEqualTo(400);
    EndpointSnapshot deadState =
        api.snapshot().stream().filter(s -> s.endpoint().equals(dead)).findFirst().get();
    assertThat(deadState.failures()).isBetween(1L, 20L);
    assertThat(api.snapshot().stream().mapToInt(EndpointSnapshot::inFlight).sum()).isZero();
  }
}
