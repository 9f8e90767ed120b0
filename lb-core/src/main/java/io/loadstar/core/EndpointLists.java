package io.loadstar.core;

import io.loadstar.api.Endpoint;
import java.util.Arrays;
import java.util.List;
import org.jspecify.annotations.Nullable;

/** What a balancer makes of a list of endpoints from discovery: one order, one copy per key. */
final class EndpointLists {

  private EndpointLists() {}

  /**
   * Returns {@code endpoints} sorted by key, copies of one key in the order they are listed: a
   * stable sort, which takes one pass over a list already in key order (a registry's usually is).
   */
  static Endpoint[] sortedByKey(List<Endpoint> endpoints) {
    Endpoint[] sorted = endpoints.toArray(new Endpoint[0]);
    Arrays.sort(sorted);
    return sorted;
  }

  /**
   * Why {@code endpoints} cannot be used as they are: one key listed twice with different
   * attributes (weight, zone, priority, tags, address), in words naming the key and both values;
   * null if every key is listed once or only as equal copies.
   */
  static @Nullable String conflictingDuplicate(List<Endpoint> endpoints) {
    return conflictIn(sortedByKey(endpoints));
  }

  /** {@link #conflictingDuplicate} of a list already {@linkplain #sortedByKey sorted}. */
  static @Nullable String conflictIn(Endpoint[] sorted) {
    for (int i = 1; i < sorted.length; i++) {
      Endpoint first = sorted[i - 1];
      Endpoint e = sorted[i];
      if (!first.key().equals(e.key()) || first.equals(e)) {
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
    return distinct(sortedByKey(endpoints));
  }

  /**
   * {@link #canonical} of a list already {@linkplain #sortedByKey sorted}: the first copy listed of
   * each key. {@code sorted} is overwritten.
   */
  static List<Endpoint> distinct(Endpoint[] sorted) {
    int kept = 0;
    for (Endpoint e : sorted) {
      if (kept == 0 || !sorted[kept - 1].key().equals(e.key())) {
        sorted[kept++] = e;
      }
    }
    return List.of(Arrays.copyOf(sorted, kept));
  }
}
