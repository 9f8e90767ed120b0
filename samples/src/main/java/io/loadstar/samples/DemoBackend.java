package io.loadstar.samples;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

/** One loopback HTTP backend that counts the requests it served. */
final class DemoBackend {
  final HttpServer server;
  final InetSocketAddress address;
  final AtomicInteger served = new AtomicInteger();
  private final ExecutorService handlers;
  private final ScheduledExecutorService delays;

  private DemoBackend(HttpServer server, int slowMillis) {
    this.server = server;
    this.address = server.getAddress();
    this.delays =
        Executors.newSingleThreadScheduledExecutor(DaemonThreads.named("backend-delay-" + address));
    server.createContext(
        "/",
        exchange -> {
          if (slowMillis > 0) {
            // The simulated slow backend answers later, from a timer: no thread waits.
            delays.schedule(() -> respond(exchange), slowMillis, TimeUnit.MILLISECONDS);
          } else {
            respond(exchange);
          }
        });
    this.handlers = Executors.newFixedThreadPool(16, DaemonThreads.named("backend-" + address));
    server.setExecutor(handlers);
    server.start();
  }

  private void respond(HttpExchange exchange) {
    try (exchange) {
      served.incrementAndGet();
      byte[] body =
          ("served by " + address + "\n").getBytes(java.nio.charset.StandardCharsets.UTF_8);
      exchange.sendResponseHeaders(200, body.length);
      exchange.getResponseBody().write(body);
    } catch (IOException e) {
      // the client went away: nothing to answer
    }
  }

  void stop() {
    server.stop(0);
    delays.shutdownNow();
    handlers.shutdownNow();
  }

  /**
   * Starts three backends: on 127.0.0.1, 127.0.0.2 and 127.0.0.3 with one port where the OS routes
   * all of 127.0.0.0/8 to loopback (Linux), else on three ports of 127.0.0.1 (macOS).
   */
  static List<DemoBackend> startThree(int slowMillis) throws IOException {
    // The JDK server writes headers and body separately; without TCP_NODELAY, Nagle's algorithm
    // and the client's delayed ACK add ~40 ms to every keep-alive response.
    System.setProperty("sun.net.httpserver.nodelay", "true");
    List<DemoBackend> backends = new ArrayList<>();
    HttpServer first =
        HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 128);
    backends.add(new DemoBackend(first, 0));
    int port = first.getAddress().getPort();
    try {
      for (int i = 2; i <= 3; i++) {
        HttpServer s =
            HttpServer.create(
                new InetSocketAddress(InetAddress.getByName("127.0.0." + i), port), 128);
        backends.add(new DemoBackend(s, i == 3 ? slowMillis : 0));
      }
    } catch (BindException e) {
      for (int i = 1; i < backends.size(); i++) {
        backends.get(i).stop();
      }
      while (backends.size() > 1) {
        backends.remove(backends.size() - 1);
      }
      for (int i = 2; i <= 3; i++) {
        HttpServer s =
            HttpServer.create(new InetSocketAddress(InetAddress.getByName("127.0.0.1"), 0), 128);
        backends.add(new DemoBackend(s, i == 3 ? slowMillis : 0));
      }
    }
    return backends;
  }
}
