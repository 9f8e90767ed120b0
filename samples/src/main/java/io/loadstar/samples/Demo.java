package io.loadstar.samples;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.SelectionStrategy;
import io.loadstar.core.Affinity;
import io.loadstar.core.LoadBalancers;
import io.loadstar.core.OutlierDetectionConfig;
import io.loadstar.core.Strategies;
import io.loadstar.core.TrafficSplit;
import io.loadstar.etcd.EtcdRegistrar;
import io.loadstar.okhttp.LoadBalancingInterceptor;
import io.loadstar.testing.EtcdServer;
import java.io.IOException;
import java.io.PrintStream;
import java.net.InetAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import okhttp3.Response;

/**
 * Loadstar's demo: starts three HTTP backends on loopback, sends requests to {@code
 * http://demo.svc/} through OkHttp with Loadstar's {@link LoadBalancingInterceptor} and the
 * strategy named on the command line, and prints each backend's share of the requests as the
 * backends counted them. With {@code --down}, a fourth endpoint refuses connections: requests sent
 * there are retried on another endpoint, and outlier detection ejects it. With {@code --etcd}, the
 * balancer discovers the endpoints from a real etcd (Debian package {@code etcd-server}) the demo
 * starts on loopback, where each backend registers itself with an {@link EtcdRegistrar}.
 *
 * <pre>
 * usage: Demo [strategy] [--requests N] [--threads N] [--weights A,B,C] [--slow MS] [--down]
 *   strategy   roundRobin (default), random, leastRequest, peakEwma, ringHash, maglev
 *   --requests how many requests to send (default 3000)
 *   --threads  how many callers send them concurrently (default 8)
 *   --weights  the three backends' weights (default 1,1,1)
 *   --slow     extra milliseconds backend 3 takes per request (default 0)
 *   --down     add a fourth endpoint that refuses connections
 *   --etcd     discover the endpoints from etcd, where the backends register themselves
 *   --zones    backends 1 and 2 in zone a, backend 3 in zone b; the client in zone a
 *   --canary P backend 3 is version v2 and gets P percent of the requests
 *   --sticky   each of the 500 users keeps one backend (sticky affinity)
 * </pre>
 */
public final class Demo {

  static final String USAGE =
      "usage: Demo [roundRobin|random|leastRequest|peakEwma|ringHash|maglev]"
          + " [--requests N] [--threads N] [--weights A,B,C] [--slow MS] [--down] [--etcd]"
          + " [--zones] [--canary PERCENT] [--sticky]";

  private Demo() {}

  /** Runs the demo; exits with status 2 on bad arguments. */
  public static void main(String[] args) throws Exception {
    Options options;
    try {
      options = Options.parse(args);
    } catch (IllegalArgumentException e) {
      System.err.println("error: " + e.getMessage());
      System.err.println(USAGE);
      System.exit(2);
      return;
    }
    run(options, System.out);
  }

  /** The demo's settings, parsed from the command line. */
  static final class Options {
    String strategy = "roundRobin";
    int requests = 3000;
    int threads = 8;
    int[] weights = {1, 1, 1};
    int slowMillis;
    boolean down;
    boolean etcd;
    boolean zones;
    int canaryPercent = -1;
    boolean sticky;

    static Options parse(String[] args) {
      Options o = new Options();
      for (int i = 0; i < args.length; i++) {
        String arg = args[i];
        switch (arg) {
          case "--requests":
            o.requests = intArg(arg, value(args, ++i, arg), 1, 1_000_000);
            break;
          case "--threads":
            o.threads = intArg(arg, value(args, ++i, arg), 1, 256);
            break;
          case "--zones":
            o.zones = true;
            break;
          case "--canary":
            o.canaryPercent = intArg(arg, value(args, ++i, arg), 0, 100);
            break;
          case "--sticky":
            o.sticky = true;
            break;
          case "--etcd":
            if (EtcdServer.binary() == null) {
              throw new IllegalArgumentException("--etcd: " + EtcdServer.INSTALL_HINT);
            }
            o.etcd = true;
            break;
          case "--down":
            o.down = true;
            break;
          case "--slow":
            o.slowMillis = intArg(arg, value(args, ++i, arg), 0, 10_000);
            break;
          case "--weights":
            String[] parts = value(args, ++i, arg).split(",", -1);
            if (parts.length != 3) {
              throw new IllegalArgumentException(
                  "--weights: "
                      + String.join(",", parts)
                      + " (expected: three weights, e.g. 5,3,2)");
            }
            for (int w = 0; w < 3; w++) {
              o.weights[w] = intArg("--weights", parts[w], 1, 1000);
            }
            break;
          default:
            if (arg.startsWith("-")) {
              throw new IllegalArgumentException("unknown option: " + arg);
            }
            strategy(arg); // validates
            o.strategy = arg;
        }
      }
      return o;
    }

