package io.loadstar.testing;

import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.jspecify.annotations.Nullable;

/**
 * Real {@code etcd} members (Debian package {@code etcd-server}) on 127.0.0.1, each with a
 * temporary data directory, started for a test and stopped by PID: one member, or a cluster. A
 * member can be killed (SIGKILL) and started again on the same ports and data.
 */
public final class EtcdServer implements AutoCloseable {

  /** What a test that needs the binary says when it skips. */
  public static final String INSTALL_HINT =
      "etcd is not on the PATH: install it (Debian: apt-get install -y etcd-server) to run this"
          + " test";

  private static final HttpClient HTTP =
      HttpClient.newBuilder().connectTimeout(Duration.ofMillis(500)).build();
  private static final Pattern MEMBER_ID = Pattern.compile("\"member_id\":\"(\\d+)\"");
  private static final Pattern LEADER = Pattern.compile("\"leader\":\"(\\d+)\"");

  private final String name;
  private final Path dir;
  private final int clientPort;
  private final int peerPort;
  private final String initialCluster;
  private final String token;
  private @Nullable Process process;

  private EtcdServer(
      String name, Path dir, int clientPort, int peerPort, String initialCluster, String token) {
    this.name = name;
    this.token = token;
    this.dir = dir;
    this.clientPort = clientPort;
    this.peerPort = peerPort;
    this.initialCluster = initialCluster;
  }

  /** Returns the {@code etcd} binary on the PATH, or null. */
  public static @Nullable Path binary() {
    return RedisServer.onPath("etcd");
  }

  /** Starts one member and returns once it is healthy. */
  public static EtcdServer start() throws IOException {
    return cluster(1).get(0);
  }

  /**
   * Starts a cluster of {@code size} members on 127.0.0.1 and returns once each answers and the
   * cluster has a leader.
   *
   * @throws IllegalStateException if the binary is missing
   * @throws IOException if a member exits or the cluster is not healthy within 20 s (the logs are
   *     in the message)
   */
  public static List<EtcdServer> cluster(int size) throws IOException {
    if (binary() == null) {
      throw new IllegalStateException(INSTALL_HINT);
    }
    // Ports are free when chosen, but another process (a second test run on the machine) may take
    // one before etcd binds it: then the whole cluster is started again on other ports.
    IOException last = null;
    for (int attempt = 0; attempt < 5; attempt++) {
      try {
        return startCluster(size);
      } catch (IOException e) {
        if (e.getMessage() == null || !e.getMessage().contains("address already in use")) {
          throw e;
        }
        last = e;
      }
    }
    throw last;
  }

  private static List<EtcdServer> startCluster(int size) throws IOException {
    List<EtcdServer> members = new ArrayList<>();
    StringBuilder initial = new StringBuilder();
    int[][] ports = new int[size][2];
    for (int i = 0; i < size; i++) {
      ports[i][0] = ServerProcesses.freePort("127.0.0.1");
      ports[i][1] = ServerProcesses.freePort("127.0.0.1");
      if (i > 0) {
        initial.append(',');
      }
      initial.append("m").append(i).append("=http://127.0.0.1:").append(ports[i][1]);
    }
    try {
      for (int i = 0; i < size; i++) {
        EtcdServer m =
            new EtcdServer(
                "m" + i,
                Files.createTempDirectory("loadstar-etcd-"),
                ports[i][0],
                ports[i][1],
                initial.toString(),
                "loadstar-test-" + ports[0][1]);
        members.add(m);
        m.launch();
      }
      for (EtcdServer m : members) {
        m.awaitHealthy(Duration.ofSeconds(20));
      }
    } catch (IOException | RuntimeException e) {
      for (EtcdServer m : members) {
        m.close();
      }
      throw e;
    }
    return members;
  }

  /** Returns the client URLs of {@code members}, for {@code EtcdClient.builder}. */
  public static List<String> urls(List<EtcdServer> members) {
    List<String> out = new ArrayList<>();
    for (EtcdServer m : members) {
      out.add(m.url());
    }
    return out;
  }

