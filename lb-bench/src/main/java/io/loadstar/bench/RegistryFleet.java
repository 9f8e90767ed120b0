package io.loadstar.bench;

import com.sun.net.httpserver.HttpServer;
import io.loadstar.api.Endpoint;
import io.loadstar.etcd.EtcdClient;
import io.loadstar.etcd.EtcdEndpointSource;
import io.loadstar.etcd.EtcdRecord;
import io.loadstar.etcd.EtcdRegistrar;
import io.loadstar.testing.EtcdServer;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.PrintStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * The registry under a fleet (issue 25), on real etcd (Debian package {@code etcd-server}): {@code
 * --clients} applications in {@code --processes} JVMs ({@link RegistryFleetClients}), each with its
 * own etcd client and watch and a balancer on service {@code fleet}, calling its backends all
 * along; {@code --backends} HTTP backends in this JVM, each registered by an {@link EtcdRegistrar}
 * of its own lease. It measures:
 *
 * <ul>
 *   <li>a change's arrival: the probe endpoint's record put with a new weight, {@code --changes}
 *       times, one at a time; the wall-clock time until each balancer published it (epoch
 *       microseconds, one machine's clock across the processes): p50 and p99 of the last client per
 *       change, and of every client;
 *   <li>etcd's CPU per change ({@code /proc/<pid>/stat}), against the same time idle, and the bytes
 *       etcd sent to its clients per change ({@code etcd_network_client_grpc_sent_bytes_total});
 *   <li>a rolling restart of every backend, {@code --wave} at a time: deregister (the lease
 *       revoked), wait {@code --drain-ms}, stop, start again on the same port, register; the
 *       clients' calls, failures and retried calls meanwhile ({@code --wave 0}: none). {@code
 *       --rate 0} makes no calls at all.
 * </ul>
 *
 * <p>Run: {@code java -cp lb-bench/target/benchmarks.jar io.loadstar.bench.RegistryFleet}.
 */
public final class RegistryFleet {

  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private RegistryFleet() {}

