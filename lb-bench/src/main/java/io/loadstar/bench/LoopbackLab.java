package io.loadstar.bench;

import io.loadstar.api.Endpoint;
import io.loadstar.api.Hedging;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.RetryPolicy;
import io.loadstar.api.RetryStats;
import io.loadstar.api.SelectionStrategy;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.Strategies;
import io.loadstar.okhttp.LoadBalancingInterceptor;
import io.loadstar.probe.HttpProber;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import okhttp3.ConnectionPool;
import okhttp3.Dispatcher;
import okhttp3.OkHttpClient;
import org.HdrHistogram.Histogram;
import org.jspecify.annotations.Nullable;

/**
 * The tail-latency lab on loopback, in real time: four backends ({@link LoopbackBackend}: 4 workers
 * each, 10 ms of exponential service time, one with a CPU antagonist, one with GC-like pauses)
 * behind Loadstar's strategies in an OkHttp client, and behind HAProxy ({@code balance leastconn})
 * and nginx ({@code least_conn}), which the runner starts on 127.0.0.x. An open-loop generator
 * sends Poisson arrivals at 50 to 90% of the backends' nominal capacity (1,600 requests/s
 * undisturbed) and measures each request from the time it was due, not the time it went out, so a
 * generator that falls behind cannot hide a stall (no coordinated omission); latencies go into an
 * HdrHistogram. Prints p50, p99 and p99.9 per load and exits with 1 if Loadstar's p99 at 80% load
 * is more than half of HAProxy's.
 *
 * <pre>
 * java -cp lb-bench/target/benchmarks.jar io.loadstar.bench.LoopbackLab [--seconds 10]
 *     [--loads 0.5,0.7,0.8,0.9] [--only leastRequest,haproxy,...]
 * </pre>
 *
 * <p>Contenders for {@code --only}: the names in {@link #CONTENDERS}, any strategy name {@code
 * Strategies.named} knows, {@code leastRequest(N)} (N choices, 2..10) and any of them followed by
 * {@code +hedging}.
 */
public final class LoopbackLab {

  static final int WORKERS = 4;
  static final long MEAN_SERVICE_NANOS = 10_000_000L;
  static final LoopbackBackend.Disturbance[] DISTURBANCES = {
    LoopbackBackend.Disturbance.ANTAGONIST,
    LoopbackBackend.Disturbance.GC_PAUSES,
    LoopbackBackend.Disturbance.NONE,
    LoopbackBackend.Disturbance.NONE
  };
  static final List<String> CONTENDERS =
      List.of(
          "leastRequest",
          "peakEwma",
          "probing",
          "peakEwma+hedging",
          "haproxy leastconn",
          "nginx least_conn");

  private LoopbackLab() {}

  /** One run's latencies, from the time each request was due, and its failures. */
  record Result(Histogram latencies, int failed, long retries, long hedges) {

    Result(Histogram latencies, int failed) {
      this(latencies, failed, -1, -1);
    }

    double millis(double percentile) {
      return latencies.getValueAtPercentile(percentile) / 1e6;
    }
  }

