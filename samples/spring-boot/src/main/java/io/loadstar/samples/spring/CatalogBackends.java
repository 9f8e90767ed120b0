package io.loadstar.samples.spring;

import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.io.OutputStream;
import java.net.BindException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicIntegerArray;

/**
 * The sample's catalog service: three small HTTP servers (the JDK's) on 127.0.0.1, .2 and .3,
 * sharing one port, each answering with its own name.
 */
final class CatalogBackends implements AutoCloseable {

  private final List<HttpServer> servers = new ArrayList<>();
  private final AtomicIntegerArray served = new AtomicIntegerArray(3);
  private final int port;

  private CatalogBackends(int port) {
    this.port = port;
  }

  /** Starts the three backends on a free port. */
  static CatalogBackends start() throws IOException {
    for (int tries = 0; ; tries++) {
      int port;
      try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
        port = s.getLocalPort();
      }
      CatalogBackends backends = new CatalogBackends(port);
      try {
        for (int i = 0; i < 3; i++) {
          backends.startOne(i);
        }
        return backends;
      } catch (BindException e) {
        backends.close();
        if (tries == 10) {
          throw e;
        }
      }
    }
  }

  private void startOne(int i) throws IOException {
    HttpServer server =
        HttpServer.create(
            new InetSocketAddress(InetAddress.getByName("127.0.0." + (i + 1)), port), 50);
    server.createContext(
        "/",
        exchange -> {
          served.incrementAndGet(i);
          byte[] body = ("catalog-" + (i + 1)).getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, body.length);
          try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
          }
        });
    server.start();
    servers.add(server);
  }

  int port() {
    return port;
  }

  /** Stops backend {@code i} (0..2): its address refuses connections from now on. */
  void kill(int i) {
    servers.get(i).stop(0);
  }

  /** Requests each backend served. */
  int[] served() {
    return new int[] {served.get(0), served.get(1), served.get(2)};
  }

  @Override
  public void close() {
    for (HttpServer s : servers) {
      s.stop(0);
    }
  }
}
