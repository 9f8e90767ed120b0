package io.loadstar.okhttp;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.OutlierDetectionConfig;
import io.loadstar.core.Strategies;
import io.loadstar.testing.Concurrently;
import io.loadstar.testing.HttpBackends;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import mockwebserver3.MockResponse;
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
      for (boolean answers503 : List.of(false, true)) {
        cases.add(Arguments.of(strategy, 3, answers503));
        cases.add(Arguments.of(strategy, 4, answers503));
      }
    }
    return cases.stream();
  }

  @ParameterizedTest(name = "{0}, 1 of {1} refusing (false) or answering 503 (true): {2}")
  @MethodSource("strategiesAndSizes")
  void okHttpConfiguration_oneDeadEndpoint_noGetFails(
      String strategy, int endpoints, boolean answers503) throws Exception {
    // Refusing: nothing listens on the last address. Answering 503: a backend there does.
    HttpBackends backends =
        HttpBackends.start(
            answers503 ? endpoints : endpoints - 1,
            s -> {},
            (i, r) ->
                i == endpoints - 1
                    ? new MockResponse.Builder().code(503).body("unavailable").build()
                    : new MockResponse.Builder().body("backend-" + i).build());
    closeables.add(backends);
    List<Endpoint> list = new ArrayList<>(backends.endpoints());
    Endpoint dead = Endpoint.of("127.0.0." + endpoints, backends.port());
    if (!answers503) {
      list.add(dead);
    }
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
            .build()
            .wrap(base.newBuilder().callTimeout(Duration.ofSeconds(3)).build());

    Concurrently.Outcome outcome =
        Concurrently.run(
            4,
            400,
            i -> {
              Request request =
                  new Request.Builder()
                      .url("http://api.internal:" + backends.port() + "/v1/x")
                      .tag(PickContext.class, PickContext.ofHashKey("user-" + i))
                      .build();
              try (Response r = client.newCall(request).execute()) {
                r.body().string();
                if (r.code() != 200) {
                  throw new AssertionError("HTTP " + r.code());
                }
              }
            });
    assertThat(outcome.failed()).as("%s; %s", outcome, api.inspect().snapshot()).isZero();
    int[] counts = backends.counts();
    int served = 0;
    for (int i = 0; i < endpoints - 1; i++) {
      served += counts[i];
    }
    assertThat(served).isEqualTo(400);
    EndpointSnapshot deadState =
        api.inspect().snapshot().stream().filter(s -> s.endpoint().equals(dead)).findFirst().get();
    assertThat(deadState.failures()).isBetween(1L, 20L);
    assertThat(api.inspect().snapshot().stream().mapToInt(EndpointSnapshot::inFlight).sum())
        .isZero();
  }
}
