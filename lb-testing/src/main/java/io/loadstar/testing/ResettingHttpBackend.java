package io.loadstar.testing;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A backend that reads a request, sends a 200 announcing 1,000 bytes of body, sends 500 of them,
 * then resets the connection (SO_LINGER 0): the reset arrives while the client reads the body. For
 * the tests of how HTTP clients' drivers treat a body that breaks.
 */
public final class ResettingHttpBackend implements AutoCloseable {

  private final AtomicInteger requests = new AtomicInteger();
  private final ServerSocket server;
  private final Thread acceptor;

  /** Starts the backend on {@code address}:{@code port}. */
  public ResettingHttpBackend(String address, int port) throws IOException {
    server = new ServerSocket();
    server.bind(new InetSocketAddress(InetAddress.getByName(address), port), 50);
    acceptor = new Thread(this::serve, "resetting-backend");
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** Returns how many requests it has received. */
  public int requests() {
    return requests.get();
  }

  private void serve() {
    while (!server.isClosed()) {
      try (Socket s = server.accept()) {
        InputStream in = s.getInputStream();
        readHeaders(in);
        requests.incrementAndGet();
        OutputStream out = s.getOutputStream();
        out.write(
            ("HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 1000\r\n\r\n"
                    + "x".repeat(500))
                .getBytes(StandardCharsets.US_ASCII));
        out.flush();
        s.setSoLinger(true, 0); // close() now sends RST
      } catch (IOException e) {
        if (server.isClosed()) {
          return;
        }
      }
    }
  }

  private static void readHeaders(InputStream in) throws IOException {
    int matched = 0;
    byte[] end = {'\r', '\n', '\r', '\n'};
    while (matched < 4) {
      int b = in.read();
      if (b < 0) {
        throw new IOException("client closed");
      }
      matched = b == end[matched] ? matched + 1 : (b == '\r' ? 1 : 0);
    }
  }

  @Override
  public void close() throws IOException {
    server.close();
    try {
      acceptor.join(10_000);
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
    }
  }
}
