package io.loadstar.bench;

import io.loadstar.api.Endpoint;
import io.loadstar.api.ProbeResult;
import io.loadstar.api.SelectionStrategy;
import io.loadstar.core.MaglevConfig;
import io.loadstar.core.ProbingConfig;
import io.loadstar.core.Strategies;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;

/** Shared benchmark fixtures. */
final class Setups {

  private Setups() {}

  static List<Endpoint> endpoints(int n, int generation) {
    List<Endpoint> list = new ArrayList<>(n);
    for (int i = 0; i < n; i++) {
      list.add(Endpoint.of("10." + generation + "." + (i / 250) + "." + (i % 250 + 1), 8080));
    }
    return list;
  }

  /**
   * {@code count} distinct 20-character ASCII keys such as a user or session id, from a seeded
   * stream: "user-" and 15 characters of [0-9a-z].
   */
  static String[] stringKeys(int count, long seed) {
    java.util.SplittableRandom random = new java.util.SplittableRandom(seed);
    String alphabet = "0123456789abcdefghijklmnopqrstuvwxyz";
    String[] keys = new String[count];
    for (int i = 0; i < count; i++) {
      StringBuilder sb = new StringBuilder("user-");
      for (int j = 0; j < 15; j++) {
        sb.append(alphabet.charAt(random.nextInt(alphabet.length())));
      }
      keys[i] = sb.toString();
    }
    return keys;
  }

  /**
   * The strategy named; {@code probing} probes with a prober that answers at once, from a thread of
   * its own (as a real prober's client would), each endpoint idle at a latency of its own.
   */
  static SelectionStrategy strategy(String name) {
    if (name.equals("probing")) {
      return Strategies.probing(
          ProbingConfig.builder(
                  endpoint ->
                      CompletableFuture.supplyAsync(
                          () -> new ProbeResult(0, 1_000_000L + endpoint.port()), PROBES))
              .build());
    }
    if (name.startsWith("maglev:")) { // a pinned table size, e.g. maglev:65537
      int size = Integer.parseInt(name.substring("maglev:".length()));
      return Strategies.maglev(MaglevConfig.builder().tableSize(size).build());
    }
    return Strategies.named(name);
  }

  private static final ExecutorService PROBES =
      Executors.newSingleThreadExecutor(
          r -> {
            Thread t = new Thread(r, "bench-prober");
            t.setDaemon(true);
            return t;
          });
}
