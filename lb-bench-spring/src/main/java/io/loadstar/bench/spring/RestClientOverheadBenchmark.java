package io.loadstar.bench.spring;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.apache.hc.client5.http.classic.methods.HttpGet;
import org.apache.hc.client5.http.impl.classic.CloseableHttpClient;
import org.apache.hc.client5.http.impl.classic.HttpClients;
import org.apache.hc.core5.http.io.entity.EntityUtils;
import org.jspecify.annotations.Nullable;
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
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.boot.restclient.autoconfigure.RestClientBuilderConfigurer;
import org.springframework.cloud.client.loadbalancer.LoadBalanced;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.context.annotation.Bean;
import org.springframework.context.annotation.Configuration;
import org.springframework.web.client.RestClient;

/**
 * One keep-alive GET to one loopback backend from a Spring Boot 4 application, all over Apache
 * HttpClient 5, in one run:
 *
 * <ul>
 *   <li>{@code httpclient5}: HttpClient 5 alone, the floor;
 *   <li>{@code restclient}: Boot's {@code RestClient} to the backend's address, unbalanced;
 *   <li>{@code loadstar}: the same {@code RestClient} to {@code svc.test}, balanced by the starter
 *       (a pick per request, the endpoint's route, the attempt loop, outcome reporting);
 *   <li>{@code spring-cloud-loadbalancer}: a {@code @LoadBalanced RestClient} configured by Boot
 *       the same way, to the service id {@code svc}, its instance from Spring Cloud's simple
 *       discovery client (its defaults: round robin, a cached instance list).
 * </ul>
 *
 * A balancer's added cost is its figure minus {@code restclient}'s; compare only within one run.
 */
@State(Scope.Benchmark)
@BenchmarkMode({Mode.Throughput, Mode.SampleTime})
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Fork(
    value = 1,
    jvmArgsAppend = {"-Xms1g", "-Xmx1g"})
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
public class RestClientOverheadBenchmark {

  private static final byte[] BODY = "ok\n".getBytes(StandardCharsets.UTF_8);

  static {
    // The JDK server writes headers and body apart; without TCP_NODELAY, Nagle's algorithm and the
    // client's delayed ACK add ~40 ms to every keep-alive answer.
    System.setProperty("sun.net.httpserver.nodelay", "true");
  }

  @Param({"httpclient5", "restclient", "loadstar", "spring-cloud-loadbalancer"})
  public String client;

  private HttpServer backend;
  private ExecutorService handlers;
  private @Nullable ConfigurableApplicationContext context;
  private @Nullable CloseableHttpClient http;
  private @Nullable RestClient rest;
  private String url;

  /** The application: Boot's auto-configuration and nothing else. */
  @Configuration(proxyBeanMethods = false)
  @EnableAutoConfiguration
  public static class App {}

  /**
   * Spring Cloud LoadBalancer's application: Boot's auto-configuration and a {@code @LoadBalanced}
   * builder, configured by Boot as Boot's own is (which it then does not make).
   */
  @Configuration(proxyBeanMethods = false)
  @EnableAutoConfiguration
  public static class ScLbApp {
    @Bean
    @LoadBalanced
    RestClient.Builder loadBalancedRestClientBuilder(RestClientBuilderConfigurer configurer) {
      return configurer.configure(RestClient.builder());
    }
  }

  @Setup
  public void setUp() throws IOException {
    handlers = Executors.newFixedThreadPool(4);
    backend = HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 512);
    backend.createContext(
        "/",
        exchange -> {
          try (exchange) {
            exchange.getRequestBody().readAllBytes();
            exchange.sendResponseHeaders(200, BODY.length);
            try (OutputStream out = exchange.getResponseBody()) {
              out.write(BODY);
            }
          }
        });
    backend.setExecutor(handlers);
    backend.start();
    int port = backend.getAddress().getPort();
    String address = "127.0.0.1:" + port;
    List<String> properties = new ArrayList<>();
    properties.add("spring.main.banner-mode=off");
    properties.add("logging.level.root=warn");
    switch (client) {
      case "httpclient5" -> {
        http = HttpClients.custom().build();
        url = "http://" + address + "/";
        return;
      }
      case "restclient" -> {
        properties.add("loadstar.enabled=false");
        url = "http://" + address + "/";
      }
      case "loadstar" -> {
        properties.add("loadstar.services.svc.host=svc.test");
        properties.add("loadstar.services.svc.endpoints=" + address);
        url = "http://svc.test:" + port + "/";
      }
      case "spring-cloud-loadbalancer" -> {
        properties.add("loadstar.enabled=false");
        properties.add(
            "spring.cloud.discovery.client.simple.instances.svc[0].uri=http://" + address);
        url = "http://svc/";
      }
      default -> throw new IllegalArgumentException("client: " + client);
    }
    boolean scLb = client.equals("spring-cloud-loadbalancer");
    context =
        new SpringApplicationBuilder(scLb ? ScLbApp.class : App.class)
            .web(WebApplicationType.NONE)
            .properties(properties.toArray(new String[0]))
            .run();
    rest = context.getBean(RestClient.Builder.class).build();
    if (get() != BODY.length) {
      throw new IllegalStateException(client + ": the backend's answer did not come back");
    }
  }

  @TearDown
  public void tearDown() throws IOException {
    if (http != null) {
      http.close();
    }
    if (context != null) {
      context.close();
    }
    backend.stop(0);
    handlers.shutdownNow();
  }

  @Benchmark
  public int get() throws IOException {
    if (http != null) {
      return http.execute(new HttpGet(url), r -> EntityUtils.toByteArray(r.getEntity()).length);
    }
    byte[] body = rest.get().uri(url).retrieve().body(byte[].class);
    return body == null ? 0 : body.length;
  }
}
