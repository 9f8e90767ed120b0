package io.loadstar.testing;

import java.io.File;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A real {@code redis-server} process (Debian package {@code redis-server}) on a loopback address,
 * with no persistence, started for a test and stopped by PID. {@link #close()} ends the process and
 * removes its working directory.
 */
public final class RedisServer implements AutoCloseable {

  /** What a test that needs the binary says when it skips. */
  public static final String INSTALL_HINT =
      "redis-server is not on the PATH: install it (Debian: apt-get install -y redis-server) to"
          + " run this test";

  private final Process process;
  private final Path dir;
  private final String host;
  private final int port;

  private RedisServer(Process process, Path dir, String host, int port) {
    this.process = process;
    this.dir = dir;
    this.host = host;
    this.port = port;
  }

  /** Returns the {@code redis-server} binary on the PATH, or null. */
  public static @Nullable Path binary() {
    return onPath("redis-server");
  }

  /** Returns the executable {@code name} in a directory of the PATH, or null. */
  static @Nullable Path onPath(String name) {
    String path = System.getenv("PATH");
    if (path == null) {
      return null;
    }
    for (String d : path.split(File.pathSeparator)) {
      Path candidate = Path.of(d, name);
      if (Files.isExecutable(candidate)) {
        return candidate;
      }
    }
    return null;
  }

  /**
   * Starts one server on each of {@code hosts}, all on one free port, and returns them once they
   * accept connections. A port is free when it is chosen, but another process (a second test run on
   * the machine) may take it before the servers bind it: then every server is stopped and the start
   * tried again on another port, up to 10 times.
   *
   * @throws IllegalStateException if the binary is missing
   * @throws IOException if the servers still cannot start
   */
  public static List<RedisServer> startAll(List<String> hosts) throws IOException {
    IOException last = null;
    for (int attempt = 0; attempt < 10; attempt++) {
      int port = ServerProcesses.freePort(hosts.get(0));
      List<RedisServer> started = new java.util.ArrayList<>();
      try {
        for (String host : hosts) {
          started.add(start(host, port));
        }
        return started;
      } catch (IOException e) {
        for (RedisServer s : started) {
          s.close();
        }
        last = e;
      }
    }
    throw last;
  }

  /**
   * Starts a server on {@code host:port} and returns once it accepts connections.
   *
   * @throws IllegalStateException if the binary is missing
   * @throws IOException if the server exits or does not listen within 10 s (its log is in the
   *     message)
   */
  public static RedisServer start(String host, int port) throws IOException {
    Path binary = binary();
    if (binary == null) {
      throw new IllegalStateException(INSTALL_HINT);
    }
    Path dir = Files.createTempDirectory("loadstar-redis-");
    Path log = dir.resolve("redis.log");
    Process process =
        new ProcessBuilder(
                List.of(
                    binary.toString(),
                    "--bind",
                    host,
                    "--port",
                    Integer.toString(port),
                    "--save",
                    "",
                    "--appendonly",
                    "no",
                    "--daemonize",
                    "no",
                    "--dir",
                    dir.toString()))
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    RedisServer server = new RedisServer(process, dir, host, port);
    ServerProcesses.awaitReady(
        process,
        log,
        "redis-server on " + host + ":" + port,
        Duration.ofSeconds(10),
        () -> ServerProcesses.accepts(host, port),
        server);
    return server;
  }

  /** Returns the address it listens on. */
  public String host() {
    return host;
  }

  /** Returns the port it listens on. */
  public int port() {
    return port;
  }

  /** Returns the process ID. */
  public long pid() {
    return process.pid();
  }

  /** Stops the process (SIGTERM, then SIGKILL after 10 s) and deletes its directory. */
  @Override
  public void close() throws IOException {
    ServerProcesses.stop(process, dir);
  }

  @Override
  public String toString() {
    return "redis-server[pid " + process.pid() + ", " + host + ":" + port + "]";
  }
}
