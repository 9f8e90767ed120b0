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
    return Strategies.named(name);
  }
}
