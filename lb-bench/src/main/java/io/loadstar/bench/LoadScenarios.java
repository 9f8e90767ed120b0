package io.loadstar.bench;

import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.SelectionStrategy;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.OutlierDetectionConfig;
import io.loadstar.core.Strategies;
import io.loadstar.okhttp.LoadBalancingInterceptor;
import java.io.IOException;
import java.net.BindException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import okhttp3.ConnectionPool;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;

/**
 * Load scenarios through the OkHttp interceptor against three real loopback backends (127.0.0.1,
 * .2, .3 on one port), with 16 callers in a closed loop. Not a unit test: it prints what it
 * measured and exits with 1 if a target of issue 5 was missed.
 *
 * <ul>
 *   <li>{@code slow}: backend 3 turns 100 ms slow. Per strategy: its share of requests and the p99,
 *       against the all-healthy p99. Target for leastRequest and peakEwma: share at most 10%, p99
 *       at most 3x the healthy p99.
 *   <li>{@code 503}: backend 3 starts answering 503. Target: no failed request, and at most 2% of
 *       attempts reach it from one second after the switch.
 *   <li>{@code timeout}: two of three endpoints are black holes (connect timeout 400 ms, call
 *       timeout 3 s): a request whose first two picks are the holes succeeds within 1 s; with all
 *       three black-holed it fails within the call timeout + 50 ms.
 * </ul>
 *
 * <p>Run: {@code java -cp lb-bench/target/benchmarks.jar io.loadstar.bench.LoadScenarios [slow]
 * [503] [timeout]} (all by default).
 */
public final class LoadScenarios {

  private static final int CALLERS = 16;
  private static boolean missed;

  private LoadScenarios() {}

  public static void main(String[] args) throws Exception {
    List<String> which = args.length == 0 ? List.of("slow", "503", "timeout") : List.of(args);
    for (String scenario : which) {
      switch (scenario) {
        case "slow":
          slowBackend();
          break;
        case "503":
          errorBackend();
          break;
        case "timeout":
          blackHoles();
          break;
        default:
          System.err.println("unknown scenario: " + scenario + " (expected: slow, 503, timeout)");
          System.exit(2);
      }
    }
    System.out.println(missed ? "\nSOME TARGETS MISSED" : "\nall targets met");
    System.exit(missed ? 1 : 0);
  }

  private static void check(boolean ok, String what) {
    System.out.println("  " + (ok ? "met:    " : "MISSED: ") + what);
    missed |= !ok;
  }

  /** Three backends on 127.0.0.1, .2 and .3 sharing one port. */
  static List<HttpBackend> startBackends() throws IOException {
    for (int tries = 0; ; tries++) {
      List<HttpBackend> list = new ArrayList<>();
      try {
        list.add(new HttpBackend("127.0.0.1", 0));
        int port = list.get(0).port();
        list.add(new HttpBackend("127.0.0.2", port));
        list.add(new HttpBackend("127.0.0.3", port));
        return list;
      } catch (BindException e) {
        list.forEach(HttpBackend::close);
        if (tries == 10) {
          throw e;
        }
      }
    }
  }

  static List<Endpoint> endpoints(List<HttpBackend> backends) {
    List<Endpoint> list = new ArrayList<>();
    for (HttpBackend b : backends) {
      list.add(Endpoint.of(b.server.getAddress().getAddress().getHostAddress(), b.port()));
    }
    return list;
  }

  static OkHttpClient client(LoadBalancer lb) {
    OkHttpClient base =
        new OkHttpClient.Builder()
            .connectionPool(new ConnectionPool(64, 5, TimeUnit.MINUTES))
            .build();
    return LoadBalancingInterceptor.builder().service("svc.test", lb).build().wrap(base);
  }

  static void shutdown(OkHttpClient client) {
    client.dispatcher().executorService().shutdown();
    client.connectionPool().evictAll();
  }

  /** What 16 callers measured over one phase. */
  static final class Phase {
    long requests;
    long failures;
    long[] latenciesMicros = new long[0];

    long percentile(double p) {
      if (latenciesMicros.length == 0) {
        return 0;
      }
      int i = (int) Math.ceil(p / 100.0 * latenciesMicros.length) - 1;
      return latenciesMicros[Math.max(0, Math.min(latenciesMicros.length - 1, i))];
    }
  }

