package io.loadstar.bench;

import io.loadstar.api.Hedging;
import java.io.IOException;
import java.io.PrintStream;
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
import java.util.function.DoubleUnaryOperator;
import org.jspecify.annotations.Nullable;

/**
 * The tail-latency lab, on simulated time ({@link TailSim}): prints its tables and exits with 1 if
 * a target is missed.
 *
 * <ul>
 *   <li>{@code ramp}: Prequal's ramp (NSDI 2024, section 5). Ten machines of 6 to 12 cores; the
 *       service is allotted half of each (its nominal capacity, 4,200 requests/s for 10 ms of work
 *       on average, exponential: deviation = mean) and may use the rest when it is idle, but on
 *       four machines an antagonist takes 70% of the machine for 2 s of every 4 (so the true
 *       capacity averages 1.72x nominal and swings per machine). Twenty clients, each its own
 *       balancer, send an open-loop Poisson load ramped from 0.8x to 1.74x nominal, 15 s a step; a
 *       client gives up on a request at 5 s. Per step: p99 and p99.9 latency (a timeout counts as 5
 *       s), timeouts, and the most requests any backend held at once, for each strategy alone and
 *       with hedging at its recent p95 (the hedges sent per request printed below). Targets: at
 *       1.2x, probing's p99.9 at most half of least request's; no timeout with probing below 1.5x.
 *   <li>{@code tower}: tower's latency benchmark. Ten endpoints answering in 1, 10 (4 of them), 100
 *       (4) and 1,000 ms whatever their load; 50 callers in a closed loop, 50,000 requests; p50,
 *       p99, p99.9 beside the figures tower published (peak EWMA 96/105 ms, least loaded 98/857,
 *       round robin 906/988). Target: p99.9 at most 105 ms with probing or peak EWMA plus hedging.
 * </ul>
 *
 * <pre>
 * java -cp lb-bench/target/benchmarks.jar io.loadstar.bench.TailLab [ramp] [tower] [--seed N]
 *     [--hedge-quantile Q] [--servers-keep-cancelled] [--report FILE]
 * </pre>
 *
 * <p>{@code --report} also writes the figures as a self-contained HTML page with the charts ({@link
 * TailReport}); the demo's {@code --scenario ramp|tower} runs the same experiments with it.
 */
public final class TailLab {

  static final List<String> STRATEGIES =
      List.of("roundRobin", "leastRequest", "peakEwma", "probing");

  /** Each strategy alone, then each with hedging at the recent p95. */
  static final List<String> CLIENTS = clients();

  private static List<String> clients() {
    List<String> all = new ArrayList<>(STRATEGIES);
    STRATEGIES.forEach(s -> all.add(s + TailSim.HEDGED));
    return List.copyOf(all);
  }

  static final double[] RAMP = {0.8, 1.0, 1.2, 1.4, 1.5, 1.6, 1.74};
  private static final int[] CORES = {8, 8, 8, 8, 8, 8, 12, 12, 6, 6};
  private static final boolean[] ANTAGONIST = {
    false, true, false, true, false, false, true, false, true, false
  };
  private static final long MEAN_WORK = 10 * TailSim.MS;
  private static final long STEP = 15 * TailSim.SECOND;

  /** How the hedged clients hedge: at the recent p95 unless {@code --hedge-quantile} says. */
  private static Hedging hedging = Hedging.adaptive();

  /** Whether servers drop a queued request its client cancelled (unless told they keep it). */
  private static boolean serversDropCancelled = true;

  private TailLab() {}

