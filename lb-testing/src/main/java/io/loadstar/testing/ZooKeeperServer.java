package io.loadstar.testing;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * A real ZooKeeper server (Debian package {@code zookeeperd}, whose jar is {@code
 * /usr/share/java/zookeeper.jar}) in standalone mode on a loopback address, with its data in a
 * temporary directory, started for a test in a JVM of its own and stopped by PID. {@link #close()}
 * ends the process and removes the directory.
 */
public final class ZooKeeperServer implements AutoCloseable {

  /** What a test that needs the server says when it skips. */
  public static final String INSTALL_HINT =
      "ZooKeeper is not installed: install it (Debian: apt-get install -y zookeeperd) to run this"
          + " test";

  private static final Path JAR = Path.of("/usr/share/java/zookeeper.jar");

  private final Process process;
  private final Path dir;
  private final String host;
  private final int port;

  private ZooKeeperServer(Process process, Path dir, String host, int port) {
    this.process = process;
    this.dir = dir;
    this.host = host;
    this.port = port;
  }

  /** Returns the ZooKeeper server jar, or null if the package is not installed. */
  public static @Nullable Path jar() {
    return Files.isRegularFile(JAR) ? JAR : null;
  }

  /**
   * Starts a server on {@code host}, on a free port (another one if that is taken meanwhile, up to
   * 10 times), and returns once it accepts connections.
   *
   * @throws IllegalStateException if ZooKeeper is not installed
   * @throws IOException if the server still cannot start (its log is in the message)
   */
  public static ZooKeeperServer start(String host) throws IOException {
    Path jar = jar();
    if (jar == null) {
      throw new IllegalStateException(INSTALL_HINT);
    }
    IOException last = null;
    for (int attempt = 0; attempt < 10; attempt++) {
      try {
        return start(jar, host, ServerProcesses.freePort(host));
      } catch (IOException e) {
        last = e;
      }
    }
    throw last;
  }

  private static ZooKeeperServer start(Path jar, String host, int port) throws IOException {
    Path dir = Files.createTempDirectory("loadstar-zookeeper-");
    Path config = dir.resolve("zoo.cfg");
    Files.writeString(
        config,
        String.join(
            "\n",
            "tickTime=500",
            "minSessionTimeout=1000",
            "dataDir=" + dir.resolve("data"),
            "clientPort=" + port,
            "clientPortAddress=" + host,
            "admin.enableServer=false",
            "4lw.commands.whitelist=ruok",
            ""),
        StandardCharsets.UTF_8);
    Path log = dir.resolve("zookeeper.log");
    Path java = Path.of(System.getProperty("java.home"), "bin", "java");
    Process process =
        new ProcessBuilder(
                List.of(
                    java.toString(),
                    "-Xmx256m",
                    "-cp",
                    jar.toString(),
                    "org.apache.zookeeper.server.ZooKeeperServerMain",
                    config.toString()))
            .redirectErrorStream(true)
            .redirectOutput(log.toFile())
            .start();
    ZooKeeperServer server = new ZooKeeperServer(process, dir, host, port);
    ServerProcesses.awaitReady(
        process,
        log,
        "ZooKeeper on " + host + ":" + port,
        Duration.ofSeconds(30),
        server::answersRuok,
        server);
    return server;
  }

  /** Whether the server answers ZooKeeper's {@code ruok} with {@code imok}: it serves. */
  private boolean answersRuok() {
    try (Socket s = new Socket()) {
      s.connect(new InetSocketAddress(host, port), 200);
      s.getOutputStream().write("ruok".getBytes(StandardCharsets.US_ASCII));
      byte[] answer = s.getInputStream().readNBytes(4);
      return new String(answer, StandardCharsets.US_ASCII).equals("imok");
    } catch (IOException e) {
      return false;
    }
  }

  /** Returns the connect string, {@code host:port}. */
  public String connectString() {
    return host + ":" + port;
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
    return "zookeeper[pid " + process.pid() + ", " + connectString() + "]";
  }
}
