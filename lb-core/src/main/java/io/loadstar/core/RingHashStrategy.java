package io.loadstar.core;

import io.loadstar.api.EndpointView;
import io.loadstar.api.KeyHash;
import io.loadstar.api.SelectionContext;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;

/*
 * Design notes: Karger's ring with virtual nodes (Ketama; Envoy's ring_hash). Endpoint i gets
 * round(w_i * scale) virtual nodes (at least 1), at positions hash(replica r, seed = hash of the
 * endpoint's key), so an endpoint's points do not depend on the other endpoints and a key can only
 * move to or from an endpoint that joined or left. scale is 2048 nodes per unit of weight, lowered
 * only when the ring would exceed maxRingSize (then the rescale moves some keys between stayers,
 * the price of bounding memory) and raised to reach minRingSize.
 *
 * Each ring entry is one long: the upper bits of the point's hash with the endpoint index in the
 * low bits, XOR the sign bit so that a signed sort gives unsigned ring order. Equal hash bits tie
 * by endpoint index, i.e. by key order, so the ring is the same whatever the input order. Lookup
 * is O(1) on average: a bucket table indexed by the top bits of the hash gives the first entry of
 * that bucket, and a short scan finds the successor (Ketama uses a binary search instead, ~17
 * dependent cache misses at 130k points). The same buckets sort the ring in linear time when it is
 * built (a bucket sort: the points are uniform hashes).
 */
/** Consistent hashing on a weighted ring of virtual nodes. Immutable. */
final class RingHashStrategy extends BuiltinStrategy {

  static final int NODES_PER_WEIGHT = 2048;

  private final RingHashConfig config;

  RingHashStrategy(RingHashConfig config) {
    this.config = config;
  }

  @Override
  boolean ramps() {
    return false; // a ramping weight would move keys back and forth
  }

  @Override
  boolean tracksTotalInFlight() {
    return config.boundedLoadFactor() > 0;
  }

  @Override
  public PickerFactory newPickerFactory(SelectionContext context) {
    PerThread perThread = new PerThread(context.seed());
    LongAdder total = tracksTotalInFlight() ? core(context).totalInFlight() : null;
    return ready -> new RingHashPicker(ready, perThread, config, total);
  }

  @Override
  public String toString() {
    return "ringHash(" + config + ")";
  }

  static final class RingHashPicker extends ConsistentHashPicker {
    private final long[] ring;
    private final long ownerMask;
    private final int bucketShift;
    private final int[] bucketStart;

    RingHashPicker(
        List<EndpointView> ready,
        PerThread perThread,
        RingHashConfig config,
        @Nullable LongAdder total) {
      super(ready, perThread, config.boundedLoadFactor(), total);
      int n = views.length;
      long totalWeight = 0;
      for (EndpointView v : views) {
        totalWeight += Math.max(1, v.weight());
      }
      double scale = NODES_PER_WEIGHT;
      if (scale * totalWeight > config.maxRingSize()) {
        scale = (double) config.maxRingSize() / totalWeight;
      }
      if (scale * totalWeight < config.minRingSize()) {
        scale = (double) config.minRingSize() / totalWeight;
      }
      int[] nodes = new int[n];
      long size = 0;
      for (int i = 0; i < n; i++) {
        nodes[i] = (int) Math.max(1, Math.round(Math.max(1, views[i].weight()) * scale));
        size += nodes[i];
      }
      int ownerBits = Math.max(1, 32 - Integer.numberOfLeadingZeros(n - 1));
      this.ownerMask = (1L << ownerBits) - 1;
      long[] seeds = new long[n];
      for (int i = 0; i < n; i++) {
        seeds[i] = identityHash(views[i], SEED_1);
      }
      int bucketBits = Math.max(1, 32 - Integer.numberOfLeadingZeros((int) size - 1));
      bucketBits = Math.min(bucketBits, 24);
      this.bucketShift = 64 - bucketBits;
      this.bucketStart = new int[(1 << bucketBits) + 1];
      this.ring = sortedRing(nodes, seeds, (int) size);
    }

    /**
     * Builds the ring in linear time: the points are uniform hashes and there is about one per
     * bucket, so a counting pass sizes the buckets (the lookup table, as a by-product), a second
     * pass hashes each point again into its bucket, and each bucket of two or more is sorted in
     * place. The result is the array a comparison sort of all points would give.
     */
    private long[] sortedRing(int[] nodes, long[] seeds, int size) {
      int[] start = bucketStart;
      for (int i = 0; i < nodes.length; i++) {
        for (int r = 0; r < nodes[i]; r++) {
          start[bucket(entry(r, seeds[i], i)) + 1]++;
        }
      }
      for (int b = 1; b < start.length; b++) {
        start[b] += start[b - 1];
      }
      int[] fill = Arrays.copyOf(start, start.length - 1);
      long[] entries = new long[size];
      for (int i = 0; i < nodes.length; i++) {
        for (int r = 0; r < nodes[i]; r++) {
          long entry = entry(r, seeds[i], i);
          entries[fill[bucket(entry)]++] = entry;
        }
      }
      for (int b = 0; b + 1 < start.length; b++) {
        if (start[b + 1] - start[b] > 1) {
          Arrays.sort(entries, start[b], start[b + 1]); // a few entries: the JDK insertion-sorts
        }
      }
      return entries;
    }

    /** The ring entry of point {@code r} of endpoint {@code index}: hash bits, then the index. */
    private long entry(int r, long seed, int index) {
      return ((KeyHash.hash(r, seed) & ~ownerMask) | index) ^ Long.MIN_VALUE;
    }

    private int bucket(long entry) {
      return (int) ((entry ^ Long.MIN_VALUE) >>> bucketShift);
    }

    @Override
    int start(long hash) {
      long target = (hash & ~ownerMask) ^ Long.MIN_VALUE;
      long[] r = ring;
      int i = bucketStart[(int) (hash >>> bucketShift)];
      while (i < r.length && r[i] < target) {
        i++;
      }
      return i == r.length ? 0 : i;
    }

    @Override
    int owner(int position) {
      return (int) (ring[position] & ownerMask);
    }

    @Override
    int positions() {
      return ring.length;
    }
  }
}