  /** Returns the member that is the leader now, polling until one is (at most 20 s). */
  public static EtcdServer leader(List<EtcdServer> members) throws IOException {
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
    while (System.nanoTime() < deadline) {
      for (EtcdServer m : members) {
        if (m.isRunning()) {
          String status = m.status();
          if (status != null) {
            Matcher id = MEMBER_ID.matcher(status);
            Matcher leader = LEADER.matcher(status);
            if (id.find() && leader.find() && id.group(1).equals(leader.group(1))) {
              return m;
            }
          }
        }
      }
      Thread.onSpinWait();
    }
    throw new IOException("no etcd leader among " + members + " within 20 s");
  }

  private void launch() throws IOException {
    Path log = dir.resolve("etcd.log");
    String client = "http://127.0.0.1:" + clientPort;
    String peer = "http://127.0.0.1:" + peerPort;
    process =
        new ProcessBuilder(
                List.of(
                    String.valueOf(binary()),
                    "--name",
                    name,
                    "--data-dir",
                    dir.resolve("data").toString(),
                    "--listen-client-urls",
                    client,
                    "--advertise-client-urls",
                    client,
                    "--listen-peer-urls",
                    peer,
                    "--initial-advertise-peer-urls",
                    peer,
                    "--initial-cluster",
                    initialCluster,
                    "--initial-cluster-state",
                    "new",
                    "--initial-cluster-token",
                    token,
                    // Fast elections on loopback, so a leader loss heals in about a second.
                    "--heartbeat-interval",
                    "50",
                    "--election-timeout",
                    "500",
                    "--logger",
                    "zap",
                    "--log-level",
                    "warn"))
            .redirectErrorStream(true)
            .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile()))
            .start();
  }

  /** Polls the member's health endpoint until it answers healthy. */
  public void awaitHealthy(Duration timeout) throws IOException {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (true) {
      Process p = process;
      if (p == null || !p.isAlive()) {
        throw new IOException(this + " exited; its log:\n" + log());
      }
      if (get("/health").contains("\"health\":\"true\"")) {
        return;
      }
      if (System.nanoTime() > deadline) {
        throw new IOException(this + " not healthy within " + timeout + "; its log:\n" + log());
      }
      Thread.onSpinWait();
    }
  }

  private String get(String path) {
    try {
      HttpResponse<String> r =
          HTTP.send(
              HttpRequest.newBuilder(URI.create(url() + path))
                  .timeout(Duration.ofMillis(500))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      return r.body();
    } catch (IOException e) {
      return "";
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return "";
    }
  }

  private @Nullable String status() {
    try {
      HttpResponse<String> r =
          HTTP.send(
              HttpRequest.newBuilder(URI.create(url() + "/v3/maintenance/status"))
                  .timeout(Duration.ofMillis(500))
                  .POST(HttpRequest.BodyPublishers.ofString("{}"))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      return r.statusCode() == 200 ? r.body() : null;
    } catch (IOException e) {
      return null;
    } catch (InterruptedException e) {
      Thread.currentThread().interrupt();
      return null;
    }
  }

  private String log() {
    try {
      return Files.readString(dir.resolve("etcd.log"), StandardCharsets.UTF_8);
    } catch (IOException e) {
      return "(no log: " + e + ")";
    }
  }

  /** Returns the client URL, {@code http://127.0.0.1:<port>}. */
  public String url() {
    return "http://127.0.0.1:" + clientPort;
  }

  /** Returns true while the process runs. */
  public boolean isRunning() {
    Process p = process;
    return p != null && p.isAlive();
  }

  /** Kills the process (SIGKILL: no goodbye to peers or clients) and waits for it to end. */
  public void kill() {
    Process p = process;
    process = null;
    if (p != null) {
      p.destroyForcibly();
      try {
        p.waitFor(10, TimeUnit.SECONDS);
      } catch (InterruptedException e) {
        Thread.currentThread().interrupt();
      }
    }
  }

  /**
   * Starts the member again on the same ports and data directory; returns without waiting (a member
   * of a cluster whose peers are down is not healthy alone): see {@link #awaitHealthy}.
   */
  public void restart() throws IOException {
    if (isRunning()) {
      throw new IllegalStateException(this + " is running");
    }
    launch();
  }

  /** Kills the process and deletes its directory. */
  @Override
  public void close() throws IOException {
    kill();
    ServerProcesses.deleteTree(dir);
  }

  @Override
  public String toString() {
    Process p = process;
    return "etcd[" + name + (p != null ? ", pid " + p.pid() : ", stopped") + ", " + url() + "]";
  }
}
