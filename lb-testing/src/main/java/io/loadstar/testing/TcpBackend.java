package io.loadstar.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * A TCP server on a loopback address that accepts connections, counts them and closes them: a
 * backend for connect-level tests. Closeable; close() stops its thread.
 */
public final class TcpBackend implements AutoCloseable {

  private final ServerSocket server;
  private final Thread acceptor;
  private final AtomicInteger accepted = new AtomicInteger();

  private TcpBackend(ServerSocket server) {
    this.server = server;
    this.acceptor = new Thread(this::acceptLoop, "tcp-backend-" + server.getLocalSocketAddress());
    acceptor.setDaemon(true);
    acceptor.start();
  }

  /** Starts a backend on {@code host} (e.g. 127.0.0.2) and {@code port} (0 for any). */
  public static TcpBackend start(String host, int port) throws IOException {
    ServerSocket s = new ServerSocket();
    s.setReuseAddress(true);
    s.bind(new InetSocketAddress(InetAddress.getByName(host), port), 1024);
    return new TcpBackend(s);
  }

  public int port() {
    return server.getLocalPort();
  }

  public String host() {
    return server.getInetAddress().getHostAddress();
  }

  /** Returns how many connections were accepted so far. */
  public int accepted() {
    return accepted.get();
  }

  private void acceptLoop() {
    while (!server.isClosed()) {
      try (Socket s = server.accept()) {
        accepted.incrementAndGet();
      } catch (IOException e) {
        return; // closed
      }
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
