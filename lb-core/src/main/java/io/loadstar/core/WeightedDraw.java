package io.loadstar.core;

import org.jspecify.annotations.Nullable;

/*
 * Design notes: Vose's alias method. A draw takes one 64-bit random number: its high 32 bits pick a
 * column uniformly, its low 32 bits decide between the column and its alias, so a draw is two
 * multiplications and one comparison, whatever the number of endpoints. Built once per snapshot.
 */
/** Draws endpoint indexes in proportion to their weights, in O(1). Immutable. */
final class WeightedDraw {

  private final int[] alias;
  private final long[] threshold; // keep the column when the low 32 bits are below it

  private WeightedDraw(int[] alias, long[] threshold) {
    this.alias = alias;
    this.threshold = threshold;
  }

  /** A draw for {@code weights} (each at least 1), or null when they are all equal. */
  static @Nullable WeightedDraw of(int[] weights) {
    int n = weights.length;
    boolean equal = true;
    long total = 0;
    for (int w : weights) {
      equal &= w == weights[0];
      total += w;
    }
    if (equal) {
      return null;
    }
    double[] scaled = new double[n];
    int[] small = new int[n];
    int[] large = new int[n];
    int smalls = 0;
    int larges = 0;
    for (int i = 0; i < n; i++) {
      scaled[i] = (double) weights[i] * n / total;
      if (scaled[i] < 1.0) {
        small[smalls++] = i;
      } else {
        large[larges++] = i;
      }
    }
    int[] alias = new int[n];
    long[] threshold = new long[n];
    while (smalls > 0 && larges > 0) {
      int s = small[--smalls];
      int l = large[--larges];
      threshold[s] = (long) (scaled[s] * 0x1_0000_0000L);
      alias[s] = l;
      scaled[l] -= 1.0 - scaled[s];
      if (scaled[l] < 1.0) {
        small[smalls++] = l;
      } else {
        large[larges++] = l;
      }
    }
    while (larges > 0) {
      int l = large[--larges];
      threshold[l] = 0x1_0000_0000L;
      alias[l] = l;
    }
    while (smalls > 0) { // rounding left a column just under 1
      int s = small[--smalls];
      threshold[s] = 0x1_0000_0000L;
      alias[s] = s;
    }
    return new WeightedDraw(alias, threshold);
  }

  /** An index drawn in proportion to the weights, from one uniformly random long. */
  int draw(long random) {
    int column = (int) (((random >>> 32) * alias.length) >>> 32);
    return (random & 0xFFFF_FFFFL) < threshold[column] ? column : alias[column];
  }
}