    private static String value(String[] args, int i, String option) {
      if (i >= args.length) {
        throw new IllegalArgumentException(option + " needs a value");
      }
      return args[i];
    }

    private static int intArg(String option, String text, int min, int max) {
      int v;
      try {
        v = Integer.parseInt(text.trim());
      } catch (NumberFormatException e) {
        throw new IllegalArgumentException(
            option + ": " + text + " (expected: a number in " + min + ".." + max + ")");
      }
      if (v < min || v > max) {
        throw new IllegalArgumentException(
            option + ": " + v + " (expected: " + min + ".." + max + ")");
      }
      return v;
    }
  }

  static SelectionStrategy strategy(String name) {
    return Strategies.named(name);
  }

  /** Runs the demo and prints the table to {@code out}; returns each backend's request count. */
  static int[] run(Options options, PrintStream out) throws Exception {
    List<DemoBackend> backends = DemoBackend.startThree(options.slowMillis);
    OkHttpClient base =
        new OkHttpClient.Builder()
            .connectTimeout(Duration.ofSeconds(2))
            .readTimeout(Duration.ofSeconds(10))
            .build();
    try {
      List<Endpoint> endpoints = new ArrayList<>();
      for (int i = 0; i < backends.size(); i++) {
        Endpoint e = Endpoint.of(backends.get(i).address).withWeight(options.weights[i]);
        if (options.zones) {
          e = e.withZone(i < 2 ? "a" : "b");
        }
        if (options.canaryPercent >= 0) {
          e = e.withTag("version", i == 2 ? "v2" : "v1");
        }
        endpoints.add(e);
      }
      Endpoint down = options.down ? Endpoint.of("127.0.0.1", unusedPort()) : null;
      if (down != null) {
        endpoints.add(down);
      }
      AtomicInteger failures = new AtomicInteger();
      AtomicLong latencyNanos = new AtomicLong();
      LoadBalancers.Builder builder =
          LoadBalancers.builder("demo")
              .strategy(strategy(options.strategy))
              .outlierDetection(OutlierDetectionConfig.builder().maxEjectionPercent(50).build());
      if (options.zones) {
        builder.zone("a");
      }
      if (options.canaryPercent >= 0) {
        builder.trafficSplit(TrafficSplit.toTag("version", "v2").percent(options.canaryPercent));
      }
      if (options.sticky) {
        builder.affinity(Affinity.returnImmediately());
      }
      Map<String, Set<String>> backendsOfUser = new ConcurrentHashMap<>();
      DemoRegistry registry = options.etcd ? DemoRegistry.start(endpoints, out) : null;
      if (registry != null) {
        builder.source(registry.source());
      } else {
        builder.endpoints(endpoints);
      }
      try (registry;
          LoadBalancer lb = builder.build()) {
        if (registry != null) {
          registry.awaitDiscovered(lb, endpoints.size());
        }
        LoadBalancingInterceptor interceptor =
            LoadBalancingInterceptor.builder().service("demo.svc", lb).build();
        OkHttpClient client = interceptor.wrap(base);
        // The URL names the service; the interceptor picks the address (and port) per request.
        String url = "http://demo.svc:" + backends.get(0).address.getPort() + "/";
        ExecutorService callers = Executors.newFixedThreadPool(options.threads);
        try {
          AtomicInteger next = new AtomicInteger();
          List<Future<?>> done = new ArrayList<>();
          for (int t = 0; t < options.threads; t++) {
            done.add(
                callers.submit(
                    () -> {
                      int i;
                      while ((i = next.getAndIncrement()) < options.requests) {
                        // Consistent-hash strategies route by key: 500 "users".
                        Request request =
                            new Request.Builder()
                                .url(url)
                                .tag(PickContext.class, PickContext.ofHashKey("user-" + (i % 500)))
                                .build();
                        long start = System.nanoTime();
                        try (Response response = client.newCall(request).execute()) {
                          String servedBy = response.body().string();
                          backendsOfUser
                              .computeIfAbsent(
                                  "user-" + (i % 500), u -> ConcurrentHashMap.newKeySet())
                              .add(servedBy);
                          if (response.code() != 200) {
                            failures.incrementAndGet();
                          }
                        } catch (IOException e) {
                          failures.incrementAndGet();
                        }
                        latencyNanos.addAndGet(System.nanoTime() - start);
                      }
                      return null;
                    }));
          }
          for (Future<?> f : done) {
            f.get(10, TimeUnit.MINUTES);
          }
        } finally {
          callers.shutdownNow();
        }
        int[] counts = new int[backends.size()];
        for (int i = 0; i < counts.length; i++) {
          counts[i] = backends.get(i).served.get();
        }
        print(options, backends, counts, failures.get(), latencyNanos.get(), out);
        if (options.sticky) {
          long one = backendsOfUser.values().stream().filter(b -> b.size() == 1).count();
          out.printf(
              Locale.ROOT,
              "sticky: %d of %d users were served by one backend only%n",
              one,
              backendsOfUser.size());
        }
        if (down != null) {
          for (EndpointSnapshot s : lb.inspect().snapshot()) {
            if (s.endpoint().equals(down)) {
              out.printf(
                  Locale.ROOT,
                  "refusing endpoint %s: %d attempts, %s%s; %d requests retried on another"
                      + " endpoint%n",
                  down.key(),
                  s.failures(),
                  s.state(),
                  s.reason().isEmpty() ? "" : " (" + s.reason() + ")",
                  lb.inspect().retryStats().retries());
            }
          }
        }
        return counts;
      }
    } finally {
      base.dispatcher().executorService().shutdown();
      base.connectionPool().evictAll();
      for (DemoBackend b : backends) {
        b.stop();
      }
    }
  }

