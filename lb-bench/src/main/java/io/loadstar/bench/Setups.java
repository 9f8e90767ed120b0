package io.loadstar.bench;

import io.loadstar.api.Endpoint;
import io.loadstar.api.SelectionStrategy;
import io.loadstar.core.Strategies;
import java.util.ArrayList;
import java.util.List;

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

  static SelectionStrategy strategy(String name) {
    switch (name) {
      case "roundRobin":
        return Strategies.roundRobin();
      case "random":
        return Strategies.random();
      case "leastRequest":
        return Strategies.leastRequest();
      case "peakEwma":
        return Strategies.peakEwma();
      case "ringHash":
        return Strategies.ringHash();
      case "maglev":
        return Strategies.maglev();
      default:
        throw new IllegalArgumentException("strategy: " + name);
    }
  }
}
