package io.loadstar.bench;

import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.bench.FleetTraffic.Behaviour;
import io.loadstar.bench.FleetTraffic.Fleet;
import io.loadstar.bench.FleetTraffic.Traffic;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;

/**
 * A fleet on one machine: thousands of real {@link LoadBalancer}s in one JVM, on fake time and no
 * network. Each client sends a fixed request rate through its own balancer (the defaults: least
 * request, outlier detection, retries within the budget); each call completes after its backend's
 * latency, or fails with a 503 if the backend is failing. It reports per-backend load and clients,
 * the client-backend pairs that move when a backend or a client joins or leaves, the same with
 * subsetting off, memory and time, and exits with 1 if a target of issue 15 is missed.
 *
 * <pre>
 * java -Xmx1g -cp lb-bench/target/benchmarks.jar io.loadstar.bench.FleetSimulation
 *     [--clients 1000] [--backends 500] [--size 20] [--seconds 10] [--rate 100]
 * </pre>
 */
public final class FleetSimulation {

  private FleetSimulation() {}

  static List<Endpoint> backends(int count) {
    List<Endpoint> out = new ArrayList<>(count);
    for (int i = 0; i < count; i++) {
      out.add(Endpoint.of("10." + (i >> 16 & 255) + "." + (i >> 8 & 255) + "." + (i & 255), 8080));
    }
    return out;
  }

  private static double[] spread(Map<String, Long> load, List<Endpoint> backends) {
    double sum = 0;
    double max = 0;
    double min = Double.MAX_VALUE;
    for (Endpoint e : backends) {
      long l = load.getOrDefault(e.key(), 0L);
      sum += l;
      max = Math.max(max, l);
      min = Math.min(min, l);
    }
    double mean = sum / backends.size();
    return new double[] {min / mean, max / mean, mean};
  }

  private static int[] minMax(Map<String, Integer> counts, List<Endpoint> backends) {
    int min = Integer.MAX_VALUE;
    int max = 0;
    for (Endpoint e : backends) {
      int c = counts.getOrDefault(e.key(), 0);
      min = Math.min(min, c);
      max = Math.max(max, c);
    }
    return new int[] {min, max};
  }

  static long heapUsed() {
    Runtime r = Runtime.getRuntime();
    for (int i = 0; i < 3; i++) {
      System.gc();
    }
    return r.totalMemory() - r.freeMemory();
  }

  static int moved(Set<String> before, Set<String> after) {
    int n = 0;
    for (String p : after) {
      n += before.contains(p) ? 0 : 1;
    }
    for (String p : before) {
      n += after.contains(p) ? 0 : 1;
    }
    return n;
  }

