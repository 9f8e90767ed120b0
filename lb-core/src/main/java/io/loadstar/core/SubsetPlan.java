package io.loadstar.core;

import io.loadstar.api.Endpoint;
import io.loadstar.api.KeyHash;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/*
 * Design notes: deterministic subsetting as rendezvous hashing from the endpoints' side, chosen
 * against the designs it draws on, with figures from lb-bench's FleetSimulation and
 * ChurnSimulation (1,000 clients, 500 endpoints, d = 20; "moved" counts client-endpoint pairs
 * added plus removed):
 *
 * - Finagle's deterministic aperture: endpoints evenly spaced on a ring by index, each client an
 *   arc of width d / B at i / N. Load is exactly even, but an endpoint joining or leaving respaces
 *   the whole ring: ~650 and ~940 pairs move where 40 would do (a prototype of the same inputs).
 * - Google's shuffled rounds (SRE book, ch. 20): rounds of R = B / d clients, each round a seeded
 *   shuffle of the endpoint list cut into R groups of exactly d. Even, but an endpoint joining
 *   changes the list every shuffle permutes, and with it most groups.
 * - Loadstar's own rounds of hash ranges (issue 15 until issue 25): an endpoint joining moved its
 *   own pairs, but R = round(B / d) decided every client's round and group, so an endpoint count
 *   crossing (R + 1/2) d planned every subset anew: 38,381 pairs for one endpoint at 509 -> 510.
 *   Google met the same problem with Autopilot resizing services ("Reinventing Backend Subsetting
 *   at Google", ACM Queue 2022).
 *
 * Here nothing depends on a group count. The fleet holds T = N x d client-endpoint pairs (N
 * positions, vacant ones included, so that a restart wave does not change it). Each endpoint gets
 * K = floor(T / B) clients, and the T mod B endpoints first in a fixed hash order one more: every
 * endpoint has K or K + 1, the ±1 of the book's deterministic subsetting, and the subsets average
 * d exactly. Endpoint e takes the live positions with the highest scores fmix64(h(e) + c x phi),
 * rendezvous hashing with its K winners. So:
 * - an endpoint joining takes its own K pairs from nobody, and K endpoints hand back the one extra
 *   client the changed T mod B no longer gives them: 2x its own, whatever B is (no group count to
 *   cross);
 * - a position leaving (vacant) hands each of its endpoints to that endpoint's next-highest live
 *   position: its own d pairs out, d in elsewhere; the joiner into its slot takes them back. A
 *   client joining at the end adds d to T (d endpoints gain a client) and wins about d endpoints
 *   from their lowest winner: about 3x its own. The gainers come in the fixed order so that an
 *   endpoint change moves exactly 2x; a prototype that chose them by looking ahead to the
 *   positions still to come moved 1.8x per such join on average, but up to 3.2x, and 2.1-2.4x per
 *   endpoint change (lb-bench's README, "The count's end, studied");
 * - subsets differ from client to client (no two share a group), so Sinkhorn scaling across the
 *   fleet evens the requests, as the rounds' independent groups allowed before.
 * A subset's size is Binomial-like around d, so capacities bound it at ceil(1.5 d) (consistent
 * hashing with bounded loads, Mirrokni, Thorup and Zadimoghaddam 2016), settled by drafting: in a
 * fixed hash order each endpoint takes its best position with room, then each its second, and so
 * on, so that where the fleet is short of room (most positions vacant) every endpoint goes about
 * as short as the others instead of the last ones going without. A full subset passes an endpoint
 * on to its next winner, which now and then moves a pair or two more than the figures above. A
 * subset below ceil(d / 2) borrows its own next-best endpoints, so a small d does not leave a
 * client with one endpoint or none.
 *
 * Cost: B x N scores (a multiply and a finaliser each) into a heap of 1.5 K + 8 per endpoint, a
 * sort of the T pairs, and Sinkhorn's passes over them: 8.6 ms for 1,000 x 500, 52 ms for 1,000 x
 * 10,000 (the rounds: 3.6 and 20), once per change of the endpoints, the client count or the
 * vacancies. Balancers of one service in one JVM share the last plan (the fleet simulation runs
 * 1,000 of them).
 */
/** The subsets of all clients of a service, for one list of endpoints. Immutable. */
final class SubsetPlan {

