package io.loadstar.core;

import io.loadstar.api.Endpoint;
import io.loadstar.api.KeyHash;
import java.util.Arrays;
import java.util.BitSet;
import java.util.List;

/*
 * Design notes: a vacant position is a client that left and whose place nobody has taken yet (a
 * slot freed in lb-etcd's EtcdPeers). Left alone, the endpoints of its group would have one client
 * fewer each until the place is taken again: after 20% of 1,000 clients scale down, 200 vacant
 * groups scattered over 40 rounds, and clients per endpoint from ~65% to ~130% of the ideal for as
 * long as the fleet stays smaller (ChurnSimulation in lb-bench).
 *
 * So each endpoint of a vacant group goes to one live member of the same round: the one with the
 * highest hash of (endpoint key, round, member's position), rendezvous hashing, so a member
 * joining or leaving the round moves only what it wins or held. Every endpoint thus keeps one
 * client per round while its round has a live member. A member takes at most ceil(d / 2) extra
 * endpoints (the next highest hash takes the rest; none left, and the endpoint goes without), so a
 * subset grows by half at most however empty its round is.
 *
 * Moves: a client leaving hands its group to the others of its round (its own d pairs out, d
 * pairs in elsewhere: 2x its own); the next joiner takes the place and the group back (the same).
 * Without this, a leaver moved d and the endpoints stayed short.
 */
/** Gives the endpoints of vacant positions' groups to the live members of their rounds. */
final class VacantGroups {

  private static final long SALT = 0x6a09e667f3bcc909L; // not a round's own group seed

  private VacantGroups() {}

  /**
   * Empties {@code members} of the {@code vacant} positions (ascending) and adds their groups'
   * endpoints to live members of the same round, at most {@code cap} extra each. {@code
   * group[k][e]} is endpoint {@code e}'s group in round {@code k}, {@code groups} the groups per
   * round.
   */
  static void cover(
      List<Endpoint> endpoints, int[][] group, int groups, int[][] members, int[] vacant, int cap) {
    if (vacant.length == 0) {
      return;
    }
    BitSet isVacant = new BitSet();
    for (int v : vacant) {
      isVacant.set(v);
      members[v] = new int[0];
    }
    int i = 0;
    while (i < vacant.length) {
      int round = vacant[i] / groups;
      int first = round * groups;
      int end = Math.min(members.length, first + groups);
      int[] live = new int[end - first];
      int n = 0;
      for (int p = first; p < end; p++) {
        if (!isVacant.get(p)) {
          live[n++] = p;
        }
      }
      int j = i;
      while (j < vacant.length && vacant[j] / groups == round) {
        j++;
      }
      if (n > 0) {
        coverRound(
            endpoints,
            group[round],
            round,
            Arrays.copyOf(live, n),
            members,
            vacant,
            i,
            j,
            groups,
            cap);
      }
      i = j;
    }
  }

  private static void coverRound(
      List<Endpoint> endpoints,
      int[] groupOf,
      int round,
      int[] live,
      int[][] members,
      int[] vacant,
      int from,
      int to,
      int groups,
      int cap) {
    int[][] extra = new int[live.length][cap];
    int[] taken = new int[live.length];
    for (int k = from; k < to; k++) {
      int g = vacant[k] % groups;
      for (int e = 0; e < groupOf.length; e++) {
        if (groupOf[e] != g) {
          continue;
        }
        String key = endpoints.get(e).key();
        int best = -1;
        long bestScore = 0;
        for (int x = 0; x < live.length; x++) {
          if (taken[x] >= cap || contains(members[live[x]], e)) {
            continue;
          }
          long score = KeyHash.hash(key, SALT ^ ((long) round << 32) ^ live[x]);
          if (best < 0 || score > bestScore) {
            best = x;
            bestScore = score;
          }
        }
        if (best >= 0) {
          extra[best][taken[best]++] = e;
        }
      }
    }
    for (int x = 0; x < live.length; x++) {
      if (taken[x] > 0) {
        int[] own = members[live[x]];
        int[] grown = Arrays.copyOf(own, own.length + taken[x]);
        System.arraycopy(extra[x], 0, grown, own.length, taken[x]);
        members[live[x]] = grown;
      }
    }
  }

  private static boolean contains(int[] a, int v) {
    for (int x : a) {
      if (x == v) {
        return true;
      }
    }
    return false;
  }
}
