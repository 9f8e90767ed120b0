package io.loadstar.probe;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpContext;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.api.ProbeResult;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.Strategies;
import io.loadstar.testing.Await;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import org.apache.catalina.Context;
import org.apache.catalina.startup.Tomcat;
import org.apache.tomcat.util.descriptor.web.FilterDef;
import org.apache.tomcat.util.descriptor.web.FilterMap;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Probes over real HTTP: the JDK HttpServer and Tomcat responders answered by {@link HttpProber},
 * and {@code Strategies.probing} with them, on loopback servers from 127.0.0.21.
 */
class ProbingEndToEndTest {

  private final List<AutoCloseable> resources = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = resources.size() - 1; i >= 0; i--) {
      resources.get(i).close();
    }
  }

  /**
   * A JDK server on {@code host} whose requests take {@code millis}, counted in {@code load}. An
   * instant server answers in its handler, counted by the responder's filter; a slow one answers
   * from a timer later, without holding a thread, and counts its requests itself, as {@link
   * JdkHttpServerProbes} says a handler that answers from another thread must.
   */
  private HttpServer server(String host, ProbeLoad load, int millis) throws IOException {
    HttpServer server =
        HttpServer.create(new InetSocketAddress(InetAddress.getByName(host), 0), 64);
    ExecutorService threads = Executors.newFixedThreadPool(8);
    ScheduledExecutorService later = Executors.newSingleThreadScheduledExecutor();
    byte[] body = host.getBytes(StandardCharsets.UTF_8);
    HttpContext api =
        server.createContext(
            "/",
            exchange -> {
              if (millis == 0) {
                respond(exchange, body);
                return;
              }
              long ticket = load.started();
              later.schedule(
                  () -> {
                    try {
                      respond(exchange, body);
                    } catch (IOException e) {
                      // the client went away
                    } finally {
                      load.ended(ticket);
                    }
                  },
                  millis,
                  TimeUnit.MILLISECONDS);
            });
    if (millis == 0) {
      JdkHttpServerProbes.install(server, load, api);
    } else {
      server.createContext(ProbeLoad.PATH, JdkHttpServerProbes.handler(load));
    }
    server.setExecutor(threads);
    server.start();
    resources.add(
        () -> {
          server.stop(0);
          threads.shutdownNow();
          later.shutdownNow();
        });
    return server;
  }

  private static void respond(HttpExchange exchange, byte[] body) throws IOException {
    try (exchange) {
      exchange.sendResponseHeaders(200, body.length);
      try (OutputStream out = exchange.getResponseBody()) {
        out.write(body);
      }
    }
  }

  private static Endpoint endpoint(HttpServer server) {
    InetSocketAddress a = server.getAddress();
    return Endpoint.of(a.getAddress().getHostAddress(), a.getPort());
  }

  @Test
  void theJdkResponder_answersTheProber_withItsLoad() throws Exception {
    ProbeLoad load = ProbeLoad.create();
    HttpServer server = server("127.0.0.21", load, 0);
    HttpClient client = HttpClient.newHttpClient();
    URI api = URI.create("http://127.0.0.21:" + server.getAddress().getPort() + "/x");
    for (int i = 0; i < 5; i++) {
      client.send(HttpRequest.newBuilder(api).build(), HttpResponse.BodyHandlers.ofString());
    }
    ProbeResult answer = HttpProber.create().probe(endpoint(server)).toCompletableFuture().get();
    assertThat(answer.requestsInFlight()).isZero();
    assertThat(answer.latencyNanos()).isPositive();
    assertThat(load.requestsInFlight()).as("the probe itself is not counted").isZero();
  }

  @Test
  void aServerWithoutResponder_failsTheProbe_namingWhatItAnswered() throws Exception {
    HttpServer plain =
        HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.22"), 0), 8);
    plain.createContext(
        "/",
        e -> {
          e.sendResponseHeaders(404, -1);
          e.close();
        });
    plain.start();
    resources.add(() -> plain.stop(0));
    assertThatThrownBy(
            () -> HttpProber.create().probe(endpoint(plain)).toCompletableFuture().join())
        .isInstanceOf(CompletionException.class)
        .hasMessageContaining("/loadstar/probe answered HTTP 404, not a probe answer");
  }

  @Test
  void probing_sendsMostCallsToTheServerThatAnswersFastest() throws Exception {
    List<HttpServer> servers =
        List.of(
            server("127.0.0.23", ProbeLoad.create(), 40),
            server("127.0.0.24", ProbeLoad.create(), 0),
            server("127.0.0.25", ProbeLoad.create(), 40));
    List<Endpoint> endpoints = new ArrayList<>();
    servers.forEach(s -> endpoints.add(endpoint(s)));
    LoadBalancer lb =
        LoadBalancers.builder("probed")
            .endpoints(endpoints)
            .strategy(Strategies.probing(HttpProber.create()))
            .build();
    resources.add(lb);
    HttpClient client = HttpClient.newHttpClient();
    // Each server has served a few requests first, as servers in service have: a server's first
    // requests take longer (its code is cold), and one whose only measure is such a request looks
    // slower than it is until it serves again.
    for (Endpoint e : endpoints) {
      for (int i = 0; i < 10; i++) {
        client.send(
            HttpRequest.newBuilder(URI.create("http://" + e.key() + "/x")).build(),
            HttpResponse.BodyHandlers.ofString());
      }
    }
    Map<Endpoint, Integer> counts = new HashMap<>();
    // Calls one at a time: every server is idle, and what tells them apart is their latency.
    for (int i = 0; i < 60; i++) {
      PickResult r = lb.pick(PickContext.empty());
      Endpoint e = r.endpoint();
      long start = System.nanoTime();
      client.send(
          HttpRequest.newBuilder(URI.create("http://" + e.key() + "/x")).build(),
          HttpResponse.BodyHandlers.ofString());
      r.handle().onSuccess(System.nanoTime() - start);
      if (i >= 20) {
        counts.merge(e, 1, Integer::sum); // after the first answers are in
      }
    }
    assertThat(counts.getOrDefault(endpoints.get(1), 0)).as("%s", counts).isGreaterThan(24);
  }

  @Test
  void theServletFilter_countsRequests_andAnswersProbes_inTomcat(@TempDir Path base)
      throws Exception {
    ProbeLoad load = ProbeLoad.create();
    Tomcat tomcat = new Tomcat();
    tomcat.setBaseDir(Files.createDirectories(base.resolve("tomcat")).toString());
    tomcat.setHostname("127.0.0.26");
    tomcat.setPort(0); // before the connector is made: a free port
    tomcat.getConnector().setProperty("address", "127.0.0.26");
    Context context = tomcat.addContext("/app", base.toString());
    Tomcat.addServlet(
        context,
        "hello",
        new jakarta.servlet.http.HttpServlet() {
          @Override
          protected void doGet(
              jakarta.servlet.http.HttpServletRequest req,
              jakarta.servlet.http.HttpServletResponse resp)
              throws IOException {
            resp.getWriter().write("hello");
          }
        });
    context.addServletMappingDecoded("/*", "hello");
    FilterDef def = new FilterDef();
    def.setFilterName("loadstar-probe");
    def.setFilter(new ProbeServletFilter(load));
    context.addFilterDef(def);
    FilterMap map = new FilterMap();
    map.setFilterName("loadstar-probe");
    map.addURLPattern("/*");
    context.addFilterMap(map);
    tomcat.start();
    resources.add(
        () -> {
          tomcat.stop();
          tomcat.destroy();
        });
    int port = tomcat.getConnector().getLocalPort();
    HttpClient client = HttpClient.newHttpClient();
    for (int i = 0; i < 3; i++) {
      HttpResponse<String> r =
          client.send(
              HttpRequest.newBuilder(URI.create("http://127.0.0.26:" + port + "/app/x")).build(),
              HttpResponse.BodyHandlers.ofString());
      assertThat(r.body()).isEqualTo("hello");
    }
    assertThat(Await.until(() -> load.requestsInFlight() == 0)).isTrue();
    ProbeResult answer =
        HttpProber.builder()
            .timeout(Duration.ofSeconds(2))
            .path("/app" + ProbeLoad.PATH) // the application's context path, then the probe's
            .client(client)
            .build()
            .probe(Endpoint.of("127.0.0.26", port))
            .toCompletableFuture()
            .get(10, TimeUnit.SECONDS);
    assertThat(answer).isNotNull();
  }
}
