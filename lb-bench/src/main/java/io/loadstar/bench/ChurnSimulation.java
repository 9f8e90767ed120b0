package io.loadstar.bench;

import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.function.Consumer;

/**
 * Deterministic subsetting while the clients churn (issue 25): thousands of real balancers in one
 * JVM, positions from slots as {@code EtcdPeers} hands them out ({@link SlotFleet}), no network and
 * no clock. For single clients leaving and joining, a rolling restart of every client, random
 * crashes and a scale-down, it prints the client-endpoint pairs that moved against each event's own
 * pairs, clients per endpoint as % of the ideal (live clients x d / B) and requests per endpoint as
 * % of the mean (each client's requests split by its subset's weights, as the plan intends them),
 * at every step. Then the SRE book's experiment (300 x 300, subsets of 10 and 90) beside random
 * subsetting and Google's shuffled rounds, fixed and churning. Exits with 1 if a target is missed.
 *
 * <pre>
 * java -Xmx2g -cp lb-bench/target/benchmarks.jar io.loadstar.bench.ChurnSimulation
 *     [--clients 1000] [--backends 500] [--size 20] [--seed 1] [--vacant 1]
 * </pre>
 */
public final class ChurnSimulation {

  private ChurnSimulation() {}

  /**
   * Extremes over a run: clients per endpoint and requests per endpoint as fractions of their
   * means, the pairs held as a fraction of live clients x d (what covering vacant slots adds), and
   * subset sizes.
   */
  static final class Spread {
    double clientsMin = Double.MAX_VALUE;
    double clientsMax;
    double pairsMax;
    double loadMin = Double.MAX_VALUE;
    double loadMax;
    int sizeMin = Integer.MAX_VALUE;
    int sizeMax;

    /** Takes in the fleet as it is now. */
    void sample(List<LoadBalancer> clients, List<Endpoint> backends, int d) {
      Map<String, Integer> count = new HashMap<>();
      Map<String, Double> load = new HashMap<>();
      for (LoadBalancer lb : clients) {
        List<Endpoint> subset = lb.inspect().endpoints();
        sizeMin = Math.min(sizeMin, subset.size());
        sizeMax = Math.max(sizeMax, subset.size());
        double total = 0;
        for (Endpoint e : subset) {
          total += e.weight();
        }
        for (Endpoint e : subset) {
          count.merge(e.key(), 1, Integer::sum);
          load.merge(e.key(), e.weight() / total, Double::sum);
        }
      }
      long pairs = 0;
      for (int c : count.values()) {
        pairs += c;
      }
      pairsMax = Math.max(pairsMax, (double) pairs / clients.size() / Math.min(d, backends.size()));
      double perEndpoint = (double) pairs / backends.size();
      double mean = (double) clients.size() / backends.size();
      for (Endpoint e : backends) {
        double c = count.getOrDefault(e.key(), 0) / perEndpoint;
        double l = load.getOrDefault(e.key(), 0.0) / mean;
        clientsMin = Math.min(clientsMin, c);
        clientsMax = Math.max(clientsMax, c);
        loadMin = Math.min(loadMin, l);
        loadMax = Math.max(loadMax, l);
      }
    }

    /** Takes in subsets given as backend indexes: connections per backend, % of their mean. */
    void sample(List<int[]> subsets, int backends) {
      int[] count = new int[backends];
      long total = 0;
      for (int[] s : subsets) {
        sizeMin = Math.min(sizeMin, s.length);
        sizeMax = Math.max(sizeMax, s.length);
        total += s.length;
        for (int b : s) {
          count[b]++;
        }
      }
      double mean = (double) total / backends;
      for (int c : count) {
        clientsMin = Math.min(clientsMin, c / mean);
        clientsMax = Math.max(clientsMax, c / mean);
      }
    }

    String clients() {
      return String.format(Locale.ROOT, "%.0f%% / %.0f%%", 100 * clientsMin, 100 * clientsMax);
    }

    String load() {
      return String.format(Locale.ROOT, "%.0f%% / %.0f%%", 100 * loadMin, 100 * loadMax);
    }

    String sizes() {
      return sizeMin + ".." + sizeMax;
    }

    String pairs() {
      return String.format(Locale.ROOT, "%.2f", pairsMax);
    }

    /** The extremes in words, for a line of the report. */
    String summary() {
      return "clients per endpoint "
          + clients()
          + " of the mean; requests "
          + load()
          + " of the mean; pairs held at most "
          + pairs()
          + "x live clients x d; subset sizes "
          + sizes();
    }

    /** The extremes as table cells: clients, requests, pairs held, subset sizes. */
    String cells() {
      return String.join(" | ", clients(), load(), pairs(), sizes());
    }
  }

  /** Pairs that moved, against the pairs of the clients that left and joined. */
  static final class Moves {
    long moved;
    long own;
    double worst; // the worst single step, moved / own

    void add(Set<String> before, Set<String> after, long ownPairs) {
      int m = FleetSimulation.moved(before, after);
      moved += m;
      own += ownPairs;
      if (ownPairs > 0) {
        worst = Math.max(worst, (double) m / ownPairs);
      }
    }

    String text() {
      return String.format(
          Locale.ROOT, "%,d moved, %,d own (%.2fx; worst step %.2fx)", moved, own, ratio(), worst);
    }