  /** Runs 16 callers in a closed loop for {@code millis}. */
  static Phase run(OkHttpClient client, String url, long millis) throws InterruptedException {
    Request request = new Request.Builder().url(url).build();
    long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    long[][] latencies = new long[CALLERS][];
    int[] counts = new int[CALLERS];
    AtomicLong failures = new AtomicLong();
    Thread[] threads = new Thread[CALLERS];
    for (int t = 0; t < CALLERS; t++) {
      int id = t;
      threads[t] =
          new Thread(
              () -> {
                long[] mine = new long[1 << 16];
                int n = 0;
                while (System.nanoTime() < deadline) {
                  long start = System.nanoTime();
                  try (Response r = client.newCall(request).execute()) {
                    r.body().bytes();
                    if (r.code() != 200) {
                      failures.incrementAndGet();
                    }
                  } catch (IOException e) {
                    failures.incrementAndGet();
                  }
                  if (n == mine.length) {
                    mine = Arrays.copyOf(mine, n * 2);
                  }
                  mine[n++] = (System.nanoTime() - start) / 1_000;
                }
                latencies[id] = mine;
                counts[id] = n;
              },
              "caller-" + t);
      threads[t].start();
    }
    for (Thread t : threads) {
      t.join();
    }
    Phase phase = new Phase();
    int total = 0;
    for (int c : counts) {
      total += c;
    }
    phase.latenciesMicros = new long[total];
    int at = 0;
    for (int t = 0; t < CALLERS; t++) {
      System.arraycopy(latencies[t], 0, phase.latenciesMicros, at, counts[t]);
      at += counts[t];
    }
    Arrays.sort(phase.latenciesMicros);
    phase.requests = total;
    phase.failures = failures.get();
    return phase;
  }

  static void slowBackend() throws Exception {
    System.out.println("\n== slow: backend 3 turns +100 ms slow; 16 callers, keep-alive ==");
    System.out.printf(
        "%-13s %10s %10s %10s %10s %12s %10s%n",
        "strategy", "req/s ok", "p50 ok", "p99 ok", "p99 slow", "p99 ratio", "slow share");
    String[] names = {"roundRobin", "leastRequest", "peakEwma"};
    SelectionStrategy[] strategies = {
      Strategies.roundRobin(), Strategies.leastRequest(), Strategies.peakEwma()
    };
    for (int s = 0; s < names.length; s++) {
      List<HttpBackend> backends = startBackends();
      try (LoadBalancer lb =
          LoadBalancers.builder("svc")
              .endpoints(endpoints(backends))
              .strategy(strategies[s])
              .build()) {
        OkHttpClient client = client(lb);
        String url = "http://svc.test:" + backends.get(0).port() + "/";
        run(client, url, 2_000); // warm-up: JIT and pooled connections
        Phase healthy = run(client, url, 3_000);
        backends.get(2).delayMillis = 100;
        long before = served(backends);
        long slowBefore = backends.get(2).served.get();
        Phase slow = run(client, url, 6_000);
        double share =
            100.0 * (backends.get(2).served.get() - slowBefore) / (served(backends) - before);
        double ratio = (double) slow.percentile(99) / healthy.percentile(99);
        System.out.printf(
            "%-13s %10.0f %8d µs %7d µs %7d µs %11.2fx %9.2f%%%n",
            names[s],
            healthy.requests / 3.0,
            healthy.percentile(50),
            healthy.percentile(99),
            slow.percentile(99),
            ratio,
            share);
        if (s > 0) {
          check(share <= 10.0, names[s] + ": slow backend share " + fmt(share) + "% <= 10%");
          check(ratio <= 3.0, names[s] + ": p99 " + fmt(ratio) + "x the healthy p99 <= 3x");
        }
        check(slow.failures == 0 && healthy.failures == 0, names[s] + ": 0 failed requests");
        shutdown(client);
      } finally {
        backends.forEach(HttpBackend::close);
      }
    }
  }

  private static long served(List<HttpBackend> backends) {
    long n = 0;
    for (HttpBackend b : backends) {
      n += b.served.get();
    }
    return n;
  }

  private static String fmt(double d) {
    return String.format("%.2f", d);
  }

  static void errorBackend() throws Exception {
    System.out.println("\n== 503: backend 3 starts answering 503; 16 callers, round robin ==");
    List<HttpBackend> backends = startBackends();
    try (LoadBalancer lb =
        LoadBalancers.builder("svc")
            .endpoints(endpoints(backends))
            .outlierDetection(OutlierDetectionConfig.builder().alwaysAllowOne(true).build())
            .build()) {
      OkHttpClient client = client(lb);
      String url = "http://svc.test:" + backends.get(0).port() + "/";
      run(client, url, 2_000);
      backends.get(2).status = 503;
      Phase first = run(client, url, 1_000);
      long before = served(backends);
      long badBefore = backends.get(2).served.get();
      Phase rest = run(client, url, 5_000);
      long attempts = served(backends) - before;
      long bad = backends.get(2).served.get() - badBefore;
      double share = 100.0 * bad / attempts;
      System.out.printf(
          "first second: %d requests, %d failed; next 5 s: %d requests, %d failed, %d attempts,"
              + " %d (%.3f%%) to the 503 backend%n",
          first.requests, first.failures, rest.requests, rest.failures, attempts, bad, share);
      check(first.failures + rest.failures == 0, "0 failed requests");
      check(share <= 2.0, "attempts to the 503 backend after 1 s: " + fmt(share) + "% <= 2%");
      shutdown(client);
    } finally {
      backends.forEach(HttpBackend::close);
    }
  }