  /** Runs the lab; exits with 1 if the target is missed, 2 on bad arguments. */
  public static void main(String[] args) throws Exception {
    long seconds = 10;
    double[] loads = {0.5, 0.7, 0.8, 0.9};
    List<String> only = CONTENDERS;
    for (int i = 0; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--seconds" -> seconds = Long.parseLong(args[i + 1]);
        case "--loads" ->
            loads =
                Arrays.stream(args[i + 1].split(",")).mapToDouble(Double::parseDouble).toArray();
        case "--only" -> only = List.of(args[i + 1].split(","));
        default -> {
          System.err.println(
              "unknown option: " + args[i] + " (expected: --seconds N, --loads a,b, --only x,y)");
          System.exit(2);
        }
      }
    }
    System.exit(run(seconds, loads, only) ? 0 : 1);
  }

  static double capacity() {
    return DISTURBANCES.length * WORKERS * 1e9 / MEAN_SERVICE_NANOS;
  }

  private static boolean run(long seconds, double[] loads, List<String> only) throws Exception {
    ScheduledExecutorService timer =
        Executors.newScheduledThreadPool(
            2,
            r -> {
              Thread t = new Thread(r, "loopback-backends");
              t.setDaemon(true);
              return t;
            });
    List<LoopbackBackend> backends = new ArrayList<>();
    Map<String, Result[]> results = new LinkedHashMap<>();
    try {
      int port = 0;
      for (int i = 0; i < DISTURBANCES.length; i++) {
        LoopbackBackend b =
            new LoopbackBackend(
                "127.0.0." + (61 + i),
                port,
                WORKERS,
                MEAN_SERVICE_NANOS,
                DISTURBANCES[i],
                7 + i,
                timer);
        port = b.endpoint().port(); // one port for all, as a service's endpoints often have
        backends.add(b);
      }
      List<Endpoint> endpoints = new ArrayList<>();
      backends.forEach(b -> endpoints.add(b.endpoint()));
      System.out.printf(
          Locale.ROOT,
          "%n== loopback: %s; nominal capacity %,.0f requests/s; %d s per load ==%n",
          backends.stream().map(LoopbackBackend::describe).toList(),
          capacity(),
          seconds);
      // Warms the JIT (OkHttp, the balancer, the backends) before anything is measured: a cold
      // client falls behind an open loop, and its backlog outlives the first run's warm-up.
      contender("leastRequest", endpoints, port, 0.4, 5);
      for (String contender : only) {
        Result[] row = new Result[loads.length];
        for (int i = 0; i < loads.length; i++) {
          long[] before = served(backends);
          row[i] = contender(contender, endpoints, port, loads[i], seconds);
          for (LoopbackBackend b : backends) {
            b.awaitIdle(TimeUnit.SECONDS.toNanos(30)); // cut-off work drains before the next run
          }
          long[] after = served(backends);
          for (int k = 0; k < before.length; k++) {
            after[k] -= before[k];
          }
          System.out.printf(
              Locale.ROOT,
              "  %-20s at %.0f%%: p50 %.1f ms, p99 %.1f ms, p99.9 %.1f ms, %d failed%s%n",
              contender,
              loads[i] * 100,
              row[i].millis(50),
              row[i].millis(99),
              row[i].millis(99.9),
              row[i].failed(),
              (row[i].retries() < 0
                      ? ""
                      : ", " + row[i].retries() + " retries, " + row[i].hedges() + " hedges")
                  + "; served "
                  + Arrays.toString(Arrays.copyOf(after, backends.size()))
                  + ", answered to a client gone "
                  + after[backends.size()]);
        }
        results.put(contender, row);
      }
    } finally {
      backends.forEach(LoopbackBackend::close);
      timer.shutdownNow();
    }
    return report(results, loads);
  }

  /** What each backend served so far, and then how many answers found their client gone. */
  private static long[] served(List<LoopbackBackend> backends) {
    long[] counts = new long[backends.size() + 1];
    for (int k = 0; k < backends.size(); k++) {
      counts[k] = backends.get(k).served();
      counts[backends.size()] += backends.get(k).closedEarly();
    }
    return counts;
  }

  private static Result contender(
      String name, List<Endpoint> endpoints, int port, double load, long seconds) throws Exception {
    double rate = load * capacity();
    if (name.startsWith("haproxy") || name.startsWith("nginx")) {
      String binary = name.startsWith("haproxy") ? "haproxy" : "nginx";
      if (LoopbackProxy.binary(binary) == null) {
        System.out.println(
            "  " + name + ": skipped, not installed (apt-get install -y " + binary + ")");
        return new Result(new Histogram(3), 0);
      }
      Endpoint address = Endpoint.of(binary.equals("haproxy") ? "127.0.0.71" : "127.0.0.72", port);
      try (LoopbackProxy proxy =
          binary.equals("haproxy")
              ? LoopbackProxy.haproxy(address, endpoints)
              : LoopbackProxy.nginx(address, endpoints)) {
        OkHttpClient client = client(null);
        try {
          return OpenLoop.run(client, "http://" + address.key() + "/", rate, seconds);
        } finally {
          close(client);
        }
      }
    }
    boolean hedged = name.endsWith("+hedging");
    String strategyName = hedged ? name.substring(0, name.length() - "+hedging".length()) : name;
    SelectionStrategy strategy =
        strategyName.equals("probing")
            ? Strategies.probing(HttpProber.create())
            : strategyName.startsWith("leastRequest(")
                ? Strategies.leastRequest(
                    Integer.parseInt(
                        strategyName.substring(
                            "leastRequest(".length(), strategyName.length() - 1)),
                    1.0)
                : Strategies.named(strategyName);
    RetryPolicy policy =
        hedged ? RetryPolicy.builder().hedging(Hedging.adaptive()).build() : RetryPolicy.defaults();
    try (LoadBalancer lb =
        LoadBalancers.builder("svc")
            .endpoints(endpoints)
            .strategy(strategy)
            .retryPolicy(policy)
            .build()) {
      OkHttpClient client =
          client(LoadBalancingInterceptor.builder().service("svc.lab", lb).build());
      try {
        Result r = OpenLoop.run(client, "http://svc.lab:" + port + "/", rate, seconds);
        RetryStats stats = lb.inspect().retryStats();
        return new Result(
            r.latencies(), r.failed(), stats.retries() - stats.hedges(), stats.hedges());
      } finally {
        close(client);
      }
    }
  }

  /** An OkHttp client with room for every request the generator has in flight. */
  private static OkHttpClient client(@Nullable LoadBalancingInterceptor interceptor) {
    Dispatcher dispatcher = new Dispatcher();
    dispatcher.setMaxRequests(20_000);
    dispatcher.setMaxRequestsPerHost(20_000);
    OkHttpClient.Builder b =
        new OkHttpClient.Builder()
            .dispatcher(dispatcher)
            .connectionPool(new ConnectionPool(1_000, 1, TimeUnit.MINUTES))
            .callTimeout(Duration.ofSeconds(10))
            .readTimeout(Duration.ofSeconds(10));
    if (interceptor != null) {
      b.addInterceptor(interceptor);
    }
    return b.build();
  }

  private static void close(OkHttpClient client) {
    client.dispatcher().executorService().shutdown();
    client.connectionPool().evictAll();
  }

  private static boolean report(Map<String, Result[]> results, double[] loads) {
    for (String metric : List.of("p50 ms", "p99 ms", "p99.9 ms", "failed")) {
      StringBuilder header = new StringBuilder(String.format(Locale.ROOT, "%n%-22s", metric));
      for (double l : loads) {
        header.append(String.format(Locale.ROOT, "%9.0f%%", l * 100));
      }
      System.out.println(header);
      for (Map.Entry<String, Result[]> e : results.entrySet()) {
        StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%-22s", e.getKey()));
        for (Result r : e.getValue()) {
          double v =
              switch (metric) {
                case "p50 ms" -> r.millis(50);
                case "p99 ms" -> r.millis(99);
                case "p99.9 ms" -> r.millis(99.9);
                default -> r.failed();
              };
          row.append(String.format(Locale.ROOT, metric.equals("failed") ? "%10.0f" : "%10.1f", v));
        }
        System.out.println(row);
      }
    }
    int at80 = -1;
    for (int i = 0; i < loads.length; i++) {
      if (loads[i] == 0.8) {
        at80 = i;
      }
    }
    Result[] haproxy = results.get("haproxy leastconn");
    if (at80 < 0 || haproxy == null || haproxy[at80].latencies().getTotalCount() == 0) {
      System.out.println("\ntarget not checked: it needs the 80% load and HAProxy");
      return true;
    }
    double theirs = haproxy[at80].millis(99);
    boolean met = true;
    for (String s : List.of("leastRequest", "peakEwma", "probing", "peakEwma+hedging")) {
      Result[] r = results.get(s);
      if (r == null) {
        continue;
      }
      double ours = r[at80].millis(99);
      boolean ok = ours <= theirs / 2;
      met &= !s.equals("leastRequest") || ok; // the default is the one that must make it
      System.out.printf(
          Locale.ROOT,
          "  %s %s: p99 at 80%% %.1f ms <= half of HAProxy leastconn's %.1f ms%n",
          ok ? "met:   " : "MISSED:",
          s,
          ours,
          theirs);
    }
    return met;
  }
}
