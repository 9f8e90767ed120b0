package io.loadstar.testing;

import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Comparator;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

/**
 * What the server fixtures share, and any test or lab that runs a server process of its own: a free
 * port to start on, waiting for a server process to start, stopping it, and removing its working
 * directory.
 */
public final class ServerProcesses {

  private ServerProcesses() {}

  /** Returns a port free on {@code host} right now, for servers started on it next. */
  public static int freePort(String host) throws IOException {
    try (ServerSocket s = new ServerSocket(0, 1, InetAddress.getByName(host))) {
      return s.getLocalPort();
    }
  }

  /** Ends {@code process} (SIGTERM, then SIGKILL after 10 s), then deletes {@code dir}. */
  public static void stop(Process process, Path dir) throws IOException {
    process.destroy();
    try {
      if (!process.waitFor(10, TimeUnit.SECONDS)) {
        process.destroyForcibly().waitFor(10, TimeUnit.SECONDS);
      }
    } catch (InterruptedException e) {
      process.destroyForcibly();
      Thread.currentThread().interrupt();
    }
    deleteTree(dir);
  }

  /**
   * Returns once {@code ready} says the server started, polling until {@code within} has passed. If
   * the process exits first or the time runs out, closes {@code server} and throws an exception
   * carrying the process's output ({@code log}).
   */
  public static void awaitReady(
      Process process,
      Path log,
      String what,
      Duration within,
      BooleanSupplier ready,
      AutoCloseable server)
      throws IOException {
    // Polled about every millisecond, so the starting server keeps the CPU.
    boolean up = Await.until(within, () -> ready.getAsBoolean() || !process.isAlive());
    if (!up || !ready.getAsBoolean()) {
      String output = Files.readString(log, StandardCharsets.UTF_8);
      try {
        server.close();
      } catch (Exception e) {
        output += "\n(and closing it failed: " + e + ")";
      }
      throw new IOException(what + " did not start; its output:\n" + output);
    }
  }

  /** Whether something accepts TCP connections on {@code host:port} now. */
  public static boolean accepts(String host, int port) {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(host, port), 200);
      return true;
    } catch (IOException e) {
      return false;
    }
  }

  /** Deletes {@code dir} and everything under it. */
  public static void deleteTree(Path dir) throws IOException {
    try (var files = Files.walk(dir)) {
      files.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
    }
  }
}
