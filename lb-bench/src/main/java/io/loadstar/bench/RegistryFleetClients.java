package io.loadstar.bench;

import io.loadstar.api.Endpoint;
import io.loadstar.api.LbEventListener;
import io.loadstar.api.LoadBalancer;
import io.loadstar.core.LoadBalancers;
import io.loadstar.etcd.EtcdClient;
import io.loadstar.etcd.EtcdEndpointSource;
import io.loadstar.okhttp.CallAttempts;
import io.loadstar.okhttp.LoadBalancingInterceptor;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import okhttp3.ConnectionPool;
import okhttp3.Dispatcher;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;

/**
 * One process of {@link RegistryFleet}'s clients: {@code count} applications, each with an {@link
 * EtcdClient} of its own (its own watch stream, as separate processes would have) and a balancer on
 * {@link EtcdEndpointSource} for service {@code fleet}, each calling its backends through {@link
 * LoadBalancingInterceptor}.
 *
 * <p>Protocol, one line each on stdout: {@code ready} once every balancer lists {@code expected}
 * endpoints; {@code arrived <change> <micros>...} once every balancer has published change number
 * {@code <change>} (0, 1, ...: a new weight of the probe endpoint, the one on port {@code
 * probePort}), with the wall-clock time (epoch microseconds) each did; after {@code report} on
 * stdin, {@code calls <n> <failed> <retried>}. It exits when stdin closes.
 */
public final class RegistryFleetClients {

  private RegistryFleetClients() {}

  public static void main(String[] args) throws Exception {
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "error");
    String url = args[0];
    int count = Integer.parseInt(args[1]);
    int expected = Integer.parseInt(args[2]);
    int callsPerSecond = Integer.parseInt(args[3]);
    int probePort = Integer.parseInt(args[4]);
    PrintStream out = System.out; // line by line to RegistryFleet

    Dispatcher etcdDispatcher = new Dispatcher();
    etcdDispatcher.setMaxRequests(4 * count + 64);
    etcdDispatcher.setMaxRequestsPerHost(4 * count + 64);
    OkHttpClient etcdHttp =
        new OkHttpClient.Builder()
            .dispatcher(etcdDispatcher)
            .connectionPool(new ConnectionPool(count + 8, 1, TimeUnit.MINUTES))
            .build();
    OkHttpClient callHttp =
        new OkHttpClient.Builder()
            .connectionPool(new ConnectionPool(64, 1, TimeUnit.MINUTES))
            .callTimeout(Duration.ofSeconds(10))
            .build();

    Arrivals arrivals = new Arrivals(count, out);
    List<EtcdClient> clients = new ArrayList<>();
    List<LoadBalancer> balancers = new ArrayList<>();
    List<OkHttpClient> callers = new ArrayList<>();
    for (int i = 0; i < count; i++) {
      EtcdClient etcd = EtcdClient.builder(url).okHttpClient(etcdHttp).build();
      LoadBalancer lb =
          LoadBalancers.builder("fleet")
              .source(EtcdEndpointSource.builder(etcd, "fleet").build())
              .build();
      int client = i;
      lb.addListener(
          new LbEventListener() {
            @Override
            public void endpointsUpdated(String service, List<Endpoint> endpoints) {
              long now = micros();
              for (Endpoint e : endpoints) {
                if (e.port() == probePort) {
                  arrivals.published(client, e.weight(), now);
                }
              }
            }
          });
      clients.add(etcd);
      balancers.add(lb);
      callers.add(
          LoadBalancingInterceptor.builder().service("fleet.svc", lb).build().wrap(callHttp));
    }
    long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(120);
    while (!balancers.stream().allMatch(b -> b.inspect().endpoints().size() == expected)) {
      if (System.nanoTime() > deadline) {
        out.println("error: balancers did not list " + expected + " endpoints within 120 s");
        System.exit(1);
      }
      LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(20));
    }
    out.println("ready");

    AtomicLong calls = new AtomicLong();
    AtomicLong failed = new AtomicLong();
    AtomicLong retried = new AtomicLong();
    int threads = callsPerSecond > 0 ? 4 : 0; // no calls at all with a rate of 0
    List<Thread> workers = new ArrayList<>();
    for (int t = 0; t < threads; t++) {
      int first = t;
      Thread w =
          new Thread(
              () -> callLoop(callers, first, threads, callsPerSecond, calls, failed, retried),
              "fleet-caller-" + t);
      w.setDaemon(true);
      w.start();
      workers.add(w);
    }

    BufferedReader in =
        new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
    String line;
    while ((line = in.readLine()) != null) {
      if (line.equals("report")) {
        out.println("calls " + calls.get() + " " + failed.get() + " " + retried.get());
      }
    }
    for (LoadBalancer lb : balancers) {
      lb.close();
    }
    for (EtcdClient c : clients) {
      c.close();
    }
    System.exit(0);
  }

  /**
   * Calls {@code GET /} through every {@code step}-th caller from {@code first}, paced to its share
   * of {@code perSecond}; counts calls, failures and calls that took more than one attempt.
   */
  private static void callLoop(
      List<OkHttpClient> callers,
      int first,
      int step,
      int perSecond,
      AtomicLong calls,
      AtomicLong failed,
      AtomicLong retried) {
    long interval = TimeUnit.SECONDS.toNanos(1) * step / Math.max(1, perSecond);
    long next = System.nanoTime();
    int i = first;
    while (true) {
      next += interval;
      long wait = next - System.nanoTime();
      if (wait > 0) {
        LockSupport.parkNanos(wait);
      }
      Request request = new Request.Builder().url("http://fleet.svc/").build();
      try (Response r = callers.get(i).newCall(request).execute()) {
        r.body().string();
        calls.incrementAndGet();
        if (r.code() != 200) {
          failed.incrementAndGet();
        }
        CallAttempts attempts = CallAttempts.of(r);
        if (attempts != null && attempts.attempts().size() > 1) {
          retried.incrementAndGet();
        }
      } catch (IOException | RuntimeException e) {
        calls.incrementAndGet();
        failed.incrementAndGet();
      }
      i += step;
      if (i >= callers.size()) {
        i = first;
      }
    }
  }

  /** When each client published each change of the probe's weight; prints a change once all did. */
  private static final class Arrivals {
    private final int count;
    private final PrintStream out;
    private final int[] lastWeight; // per client: the probe's weight it last published, 0 before
    private final int[] changes; // per client: the changes it published
    private final Map<Integer, long[]> times = new HashMap<>(); // per change: per client

    Arrivals(int count, PrintStream out) {
      this.count = count;
      this.out = out;
      this.lastWeight = new int[count];
      this.changes = new int[count];
    }

    synchronized void published(int client, int weight, long micros) {
      int before = lastWeight[client];
      lastWeight[client] = weight;
      if (before == weight || before == 0) {
        return; // no change, or the probe's first weight
      }
      int change = changes[client]++;
      long[] t = times.computeIfAbsent(change, k -> new long[count]);
      t[client] = micros;
      if (Arrays.stream(t).allMatch(x -> x != 0)) {
        StringBuilder line = new StringBuilder("arrived ").append(change);
        for (long x : t) {
          line.append(' ').append(x);
        }
        out.println(line);
        times.remove(change);
      }
    }
  }

  static long micros() {
    Instant now = Instant.now();
    return now.getEpochSecond() * 1_000_000 + now.getNano() / 1_000;
  }
}
