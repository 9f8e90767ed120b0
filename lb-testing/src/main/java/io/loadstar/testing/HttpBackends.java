package io.loadstar.testing;

import io.loadstar.api.Endpoint;
import java.io.IOException;
import java.net.BindException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import javax.net.ServerSocketFactory;
import mockwebserver3.Dispatcher;
import mockwebserver3.MockResponse;
import mockwebserver3.MockWebServer;
import mockwebserver3.RecordedRequest;

/**
 * Real HTTP backends (MockWebServer) on 127.0.0.1, .2, .3 ... (or from another first address)
 * sharing one port, so that URLs carry the service's name and port and only the address differs, as
 * with DNS-discovered fleets. For the HTTP client drivers' tests.
 */
public final class HttpBackends implements AutoCloseable {

  private final List<MockWebServer> servers = new ArrayList<>();
  private final List<List<RecordedRequest>> received = new ArrayList<>();
  private final int port;
  private final int firstHost;

  /** What a backend answers; gets the backend's index (from 0) and the request. */
  @FunctionalInterface
  public interface Handler {
    /** Returns the answer of backend {@code backend} to {@code request}. */
    MockResponse answer(int backend, RecordedRequest request);

    /** Every backend answers 200 with {@code backend-<index>} as body. */
    static Handler ok() {
      return (i, r) -> new MockResponse.Builder().body("backend-" + i).build();
    }

    /** Backend {@code failing} answers 503 ({@code overloaded}); the others as {@link #ok()}. */
    static Handler failingAt(int failing) {
      return (i, r) ->
          i == failing
              ? new MockResponse.Builder().code(503).body("overloaded").build()
              : new MockResponse.Builder().body("backend-" + i).build();
    }

    /**
     * Backends below {@code hung} take requests and send their answer's head ({@code hung-<index>})
     * only after a minute, as a backend that never answers; the others answer as {@link #ok()}.
     */
    static Handler hungBelow(int hung) {
      return (i, r) ->
          i < hung
              ? new MockResponse.Builder()
                  .headersDelay(60, TimeUnit.SECONDS)
                  .body("hung-" + i)
                  .build()
              : new MockResponse.Builder().body("backend-" + i).build();
    }

    /**
     * Backend {@code i} answers {@code codes[i]} and sends its answer's head {@code millis[i]}
     * late, with {@code backend-<i>} as body for a 2xx and {@code busy} otherwise: the timings a
     * test of racing attempts needs (60,000 ms: a backend that never answers).
     *
     * @throws IllegalArgumentException if the arrays' lengths differ
     */
    static Handler timed(long[] millis, int[] codes) {
      if (millis.length != codes.length) {
        throw new IllegalArgumentException(
            millis.length + " delays for " + codes.length + " statuses (expected: one each)");
      }
      long[] delays = millis.clone();
      int[] statuses = codes.clone();
      return (i, r) ->
          new MockResponse.Builder()
              .code(statuses[i])
              .headersDelay(delays[i], TimeUnit.MILLISECONDS)
              .body(statuses[i] / 100 == 2 ? "backend-" + i : "busy")
              .build();
    }

    /** As {@link #ok()}, but backend {@code slow} sends its answer's head {@code millis} late. */
    static Handler slowAt(int slow, long millis) {
      return (i, r) ->
          new MockResponse.Builder()
              .body("backend-" + i)
              .headersDelay(i == slow ? millis : 0, TimeUnit.MILLISECONDS)
              .build();
    }
  }

  private HttpBackends(int port, int firstHost) {
    this.port = port;
    this.firstHost = firstHost;
  }

  /** Starts {@code n} backends answering 200 with {@code backend-<index>} as body. */
  public static HttpBackends start(int n) throws IOException {
    return start(n, s -> {}, Handler.ok());
  }

  /** Starts {@code n} backends answering as {@code handler} says. */
  public static HttpBackends start(int n, Handler handler) throws IOException {
    return start(n, s -> {}, handler);
  }

  /**
   * Starts {@code n} backends, each configured by {@code setup} before it starts (for example
   * {@code useHttps}), on one free port; retries on another port if one address's is taken.
   */
  public static HttpBackends start(int n, Consumer<MockWebServer> setup, Handler handler)
      throws IOException {
    return startAt(1, n, setup, handler);
  }

  /**
   * Starts {@code n} backends on 127.0.0.{@code firstHost}, the next address, and so on, so that
   * several groups of backends can run side by side.
   *
   * @throws IllegalArgumentException if the addresses would leave 127.0.0.1..127.0.0.254
   */
  public static HttpBackends startAt(
      int firstHost, int n, Consumer<MockWebServer> setup, Handler handler) throws IOException {
    if (firstHost < 1 || n < 1 || firstHost + n - 1 > 254) {
      throw new IllegalArgumentException(
          "127.0.0." + firstHost + " and " + n + " more (expected: within 127.0.0.1..254)");
    }
    for (int tries = 0; ; tries++) {
      HttpBackends b = new HttpBackends(ServerProcesses.freePort("127.0.0.1"), firstHost);
      try {
        for (int i = 0; i < n; i++) {
          MockWebServer server = new MockWebServer();
          server.setServerSocketFactory(NO_DELAY);
          setup.accept(server);
          int index = i;
          List<RecordedRequest> log = Collections.synchronizedList(new ArrayList<>());
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
          server.start(InetAddress.getByName("127.0.0." + (firstHost + i)), b.port);
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
   * ACK, about 40 ms a response on Linux.
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
        public ServerSocket createServerSocket(int port) {
          throw new UnsupportedOperationException("MockWebServer binds an unbound socket");
        }

        @Override
        public ServerSocket createServerSocket(int port, int backlog) {
          throw new UnsupportedOperationException("MockWebServer binds an unbound socket");
        }

        @Override
        public ServerSocket createServerSocket(int port, int backlog, InetAddress address) {
          throw new UnsupportedOperationException("MockWebServer binds an unbound socket");
        }
      };

  /** Returns the port every backend listens on. */
  public int port() {
    return port;
  }

  /** Returns the endpoints of all backends, in order. */
  public List<Endpoint> endpoints() {
    List<Endpoint> list = new ArrayList<>();
    for (int i = 0; i < servers.size(); i++) {
      list.add(endpoint(i));
    }
    return list;
  }

  /** Returns backend {@code i}'s endpoint. */
  public Endpoint endpoint(int i) {
    return Endpoint.of("127.0.0." + (firstHost + i), port);
  }

  /** Returns backend {@code i}'s server. */
  public MockWebServer server(int i) {
    return servers.get(i);
  }

  /** Returns the requests backend {@code i} received, in order (a snapshot). */
  public List<RecordedRequest> received(int i) {
    synchronized (received.get(i)) {
      return List.copyOf(received.get(i));
    }
  }

  /** Returns the requests each backend received, in backend order (snapshots). */
  public List<List<RecordedRequest>> received() {
    List<List<RecordedRequest>> all = new ArrayList<>();
    for (int i = 0; i < servers.size(); i++) {
      all.add(received(i));
    }
    return all;
  }

  /** Stops backend {@code i}: its address then refuses connections. */
  public void kill(int i) {
    servers.get(i).close();
  }

  /** Returns how many requests each backend received. */
  public int[] counts() {
    int[] c = new int[servers.size()];
    for (int i = 0; i < c.length; i++) {
      c[i] = received.get(i).size();
    }
    return c;
  }

  /** Returns how many requests all backends received. */
  public int total() {
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
