package io.loadstar.core;

import com.github.benmanes.caffeine.cache.Cache;
import io.loadstar.api.KeyHash;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.api.Picker;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/*
 * Design notes: sticky affinity for one tier. The ring is built over every listed endpoint of the
 * tier, usable or not (ejected, unhealthy, drained), so an endpoint going away does not move other
 * keys, and the walk from a key's position gives its endpoint and then its fallbacks, always in the
 * same order: the first eligible one wins. Eligible = usable, and (return after N) usable for N
 * already; if that leaves none, every usable one is. The snapshot is rebuilt when an endpoint's N
 * is up. Keys that must never return are remembered in a Caffeine cache (key hash -> endpoint key),
 * written only when a key falls back and read only while the cache is not empty. A pick without a
 * key goes to the tier's ordinary picker.
 *
 * Ring density: an endpoint's points depend on its own weight and on two coarse facts of the tier
 * that change only at powers of two, never on the other endpoints' exact weights or number, so an
 * endpoint joining or leaving moves only its own keys. Each endpoint gets pointsPerUnit(n) x
 * weight / unit points, where pointsPerUnit is 65,536 / n rounded down to a power of two (at most
 * 4,096), and unit is the largest weight rounded down to a power of two. With 4 equal endpoints
 * that is 4,096 points each, whose key shares vary by about 1.6% of the fair share (one standard
 * deviation; 64 points each varied by 12%, and one of four took 1.35x its share); the ring stays
 * under about 262,144 points whatever the tier's size. When the tier grows or shrinks across a
 * power of two (16 to 17 endpoints, say), or its largest weight does, the density changes and more
 * keys than the member's own move, once.
 */
/** A tier's picker with sticky keys. Immutable apart from the shared moved-keys cache. */
final class AffinityPicker implements Picker, PickPeek.Peeking {

  /** The points a tier's ring aims at in all: 65,536, with up to twice that from weights. */
  static final int RING_POINTS = 65_536;

  /** The most points per unit of weight, for small tiers. */
  static final int MAX_POINTS_PER_UNIT = 4_096;

  /** Bits of a packed ring entry that hold the endpoint's index; the rest hold the hash. */
  private static final int INDEX_BITS = 20;

  private static final long INDEX_MASK = (1L << INDEX_BITS) - 1;

  private final @Nullable Picker unkeyed;
  private final EndpointState[] endpoints;
  private final boolean[] eligible;
  private final long[] ring; // sorted point hashes
  private final int[] owners; // endpoint index of each point
  // The first ring position of each range of hashes by their top bits: a key's lookup searches a
  // handful of points instead of the whole ring (fewer cache misses on a ring of 50,000 points).
  private final int[] buckets;
  private final int bucketShift;
  private final @Nullable Cache<Long, String> moved;
  private final Map<String, Integer> index;
  private final PickResult none;

  /**
   * @param unkeyed the tier's picker for picks without a key (null if nothing is usable)
   * @param all every listed endpoint of the tier with a weight, in key order
   * @param eligible which of {@code all} keys may go to now
   * @param moved the keys that moved and must stay (NEVER), or null
   */
  AffinityPicker(
      @Nullable Picker unkeyed,
      List<EndpointState> all,
      boolean[] eligible,
      @Nullable Cache<Long, String> moved) {
    this.unkeyed = unkeyed;
    this.endpoints = all.toArray(new EndpointState[0]);
    this.eligible = eligible;
    this.moved = moved;
    if (endpoints.length > INDEX_MASK + 1) {
      throw new IllegalArgumentException(
          "sticky affinity: "
              + endpoints.length
              + " endpoints in a tier (expected: at most 1048576)");
    }
    int[] points = points(endpoints);
    int total = 0;
    for (int p : points) {
      total += p;
    }
    // Each entry packs a point's hash (high bits) with its endpoint's index (low bits), so one
    // primitive sort orders the ring; the sign bit is flipped to sort the hashes as unsigned.
    long[] packed = new long[total];
    int k = 0;
    for (int i = 0; i < endpoints.length; i++) {
      long base = KeyHash.hash(endpoints[i].endpoint().key(), ConsistentHashPicker.SEED_1);
      for (int j = 0; j < points[i]; j++) {
        long h = KeyHash.fmix64(base + j * 0x9E3779B97F4A7C15L);
        packed[k++] = ((h & ~INDEX_MASK) | i) ^ Long.MIN_VALUE;
      }
    }
    Arrays.sort(packed);
    this.ring = new long[total];
    this.owners = new int[total];
    for (int i = 0; i < total; i++) {
      long p = packed[i] ^ Long.MIN_VALUE;
      ring[i] = p & ~INDEX_MASK;
      owners[i] = (int) (p & INDEX_MASK);
    }
    int bits = Math.max(1, Math.min(20, 31 - Integer.numberOfLeadingZeros(Math.max(1, total)) - 2));
    this.bucketShift = 64 - bits;
    this.buckets = new int[(1 << bits) + 1];
    int pos = 0;
    for (int b = 0; b < (1 << bits); b++) {
      while (pos < total && (ring[pos] >>> bucketShift) < b) {
        pos++;
      }
      buckets[b] = pos;
    }
    buckets[1 << bits] = total;
    this.index = new HashMap<>();
    for (int i = 0; i < endpoints.length; i++) {
      index.put(endpoints[i].endpoint().key(), i);
    }
    this.none =
        PickResult.unavailable(
            "no usable endpoint for the key among " + endpoints.length + " in its tier");
  }