  static void blackHoles() throws Exception {
    System.out.println("\n== timeout: black-holed endpoints, connect timeout 400 ms, call 3 s ==");
    List<HttpBackend> live = List.of(new HttpBackend("127.0.0.1", 0));
    int port = live.get(0).port();
    List<java.net.ServerSocket> holes = new ArrayList<>();
    List<java.net.Socket> fillers = new ArrayList<>();
    try {
      for (int i = 1; i <= 3; i++) {
        java.net.ServerSocket s =
            new java.net.ServerSocket(
                port, 1, java.net.InetAddress.getByName("127.0.0." + (i + 1)));
        holes.add(s);
        for (int f = 0; f < 2; f++) {
          java.net.Socket filler = new java.net.Socket();
          filler.connect(s.getLocalSocketAddress(), 1_000);
          fillers.add(filler);
        }
      }
      Endpoint ok = Endpoint.of("127.0.0.1", port);
      Endpoint hole1 = Endpoint.of("127.0.0.2", port);
      Endpoint hole2 = Endpoint.of("127.0.0.3", port);
      Endpoint hole3 = Endpoint.of("127.0.0.4", port);
      OkHttpClient base =
          new OkHttpClient.Builder()
              .connectTimeout(400, TimeUnit.MILLISECONDS)
              .callTimeout(3, TimeUnit.SECONDS)
              .build();
      try (LoadBalancer lb =
          LoadBalancers.builder("svc")
              .endpoints(hole1, hole2, ok)
              .strategy(Strategies.roundRobin())
              .build()) {
        OkHttpClient client =
            LoadBalancingInterceptor.builder().service("svc.test", lb).build().wrap(base);
        // Round robin: find a moment where the next two picks are the holes, then time the call.
        long worst = 0;
        int measured = 0;
        for (int i = 0; i < 30 && measured < 5; i++) {
          long start = System.nanoTime();
          try (Response r =
              client
                  .newCall(new Request.Builder().url("http://svc.test:" + port + "/").build())
                  .execute()) {
            long ms = (System.nanoTime() - start) / 1_000_000;
            var attempts = io.loadstar.okhttp.CallAttempts.of(r).attempts();
            if (attempts.size() == 3) {
              worst = Math.max(worst, ms);
              measured++;
            }
          }
        }
        System.out.printf("two holes first: %d calls, slowest %d ms%n", measured, worst);
        check(measured > 0 && worst <= 1_000, "success through the third endpoint within 1 s");
      }
      try (LoadBalancer lb =
          LoadBalancers.builder("svc")
              .endpoints(hole1, hole2, hole3)
              .retryPolicy(io.loadstar.api.RetryPolicy.builder().maxAttempts(10).build())
              .build()) {
        OkHttpClient client =
            LoadBalancingInterceptor.builder().service("svc.test", lb).build().wrap(base);
        // Three connect timeouts fit in the call timeout; at 1.5 s each, the call timeout ends it.
        for (int connectMillis : new int[] {400, 1_500}) {
          OkHttpClient c =
              client.newBuilder().connectTimeout(connectMillis, TimeUnit.MILLISECONDS).build();
          long worst = 0;
          for (int i = 0; i < 3; i++) {
            long start = System.nanoTime();
            try (Response r =
                c.newCall(new Request.Builder().url("http://svc.test:" + port + "/").build())
                    .execute()) {
              check(false, "all holes: a call succeeded");
            } catch (IOException expected) {
              worst = Math.max(worst, (System.nanoTime() - start) / 1_000_000);
            }
          }
          System.out.printf(
              "all three holes, connect timeout %d ms: slowest failure %d ms%n",
              connectMillis, worst);
          check(worst <= 3_050, "failure within callTimeout + 50 ms");
        }
        shutdown(client);
      }
    } finally {
      for (java.net.Socket f : fillers) {
        f.close();
      }
      for (java.net.ServerSocket s : holes) {
        s.close();
      }
      live.forEach(HttpBackend::close);
    }
  }
}
