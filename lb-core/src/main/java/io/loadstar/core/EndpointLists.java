package io.loadstar.core;

import io.loadstar.api.Endpoint;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/** What a balancer makes of a list of endpoints from discovery: one order, one copy per key. */
final class EndpointLists {

  private EndpointLists() {}

  /**
   * Why {@code endpoints} cannot be used as they are: one key listed twice with different
   * attributes (weight, zone, priority, tags, address), in words naming the key and both values;
   * null if every key is listed once or only as equal copies.
   */
  static @Nullable String conflictingDuplicate(List<Endpoint> endpoints) {
    Map<String, Endpoint> byKey = new HashMap<>();
    for (Endpoint e : endpoints) {
      Endpoint first = byKey.putIfAbsent(e.key(), e);
      if (first == null || first.equals(e)) {
        continue;
      }
      String what;
      if (first.weight() != e.weight()) {
        what = "weights " + first.weight() + " and " + e.weight();
      } else if (first.priority() != e.priority()) {
        what = "priorities " + first.priority() + " and " + e.priority();
      } else if (!first.zone().equals(e.zone())) {
        what = "zones '" + first.zone() + "' and '" + e.zone() + "'";
      } else if (!first.tags().equals(e.tags())) {
        what = "tags " + first.tags() + " and " + e.tags();
      } else {
        what = "addresses " + first.address() + " and " + e.address();
      }
      return "endpoint "
          + e.key()
          + " is listed twice, with "
          + what
          + " (expected: each key once, or copies that are equal)";
    }
    return null;
  }

  /** Sorted by key; equal copies of an endpoint count once. */
  static List<Endpoint> canonical(List<Endpoint> endpoints) {
    Map<String, Endpoint> byKey = new HashMap<>();
    for (Endpoint e : endpoints) {
      byKey.putIfAbsent(e.key(), e);
    }
    List<Endpoint> sorted = new ArrayList<>(byKey.values());
    sorted.sort(null);
    return List.copyOf(sorted);
  }
}
