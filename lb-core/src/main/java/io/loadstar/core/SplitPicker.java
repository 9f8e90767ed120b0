package io.loadstar.core;

import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.api.Picker;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.jspecify.annotations.Nullable;

/*
 * Design notes: a share of the picks to each of several parts (zones, or the canary and stable
 * subsets), each part with its own picker over its own endpoints. A pick draws a part by its share
 * (parts of 10,000, from the thread's random stream: no shared write), picks there, and falls back
 * to the other parts in order when the drawn part cannot serve (none usable, all tried or at their
 * limit), so exclusions stay per endpoint: a retry after a local failure may land in another zone.
 * Shares are fixed when the snapshot is built, or read from a SplitState (one volatile read) when
 * they change between snapshots (a canary ramp, a rollback).
 */
/** Picks among parts by their share, falling back across parts. Immutable; thread-safe. */
final class SplitPicker implements Picker, PickPeek.Peeking {

  private final Picker[] parts;
  private final int @Nullable [] cumulative; // fixed shares: ascending, the last 10,000
  private final @Nullable SplitState dynamic; // or: part 0's share now, part 1 the rest
  private final boolean[] fallbackFrom; // whether a part that cannot serve may fall back
  private final PerThread random;
  private final String name;

  private SplitPicker(
      List<Picker> parts,
      int @Nullable [] cumulative,
      @Nullable SplitState dynamic,
      boolean[] fallbackFrom,
      PerThread random,
      String name) {
    this.parts = parts.toArray(new Picker[0]);
    this.cumulative = cumulative;
    this.dynamic = dynamic;
    this.fallbackFrom = fallbackFrom;
    this.random = random;
    this.name = name;
  }

  /**
   * Parts with fixed {@code shares} (any non-negative numbers, scaled to 10,000; at least one
   * positive), each falling back to the others in order.
   */
  static Picker fixed(List<Picker> parts, double[] shares, PerThread random, String name) {
    if (parts.size() == 1) {
      return parts.get(0);
    }
    double total = 0;
    for (double s : shares) {
      total += s;
    }
    int[] cumulative = new int[shares.length];
    double running = 0;
    for (int i = 0; i < shares.length; i++) {
      running += shares[i];
      cumulative[i] = (int) Math.round(10_000 * running / total);
    }
    cumulative[cumulative.length - 1] = 10_000;
    boolean[] fallback = new boolean[parts.size()];
    Arrays.fill(fallback, true);
    return new SplitPicker(parts, cumulative, null, fallback, random, name);
  }

  /**
   * Two parts, the first taking {@code state}'s current share; {@code firstFallsBack} says whether
   * the first part's picks go to the second when it cannot serve. The second always may.
   */
  static SplitPicker dynamic(
      Picker first, Picker second, SplitState state, boolean firstFallsBack, PerThread random) {
    return new SplitPicker(
        List.of(first, second),
        null,
        state,
        new boolean[] {firstFallsBack, true},
        random,
        "canary");
  }

  @Override
  public PickResult pick(PickContext context) {
    Picker[] p = parts;
    int first;
    if (dynamic != null) {
      int share = dynamic.parts;
      // ThreadLocalRandom: two field reads on the thread, cheaper than the seeded per-thread
      // stream's lookup, on the path every canary-split pick takes.
      first = share > 0 && ThreadLocalRandom.current().nextInt(10_000) < share ? 0 : 1;
    } else {
      int[] c = cumulative;
      first = 0;
      if (c[0] < 10_000) { // all to the first part (a healthy local zone): no draw needed
        int draw = PerThread.nextInt(random.get(), 10_000);
        while (c[first] <= draw) {
          first++;
        }
      }
    }
    PickResult r = p[first].pick(context);
    if (r.isAvailable() || !fallbackFrom[first]) {
      return r;
    }
    for (int i = 0; i < p.length; i++) {
      if (i != first) {
        PickResult other = p[i].pick(context);
        if (other.isAvailable()) {
          return other;
        }
      }
    }
    return r;
  }

  /**
   * The part a pick draws, when one part takes every draw (a zone with all the share, a canary at
   * 0% or 100%), else a draw among the parts with a share; then, as pick() does, the other parts in
   * order when that cannot serve.
   */
  @Override
  public PickPeek peek(PickContext context) {
    Picker[] p = parts;
    double[] shares = new double[p.length];
    if (dynamic != null) {
      int share = dynamic.parts;
      shares[0] = share;
      shares[1] = 10_000 - share;
    } else {
      int previous = 0;
      for (int i = 0; i < p.length; i++) {
        shares[i] = cumulative[i] - previous;
        previous = cumulative[i];
      }
    }
    List<PickPeek> drawn = new java.util.ArrayList<>();
    int first = -1;
    for (int i = 0; i < p.length; i++) {
      if (shares[i] > 0) {
        drawn.add(PickPeek.of(p[i], context));
        first = first < 0 ? i : first;
      }
    }
    PickPeek r = drawn.size() == 1 ? drawn.get(0) : PickPeek.union(drawn);
    if (!r.none() || drawn.size() != 1 || !fallbackFrom[first]) {
      return r;
    }
    for (int i = 0; i < p.length; i++) {
      if (i != first) {
        PickPeek other = PickPeek.of(p[i], context);
        if (!other.none()) {
          return other;
        }
      }
    }
    return r;
  }

  @Override
  public String toString() {
    return "SplitPicker{" + name + ", " + Arrays.toString(parts) + "}";
  }

  /** A share that changes between snapshots: parts of 10,000 for the first part. */
  static final class SplitState {
    volatile int parts;

    SplitState(int parts) {
      this.parts = parts;
    }
  }
}
