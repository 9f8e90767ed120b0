package io.loadstar.bench;

import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.core.LoadBalancers;
import io.loadstar.httpclient5.HttpClientLoadBalancing;
import java.io.IOException;
import java.util.concurrent.TimeUnit;
import org.apache.hc.client5.http.classic.methods.HttpGet;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.core5.http.io.entity.EntityUtils;
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
 * One GET over keep-alive to one loopback backend with Apache HttpClient 5 (classic): plain, to the
 * backend's address, against the same client with {@link HttpClientLoadBalancing} installed, to
 * {@code svc.test} (a pick, the endpoint's route, the attempt loop, outcome reporting when the body
 * is read). Run in throughput mode for requests per second and in sample mode for the p50.
 */
@State(Scope.Benchmark)
@BenchmarkMode({Mode.Throughput, Mode.SampleTime})
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class HttpClient5OverheadBenchmark {

  @Param({"plain", "balanced"})
  public String client;

  private HttpBackend backend;
  private LoadBalancer lb;
  private CloseableHttpClient http;
  private String url;

  @Setup
  public void setUp() throws IOException {
    backend = new HttpBackend("127.0.0.1", 0);
    if (client.equals("plain")) {
      http = HttpClients.custom().build();
      url = "http://127.0.0.1:" + backend.port() + "/";
    } else {
      lb = LoadBalancers.builder("svc").endpoints(Endpoint.of("127.0.0.1", backend.port())).build();
      http =
          HttpClientLoadBalancing.builder()
              .service("svc.test", lb)
              .build()
              .configure(HttpClients.custom())
              .build();
      url = "http://svc.test:" + backend.port() + "/";
    }
  }

  @TearDown
  public void tearDown() throws IOException {
    http.close();
    if (lb != null) {
      lb.close();
    }
    backend.close();
  }

  @Benchmark
  public int get() throws IOException {
    return http.execute(new HttpGet(url), r -> EntityUtils.toByteArray(r.getEntity()).length);
  }
}
