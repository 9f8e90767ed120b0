package io.loadstar.okhttp;

import io.loadstar.api.Endpoint;
import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.List;
import javax.net.ServerSocketFactory;
import mockwebserver3.Dispatcher;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;

/**
 * Real HTTP backends on 127.0.0.1, .2, .3 ... sharing one port, so that URLs carry the service's
 * name and port and only the address differs, as with DNS-discovered fleets.
 */
final class Backends implements AutoCloseable {

  final List<MockWebServer> servers = new ArrayList<>();
  final List<List<RecordedRequest>> received = new ArrayList<>();
  final int port;

  /** What a backend answers; gets the backend's index and the request. */
  interface Handler {
    MockResponse answer(int backend, RecordedRequest request);
  }

  private Backends(int port) {
    this.port = port;
  }

  /** Starts {@code n} backends answering 200 with their own address as body. */
  static Backends start(int n) throws IOException {
    return start(n, s -> {}, (i, r) -> new MockResponse.Builder().body("backend-" + i).build());
  }

  /** Starts {@code n} backends, each configured by {@code setup} before it starts. */
  static Backends start(int n, java.util.function.Consumer<MockWebServer> setup, Handler handler)
      throws IOException {
    for (int tries = 0; ; tries++) {
      int port = freePort();
      Backends b = new Backends(port);
      try {
        for (int i = 0; i < n; i++) {
          MockWebServer server = new MockWebServer();
          server.setServerSocketFactory(NO_DELAY);
          setup.accept(server);
          int index = i;
          List<RecordedRequest> log = java.util.Collections.synchronizedList(new ArrayList<>());
          server.setDispatcher(
              new Dispatcher() {
                @Override
                public MockResponse dispatch(RecordedRequest request) {
                  log.add(request);
                  return handler.answer(index, request);
                }
              });
          b.servers.add(server);
          b.received.add(log);
          server.start(InetAddress.getByName("127.0.0." + (i + 1)), port);
        }
        return b;
      } catch (BindException e) {
        b.close();
        if (tries == 20) {
          throw e;
        }
      }
    }
  }

  /**
   * Server sockets whose connections send at once (TCP_NODELAY). MockWebServer writes a response's
   * head and body separately; with Nagle's algorithm the body then waits for the client's delayed
   * ACK, about 40 ms a response on Linux, which made every test here crawl.
   */
  private static final ServerSocketFactory NO_DELAY =
      new ServerSocketFactory() {
        @Override
        public ServerSocket createServerSocket() throws IOException {
          return new ServerSocket() {
            @Override
            public Socket accept() throws IOException {
              Socket s = super.accept();
              s.setTcpNoDelay(true);
              return s;
            }
          };
        }

        @Override
        public ServerSocket createServerSocket(int port) throws IOException {
          throw new UnsupportedOperationException("MockWebServer binds an unbound socket");
        }

        @Override
        public ServerSocket createServerSocket(int port, int backlog) throws IOException {
          throw new UnsupportedOperationException("MockWebServer binds an unbound socket");
        }

        @Override
        public ServerSocket createServerSocket(int port, int backlog, InetAddress address)
            throws IOException {
          throw new UnsupportedOperationException("MockWebServer binds an unbound socket");
        }
      };

  private static int freePort() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.1"))) {
      return s.getLocalPort();
    }
  }

  /** Returns the endpoints of all backends. */
  List<Endpoint> endpoints() {
    List<Endpoint> list = new ArrayList<>();
    for (int i = 0; i < servers.size(); i++) {
      list.add(endpoint(i));
    }
    return list;
  }

  Endpoint endpoint(int i) {
    return Endpoint.of("127.0.0." + (i + 1), port);
  }

  /** Returns the requests each backend received. */
  int[] counts() {
    int[] c = new int[servers.size()];
    for (int i = 0; i < c.length; i++) {
      c[i] = received.get(i).size();
    }
    return c;
  }

  int total() {
    int t = 0;
    for (int c : counts()) {
      t += c;
    }
    return t;
  }

  @Override
  public void close() {
    for (MockWebServer s : servers) {
      s.close();
    }
  }
}