  private static final AtomicReference<SubsetPlan> LAST = new AtomicReference<>();
  private static final int MAX_ITERATIONS = 50;
  private static final double TOLERANCE = 0.001;
  private static final long PHI = 0x9E3779B97F4A7C15L;
  private static final long ORDER_SEED = 0x510e527fade682d1L; // the order endpoints are settled in
  private static final long SCORE_SEED = 0x3c6ef372fe94f82bL;
  private static final int CLIENT_BITS = 24; // positions below 2^24 > Subsetting.MAX_CLIENTS
  private static final long MASK = (1L << CLIENT_BITS) - 1;

  /** A subset holds at most this times the subset size, unless the fleet needs more. */
  static final double MAX_GROUP = 1.5;

  /** Endpoint weights are scaled by this factor before the pair weights multiply them. */
  static final int WEIGHT_SCALE = 100;

  private final List<Endpoint> endpoints; // sorted by key, as the balancer canonicalizes them
  private final int clients;
  private final int size;
  private final int[] vacant;
  private final long[] keyHash; // per endpoint: the hash its scores start from
  private final int[][] members; // per client, endpoint indexes ascending
  private final double[][] factors; // per client, per member: the balancing weight (mean 1)

  private SubsetPlan(
      List<Endpoint> endpoints,
      int clients,
      int size,
      int[] vacant,
      long[] keyHash,
      int[][] members,
      double[][] factors) {
    this.endpoints = endpoints;
    this.clients = clients;
    this.size = size;
    this.vacant = vacant;
    this.keyHash = keyHash;
    this.members = members;
    this.factors = factors;
  }

  /**
   * The plan for {@code endpoints} (sorted by key), {@code clients} positions of which {@code
   * vacant} (ascending) are held by nobody, and subset {@code size}.
   */
  static SubsetPlan of(List<Endpoint> endpoints, int clients, int size, int[] vacant) {
    SubsetPlan last = LAST.get();
    if (last != null
        && last.clients == clients
        && last.size == size
        && Arrays.equals(last.vacant, vacant)
        && last.endpoints.equals(endpoints)) {
      return last;
    }
    SubsetPlan plan = compute(List.copyOf(endpoints), clients, size, vacant.clone());
    LAST.set(plan);
    return plan;
  }

  private static SubsetPlan compute(List<Endpoint> endpoints, int clients, int size, int[] vacant) {
    int b = endpoints.size();
    long[] keyHash = new long[b];
    long[] order = new long[b]; // settling order: hash high bits, endpoint index low bits
    for (int e = 0; e < b; e++) {
      String key = endpoints.get(e).key();
      keyHash[e] = KeyHash.hash(key, SCORE_SEED);
      order[e] = (KeyHash.hash(key, ORDER_SEED) & ~MASK) | e;
    }
    Arrays.sort(order);
    boolean[] isVacant = new boolean[clients];
    for (int v : vacant) {
      isVacant[v] = true;
    }
    // every endpoint gets a client, even where the plan is asked for fewer pairs than endpoints
    long pairs = Math.max((long) clients * size, b);
    long perEndpoint = pairs / b;
    long extra = pairs % b; // the first `extra` endpoints in settling order get one client more
    int capacity = (int) Math.ceil(MAX_GROUP * Math.max(size, (double) pairs / clients));
    Draft draft = new Draft(keyHash, isVacant, capacity);
    int[] want = new int[b]; // per settling rank
    for (int rank = 0; rank < b; rank++) {
      want[rank] = (int) Math.min(clients, perEndpoint + (rank < extra ? 1 : 0));
      draft.shortlist((int) (order[rank] & MASK), want[rank]);
    }
    long[] chosen = new long[(int) Math.min(pairs, Integer.MAX_VALUE - 8)];
    int n = 0;
    // Drafting: each endpoint takes its best position with room, then each its second, and so on,
    // so that where capacity runs short every endpoint goes about as short as the others.
    for (int level = 0; level < want[0]; level++) { // the first in settling order wants the most
      for (int rank = 0; rank < b && want[rank] > level; rank++) {
        int e = (int) (order[rank] & MASK);
        int c = draft.take(e);
        if (c >= 0) {
          chosen[n++] = ((long) c << 32) | e;
        }
      }
    }
    int[][] members = group(Arrays.copyOf(chosen, n), clients, draft.load);
    int minimum = Math.min(b, (size + 1) / 2);
    for (int c = 0; c < clients; c++) {
      if (!isVacant[c] && members[c].length < minimum) {
        members[c] = borrow(members[c], preference(keyHash, c), minimum);
      }
    }
    return new SubsetPlan(
        endpoints, clients, size, vacant, keyHash, members, balance(endpoints, members));
  }