  /** A loopback port nothing listens on: connections to it are refused. */
  private static int unusedPort() throws IOException {
    try (java.net.ServerSocket s =
        new java.net.ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
      return s.getLocalPort();
    }
  }

  private static void print(
      Options options,
      List<DemoBackend> backends,
      int[] counts,
      int failures,
      long latencyNanos,
      PrintStream out) {
    int total = 0;
    for (int c : counts) {
      total += c;
    }
    out.printf(
        Locale.ROOT,
        "Loadstar demo: %d requests, %d threads, strategy %s%n%n",
        options.requests,
        options.threads,
        options.strategy);
    if (options.zones) {
      out.printf(Locale.ROOT, "client in zone a: zone a keeps the traffic while it can serve%n");
    }
    if (options.canaryPercent >= 0) {
      out.printf(Locale.ROOT, "canary: %d%% of requests to version v2%n", options.canaryPercent);
    }
    out.printf(Locale.ROOT, "%-32s %7s %9s %8s%n", "backend", "weight", "requests", "share");
    for (int i = 0; i < backends.size(); i++) {
      String name =
          backends.get(i).address.getAddress().getHostAddress()
              + ":"
              + backends.get(i).address.getPort()
              + (i == 2 && options.slowMillis > 0 ? " (slow)" : "")
              + (options.zones ? (i < 2 ? " zone a" : " zone b") : "")
              + (options.canaryPercent >= 0 ? (i == 2 ? " v2" : " v1") : "");
      out.printf(
          Locale.ROOT,
          "%-32s %7d %9d %7.1f%%%n",
          name,
          options.weights[i],
          counts[i],
          total == 0 ? 0.0 : 100.0 * counts[i] / total);
    }
    out.printf(
        Locale.ROOT,
        "%nfailed requests: %d; mean latency: %.2f ms%n",
        failures,
        options.requests == 0 ? 0.0 : latencyNanos / 1e6 / options.requests);
  }
}
