package io.loadstar.core;

import io.loadstar.api.Endpoint;
import io.loadstar.api.KeyHash;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.List;

/*
 * Design notes: a round's groups are hash ranges, so each endpoint is in exactly one group per
 * round and an endpoint joining lands in one group only. But a range's count is Binomial(B, 1/R):
 * with d = 10 and B = 50, groups of 4 to 20, so a client could hold twice the endpoints its owner
 * planned for. Consistent hashing with bounded loads (Mirrokni, Thorup, Zadimoghaddam 2016) caps
 * them: walking the ring in hash order, an endpoint goes to its range's group if that has fewer
 * than `capacity`, otherwise to the next group clockwise with room. Every endpoint is still in
 * exactly one group per round; an endpoint joining a full group pushes that group's last endpoint
 * on to the next group (and so on while the next ones are full too), so a few more pairs move than
 * its own. The wrap-around is settled by counting first: the carry into each group is computed
 * twice round the ring (the second lap is the steady state, since the capacities together hold
 * every endpoint), and the walk starts at a group nothing carries into.
 */
/** Each endpoint's group in one round: its hash range's, or the next clockwise with room. */
final class BoundedGroups {

  private BoundedGroups() {}

  /**
   * Where {@code e} stands on round {@code round}'s ring of {@code groups} groups, each 2^32 wide:
   * its hash range's group is the top half. SubsetPlan borrows and widens in this order too.
   */
  static long position(Endpoint e, int round, int groups) {
    return (KeyHash.hash(e.key(), round) >>> 32) * groups;
  }

  /**
   * Endpoint {@code e}'s group in round {@code round}, for every {@code e}: {@code groups} groups
   * of at most {@code capacity} endpoints, {@code capacity x groups >= endpoints.size()}.
   */
  static int[] of(List<Endpoint> endpoints, int round, int groups, int capacity) {
    int b = endpoints.size();
    long[] position = new long[b]; // on a ring of groups x 2^32: the group is the top half
    int[] count = new int[groups];
    Integer[] order = new Integer[b];
    for (int e = 0; e < b; e++) {
      position[e] = position(endpoints.get(e), round, groups);
      count[(int) (position[e] >>> 32)]++;
      order[e] = e;
    }
    Arrays.sort(order, (x, y) -> Long.compare(position[x], position[y]));
    int[] carryIn = new int[groups];
    int carry = 0;
    for (int lap = 0; lap < 2; lap++) {
      for (int g = 0; g < groups; g++) {
        carryIn[g] = carry;
        carry = Math.max(0, count[g] + carry - capacity);
      }
    }
    int start = 0;
    while (carryIn[start] != 0) {
      start++; // some group has room to spare, and nothing carries past it
    }
    int first = 0; // the first endpoint, in ring order, of group start or after
    while (first < b && (int) (position[order[first]] >>> 32) < start) {
      first++;
    }
    int[] out = new int[b];
    ArrayDeque<Integer> carried = new ArrayDeque<>();
    int next = 0; // how many endpoints of the ring order have been walked, from first
    for (int step = 0; step < groups; step++) {
      int g = (start + step) % groups;
      int placed = 0;
      while (!carried.isEmpty() && placed < capacity) {
        out[carried.poll()] = g;
        placed++;
      }
      while (next < b) {
        int e = order[(first + next) % b];
        if ((int) (position[e] >>> 32) != g) {
          break;
        }
        next++;
        if (placed < capacity) {
          out[e] = g;
          placed++;
        } else {
          carried.add(e);
        }
      }
    }
    if (!carried.isEmpty()) {
      throw new IllegalStateException(
          carried.size() + " endpoints left over: capacity " + capacity + " x " + groups);
    }
    return out;
  }
}
