package io.loadstar.samples.drivers;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.core.LoadBalancers;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The driver of docs/DRIVERS.md against real line servers on loopback, with the defaults. */
class LineClientTest {

  /** A line server: answers each request line with {@code prefix + line}; counts requests. */
  static final class LineServer implements AutoCloseable {
    final ServerSocket socket;
    final AtomicInteger requests = new AtomicInteger();
    private final String prefix;

    LineServer(String host, String prefix) throws IOException {
      this.socket = new ServerSocket(0, 50, InetAddress.getByName(host));
      this.prefix = prefix;
      Thread t = new Thread(this::serve, "line-server-" + host);
      t.setDaemon(true);
      t.start();
    }

    private void serve() {
      while (!socket.isClosed()) {
        try (Socket s = socket.accept()) {
          String line =
              new BufferedReader(new InputStreamReader(s.getInputStream(), StandardCharsets.UTF_8))
                  .readLine();
          if (line != null) {
            requests.incrementAndGet();
            OutputStream out = s.getOutputStream();
            out.write((prefix + line + "\n").getBytes(StandardCharsets.UTF_8));
            out.flush();
          }
        } catch (IOException e) {
          // closed, or a client gone: next connection
        }
      }
    }

    Endpoint endpoint() {
      return Endpoint.of(socket.getInetAddress().getHostAddress(), socket.getLocalPort());
    }

    @Override
    public void close() throws IOException {
      socket.close();
    }
  }

  private LineServer ok;
  private LineServer failing;
  private LoadBalancer lb;

  /** A port on 127.0.0.2 nobody listens on. */
  private static Endpoint dead() throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName("127.0.0.2"))) {
      return Endpoint.of("127.0.0.2", s.getLocalPort());
    }
  }

  private void start() throws IOException {
    ok = new LineServer("127.0.0.1", "OK ");
    failing = new LineServer("127.0.0.3", "ERR busy ");
    lb =
        LoadBalancers.builder("lines").endpoints(ok.endpoint(), dead(), failing.endpoint()).build();
  }

  @AfterEach
  void tearDown() throws IOException {
    if (lb != null) {
      lb.close();
    }
    if (ok != null) {
      ok.close();
    }
    if (failing != null) {
      failing.close();
    }
  }

  @Test
  void idempotentCalls_aDeadAndAnErrEndpoint_noCallFails_oneEjected_theOtherGoesLast()
      throws IOException {
    start();
    LineClient client = new LineClient(lb, 2_000);
    for (int i = 0; i < 300; i++) {
      assertThat(client.call("ping " + i, true)).isEqualTo("OK ping " + i);
    }
    // The default cap (10%) ejects one of the two; the other goes last while it fails.
    assertThat(lb.inspect().snapshot())
        .filteredOn(s -> !s.endpoint().equals(ok.endpoint()))
        .extracting(EndpointSnapshot::state)
        .contains(EndpointSnapshot.State.EJECTED);
    assertThat(ok.requests.get()).isEqualTo(300);
  }

  @Test
  void nonIdempotentCalls_neverSentTwice_refusedConnectionsStillRetried() throws IOException {
    start();
    LineClient client = new LineClient(lb, 2_000);
    int failed = 0;
    for (int i = 0; i < 100; i++) {
      try {
        assertThat(client.call("charge " + i, false)).isEqualTo("OK charge " + i);
      } catch (IOException e) {
        assertThat(e).hasMessageContaining("answered ERR busy charge " + i);
        failed++;
      }
    }
    // Every call reached exactly one server: a refused connect was retried, an ERR answer not.
    assertThat(ok.requests.get() + failing.requests.get()).isEqualTo(100);
    assertThat(failed).isEqualTo(failing.requests.get()).isBetween(1, 5);
  }

  @Test
  void noEndpoint_theCallFailsNamingTheService() throws IOException {
    lb = LoadBalancers.builder("none").endpoints(List.of()).build();
    assertThatThrownBy(() -> new LineClient(lb, 2_000).call("ping", true))
        .isInstanceOf(IOException.class)
        .hasMessageContaining("no endpoint of none to call");
  }
}
