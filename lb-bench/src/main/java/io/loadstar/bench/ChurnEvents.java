package io.loadstar.bench;

import io.loadstar.api.Endpoint;
import io.loadstar.bench.ChurnSimulation.Moves;
import io.loadstar.bench.ChurnSimulation.Spread;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.Set;

/** ChurnSimulation's crashes and scale-down. */
final class ChurnEvents {

  /** A crashed client's slot is free when its lease expires: EtcdPeers' default TTL. */
  static final int LEASE_SECONDS = 10;

  /** A crashed client's replacement joins this long after the crash. */
  static final int RESTART_SECONDS = 30;

  private ChurnEvents() {}

  /**
   * 10 simulated minutes in which each client crashes with a probability of 10% per minute; its
   * slot is free {@link #LEASE_SECONDS} later, and a replacement joins {@link #RESTART_SECONDS}
   * after the crash.
   */
  static void crashes(List<Endpoint> backends, int d, int n, long seed, List<String> missed) {
    try (SlotFleet f = new SlotFleet(backends, d, n)) {
      Random random = new Random(seed);
      Map<Integer, List<Integer>> expiring = new HashMap<>(); // second -> crashed ids
      Map<Integer, Integer> ownOf = new HashMap<>(); // a crashed client's pairs, for its expiry
      Map<Integer, Integer> joining = new HashMap<>(); // second -> replacements
      Spread s = new Spread();
      Moves m = new Moves();
      int crashed = 0;
      int fewest = n;
      for (int t = 0; t < 600; t++) {
        Set<String> before = f.pairs();
        long own = 0;
        for (int id : f.ids()) {
          if (random.nextDouble() < 0.1 / 60) {
            ownOf.put(id, f.subsetSize(id));
            own += ownOf.get(id);
            f.crash(id);
            crashed++;
            expiring.computeIfAbsent(t + LEASE_SECONDS, k -> new ArrayList<>()).add(id);
            joining.merge(t + RESTART_SECONDS, 1, Integer::sum);
          }
        }
        for (int id : expiring.getOrDefault(t, List.of())) {
          // its slot frees: its endpoints go to their next-best live clients
          own += ownOf.remove(id);
          f.expire(id);
        }
        for (int k = joining.getOrDefault(t, 0); k > 0; k--) {
          own += f.subsetSize(f.join());
        }
        m.add(before, f.pairs(), own);
        s.sample(f.balancers(), backends, d);
        fewest = Math.min(fewest, f.ids().size());
      }
      System.out.printf(
          Locale.ROOT,
          "crashes, 10%% of clients a minute for 10 minutes (%d crashed; a slot free %d s after"
              + " its crash, a replacement %d s after; %d to %d clients alive): pairs %s, a"
              + " step's own being the pairs of the clients that crashed, freed their slots or"
              + " joined in it; %s%n",
          crashed,
          LEASE_SECONDS,
          RESTART_SECONDS,
          fewest,
          n,
          m.text(),
          s.summary());
      // A step's ratio may pass 2 when several slots are vacant at once: a joiner then also wins
      // some of the other vacant slots' endpoints, and a subset filled to 1.5 d passes one on.
      // The target is on the whole run.
      if (m.ratio() > 2) {
        missed.add("crashes: more than 2x the own pairs of the clients that came and went");
      }
    }
  }

  /** 20% of the clients, chosen at random, leave at once (closing: their slots free at once). */
  static void scaleDown(List<Endpoint> backends, int d, int n, long seed, List<String> missed) {
    try (SlotFleet f = new SlotFleet(backends, d, n)) {
      List<Integer> ids = f.ids();
      Collections.shuffle(ids, new Random(seed));
      Set<String> before = f.pairs();
      long own = 0;
      for (int id : ids.subList(0, n / 5)) {
        own += f.subsetSize(id);
        f.leave(id);
      }
      Moves m = new Moves();
      m.add(before, f.pairs(), own);
      Spread s = new Spread();
      s.sample(f.balancers(), backends, d);
      System.out.printf(
          Locale.ROOT,
          "scale-down by 20%% (%d random clients close; %d left, count still %d): pairs %s; %s%n",
          n / 5,
          f.ids().size(),
          f.count(),
          m.text(),
          s.summary());
      if (m.worst > 2) {
        missed.add("scale-down: more than 2x the leavers' own pairs moved");
      }
    }
  }
}
