package io.loadstar.api.internal;

import static java.util.Objects.requireNonNull;

import java.time.Duration;

/** Argument checks with Loadstar's message form. Not API: for Loadstar's own modules. */
public final class Checks {

  private Checks() {}

  /**
   * Returns {@code value} if it is in {@code min..max}.
   *
   * @throws NullPointerException naming {@code name} if {@code value} is null
   * @throws IllegalArgumentException {@code "name: value (expected: min..max)"} otherwise
   */
  public static Duration duration(String name, Duration value, Duration min, Duration max) {
    requireNonNull(value, name);
    if (value.compareTo(min) < 0 || value.compareTo(max) > 0) {
      throw new IllegalArgumentException(
          name + ": " + value + " (expected: " + min + ".." + max + ")");
    }
    return value;
  }

  /**
   * Returns {@code zone} if it is a zone name: at most 128 characters, no blanks around it; empty
   * for none.
   *
   * @throws NullPointerException naming {@code name} if {@code zone} is null
   * @throws IllegalArgumentException naming {@code name} and the value otherwise
   */
  public static String zone(String name, String zone) {
    requireNonNull(zone, name);
    if (zone.length() > 128 || !zone.equals(zone.strip())) {
      throw new IllegalArgumentException(
          name
              + ": '"
              + zone
              + "' (expected: a zone name such as eu-west-1a, at most 128 characters, no blanks"
              + " around it; empty for none)");
    }
    return zone;
  }
}
