package io.loadstar.core;

import io.loadstar.api.Endpoint;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.AtomicReference;

/*
 * Design notes: deterministic subsetting by rounds of hash ranges, chosen against the two designs
 * it draws on, with figures from lb-bench's FleetSimulation (1,000 clients, 500 endpoints, d =
 * 20; "moved" counts client-endpoint pairs added plus removed):
 *
 * - Finagle's deterministic aperture: endpoints evenly spaced on a ring by index, each client an
 *   arc of width d / B at i / N. Load is exactly even and an endpoint has N (d + 1) / B clients,
 *   but an endpoint joining or leaving respaces the whole ring: ~650 and ~940 pairs move where 40
 *   would do (a prototype of the same inputs).
 * - Google's shuffled rounds (SRE book, ch. 20): rounds of R = B / d clients, each round a seeded
 *   shuffle of the endpoint list cut into R groups of exactly d. Even, but an endpoint joining
 *   changes the list every shuffle permutes, and with it most groups.
 *
 * Here, as in Google's rounds, client i is member m = i mod R of round k = i / R. But a round's
 * groups are hash ranges, not positions: endpoint b is in group floor(R x h_k(b)) of round k, with
 * h_k a 64-bit hash of its key seeded with k. So:
 * - every endpoint is in exactly one group per round: N / R = N d / B clients, one per round
 *   (N d / B + 1 for those of a last, partial round);
 * - an endpoint joining lands in one group per round and gains those N d / B clients, nobody else
 *   changes; one leaving loses its own. That is the fewest pairs that can move (40 in the
 *   simulation, against the ~650 above);
 * - a client joining at the end takes the next group: d pairs. A client's group depends on its
 *   index only (once N >= B / d), so a client leaving moves its own d pairs if the others keep
 *   their indexes: stable positions (a StatefulSet's ordinal, lb-etcd's slots) do. Indexes from a
 *   sorted peer list would renumber the clients after a leaver, each taking another group (~20,000
 *   pairs in the simulation, where an arc design moves ~500). An index nobody holds (a vacant
 *   slot) has its group handed to the live members of its round (VacantGroups).
 * - a hash range's count varies around d (Binomial, since hashes scatter): with d = 10 and B = 50,
 *   4 to 20, so a client could hold twice the endpoints its owner planned for. Groups are
 *   therefore capped at 1.5 d (BoundedGroups: consistent hashing with bounded loads, an endpoint of
 *   a full range going to the next group with room). Every endpoint is still in one group per
 *   round; an endpoint joining a full group pushes one on to the next. Measured (SubsettingTest,
 *   30 endpoints joining 100, 200 clients, d = 10; ideal 20 pairs): no cap 20; cap 1.5 d, 21 on
 *   average and 24 at worst; 1.3 d, 31 and 43; 1.2 d, 38 and 50. So 1.5: within half of d for
 *   about 5% more movement, where a fifth would double it.
 * - group sizes vary still, and so would the requests an endpoint gets (0.91x to 1.15x the mean in
 *   the simulation). Every client therefore computes the
 *   same weights for all client-endpoint pairs by Sinkhorn scaling (each client sends one unit,
 *   each endpoint receives its share by base weight); groups of different rounds are independent,
 *   so 2 to 5 iterations bring every endpoint within 0.2% and the weights stay within about
 *   0.85..1.15. The weights are the only thing that changes for clients whose pairs do not.
 *
 * A group smaller than ceil(d / 2) borrows endpoints from the next groups of its round (in ring
 * order), so a small d does not leave a client with one endpoint or none. Cost: rounds x B hashes,
 * a sort per round only for the clients that widen, and a few passes over the N x d pairs: a few
 * milliseconds for 1,000 x 500, once per change of the endpoints or the client count. Balancers of
 * one service in one JVM share the last plan (the fleet simulation runs 1,000 of them).
 */
/** The subsets of all clients of a service, for one list of endpoints. Immutable. */
final class SubsetPlan {

  private static final AtomicReference<SubsetPlan> LAST = new AtomicReference<>();
  private static final int MAX_ITERATIONS = 50;
  private static final double TOLERANCE = 0.001;