  /** The drafting's state: each position's load, and each endpoint's shortlist of positions. */
  private static final class Draft {
    private final long[] keyHash;
    private final boolean[] isVacant;
    private final int capacity;
    final int[] load; // per position: the endpoints it took
    private final long[][] shortlist; // per endpoint: packed positions, ascending (best last)
    private final int[] left; // per endpoint: how many of its shortlist it has not tried

    Draft(long[] keyHash, boolean[] isVacant, int capacity) {
      this.keyHash = keyHash;
      this.isVacant = isVacant;
      this.capacity = capacity;
      this.load = new int[isVacant.length];
      this.shortlist = new long[keyHash.length][];
      this.left = new int[keyHash.length];
    }

    /** Shortlists endpoint {@code e}'s best positions: half again what it wants, and 8 more. */
    void shortlist(int e, int want) {
      shortlist[e] = best(keyHash[e], Long.MAX_VALUE, want * 3 / 2 + 8);
      left[e] = shortlist[e].length;
    }

    /**
     * Gives endpoint {@code e} its best position with room that it has not taken yet, and returns
     * it; -1 if no live position has room.
     */
    int take(int e) {
      while (true) {
        if (left[e] == 0) {
          if (shortlist[e].length == 0) {
            return -1;
          }
          long below = shortlist[e][0]; // every position above was taken or is full
          shortlist[e] = best(keyHash[e], below, shortlist[e].length);
          left[e] = shortlist[e].length;
          continue;
        }
        int c = (int) (shortlist[e][--left[e]] & MASK);
        if (load[c] < capacity) {
          load[c]++;
          return c;
        }
      }
    }

    /**
     * The {@code m} live positions with room whose packed scores (score high bits, position low
     * bits) for the endpoint of {@code keyHash} are highest below {@code below}, ascending.
     */
    private long[] best(long keyHash, long below, int m) {
      long[] heap = new long[Math.min(m, load.length)];
      int n = 0;
      for (int c = 0; c < load.length; c++) {
        if (isVacant[c] || load[c] >= capacity) {
          continue;
        }
        long packed = (score(keyHash, c) & ~MASK) | c;
        if (packed >= below) {
          continue;
        }
        if (n < heap.length) {
          heap[n] = packed;
          siftUp(heap, n++);
        } else if (heap.length > 0 && packed > heap[0]) {
          heap[0] = packed;
          siftDown(heap, n);
        }
      }
      long[] out = Arrays.copyOf(heap, n);
      Arrays.sort(out);
      return out;
    }
  }

  /** Position {@code c}'s score for the endpoint of {@code keyHash}: higher wins. */
  private static long score(long keyHash, int c) {
    return KeyHash.fmix64(keyHash + (c + 1L) * PHI);
  }

  private static void siftUp(long[] heap, int i) {
    long x = heap[i];
    while (i > 0 && heap[(i - 1) / 2] > x) {
      heap[i] = heap[(i - 1) / 2];
      i = (i - 1) / 2;
    }
    heap[i] = x;
  }

  private static void siftDown(long[] heap, int n) {
    int i = 0;
    long x = heap[0];
    while (2 * i + 1 < n) {
      int child = 2 * i + 1;
      if (child + 1 < n && heap[child + 1] < heap[child]) {
        child++;
      }
      if (heap[child] >= x) {
        break;
      }
      heap[i] = heap[child];
      i = child;
    }
    heap[i] = x;
  }

  /** The chosen (position, endpoint) pairs as each position's endpoints, ascending. */
  private static int[][] group(long[] pairs, int clients, int[] load) {
    Arrays.sort(pairs);
    int[][] members = new int[clients][];
    int at = 0;
    for (int c = 0; c < clients; c++) {
      members[c] = new int[load[c]];
      for (int j = 0; j < load[c]; j++) {
        members[c][j] = (int) pairs[at++];
      }
    }
    return members;
  }

  /** Every endpoint index, from position {@code c}'s highest score to its lowest. */
  private static int[] preference(long[] keyHash, int c) {
    int b = keyHash.length;
    long[] packed = new long[b];
    for (int e = 0; e < b; e++) {
      packed[e] = (score(keyHash[e], c) & ~MASK) | e;
    }
    Arrays.sort(packed);
    int[] out = new int[b];
    for (int i = 0; i < b; i++) {
      out[i] = (int) (packed[b - 1 - i] & MASK);
    }
    return out;
  }

