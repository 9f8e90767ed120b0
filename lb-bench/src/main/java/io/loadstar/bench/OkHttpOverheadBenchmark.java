package io.loadstar.bench;

import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.core.LoadBalancers;
import io.loadstar.okhttp.LoadBalancingInterceptor;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * One GET over keep-alive to one loopback backend: plain OkHttp to the backend's address against
 * the same client through {@link LoadBalancingInterceptor} to {@code svc.test} (a pick, the
 * per-endpoint Dns, outcome reporting on body close). Run in throughput mode for requests per
 * second and in sample mode for the p50.
 */
@State(Scope.Benchmark)
@BenchmarkMode({Mode.Throughput, Mode.SampleTime})
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class OkHttpOverheadBenchmark {

  @Param({"plain", "balanced"})
  public String client;

  private HttpBackend backend;
  private LoadBalancer lb;
  private OkHttpClient http;
  private Request request;

  @Setup
  public void setUp() throws IOException {
    backend = new HttpBackend("127.0.0.1", 0);
    OkHttpClient base = new OkHttpClient();
    if (client.equals("plain")) {
      http = base;
      request = new Request.Builder().url("http://127.0.0.1:" + backend.port() + "/").build();
    } else {
      lb = LoadBalancers.builder("svc").endpoints(Endpoint.of("127.0.0.1", backend.port())).build();
      http = LoadBalancingInterceptor.builder().service("svc.test", lb).build().wrap(base);
      request = new Request.Builder().url("http://svc.test:" + backend.port() + "/").build();
    }
  }

  @TearDown
  public void tearDown() {
    http.dispatcher().executorService().shutdown();
    http.connectionPool().evictAll();
    if (lb != null) {
      lb.close();
    }
    backend.close();
  }

  @Benchmark
  public int get() throws IOException {
    try (Response r = http.newCall(request).execute()) {
      return r.body().bytes().length;
    }
  }
}