  /** A group holds at most this times the subset size (BoundedGroups), unless that is too few. */
  static final double MAX_GROUP = 1.5;

  /** Endpoint weights are scaled by this factor before the pair weights multiply them. */
  static final int WEIGHT_SCALE = 100;

  private final List<Endpoint> endpoints; // sorted by key, as the balancer canonicalizes them
  private final int clients;
  private final int size;
  private final int[] vacant;
  private final int groups; // per round
  private final int[][] members; // per client, endpoint indexes
  private final double[][] factors; // per client, per member: the balancing weight (mean 1)

  private SubsetPlan(
      List<Endpoint> endpoints,
      int clients,
      int size,
      int[] vacant,
      int groups,
      int[][] members,
      double[][] factors) {
    this.endpoints = endpoints;
    this.clients = clients;
    this.size = size;
    this.vacant = vacant;
    this.groups = groups;
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
    int groups = (int) Math.max(1, Math.min(clients, Math.round((double) b / size)));
    int rounds = (clients + groups - 1) / groups;
    // group[k][e]: endpoint e's group in round k, groups of at most capacity endpoints
    int capacity = Math.max((int) Math.ceil(MAX_GROUP * size), (b + groups - 1) / groups);
    int[][] group = new int[rounds][];
    for (int k = 0; k < rounds; k++) {
      group[k] = BoundedGroups.of(endpoints, k, groups, capacity);
    }
    int minimum = Math.min(b, (size + 1) / 2);
    int[][] members = new int[clients][];
    for (int c = 0; c < clients; c++) {
      members[c] = membersOf(group[c / groups], c % groups, minimum, endpoints, c / groups, groups);
    }
    VacantGroups.cover(endpoints, group, groups, members, vacant, (size + 1) / 2);
    return new SubsetPlan(
        endpoints, clients, size, vacant, groups, members, balance(endpoints, members));
  }

  /** Group {@code m}'s endpoints, and the next ones in ring order if it has fewer than minimum. */
  private static int[] membersOf(
      int[] groupOf, int m, int minimum, List<Endpoint> endpoints, int round, int groups) {
    int n = 0;
    int[] out = new int[groupOf.length];
    for (int e = 0; e < groupOf.length; e++) {
      if (groupOf[e] == m) {
        out[n++] = e;
      }
    }
    if (n < minimum) {
      for (int e : ringAfter(endpoints, round, groups, m)) {
        if (n >= minimum) {
          break;
        }
        if (groupOf[e] != m) {
          out[n++] = e;
        }
      }
    }
    return Arrays.copyOf(out, n);
  }

  /**
   * Every endpoint in round {@code round}'s ring order, starting after group {@code m}'s range: the
   * order a subset borrows and widens in.
   */
  private static int[] ringAfter(List<Endpoint> endpoints, int round, int groups, int m) {
    int b = endpoints.size();
    // Positions around the ring are hash x groups (group g spans [g, g + 1) x 2^32); each
    // endpoint's key is its distance past the end of group m.
    long[] distance = new long[b];
    long end = (long) (m + 1) << 32;
    long span = (long) groups << 32;
    for (int e = 0; e < b; e++) {
      long position = BoundedGroups.position(endpoints.get(e), round, groups);
      distance[e] = Math.floorMod(position - end, span);
    }
    Integer[] order = new Integer[b];
    for (int e = 0; e < b; e++) {
      order[e] = e;
    }
    Arrays.sort(order, (x, y) -> Long.compare(distance[x], distance[y]));
    int[] out = new int[b];
    for (int e = 0; e < b; e++) {
      out[e] = order[e];
    }
    return out;
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
   * The endpoints client {@code index} widens into, in order: the rest of its round's ring after
   * its group, without its own members.
   */
  List<Endpoint> widening(int index) {
    int round = index / groups;
    int[] own = members[index];
    List<Endpoint> out = new ArrayList<>();
    for (int e : ringAfter(endpoints, round, groups, index % groups)) {
      boolean member = false;
      for (int x : own) {
        member |= x == e;
      }
      if (!member) {
        out.add(scaled(endpoints.get(e), 1.0));
      }
    }
    return out;
  }
}