  /** {@code own} and the first endpoints of {@code preference} it lacks, up to {@code minimum}. */
  private static int[] borrow(int[] own, int[] preference, int minimum) {
    int[] out = Arrays.copyOf(own, minimum);
    int n = own.length;
    for (int e : preference) {
      if (n >= minimum) {
        break;
      }
      if (!contains(own, e)) {
        out[n++] = e;
      }
    }
    Arrays.sort(out, 0, n);
    return Arrays.copyOf(out, n);
  }

  private static boolean contains(int[] a, int v) {
    for (int x : a) {
      if (x == v) {
        return true;
      }
    }
    return false;
  }

  /**
   * Sinkhorn scaling: pair weights such that each client sends one unit in all and each endpoint
   * receives its share of the total by base weight. Returns per client, per member, weights whose
   * mean over the client's members is 1.
   */
  private static double[][] balance(List<Endpoint> endpoints, int[][] members) {
    int b = endpoints.size();
    double[] target = new double[b];
    double totalWeight = 0;
    for (Endpoint e : endpoints) {
      totalWeight += Math.max(1, e.weight());
    }
    int senders = 0; // the clients that hold their positions: each sends one unit
    for (int[] m : members) {
      senders += m.length > 0 ? 1 : 0;
    }
    for (int e = 0; e < b; e++) {
      target[e] = senders * Math.max(1, endpoints.get(e).weight()) / totalWeight;
    }
    double[][] w = new double[members.length][];
    for (int c = 0; c < members.length; c++) {
      w[c] = new double[members[c].length];
      for (int j = 0; j < members[c].length; j++) {
        w[c][j] = Math.max(1, endpoints.get(members[c][j]).weight());
      }
    }
    double[] received = new double[b];
    for (int iteration = 0; iteration < MAX_ITERATIONS; iteration++) {
      Arrays.fill(received, 0);
      for (int c = 0; c < members.length; c++) {
        double sum = 0;
        for (double x : w[c]) {
          sum += x;
        }
        for (int j = 0; j < w[c].length; j++) {
          received[members[c][j]] += w[c][j] / sum;
        }
      }
      double worst = 0;
      for (int e = 0; e < b; e++) {
        if (received[e] > 0) {
          worst = Math.max(worst, Math.abs(received[e] / target[e] - 1));
        }
      }
      if (worst < TOLERANCE) {
        break;
      }
      for (int c = 0; c < members.length; c++) {
        for (int j = 0; j < w[c].length; j++) {
          int e = members[c][j];
          if (received[e] > 0) {
            w[c][j] *= target[e] / received[e];
          }
        }
      }
    }
    for (int c = 0; c < members.length; c++) {
      double mean = 0;
      for (double x : w[c]) {
        mean += x;
      }
      mean /= Math.max(1, w[c].length);
      for (int j = 0; j < w[c].length; j++) {
        w[c][j] /= mean;
      }
    }
    return w;
  }

  /**
   * Client {@code index}'s subset: its endpoints with their weights multiplied by the balancing
   * weight and {@link #WEIGHT_SCALE}.
   */
  List<Endpoint> subset(int index) {
    int[] m = members[index];
    double[] f = factors[index];
    List<Endpoint> out = new ArrayList<>(m.length);
    for (int j = 0; j < m.length; j++) {
      out.add(scaled(endpoints.get(m[j]), f[j]));
    }
    return out;
  }

  /** {@code e} with its weight times {@code factor} and {@link #WEIGHT_SCALE}, within range. */
  private static Endpoint scaled(Endpoint e, double factor) {
    long weight = Math.round(Math.max(1, e.weight()) * factor * WEIGHT_SCALE);
    return e.withWeight((int) Math.max(1, Math.min(Endpoint.MAX_WEIGHT, weight)));
  }

  /**
   * The endpoints client {@code index} widens into, in order: the others by its own scores, highest
   * first.
   */
  List<Endpoint> widening(int index) {
    int[] own = members[index];
    List<Endpoint> out = new ArrayList<>();
    for (int e : preference(keyHash, index)) {
      if (!contains(own, e)) {
        out.add(scaled(endpoints.get(e), 1.0));
      }
    }
    return out;
  }
}