  /** Runs the simulation; see the class comment. */
  public static void main(String[] args) throws Exception {
    Map<String, Integer> o =
        new HashMap<>(
            Map.of(
                "--clients",
                1000,
                "--backends",
                500,
                "--size",
                20,
                "--seconds",
                10,
                "--rate",
                100));
    for (int i = 0; i + 1 < args.length; i += 2) {
      if (!o.containsKey(args[i])) {
        System.err.println("unknown option " + args[i] + " (expected: one of " + o.keySet() + ")");
        System.exit(2);
      }
      o.put(args[i], Integer.parseInt(args[i + 1]));
    }
    System.setProperty(
        "org.slf4j.simpleLogger.defaultLogLevel", "error"); // 1,000 ejection WARNs otherwise
    int n = o.get("--clients");
    int b = o.get("--backends");
    int d = o.get("--size");
    int seconds = o.get("--seconds");
    int rate = o.get("--rate");
    List<String> missed = new ArrayList<>();
    long began = System.nanoTime();
    long heapBefore = heapUsed();
    List<Endpoint> all = backends(b + 1);
    List<Endpoint> backends = all.subList(0, b);
    double ideal = (double) n * d / b;
    System.out.printf(
        Locale.ROOT,
        "%d clients x %d backends, subset %d (ideal %.1f clients per backend), %d req/s per"
            + " client for %d s of fake time, 5 ms per call%n",
        n,
        b,
        d,
        ideal,
        rate,
        seconds);

    try (Fleet fleet = new Fleet(n, backends, d)) {
      long heap = heapUsed() - heapBefore;
      System.out.printf(
          Locale.ROOT,
          "built in %.1f s, %d MiB of heap for %d balancers%n",
          (System.nanoTime() - began) / 1e9,
          heap >> 20,
          n);
      int[] clients = minMax(fleet.clientsPerBackend(), backends);
      System.out.printf(
          Locale.ROOT,
          "clients per backend: min %d, max %d (ideal %.0f +-10%%)%n",
          clients[0],
          clients[1],
          ideal);
      if (clients[0] < ideal * 0.9 || clients[1] > ideal * 1.1) {
        missed.add("clients per backend within 10% of " + ideal);
      }
      Traffic t = FleetTraffic.run(fleet, seconds, rate, k -> Behaviour.NORMAL, 1);
      double[] s = spread(t.attempts(), backends);
      System.out.printf(
          Locale.ROOT,
          "healthy: %d calls, %d failed; requests per backend min/mean %.3f, max/mean %.3f%n",
          t.calls(),
          t.failed(),
          s[0],
          s[1]);
      if (s[0] < 0.9 || s[1] > 1.1) {
        missed.add("request load within 10% of the mean");
      }

      Set<String> before = fleet.pairs();
      fleet.setBackends(all);
      Set<String> joined = fleet.pairs();
      String newcomer = " " + all.get(b).key();
      long own = joined.stream().filter(p -> p.endsWith(newcomer)).count();
      int movedJoin = moved(before, joined);
      System.out.printf(
          Locale.ROOT,
          "a backend joins: %d pairs moved (its own clients %d, of %.1f per backend; as many"
              + " backends hand back the extra client the fleet's fixed pair count no longer"
              + " gives them)%n",
          movedJoin,
          own,
          (double) n * d / (b + 1));
      if (movedJoin > 2 * own) {
        missed.add("a backend joining moves at most 2x its own pairs");
      }
      fleet.setBackends(backends);
      Set<String> left = fleet.pairs();
      System.out.printf(Locale.ROOT, "it leaves again: %d pairs moved%n", moved(joined, left));
      List<Endpoint> minusOne = new ArrayList<>(backends);
      minusOne.remove(b / 2);
      fleet.setBackends(minusOne);
      System.out.printf(
          Locale.ROOT,
          "a backend from the middle leaves: %d pairs moved (ideal %.0f)%n",
          moved(left, fleet.pairs()),
          ideal);
      fleet.setBackends(backends);

      Set<String> base = fleet.pairs();
      fleet.add(backends, n);
      fleet.renumber();
      System.out.printf(
          Locale.ROOT,
          "a client joins at the end of the peer list: %d pairs moved (ideal %d: its own)%n",
          moved(base, fleet.pairs()),
          d);
      fleet.remove(n);
      fleet.renumber();
      fleet.remove(n / 2);
      fleet.renumber();
      System.out.printf(
          Locale.ROOT,
          "a client leaves from the middle of the peer list: %d pairs moved (ideal %d: its own;"
              + " the clients after it are renumbered, as ranks in a sorted list would be;"
              + " EtcdPeers' slots do not: ChurnSimulation)%n",
          moved(base, fleet.pairs()),
          d);
      fleet.add(backends, n / 2); // back, at the end of the list this time
      fleet.renumber();

      String slow = backends.get(b / 3).key();
      Traffic st =
          FleetTraffic.run(
              fleet, seconds, rate, k -> k.equals(slow) ? Behaviour.SLOW : Behaviour.NORMAL, 2);
      double[] ss = spread(st.attempts(), backends);
      System.out.printf(
          Locale.ROOT,
          "one backend 100 ms slow: %d calls, %d failed; it got %.2fx the mean, the busiest"
              + " backend %.3fx%n",
          st.calls(),
          st.failed(),
          st.attempts().getOrDefault(slow, 0L) / ss[2],
          ss[1]);
      if (ss[1] > 1.2) {
        missed.add("slow backend: no backend above 1.2x the mean");
      }

      String failing = backends.get(2 * b / 3).key();
      Traffic ft =
          FleetTraffic.run(
              fleet,
              seconds,
              rate,
              k -> k.equals(failing) ? Behaviour.FAILING : Behaviour.NORMAL,
              3);
      double[] fs = spread(ft.attempts(), backends);
      System.out.printf(
          Locale.ROOT,
          "one backend answering 503: %d calls, %d failed, %d retries; it got %.2fx the mean"
              + " (attempts), the busiest backend %.3fx%n",
          ft.calls(),
          ft.failed(),
          ft.retries(),
          ft.attempts().getOrDefault(failing, 0L) / fs[2],
          fs[1]);
      if (fs[1] > 1.2) {
        missed.add("failing backend: no backend above 1.2x the mean");
      }
      if (ft.failed() > 0) {
        missed.add("failing backend: no failed call");
      }
    }

    long offStart = System.nanoTime();
    long offHeapBefore = heapUsed();
    try (Fleet off = new Fleet(n, backends, 0)) {
      long heap = heapUsed() - offHeapBefore;
      int[] clients = minMax(off.clientsPerBackend(), backends);
      Traffic t = FleetTraffic.run(off, 2, rate, k -> Behaviour.NORMAL, 4);
      double[] s = spread(t.attempts(), backends);
      System.out.printf(
          Locale.ROOT,
          "subsetting off: %d MiB of heap, clients per backend min %d max %d; requests per backend"
              + " min/mean %.3f, max/mean %.3f (2 s, built and run in %.1f s)%n",
          heap >> 20,
          clients[0],
          clients[1],
          s[0],
          s[1],
          (System.nanoTime() - offStart) / 1e9);
      if (clients[0] != n || clients[1] != n) {
        missed.add("subsetting off: every backend has every client");
      }
    }
    System.out.printf(Locale.ROOT, "total %.1f s%n", (System.nanoTime() - began) / 1e9);
    exitWith(missed);
  }

  /** Prints the missed targets and exits with 1, or says all were met and exits with 0. */
  static void exitWith(List<String> missed) {
    if (!missed.isEmpty()) {
      System.out.println("MISSED: " + missed);
      System.exit(1);
    }
    System.out.println("all targets met");
    System.exit(0);
  }
}
