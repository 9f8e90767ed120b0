package io.loadstar.bench;

import io.loadstar.api.LoadBalancer;
import io.loadstar.core.LoadBalancers;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * The heap one balancer holds per endpoint: for each strategy and endpoint count, the heap in use
 * (after full collections) with 20 balancers of n endpoints, less the heap before them, divided by
 * 20 x n. The endpoint list itself is counted once per balancer, as each balancer's source would
 * hold its own.
 *
 * <pre>
 * java -Xmx2g -cp lb-bench/target/benchmarks.jar io.loadstar.bench.Footprint
 * </pre>
 */
public final class Footprint {

  private Footprint() {}

  public static void main(String[] args) {
    System.setProperty("org.slf4j.simpleLogger.defaultLogLevel", "error");
    int copies = 20;
    System.out.println("| strategy | endpoints | bytes per endpoint |");
    System.out.println("|---|---:|---:|");
    for (String strategy :
        new String[] {"leastRequest", "roundRobin", "peakEwma", "maglev", "ringHash"}) {
      for (int n : new int[] {1_000, 10_000}) {
        long before = FleetSimulation.heapUsed();
        List<LoadBalancer> held = new ArrayList<>();
        for (int c = 0; c < copies; c++) {
          held.add(
              LoadBalancers.builder("footprint")
                  .strategy(Setups.strategy(strategy))
                  .endpoints(Setups.endpoints(n, c))
                  .build());
        }
        long after = FleetSimulation.heapUsed();
        System.out.printf(
            Locale.ROOT,
            "| %s | %,d | %,d |%n",
            strategy,
            n,
            (after - before) / ((long) copies * n));
        held.forEach(LoadBalancer::close);
      }
    }
  }
}