  /** Runs the experiments named, or all; exits with 1 if a target is missed, 2 on bad arguments. */
  public static void main(String[] args) throws IOException {
    List<String> which = new ArrayList<>();
    long seed = 42;
    Path report = null;
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--seed") && i + 1 < args.length) {
        seed = Long.parseLong(args[++i]);
      } else if (args[i].equals("--servers-keep-cancelled")) {
        serversDropCancelled = false;
      } else if (args[i].equals("--hedge-quantile") && i + 1 < args.length) {
        hedging = Hedging.adaptive(Double.parseDouble(args[++i]), Duration.ofMillis(1));
      } else if (args[i].equals("--report") && i + 1 < args.length) {
        report = Path.of(args[++i]);
      } else if (args[i].equals("ramp") || args[i].equals("tower")) {
        which.add(args[i]);
      } else {
        System.err.println(
            "unknown argument: "
                + args[i]
                + " (expected: ramp, tower, --seed N, --hedge-quantile Q,"
                + " --servers-keep-cancelled, --report FILE)");
        System.exit(2);
      }
    }
    List<String> missed =
        run(which.isEmpty() ? List.of("ramp", "tower") : which, seed, report, System.out);
    System.exit(missed.isEmpty() ? 0 : 1);
  }

  /**
   * Runs {@code experiments} ({@code ramp}, {@code tower}) with the ramp's random {@code seed},
   * prints their tables and targets to {@code out} and, if {@code report} is not null, writes the
   * HTML report there; returns the targets missed.
   *
   * @throws IllegalArgumentException if an experiment is neither {@code ramp} nor {@code tower}
   */
  public static List<String> run(
      List<String> experiments, long seed, @Nullable Path report, PrintStream out)
      throws IOException {
    RampResult ramp = null;
    TowerResult tower = null;
    List<String> missed = new ArrayList<>();
    for (String experiment : experiments) {
      switch (experiment) {
        case "ramp" -> {
          ramp = ramp(seed, out);
          missed.addAll(ramp.missed());
        }
        case "tower" -> {
          tower = tower(out);
          missed.addAll(tower.missed());
        }
        default ->
            throw new IllegalArgumentException(
                "experiment: " + experiment + " (expected: ramp or tower)");
      }
    }
    out.println(missed.isEmpty() ? "\nall targets met" : "\nmissed: " + missed);
    if (report != null) {
      Path dir = report.toAbsolutePath().getParent();
      if (dir != null) {
        Files.createDirectories(dir);
      }
      Files.writeString(report, TailReport.html(ramp, tower), StandardCharsets.UTF_8);
      out.println("report: " + report.toAbsolutePath());
    }
    return missed;
  }

  /** The ramp's figures: per client, a step per load multiple; and the targets it missed. */
  record RampResult(long seed, Map<String, Run> runs, List<String> targets, List<String> missed) {}

  /** Tower's figures: per client, its one step; and the targets it missed. */
  record TowerResult(Map<String, Step> steps, List<String> targets, List<String> missed) {}

  /** Latencies and timeouts of one step. */
  static final class Step implements TailSim.Recorder {
    long[] latencies = new long[1 << 16];
    int n;
    int timeouts;
    int maxInSystem;
    int[] served = new int[0];
    long hedges;

    @Override
    public void latency(long nanos) {
      if (n == latencies.length) {
        latencies = Arrays.copyOf(latencies, 2 * n);
      }
      latencies[n++] = nanos;
    }

    @Override
    public void timeout() {
      timeouts++;
      latency(TailSim.TIMEOUT);
    }

    double percentileMillis(double q) {
      if (n == 0) {
        return 0;
      }
      long[] sorted = Arrays.copyOf(latencies, n);
      Arrays.sort(sorted);
      return sorted[Math.min(n - 1, (int) Math.ceil(q * n) - 1)] / 1e6;
    }
  }

  /** The share of machine {@code i} the service gets at second {@code t}. */
  private static DoubleUnaryOperator share(int i) {
    if (!ANTAGONIST[i]) {
      return t -> 1.0;
    }
    double phase = i * 0.7;
    return t -> ((t + phase) % 4.0) < 2.0 ? 0.3 : 1.0;
  }

  static double nominalCapacity() {
    double cores = 0;
    for (int c : CORES) {
      cores += 0.5 * c;
    }
    return cores * 1e9 / MEAN_WORK;
  }

  /** One strategy's ramp: a step per load multiple, and the probes and hedges per request. */
  record Run(List<Step> steps, double probesPerRequest, double hedgesPerRequest) {}

  /** Runs the ramp for one strategy. */
  static Run ramp(String strategy, long seed) {
    List<Step> steps = new ArrayList<>();
    double probesPerRequest;
    double hedgesPerRequest;
    try (TailSim sim = new TailSim(seed, hedging, serversDropCancelled)) {
      for (int i = 0; i < CORES.length; i++) {
        sim.backend(CORES[i], share(i));
      }
      sim.clients(20, strategy);
      double capacity = nominalCapacity();
      long next = 0;
      for (double multiple : RAMP) {
        Step step = new Step();
        steps.add(step);
        sim.backends.forEach(b -> b.maxInSystem = b.inSystem);
        long end = sim.elapsed() + STEP;
        double rate = multiple * capacity;
        while (next < end) {
          sim.runUntil(next);
          sim.send(sim.work(MEAN_WORK), step);
          next += (long) (-Math.log(1 - sim.random.nextDouble()) / rate * 1e9);
        }
        sim.runUntil(end);
        step.maxInSystem = sim.backends.stream().mapToInt(b -> b.maxInSystem).max().orElse(0);
      }
      sim.runUntil(sim.elapsed() + TailSim.TIMEOUT + TailSim.SECOND); // the last answers
      probesPerRequest = sim.probes / (double) sim.requests;
      hedgesPerRequest = sim.hedges() / (double) sim.requests;
    }
    return new Run(steps, probesPerRequest, hedgesPerRequest);
  }

  private static RampResult ramp(long seed, PrintStream out) {
    out.printf(
        Locale.ROOT,
        "%n== ramp: 10 machines, nominal capacity %,.0f requests/s, antagonists on 4, 20 clients,"
            + " %d s a step, seed %d ==%n",
        nominalCapacity(),
        STEP / TailSim.SECOND,
        seed);
    Map<String, List<Step>> results = new LinkedHashMap<>();
    Map<String, Run> runs = new LinkedHashMap<>();
    for (String s : CLIENTS) {
      Run run = ramp(s, seed);
      results.put(s, run.steps());
      runs.put(s, run);
    }
    for (String metric : List.of("p99 ms", "p99.9 ms", "timeouts", "max in flight")) {
      StringBuilder header = new StringBuilder(String.format(Locale.ROOT, "%-22s", metric));
      for (double m : RAMP) {
        header.append(String.format(Locale.ROOT, "%9.2fx", m));
      }
      out.println("\n" + header);
      for (Map.Entry<String, List<Step>> e : results.entrySet()) {
        StringBuilder row = new StringBuilder(String.format(Locale.ROOT, "%-22s", e.getKey()));
        for (Step st : e.getValue()) {
          double v =
              switch (metric) {
                case "p99 ms" -> st.percentileMillis(0.99);
                case "p99.9 ms" -> st.percentileMillis(0.999);
                case "timeouts" -> st.timeouts;
                default -> st.maxInSystem;
              };
          row.append(String.format(Locale.ROOT, metric.endsWith("ms") ? "%10.1f" : "%10.0f", v));
        }
        out.println(row);
      }
    }
    out.printf(
        Locale.ROOT,
        "%nprobing sent %.2f probes per request%n",
        runs.get("probing").probesPerRequest());
    for (String s : CLIENTS) {
      if (s.endsWith(TailSim.HEDGED)) {
        out.printf(
            Locale.ROOT, "%s sent %.3f hedges per request%n", s, runs.get(s).hedgesPerRequest());
      }
    }
    List<String> targets = new ArrayList<>();
    List<String> missed = new ArrayList<>();
    int at12 = index(1.2);
    double probing = results.get("probing").get(at12).percentileMillis(0.999);
    double least = results.get("leastRequest").get(at12).percentileMillis(0.999);
    check(
        out,
        targets,
        missed,
        probing <= least / 2,
        String.format(
            Locale.ROOT,
            "ramp: at 1.2x probing's p99.9 %.1f ms <= half of least request's %.1f ms",
            probing,
            least));
    int below = 0;
    for (int i = 0; i < RAMP.length && RAMP[i] < 1.5; i++) {
      below += results.get("probing").get(i).timeouts;
    }
    check(
        out,
        targets,
        missed,
        below == 0,
        "ramp: probing has no timeout below 1.5x (" + below + ")");
    return new RampResult(seed, runs, targets, missed);
  }

  private static int index(double multiple) {
    for (int i = 0; i < RAMP.length; i++) {
      if (RAMP[i] == multiple) {
        return i;
      }
    }
    throw new IllegalArgumentException("not a ramp step: " + multiple);
  }

  static final long[] TOWER_LATENCIES = {1, 10, 10, 10, 10, 100, 100, 100, 100, 1000};

  /** The p99 / p99.9 tower published for its balancers, beside ours of the same kind. */
  static final Map<String, String> PUBLISHED =
      Map.of(
          "peakEwma",
          "96 / 105",
          "leastRequest",
          "98 / 857 (least loaded)",
          "roundRobin",
          "906 / 988");

  /** Tower's mix for one strategy: 50 callers in a closed loop, 50,000 requests. */
  static Step tower(String strategy, long seed) {
    Step step = new Step();
    step.served = new int[TOWER_LATENCIES.length];
    try (TailSim sim = new TailSim(seed, hedging, serversDropCancelled)) {
      for (long ms : TOWER_LATENCIES) {
        sim.backend(1_000_000, t -> 1.0).fixedMillis = ms;
      }
      sim.clients(1, strategy);
      int[] sent = {0};
      TailSim.Recorder[] loop = new TailSim.Recorder[1];
      loop[0] =
          new TailSim.Recorder() {
            @Override
            public void latency(long nanos) {
              step.latency(nanos);
              next();
            }

            @Override
            public void timeout() {
              step.timeout();
              next();
            }

            void next() {
              if (sent[0] < 50_000) {
                sent[0]++;
                sim.send(0, loop[0]);
              }
            }
          };
      for (int i = 0; i < 50; i++) {
        sent[0]++;
        sim.send(0, loop[0]);
      }
      while (step.n < 50_000) {
        sim.runUntil(sim.elapsed() + TailSim.SECOND);
      }
      for (int i = 0; i < TOWER_LATENCIES.length; i++) {
        step.served[i] = sim.backends.get(i).served;
      }
      step.hedges = sim.hedges();
    }
    return step;
  }

  private static TowerResult tower(PrintStream out) {
    out.println(
        "\n== tower: endpoints at 1, 10 x4, 100 x4, 1,000 ms; 50 callers; 50,000 requests ==");
    out.printf(
        Locale.ROOT,
        "%-22s%10s%10s%10s%12s%10s   %s%n",
        "",
        "p50 ms",
        "p99 ms",
        "p99.9 ms",
        "to the 1 s",
        "hedges",
        "tower's published p99 / p99.9");
    Map<String, Step> results = new LinkedHashMap<>();
    for (String s : CLIENTS) {
      Step st = tower(s, 7);
      results.put(s, st);
      out.printf(
          Locale.ROOT,
          "%-22s%10.1f%10.1f%10.1f%12d%10d   %s%n",
          s,
          st.percentileMillis(0.5),
          st.percentileMillis(0.99),
          st.percentileMillis(0.999),
          st.served[TOWER_LATENCIES.length - 1],
          st.hedges,
          PUBLISHED.getOrDefault(s, ""));
    }
    List<String> targets = new ArrayList<>();
    List<String> missed = new ArrayList<>();
    double best =
        Math.min(
            results.get("probing" + TailSim.HEDGED).percentileMillis(0.999),
            results.get("peakEwma" + TailSim.HEDGED).percentileMillis(0.999));
    check(
        out,
        targets,
        missed,
        best <= 105,
        String.format(
            Locale.ROOT,
            "tower: p99.9 %.1f ms <= 105 ms with probing or peak EWMA plus hedging",
            best));
    return new TowerResult(results, targets, missed);
  }

  private static void check(
      PrintStream out, List<String> targets, List<String> missed, boolean met, String target) {
    String line = (met ? "met: " : "MISSED: ") + target;
    out.println("  " + line);
    targets.add(line);
    if (!met) {
      missed.add(target);
    }
  }
}
