package io.loadstar.probe;

import static java.util.Objects.requireNonNull;

import com.sun.net.httpserver.Filter;
import com.sun.net.httpserver.HttpContext;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpHandler;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;

/**
 * Probes on the JDK's {@link HttpServer}: {@link #counting} counts a context's requests in a {@link
 * ProbeLoad}, {@link #handler} answers probes, {@link #install} does both.
 *
 * <pre>{@code
 * ProbeLoad load = ProbeLoad.create();
 * HttpContext api = server.createContext("/", handler);
 * JdkHttpServerProbes.install(server, load, api); // answers GET /loadstar/probe
 * }</pre>
 *
 * <p>A request counts from the filter's start to the handler's return: a handler that answers later
 * from another thread should call {@link ProbeLoad#started()} and {@link ProbeLoad#ended} itself
 * instead.
 *
 * <p>Run the server with {@code -Dsun.net.httpserver.nodelay=true}: the JDK's server leaves Nagle's
 * algorithm on unless told, and an answer written as headers then body then waits for the client's
 * delayed ACK (about 40 ms on loopback), probes' answers included.
 */
public final class JdkHttpServerProbes {

  private JdkHttpServerProbes() {}

  /** A filter that counts each request of its context in {@code load}. */
  public static Filter counting(ProbeLoad load) {
    requireNonNull(load, "load");
    return new Filter() {
      @Override
      public void doFilter(HttpExchange exchange, Chain chain) throws IOException {
        long started = load.started();
        try {
          chain.doFilter(exchange);
        } finally {
          load.ended(started);
        }
      }

      @Override
      public String description() {
        return "counts requests for Loadstar probes";
      }
    };
  }

  /** A handler that answers probes with {@code load}'s {@link ProbeLoad#answer()}. */
  public static HttpHandler handler(ProbeLoad load) {
    requireNonNull(load, "load");
    return exchange -> {
      try (exchange) {
        byte[] body = load.answer().getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", ProbeLoad.CONTENT_TYPE);
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        exchange.sendResponseHeaders(200, body.length);
        try (OutputStream out = exchange.getResponseBody()) {
          out.write(body);
        }
      }
    };
  }

  /**
   * Counts the requests of {@code counted} in {@code load} and answers probes on {@link
   * ProbeLoad#PATH} of {@code server}.
   *
   * @throws IllegalArgumentException if {@code server} has a context at that path already
   */
  public static void install(HttpServer server, ProbeLoad load, HttpContext... counted) {
    requireNonNull(server, "server");
    Filter filter = counting(load);
    for (HttpContext c : counted) {
      c.getFilters().add(filter);
    }
    server.createContext(ProbeLoad.PATH, handler(load));
  }
}