  /** Each endpoint's points on the ring (see the design notes). */
  static int[] points(EndpointState[] endpoints) {
    int n = Math.max(1, endpoints.length);
    int perUnit =
        Math.min(MAX_POINTS_PER_UNIT, Math.max(1, Integer.highestOneBit(RING_POINTS / n)));
    int maxWeight = 1;
    for (EndpointState e : endpoints) {
      maxWeight = Math.max(maxWeight, e.baseWeight());
    }
    long unit = Integer.highestOneBit(maxWeight);
    int[] points = new int[endpoints.length];
    for (int i = 0; i < endpoints.length; i++) {
      long w = Math.max(1, endpoints[i].baseWeight());
      points[i] = (int) Math.max(1, Math.round((double) perUnit * w / unit));
    }
    return points;
  }

  @Override
  public PickResult pick(PickContext context) {
    if (!context.hasHashKey()) {
      return unkeyed != null ? unkeyed.pick(context) : none;
    }
    long h = context.hashKey();
    int start = start(h);
    int primary = owners[start];
    Cache<Long, String> m = moved;
    if (m != null && eligible[primary] && m.estimatedSize() > 0) {
      String to = m.getIfPresent(h);
      Integer i = to != null ? index.get(to) : null;
      if (i != null && eligible[i]) {
        PickResult r = tryPick(i, context);
        if (r != null) {
          return r;
        }
      }
    }
    int n = ring.length;
    for (int step = 0; step < n; step++) {
      int pos = start + step;
      int i = owners[pos >= n ? pos - n : pos];
      if (!eligible[i]) {
        continue;
      }
      PickResult r = tryPick(i, context);
      if (r != null) {
        if (m != null && i != primary && m.getIfPresent(h) == null) {
          m.put(h, endpoints[i].endpoint().key());
        }
        return r;
      }
    }
    return none;
  }

  /** Where a keyed pick would go, by the same walk as pick(), acquiring nothing. */
  @Override
  public PickPeek peek(PickContext context) {
    if (!context.hasHashKey()) {
      return unkeyed != null ? PickPeek.of(unkeyed, context) : PickPeek.NONE;
    }
    long h = context.hashKey();
    int start = start(h);
    int primary = owners[start];
    Cache<Long, String> m = moved;
    if (m != null && eligible[primary] && m.estimatedSize() > 0) {
      String to = m.getIfPresent(h);
      Integer i = to != null ? index.get(to) : null;
      if (i != null && eligible[i] && PickPeek.available(endpoints[i], context)) {
        return PickPeek.of(endpoints[i].endpoint());
      }
    }
    int n = ring.length;
    for (int step = 0; step < n; step++) {
      int pos = start + step;
      int i = owners[pos >= n ? pos - n : pos];
      if (eligible[i] && PickPeek.available(endpoints[i], context)) {
        return PickPeek.of(endpoints[i].endpoint());
      }
    }
    return PickPeek.NONE;
  }

  private @Nullable PickResult tryPick(int i, PickContext context) {
    EndpointState e = endpoints[i];
    if (context.triedCount() != 0 && context.isTried(e.endpoint())) {
      return null;
    }
    return e.tryAcquire();
  }

  /** The first ring position at or after {@code h} (unsigned), wrapping to 0. */
  private int start(long h) {
    long[] r = ring;
    int b = (int) (h >>> bucketShift);
    int lo = buckets[b];
    int hi = buckets[b + 1];
    while (lo < hi) {
      int mid = (lo + hi) >>> 1;
      if (Long.compareUnsigned(r[mid], h) < 0) {
        lo = mid + 1;
      } else {
        hi = mid;
      }
    }
    return lo == r.length ? 0 : lo;
  }

  @Override
  public String toString() {
    return "AffinityPicker{" + endpoints.length + " endpoints, " + ring.length + " points}";
  }
}