    double ratio() {
      return own == 0 ? 0 : (double) moved / own;
    }
  }

  /** Runs the simulation; see the class comment. */
  public static void main(String[] args) {
    Map<String, Integer> o =
        new HashMap<>(
            Map.of("--clients", 1000, "--backends", 500, "--size", 20, "--seed", 1, "--vacant", 1));
    for (int i = 0; i + 1 < args.length; i += 2) {
      if (!o.containsKey(args[i])) {
        System.err.println("unknown option " + args[i] + " (expected: one of " + o.keySet() + ")");
        System.exit(2);
      }
      o.put(args[i], Integer.parseInt(args[i + 1]));
    }
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "error");
    int n = o.get("--clients");
    int b = o.get("--backends");
    int d = o.get("--size");
    long seed = o.get("--seed");
    SlotFleet.tellVacant = o.get("--vacant") != 0;
    List<String> missed = new ArrayList<>();
    long began = System.nanoTime();
    List<Endpoint> backends = FleetSimulation.backends(b);
    System.out.printf(
        Locale.ROOT,
        "%d clients x %d backends, subset %d: positions are slots (lowest free to a joiner);"
            + " vacant slots %s%n%n",
        n,
        b,
        d,
        SlotFleet.tellVacant
            ? "told (their endpoints go to the next-best live clients)"
            : "not told (--vacant 0)");

    try (SlotFleet f = new SlotFleet(backends, d, n)) {
      singleEvents(f, missed);
    }
    System.out.println();
    System.out.println(
        "| rolling restart, clients at a time | order | pairs moved | clients per endpoint, % of"
            + " the mean (min / max) | requests, % of the mean | pairs held / (live clients x d),"
            + " most | subset sizes |");
    System.out.println("|---|---|---|---|---|---|---|");
    for (int wave : new int[] {n / 100, n / 10, n / 4}) {
      for (boolean surge : new boolean[] {false, true}) {
        try (SlotFleet f = new SlotFleet(backends, d, n)) {
          Spread s = new Spread();
          Moves m =
              rollingRestart(
                  f, wave, surge, new Random(seed), x -> s.sample(x.balancers(), backends, d));
          System.out.printf(
              Locale.ROOT,
              "| %d | %s | %s | %s |%n",
              wave,
              surge ? "new first (surge)" : "old first",
              m.text(),
              s.cells());
          if (m.worst > 2) {
            missed.add("rolling restart by " + wave + ": a step moved more than 2x its own pairs");
          }
          if (s.clientsMin < 0.8 || s.clientsMax > 1.2) {
            missed.add("rolling restart by " + wave + ": clients per endpoint within 20%");
          }
        }
      }
    }
    System.out.println();
    ChurnEvents.crashes(backends, d, n, seed, missed);
    ChurnEvents.scaleDown(backends, d, n, seed, missed);
    System.out.println();
    SreBookExperiment.run(seed);
    System.out.printf(Locale.ROOT, "%ntotal %.1f s%n", (System.nanoTime() - began) / 1e9);
    FleetSimulation.exitWith(missed);
  }

  /** One client leaves from the middle, one joins, the highest leaves and one joins again. */
  private static void singleEvents(SlotFleet f, List<String> missed) {
    int middle = -1;
    for (int id : f.ids()) {
      if (f.slot(id) == f.count() / 2) {
        middle = id;
      }
    }
    event(f, "a client leaves from the middle", middle, missed);
    event(f, "a client joins (takes the middle's slot)", -1, missed);
    int highest = -1;
    for (int id : f.ids()) {
      if (f.slot(id) == f.count() - 1) {
        highest = id;
      }
    }
    event(f, "the client with the highest slot leaves", highest, missed);
    event(f, "a client joins (takes the highest slot)", -1, missed);
  }

  private static void event(SlotFleet f, String what, int leaver, List<String> missed) {
    Set<String> before = f.pairs();
    int own;
    if (leaver >= 0) {
      own = f.subsetSize(leaver);
      f.leave(leaver);
    } else {
      own = f.subsetSize(f.join());
    }
    int moved = FleetSimulation.moved(before, f.pairs());
    System.out.printf(Locale.ROOT, "%s: %d pairs moved (its own: %d)%n", what, moved, own);
    if (moved > 2 * own) {
      missed.add(what + ": at most 2x its own pairs");
    }
  }

  /**
   * Every client is replaced, {@code wave} at a time: the old ones leave and then as many new ones
   * join, or ({@code surge}) the new ones join first, as a Deployment with maxSurge does.
   */
  static Moves rollingRestart(
      SlotFleet f, int wave, boolean surge, Random random, Consumer<SlotFleet> step) {
    List<Integer> old = f.ids();
    Collections.shuffle(old, random);
    Moves m = new Moves();
    step.accept(f);
    for (int i = 0; i < old.size(); i += wave) {
      List<Integer> batch = old.subList(i, Math.min(old.size(), i + wave));
      for (int phase = 0; phase < 2; phase++) {
        Set<String> before = f.pairs();
        long own = 0;
        if (surge == (phase == 0)) {
          for (int k = 0; k < batch.size(); k++) {
            own += f.subsetSize(f.join());
          }
        } else {
          for (int id : batch) {
            own += f.subsetSize(id);
            f.leave(id);
          }
        }
        m.add(before, f.pairs(), own);
        step.accept(f);
      }
    }
    return m;
  }
}
