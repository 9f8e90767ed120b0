package io.loadstar.bench;

import io.loadstar.api.Endpoint;
import io.loadstar.api.LoadBalancer;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.core.LoadBalancers;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.SplittableRandom;

/**
 * How many keys a consistent-hash strategy moves when one endpoint of n leaves, as a multiple of
 * the keys that endpoint held (1.0 is the least possible: only its own keys move). For each
 * strategy and endpoint count: 1,000,000 random keys mapped through a real balancer, then through
 * one without a randomly chosen endpoint, five times.
 *
 * <pre>
 * java -cp lb-bench/target/benchmarks.jar io.loadstar.bench.KeyMovement \
 *     [--strategies maglev,maglev:262147,maglev:1048583,ringHash] [--endpoints 1000,3000,5000,10000]
 * </pre>
 */
public final class KeyMovement {

  private static final int KEYS = 1_000_000;
  private static final int TRIALS = 5;

  private KeyMovement() {}

  public static void main(String[] args) {
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "error");
    String strategies = "maglev,maglev:262147,maglev:1048583,ringHash";
    String counts = "1000,3000,5000,10000";
    for (int i = 0; i + 1 < args.length; i += 2) {
      switch (args[i]) {
        case "--strategies" -> strategies = args[i + 1];
        case "--endpoints" -> counts = args[i + 1];
        default ->
            throw new IllegalArgumentException(
                "unknown option: " + args[i] + " (expected: --strategies, --endpoints)");
      }
    }
    long[] keys = new SplittableRandom(1).longs(KEYS).toArray();
    System.out.println("| strategy | endpoints | keys moved per key of the leaving endpoint |");
    System.out.println("|---|---:|---|");
    for (String count : counts.split(",")) {
      int n = Integer.parseInt(count.trim());
      for (String strategy : strategies.split(",")) {
        List<Endpoint> all = Setups.endpoints(n, 0);
        String[] before = owners(strategy.trim(), all, keys);
        SplittableRandom random = new SplittableRandom(n);
        StringBuilder ratios = new StringBuilder();
        double sum = 0;
        for (int t = 0; t < TRIALS; t++) {
          List<Endpoint> rest = new ArrayList<>(all);
          String leaving = rest.remove(random.nextInt(n)).key();
          String[] after = owners(strategy.trim(), rest, keys);
          int moved = 0;
          int own = 0;
          for (int k = 0; k < keys.length; k++) {
            moved += before[k].equals(after[k]) ? 0 : 1;
            own += before[k].equals(leaving) ? 1 : 0;
          }
          double ratio = (double) moved / Math.max(1, own);
          sum += ratio;
          ratios.append(t == 0 ? "" : ", ").append(String.format(Locale.ROOT, "%.2f", ratio));
        }
        System.out.printf(
            Locale.ROOT, "| %s | %,d | %.2f (%s) |%n", strategy.trim(), n, sum / TRIALS, ratios);
      }
    }
  }

  /** The endpoint key each of {@code keys} maps to through a balancer over {@code endpoints}. */
  private static String[] owners(String strategy, List<Endpoint> endpoints, long[] keys) {
    try (LoadBalancer lb =
        LoadBalancers.builder("movement")
            .strategy(Setups.strategy(strategy))
            .endpoints(endpoints)
            .build()) {
      String[] out = new String[keys.length];
      for (int k = 0; k < keys.length; k++) {
        PickResult r = lb.pick(PickContext.ofHashKey(keys[k]));
        out[k] = r.endpoint().key();
        r.handle().onCancel();
      }
      return out;
    }
  }
}
