package io.loadstar.bench;

import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.bench.ChurnSimulation.Spread;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;

/**
 * The SRE book's subsetting experiment (Site Reliability Engineering, ch. 20: 300 clients, 300
 * backends), for ChurnSimulation: connections per backend as % of the mean with Loadstar's plan,
 * random subsetting (each client draws its own backends) and the book's deterministic subsetting
 * (rounds of clients, each round a seeded shuffle of the backends cut into subsets), on a fixed
 * fleet and then with churn, which the book did not measure.
 */
final class SreBookExperiment {

  private SreBookExperiment() {}

  /** The three designs' connections per backend, each a {@link Spread}. */
  private static final class Three {
    final Spread ours = new Spread();
    final Spread random = new Spread();
    final Spread rounds = new Spread();
    final Map<Integer, int[]> drawn = new HashMap<>(); // random subsetting: a client's own draw
    final Random draws;
    final int backends;
    final int d;

    Three(long seed, int backends, int d) {
      this.draws = new Random(seed);
      this.backends = backends;
      this.d = d;
    }

    void sample(SlotFleet f, Map<String, Integer> index) {
      List<int[]> mine = new ArrayList<>();
      for (LoadBalancer lb : f.balancers()) {
        List<Endpoint> subset = lb.inspect().endpoints();
        int[] s = new int[subset.size()];
        for (int i = 0; i < s.length; i++) {
          s[i] = index.get(subset.get(i).key());
        }
        mine.add(s);
      }
      ours.sample(mine, backends);
      List<int[]> rand = new ArrayList<>();
      for (int id : f.ids()) {
        rand.add(drawn.computeIfAbsent(id, k -> draw()));
      }
      random.sample(rand, backends);
      List<int[]> book = new ArrayList<>();
      for (int slot : f.liveSlots()) {
        book.add(bookSubset(slot));
      }
      rounds.sample(book, backends);
    }

    private int[] draw() {
      List<Integer> all = new ArrayList<>();
      for (int b = 0; b < backends; b++) {
        all.add(b);
      }
      Collections.shuffle(all, draws);
      return all.subList(0, d).stream().mapToInt(Integer::intValue).toArray();
    }

    /** The book's algorithm: round = id / count, a shuffle seeded with the round, a slice. */
    private int[] bookSubset(int id) {
      int count = backends / d;
      List<Integer> all = new ArrayList<>();
      for (int b = 0; b < backends; b++) {
        all.add(b);
      }
      Collections.shuffle(all, new Random(id / count));
      int start = (id % count) * d;
      return all.subList(start, start + d).stream().mapToInt(Integer::intValue).toArray();
    }
  }

  static void run(long seed) {
    int n = 300;
    List<Endpoint> backends = FleetSimulation.backends(300);
    Map<String, Integer> index = new HashMap<>();
    for (int i = 0; i < backends.size(); i++) {
      index.put(backends.get(i).key(), i);
    }
    System.out.println(
        "| 300 clients x 300 backends: connections per backend, % of the mean (min / max) | subset"
            + " | Loadstar | random subsetting | the book's rounds |");
    System.out.println("|---|---|---|---|---|");
    for (int d : new int[] {10, 30, 90}) {
      Three fixed = new Three(seed, 300, d);
      Three rolling = new Three(seed, 300, d);
      try (SlotFleet f = new SlotFleet(backends, d, n)) {
        fixed.sample(f, index);
        ChurnSimulation.rollingRestart(
            f, n / 10, false, new Random(seed), x -> rolling.sample(x, index));
      }
      Three down = new Three(seed, 300, d);
      try (SlotFleet f = new SlotFleet(backends, d, n)) {
        Three before = new Three(seed, 300, d);
        before.sample(f, index); // every client draws its random subset
        List<Integer> ids = f.ids();
        Collections.shuffle(ids, new Random(seed));
        ids.subList(0, n / 5).forEach(f::leave);
        down.drawn.putAll(before.drawn);
        down.sample(f, index);
      }
      row("fixed fleet", d, fixed);
      row("rolling restart, 30 at a time (every step)", d, rolling);
      row("scale-down by 20% (60 random clients leave)", d, down);
    }
  }

  private static void row(String what, int d, Three t) {
    System.out.printf(
        Locale.ROOT,
        "| %s | %d | %s (sizes %s) | %s | %s |%n",
        what,
        d,
        t.ours.clients(),
        t.ours.sizes(),
        t.random.clients(),
        t.rounds.clients());
  }
}
