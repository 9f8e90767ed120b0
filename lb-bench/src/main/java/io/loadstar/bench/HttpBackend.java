package io.loadstar.bench;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A loopback HTTP backend for load scenarios whose delay and status can be switched while it runs.
 * A delayed answer is sent from a timer, so a slow backend holds no thread.
 */
final class HttpBackend implements AutoCloseable {

  static {
    // The JDK server writes headers and body separately; without TCP_NODELAY, Nagle's algorithm
    // and the client's delayed ACK add ~40 ms to every keep-alive response.
    System.setProperty("sun.net.httpserver.nodelay", "true");
  }

  private static final byte[] BODY = "ok\n".getBytes(StandardCharsets.UTF_8);

  final HttpServer server;
  final AtomicLong served = new AtomicLong();
  volatile int delayMillis;
  volatile int status = 200;
  private final ExecutorService handlers;
  private final ScheduledExecutorService delays;

  HttpBackend(String host, int port) throws IOException {
    this.server = HttpServer.create(new InetSocketAddress(InetAddress.getByName(host), port), 512);
    String name = "backend-" + host;
    this.handlers = Executors.newFixedThreadPool(4, daemon(name));
    this.delays = Executors.newSingleThreadScheduledExecutor(daemon(name + "-delay"));
    server.createContext(
        "/",
        exchange -> {
          int delay = delayMillis;
          if (delay > 0) {
            delays.schedule(() -> respond(exchange), delay, TimeUnit.MILLISECONDS);
          } else {
            respond(exchange);
          }
        });
    server.setExecutor(handlers);
    server.start();
  }

  int port() {
    return server.getAddress().getPort();
  }

  private void respond(HttpExchange exchange) {
    try (exchange) {
      served.incrementAndGet();
      exchange.sendResponseHeaders(status, BODY.length);
      exchange.getResponseBody().write(BODY);
    } catch (IOException e) {
      // the client went away
    }
  }

  private static java.util.concurrent.ThreadFactory daemon(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }

  @Override
  public void close() {
    server.stop(0);
    delays.shutdownNow();
    handlers.shutdownNow();
  }
}
