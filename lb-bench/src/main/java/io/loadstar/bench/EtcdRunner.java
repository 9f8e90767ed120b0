package io.loadstar.bench;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointUpdate;
import io.loadstar.core.StandaloneSource;
import io.loadstar.etcd.EtcdClient;
import io.loadstar.etcd.EtcdEndpointSource;
import io.loadstar.etcd.EtcdRecord;
import io.loadstar.etcd.EtcdRegistrar;
import io.loadstar.testing.EtcdServer;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Base64;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.function.BooleanSupplier;

/**
 * Registry discovery on real etcd (Debian package {@code etcd-server}), figures for issue 12. Not a
 * unit test: it prints what it measured.
 *
 * <ul>
 *   <li>1,000 endpoints registered through {@link EtcdRegistrar} (one lease each): how long a new
 *       source takes to report all of them, and the threads the client, the registrars and the
 *       source started;
 *   <li>one change at a time (a put through the gateway, by another HTTP client): how long until
 *       the source reports it, p50/p99 over 200 changes;
 *   <li>a 3-member cluster whose leader is killed while a source watches through it: how long until
 *       a change made through another member reaches the source, and whether a registrar's lease
 *       survived.
 * </ul>
 *
 * <p>Run: {@code java -cp lb-bench/target/benchmarks.jar io.loadstar.bench.EtcdRunner}.
 */
public final class EtcdRunner {

  private static final HttpClient HTTP = HttpClient.newHttpClient();

  private EtcdRunner() {}

  public static void main(String[] args) throws Exception {
    if (EtcdServer.binary() == null) {
      System.out.println(EtcdServer.INSTALL_HINT);
      System.exit(2);
    }
    thousandEndpointsAndChanges();
    leaderLoss();
    System.exit(0);
  }

  private static void thousandEndpointsAndChanges() throws Exception {
    try (EtcdServer etcd = EtcdServer.start()) {
      int before = Thread.activeCount();
      threadsOfOneBackendAndOneClient(etcd);
      EtcdClient client = EtcdClient.builder(etcd.url()).build();
      List<EtcdRegistrar> registrars = new ArrayList<>();
      for (int i = 0; i < 1000; i++) {
        registrars.add(
            EtcdRegistrar.builder(
                    client, "bench", Endpoint.of("127.0." + (i / 250) + "." + (1 + i % 250), 8080))
                .ttl(Duration.ofSeconds(30))
                .start());
      }
      await(
          Duration.ofSeconds(60), () -> registrars.stream().allMatch(EtcdRegistrar::isRegistered));
      int afterRegistrars = Thread.activeCount();

      AtomicReference<List<Endpoint>> last = new AtomicReference<>(List.of());
      EtcdEndpointSource source = EtcdEndpointSource.builder(client, "bench").build();
      long t0 = System.nanoTime();
      StandaloneSource.start(
          "bench",
          source,
          (EndpointUpdate u) -> {
            if (!u.isError()) {
              last.set(u.endpoints());
            }
          });
      await(Duration.ofSeconds(30), () -> last.get().size() == 1000);
      long loadNanos = System.nanoTime() - t0;
      int afterSource = Thread.activeCount();
      System.out.printf(
          "1,000 registered endpoints: reported by a new source after %.0f ms%n", loadNanos / 1e6);
      System.out.printf(
          "threads: %d before, %d with client + 1,000 registrars, %d with the source watching%n",
          before, afterRegistrars, afterSource);

      long[] latency = new long[200];
      for (int i = 0; i < latency.length; i++) {
        Endpoint e = Endpoint.of("127.1.0." + (1 + i % 250), 9000 + i);
        long start = System.nanoTime();
        put(etcd.url(), EtcdEndpointSource.DEFAULT_ROOT + "bench/extra-" + i, EtcdRecord.toJson(e));
        await(Duration.ofSeconds(10), () -> last.get().contains(e));
        latency[i] = System.nanoTime() - start;
      }
      Arrays.sort(latency);
      System.out.printf(
          "one change (put by another client -> source reports it), 200 in a row: p50 %.2f ms,"
              + " p99 %.2f ms, max %.2f ms%n",
          latency[100] / 1e6, latency[197] / 1e6, latency[199] / 1e6);
      source.close();
      for (EtcdRegistrar r : registrars) {
        r.close();
      }
      client.close();
    }
  }