  public static void main(String[] args) throws Exception {
    Map<String, Integer> o = new LinkedHashMap<>();
    o.put("--processes", 4);
    o.put("--clients", 1000);
    o.put("--backends", 200);
    o.put("--changes", 100);
    o.put("--rate", 100); // calls per second, per process
    o.put("--wave", 10);
    o.put("--drain-ms", 1000);
    for (int i = 0; i + 1 < args.length; i += 2) {
      if (!o.containsKey(args[i])) {
        System.err.println("unknown option " + args[i] + " (expected: one of " + o.keySet() + ")");
        System.exit(2);
      }
      o.put(args[i], Integer.parseInt(args[i + 1]));
    }
    if (EtcdServer.binary() == null) {
      System.out.println(EtcdServer.INSTALL_HINT);
      System.exit(2);
    }
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "error");
    int processes = o.get("--processes");
    int perProcess = o.get("--clients") / processes;
    int backends = o.get("--backends");
    ExecutorService serverThreads = Executors.newFixedThreadPool(8);
    List<Child> children = new ArrayList<>();
    try (EtcdServer etcd = EtcdServer.start();
        EtcdClient registry = EtcdClient.builder(etcd.url()).build()) {
      long etcdPid = etcdPid();
      List<HttpServer> servers = new ArrayList<>();
      List<EtcdRegistrar> registrars = new ArrayList<>();
      for (int i = 0; i < backends; i++) {
        HttpServer s = server(0, serverThreads);
        servers.add(s);
        registrars.add(register(registry, s));
      }
      HttpServer probe = server(0, serverThreads);
      String probeKey = EtcdEndpointSource.DEFAULT_ROOT + "fleet/probe";
      Endpoint probeEndpoint = Endpoint.of("127.0.0.1", probe.getAddress().getPort());
      EtcdRunner.put(etcd.url(), probeKey, EtcdRecord.toJson(probeEndpoint.withWeight(1)));

      long started = System.nanoTime();
      for (int p = 0; p < processes; p++) {
        children.add(
            new Child(etcd.url(), perProcess, backends + 1, o.get("--rate"), probeEndpoint.port()));
      }
      for (Child c : children) {
        c.expect("ready", Duration.ofMinutes(3));
      }
      System.out.printf(
          Locale.ROOT,
          "%d clients in %d processes (an etcd client and watch each), %d backends (a lease each):"
              + " every balancer listed all %d endpoints %.1f s after the processes started;"
              + " etcd counts %s watchers, %s watch streams%n",
          perProcess * processes,
          processes,
          backends,
          backends + 1,
          (System.nanoTime() - started) / 1e9,
          metric(etcd.url(), "etcd_debugging_mvcc_watcher_total"),
          metric(etcd.url(), "etcd_debugging_mvcc_watch_stream_total"));

      double idleCpu = cpuMillisPerSecond(etcdPid, Duration.ofSeconds(5));
      long cpuBefore = cpuMillis(etcdPid);
      double sentBefore = sentBytes(etcd.url());
      int changes = o.get("--changes");
      long[] last = new long[changes];
      List<Long> every = new ArrayList<>();
      long seriesStart = System.nanoTime();
      for (int i = 0; i < changes; i++) {
        long t0 = RegistryFleetClients.micros();
        EtcdRunner.put(
            etcd.url(), probeKey, EtcdRecord.toJson(probeEndpoint.withWeight(i % 2 == 0 ? 2 : 1)));
        for (Child c : children) {
          String[] f = c.expect("arrived " + i + " ", Duration.ofSeconds(30)).split(" ");
          for (int k = 2; k < f.length; k++) {
            long latency = Long.parseLong(f[k]) - t0;
            every.add(latency);
            last[i] = Math.max(last[i], latency);
          }
        }
      }
      double seriesSeconds = (System.nanoTime() - seriesStart) / 1e9;
      long cpu = cpuMillis(etcdPid) - cpuBefore;
      double sent = sentBytes(etcd.url()) - sentBefore;
      Arrays.sort(last);
      long[] all = every.stream().mapToLong(Long::longValue).sorted().toArray();
      System.out.printf(
          Locale.ROOT,
          "%d changes, one at a time: published by the last of %d balancers after p50 %.1f ms, p99"
              + " %.1f ms, max %.1f ms; by any balancer p50 %.1f ms, p99 %.1f ms%n",
          changes,
          all.length / changes,
          last[changes / 2] / 1e3,
          last[(int) Math.min(changes - 1, Math.ceil(changes * 0.99) - 1)] / 1e3,
          last[changes - 1] / 1e3,
          all[all.length / 2] / 1e3,
          all[(int) Math.ceil(all.length * 0.99) - 1] / 1e3);
      System.out.printf(
          Locale.ROOT,
          "etcd: %.1f ms of CPU per change (%.0f ms over %.1f s; idle with these watches and leases"
              + " %.1f ms per second); %.0f bytes sent per change (%.0f per watching client)%n",
          (cpu - idleCpu * seriesSeconds) / changes,
          (double) cpu,
          seriesSeconds,
          idleCpu,
          sent / changes,
          sent / changes / (perProcess * processes));

      if (o.get("--wave") > 0) {
        rollingRestart(children, servers, registrars, registry, serverThreads, o);
      }
      for (EtcdRegistrar r : registrars) {
        r.close();
      }
      for (HttpServer s : servers) {
        s.stop(0);
      }
      probe.stop(0);
    } finally {
      for (Child c : children) {
        c.close();
      }
      serverThreads.shutdownNow();
    }
    System.exit(0);
  }

  /** Restarts every backend, {@code --wave} at a time, and prints the clients' calls meanwhile. */
  private static void rollingRestart(
      List<Child> children,
      List<HttpServer> servers,
      List<EtcdRegistrar> registrars,
      EtcdClient registry,
      ExecutorService serverThreads,
      Map<String, Integer> o)
      throws IOException, InterruptedException {
    int backends = servers.size();
    int wave = o.get("--wave");
    long[] before = calls(children);
    long restartStart = System.nanoTime();
    for (int from = 0; from < backends; from += wave) {
      int to = Math.min(backends, from + wave);
      List<Thread> closing = new ArrayList<>(); // the wave's backends deregister at once
      for (int i = from; i < to; i++) {
        Thread t = new Thread(registrars.get(i)::close, "fleet-deregister-" + i);
        t.start();
        closing.add(t);
      }
      for (Thread t : closing) {
        t.join();
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(o.get("--drain-ms")));
      for (int i = from; i < to; i++) {
        int port = servers.get(i).getAddress().getPort();
        servers.get(i).stop(0);
        servers.set(i, server(port, serverThreads));
        registrars.set(i, register(registry, servers.get(i)));
      }
    }
    long[] after = calls(children);
    System.out.printf(
        Locale.ROOT,
        "rolling restart of the %d backends, %d at a time (deregister, %d ms, stop, start, register),"
            + " %.1f s: the clients made %d calls, %d failed, %d needed a second attempt%n",
        backends,
        wave,
        o.get("--drain-ms"),
        (System.nanoTime() - restartStart) / 1e9,
        after[0] - before[0],
        after[1] - before[1],
        after[2] - before[2]);
  }

  private static HttpServer server(int port, ExecutorService threads) throws IOException {
    HttpServer s = HttpServer.create(new InetSocketAddress("127.0.0.1", port), 128);
    s.createContext(
        "/",
        exchange -> {
          byte[] body = "ok".getBytes(StandardCharsets.UTF_8);
          exchange.sendResponseHeaders(200, body.length);
          try (OutputStream os = exchange.getResponseBody()) {
            os.write(body);
          }
        });
    s.setExecutor(threads);
    s.start();
    return s;
  }

  private static EtcdRegistrar register(EtcdClient registry, HttpServer s) {
    return EtcdRegistrar.builder(
            registry, "fleet", Endpoint.of("127.0.0.1", s.getAddress().getPort()))
        .start();
  }

  /** Calls, failures and retried calls summed over the processes. */
  private static long[] calls(List<Child> children) throws IOException, InterruptedException {
    long[] sum = new long[3];
    for (Child c : children) {
      c.send("report");
      String[] f = c.expect("calls ", Duration.ofSeconds(10)).split(" ");
      for (int k = 0; k < 3; k++) {
        sum[k] += Long.parseLong(f[k + 1]);
      }
    }
    return sum;
  }

  /** The etcd process this JVM started. */
  private static long etcdPid() {
    return ProcessHandle.current()
        .descendants()
        .filter(h -> h.info().command().map(c -> c.endsWith("etcd")).orElse(false))
        .findFirst()
        .orElseThrow(() -> new IllegalStateException("no etcd process among this JVM's children"))
        .pid();
  }

  /** User and system CPU time of process {@code pid}, in milliseconds (clock ticks of 10 ms). */
  private static long cpuMillis(long pid) throws IOException {
    String stat = Files.readString(Path.of("/proc/" + pid + "/stat"));
    String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
    return (Long.parseLong(f[11]) + Long.parseLong(f[12])) * 10; // utime, stime (fields 14, 15)
  }

  private static double cpuMillisPerSecond(long pid, Duration window) throws IOException {
    long before = cpuMillis(pid);
    LockSupport.parkNanos(window.toNanos());
    return (cpuMillis(pid) - before) / (window.toMillis() / 1000.0);
  }

  private static double sentBytes(String url) throws IOException, InterruptedException {
    return Double.parseDouble(metric(url, "etcd_network_client_grpc_sent_bytes_total"));
  }

  /** The value of metric {@code name} (the first line of it) on etcd's {@code /metrics}. */
  private static String metric(String url, String name) throws IOException, InterruptedException {
    String text =
        HTTP.send(
                HttpRequest.newBuilder(URI.create(url + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString())
            .body();
    for (String line : text.split("\n")) {
      if (line.startsWith(name + " ") || line.startsWith(name + "{")) {
        return line.substring(line.lastIndexOf(' ') + 1);
      }
    }
    return "?";
  }

  /** A process of {@link RegistryFleetClients}, its stdout read line by line into a queue. */
  private static final class Child implements AutoCloseable {
    private final Process process;
    private final PrintStream in;
    private final BlockingQueue<String> lines = new LinkedBlockingQueue<>();

    Child(String url, int clients, int expected, int rate, int probePort) throws IOException {
      String java = ProcessHandle.current().info().command().orElse("java");
      process =
          new ProcessBuilder(
                  java,
                  "-Xmx512m",
                  "-cp",
                  System.getProperty("java.class.path"),
                  RegistryFleetClients.class.getName(),
                  url,
                  Integer.toString(clients),
                  Integer.toString(expected),
                  Integer.toString(rate),
                  Integer.toString(probePort))
              .redirectError(ProcessBuilder.Redirect.INHERIT)
              .start();
      in = new PrintStream(process.getOutputStream(), true, StandardCharsets.UTF_8);
      Thread reader =
          new Thread(
              () -> {
                try (BufferedReader r =
                    new BufferedReader(
                        new InputStreamReader(process.getInputStream(), StandardCharsets.UTF_8))) {
                  String line;
                  while ((line = r.readLine()) != null) {
                    lines.add(line);
                  }
                } catch (IOException ignored) {
                  // the process ended
                }
              },
              "fleet-child-" + process.pid());
      reader.setDaemon(true);
      reader.start();
    }

    void send(String line) {
      in.println(line);
    }

    /** The next line starting with {@code prefix}, skipping others; fails after {@code timeout}. */
    String expect(String prefix, Duration timeout) throws InterruptedException {
      long deadline = System.nanoTime() + timeout.toNanos();
      while (true) {
        String line = lines.poll(deadline - System.nanoTime(), TimeUnit.NANOSECONDS);
        if (line == null) {
          throw new IllegalStateException(
              "process " + process.pid() + ": no '" + prefix + "' within " + timeout);
        }
        if (line.startsWith("error")) {
          throw new IllegalStateException("process " + process.pid() + ": " + line);
        }
        if (line.startsWith(prefix) || (line + " ").equals(prefix)) {
          return line;
        }
      }
    }

    @Override
    public void close() {
      in.close(); // the process exits when its stdin closes
      try {
        if (!process.waitFor(20, TimeUnit.SECONDS)) {
          process.destroyForcibly();
        }
      } catch (InterruptedException e) {
        process.destroyForcibly();
        Thread.currentThread().interrupt();
      }
    }
  }
}
