package io.loadstar.core;

import io.loadstar.api.EndpointView;

/*
 * Design notes: a weighted schedule is an array of endpoint indexes in which endpoint i appears
 * w_i / gcd times, ordered by earliest deadline first: the j-th occurrence of endpoint i has the
 * virtual deadline j / w_i, ties broken by index. This interleaves smoothly (5:3:2 gives
 * A B A C A B A A B C, no burst of one endpoint), equal weights give 0 1 2 ... n-1 (never the same
 * endpoint twice in a row), and a cursor over it gives O(1) weighted round robin with exact shares
 * per cycle. A random index into it gives O(1) weighted random.
 *
 * Built with a binary heap in O(L log n) for a schedule of length L. L is capped at MAX_LENGTH by
 * scaling weights down (each at least 1); the shares are then exact to within about n / MAX_LENGTH.
 */
/** Builds weighted schedules for the round-robin and random pickers. Stateless. */
final class Schedules {

  static final int MAX_LENGTH = 1 << 16;

  private Schedules() {}

  static int[] weights(EndpointView[] views) {
    int[] w = new int[views.length];
    for (int i = 0; i < w.length; i++) {
      w[i] = Math.max(1, views[i].weight());
    }
    return w;
  }

  static int[] build(int[] weights) {
    int n = weights.length;
    int g = 0;
    long total = 0;
    boolean equal = true;
    for (int w : weights) {
      g = gcd(g, w);
      equal &= w == weights[0];
    }
    if (equal) {
      int[] identity = new int[n];
      for (int i = 0; i < n; i++) {
        identity[i] = i;
      }
      return identity;
    }
    long[] w = new long[n];
    for (int i = 0; i < n; i++) {
      w[i] = weights[i] / g;
      total += w[i];
    }
    if (total > MAX_LENGTH) {
      double scale = (double) MAX_LENGTH / total;
      total = 0;
      for (int i = 0; i < n; i++) {
        w[i] = Math.max(1, Math.round(w[i] * scale));
        total += w[i];
      }
    }
    int length = (int) total;
    long[] count = new long[n]; // occurrences placed so far
    int[] heap = new int[n];
    for (int i = 0; i < n; i++) {
      heap[i] = i;
    }
    for (int i = n / 2 - 1; i >= 0; i--) {
      siftDown(heap, i, n, count, w);
    }
    int[] schedule = new int[length];
    int size = n;
    for (int pos = 0; pos < length; pos++) {
      int top = heap[0];
      schedule[pos] = top;
      count[top]++;
      if (count[top] == w[top]) {
        heap[0] = heap[--size];
      }
      siftDown(heap, 0, size, count, w);
    }
    return schedule;
  }

  /** True if a's next deadline (count[a]+1)/w[a] is earlier than b's; ties by index. */
  private static boolean earlier(int a, int b, long[] count, long[] w) {
    long lhs = (count[a] + 1) * w[b];
    long rhs = (count[b] + 1) * w[a];
    return lhs < rhs || (lhs == rhs && a < b);
  }

  private static void siftDown(int[] heap, int i, int size, long[] count, long[] w) {
    while (true) {
      int left = 2 * i + 1;
      if (left >= size) {
        return;
      }
      int child = left;
      int right = left + 1;
      if (right < size && earlier(heap[right], heap[left], count, w)) {
        child = right;
      }
      if (!earlier(heap[child], heap[i], count, w)) {
        return;
      }
      int tmp = heap[i];
      heap[i] = heap[child];
      heap[child] = tmp;
      i = child;
    }
  }

  private static int gcd(int a, int b) {
    while (b != 0) {
      int t = a % b;
      a = b;
      b = t;
    }
    return a;
  }
}