  /** What one application embedding both sides starts: a registrar and a source, idle. */
  private static void threadsOfOneBackendAndOneClient(EtcdServer etcd) {
    int before = Thread.activeCount();
    EtcdClient client = EtcdClient.builder(etcd.url()).build();
    EtcdRegistrar registrar =
        EtcdRegistrar.builder(client, "one", Endpoint.of("127.0.0.1", 1)).start();
    EtcdEndpointSource source = EtcdEndpointSource.builder(client, "one").build();
    AtomicReference<List<Endpoint>> last = follow(source);
    await(Duration.ofSeconds(10), () -> last.get().size() == 1);
    EtcdEndpointSource second = EtcdEndpointSource.builder(client, "two").build();
    StandaloneSource.start("two", second, u -> {});
    int after = Thread.activeCount();
    List<String> names = new ArrayList<>();
    for (Thread t : Thread.getAllStackTraces().keySet()) {
      names.add(t.getName().replaceAll("[0-9]+", "N"));
    }
    names.sort(null);
    System.out.printf(
        "threads: %d before, %d with one client, one registrar and two sources watching: %s%n",
        before, after, names);
    second.close();

    // A graceful close and a readiness check turning false, then true: until the source reports.
    long start = System.nanoTime();
    registrar.close();
    await(Duration.ofSeconds(10), () -> last.get().isEmpty());
    long closeNanos = System.nanoTime() - start;
    AtomicBoolean ready = new AtomicBoolean(true);
    EtcdRegistrar drained =
        EtcdRegistrar.builder(client, "one", Endpoint.of("127.0.0.1", 2))
            .readiness(ready::get)
            .start();
    await(Duration.ofSeconds(10), () -> last.get().size() == 1);
    start = System.nanoTime();
    ready.set(false);
    await(Duration.ofSeconds(10), () -> last.get().isEmpty());
    long unreadyNanos = System.nanoTime() - start;
    start = System.nanoTime();
    ready.set(true);
    await(Duration.ofSeconds(10), () -> last.get().size() == 1);
    long readyNanos = System.nanoTime() - start;
    System.out.printf(
        "a graceful close gone after %.1f ms; readiness false gone after %.1f ms, true back after"
            + " %.1f ms (checked every 250 ms)%n",
        closeNanos / 1e6, unreadyNanos / 1e6, readyNanos / 1e6);
    drained.close();
    source.close();
    client.close();
  }

  private static void leaderLoss() throws Exception {
    List<EtcdServer> cluster = EtcdServer.cluster(3);
    try {
      EtcdServer leader = EtcdServer.leader(cluster);
      List<String> urls = new ArrayList<>(EtcdServer.urls(cluster));
      urls.remove(leader.url());
      urls.add(0, leader.url()); // the client starts on the leader
      EtcdClient client = EtcdClient.builder(urls).build();
      EtcdRegistrar registrar =
          EtcdRegistrar.builder(client, "leader", Endpoint.of("127.0.0.1", 1)).start();
      EtcdEndpointSource source = EtcdEndpointSource.builder(client, "leader").build();
      AtomicReference<List<Endpoint>> last = follow(source);
      await(Duration.ofSeconds(10), () -> last.get().size() == 1);

      long killed = System.nanoTime();
      leader.kill();
      Endpoint e = Endpoint.of("127.0.0.1", 2);
      String other = urls.get(1);
      while (true) { // a write through a surviving member, once the two have elected a leader
        try {
          put(other, EtcdEndpointSource.DEFAULT_ROOT + "leader/after", EtcdRecord.toJson(e));
          break;
        } catch (IOException retry) {
          LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(10));
        }
      }
      long written = System.nanoTime();
      await(Duration.ofSeconds(30), () -> last.get().contains(e));
      long seen = System.nanoTime();
      System.out.printf(
          "leader of 3 killed: a write succeeded %.0f ms later, the source reported it %.0f ms"
              + " after the write; registrar still registered: %s%n",
          (written - killed) / 1e6, (seen - written) / 1e6, registrar.isRegistered());
      source.close();
      registrar.close();
      client.close();
    } finally {
      for (EtcdServer m : cluster) {
        m.close();
      }
    }
  }

  /** Starts {@code source}; the reference holds the last list it reported. */
  private static AtomicReference<List<Endpoint>> follow(EtcdEndpointSource source) {
    AtomicReference<List<Endpoint>> last = new AtomicReference<>(List.of());
    StandaloneSource.start(
        "follow",
        source,
        (EndpointUpdate u) -> {
          if (!u.isError()) {
            last.set(u.endpoints());
          }
        });
    return last;
  }

  /** Puts {@code key} = {@code value} through the JSON gateway of the etcd at {@code url}. */
  static void put(String url, String key, String value) throws IOException {
    String body = "{\"key\":\"" + b64(key) + "\",\"value\":\"" + b64(value) + "\"}";
    try {
      HttpResponse<String> r =
          HTTP.send(
              HttpRequest.newBuilder(URI.create(url + "/v3/kv/put"))
                  .timeout(Duration.ofSeconds(2))
                  .POST(HttpRequest.BodyPublishers.ofString(body))
                  .build(),
              HttpResponse.BodyHandlers.ofString());
      if (r.statusCode() != 200) {
        throw new IOException("put answered " + r.statusCode() + ": " + r.body());
      }
    } catch (InterruptedException ex) {
      Thread.currentThread().interrupt();
      throw new IOException(ex);
    }
  }

  private static String b64(String s) {
    return Base64.getEncoder().encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  private static void await(Duration timeout, BooleanSupplier condition) {
    long deadline = System.nanoTime() + timeout.toNanos();
    while (!condition.getAsBoolean()) {
      if (System.nanoTime() > deadline) {
        throw new IllegalStateException("not reached within " + timeout);
      }
      Thread.onSpinWait();
    }
  }
}
