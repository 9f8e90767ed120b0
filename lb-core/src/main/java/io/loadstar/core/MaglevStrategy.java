package io.loadstar.core;

import io.loadstar.api.EndpointView;
import io.loadstar.api.SelectionContext;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design notes: Maglev (Eisenbud et al., NSDI 2016, section 3.4) with Envoy's weighting. Each
 * endpoint has a permutation of the M table slots, offset = h1 mod M, skip = h2 mod (M - 1) + 1,
 * from two hashes of its key (M prime, so every skip is a full cycle). Endpoints take turns in key
 * order claiming their next free slot; an endpoint of weight w takes a turn in round t only while
 * t * w >= its target, and each turn raises the target by the largest weight, so turns are taken
 * in proportion to weight. The table is full after M claims. Lookup is one multiply-shift and one
 * array read; spill walks to the next slots, which hold a weighted pseudo-random sequence of
 * endpoints for that key.
 *
 * Table size: the configured prime, or by default the first prime of a fixed ladder (65537,
 * 131101, ... about 65536 * 2^k) with at least 100 slots per endpoint (the paper's advice: shares
 * within 1%) up to 262,147 slots, and past that with at least 25 (shares within 4%). Turns give
 * each endpoint floor or ceil of M x w / W slots, so a larger table buys finer shares; past a few
 * thousand endpoints it no longer moves fewer keys when an endpoint leaves (lb-bench's
 * KeyMovement, keys moved per key of the leaving endpoint at 262,147 / 1,048,583 slots: 8.1 / 7.6
 * at 3,000 endpoints, 8.7 / 8.7 at 5,000, 9.5 / 9.5 at 10,000; at 1,000 it does: 5.9 / 3.0). The
 * 100 per endpoint stops at 262,147 because the table costs 4 bytes per slot and its build grows
 * as M ln M: at 10,000 endpoints 1,048,583 slots took about 40 ms per rebuild and 4 MB, 262,147
 * slots take about 12 ms and 1 MB. The size changes only when n crosses a rung, which remaps
 * most keys once; pin a size to avoid that.
 *
 * Cost: walking permutations to the first free slot takes about M ln M steps in all, most of them
 * in the last rounds, when few slots are free; Slots scans those few instead (same table).
 */
/** Consistent hashing with a weighted Maglev lookup table. Immutable. */
final class MaglevStrategy extends BuiltinStrategy {

  private static final Logger logger = LoggerFactory.getLogger(MaglevStrategy.class);

  static final int[] SIZE_LADDER = new int[8];

  static {
    for (int k = 0; k < SIZE_LADDER.length; k++) {
      SIZE_LADDER[k] = MaglevConfig.nextPrime((1 << 16) << k);
    }
  }

  private final MaglevConfig config;

  MaglevStrategy(MaglevConfig config) {
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

  /**
   * The ladder's third rung, 262,147: the automatic size takes a rung below it with {@link
   * #SLOTS_FINE} slots per endpoint, and it or one above with {@link #SLOTS_BEYOND}.
   */
  static final int FINE_UP_TO = SIZE_LADDER[2];

  /** Slots per endpoint of an automatic table below {@link #FINE_UP_TO} slots. */
  static final int SLOTS_FINE = 100;

  /** Slots per endpoint of an automatic table of {@link #FINE_UP_TO} slots or more. */
  static final int SLOTS_BEYOND = 25;

  static int tableSize(int configured, int n) {
    if (configured > 0 && configured >= n) {
      return configured;
    }
    for (int size : SIZE_LADDER) {
      long perEndpoint = size < FINE_UP_TO ? SLOTS_FINE : SLOTS_BEYOND;
      if (size >= perEndpoint * n) {
        return size;
      }
    }
    return SIZE_LADDER[SIZE_LADDER.length - 1];
  }

  @Override
  public PickerFactory newPickerFactory(SelectionContext context) {
    PerThread perThread = new PerThread(context.seed());
    LongAdder total = tracksTotalInFlight() ? core(context).totalInFlight() : null;
    String service = context.serviceName();
    return ready -> {
      int size = tableSize(config.tableSize(), ready.size());
      if (config.tableSize() > 0 && size != config.tableSize()) {
        logger.warn(
            "[{}] maglev tableSize {} is smaller than the {} endpoints; using {}",
            service,
            config.tableSize(),
            ready.size(),
            size);
      }
      return new MaglevPicker(ready, perThread, config.boundedLoadFactor(), total, size);
    };
  }

  @Override
  public String toString() {
    return "maglev(" + config + ")";
  }

  static final class MaglevPicker extends ConsistentHashPicker {
    private final int[] table;

    MaglevPicker(
        List<EndpointView> ready,
        PerThread perThread,
        double boundedLoadFactor,
        @Nullable LongAdder total,
        int size) {
      super(ready, perThread, boundedLoadFactor, total);
      this.table = populate(views, size);
    }

    static int[] populate(EndpointView[] views, int m) {
      int n = views.length;
      int[] table = new int[m];
      long[] next = new long[n]; // current slot of each permutation
      long[] skip = new long[n];
      long[] target = new long[n];
      long[] weight = new long[n];
      long maxWeight = 1;
      for (int i = 0; i < n; i++) {
        next[i] = Long.remainderUnsigned(identityHash(views[i], SEED_1), m);
        skip[i] = Long.remainderUnsigned(identityHash(views[i], SEED_2), m - 1) + 1;
        weight[i] = Math.max(1, views[i].weight());
        maxWeight = Math.max(maxWeight, weight[i]);
      }
      Arrays.fill(target, maxWeight); // first turn in round maxWeight / weight
      Slots slots = new Slots(m, n);
      for (long round = 1; slots.free > 0; round++) {
        for (int i = 0; i < n && slots.free > 0; i++) {
          if (round * weight[i] < target[i]) {
            continue;
          }
          target[i] += maxWeight;
          long c = slots.claim(next[i], skip[i], i);
          table[(int) c] = i;
          c += skip[i] - m;
          next[i] = c + (m & (c >> 63));
        }
      }
      return table;
    }

    @Override
    int start(long hash) {
      return (int) (((hash >>> 32) * table.length) >>> 32);
    }

    @Override
    int owner(int position) {
      return table[position];
    }

    @Override
    int positions() {
      return table.length;
    }
  }

  /**
   * The free slots of a table being populated, and the first free one along a permutation. While
   * more than sqrt(m) are free, a permutation is walked over a bitmap of taken slots (m / 8 bytes,
   * in the core's cache); after that, when a walk would take about m / free steps, the few free
   * slots are scanned instead: slot f is step (f - c) x skip^-1 mod m of the walk from c (m is
   * prime), and the nearest is the one the walk would reach first. Same slots, same order; the
   * population's last rounds cost sqrt(m) per claim instead of up to m.
   */
  private static final class Slots {
    private final long m;
    private final double reciprocal;
    private final long[] taken;
    private final int scanBelow;
    private final long[] inverse; // per endpoint: skip^-1 mod m, 0 until needed
    private int @Nullable [] list;
    int free;

    Slots(int m, int endpoints) {
      this.m = m;
      this.reciprocal = 1.0 / m;
      this.taken = new long[(m + 63) >>> 6];
      this.scanBelow = (int) Math.sqrt(m);
      this.inverse = new long[endpoints];
      this.free = m;
    }

    /** Takes and returns the first free slot of endpoint {@code i}'s walk from {@code c}. */
    long claim(long c, long skip, int i) {
      free--;
      if (free >= scanBelow) { // free only falls: once below, every later claim scans
        long step = skip - m;
        while ((taken[(int) (c >>> 6)] & (1L << c)) != 0) {
          c += step;
          c += m & (c >> 63);
        }
        taken[(int) (c >>> 6)] |= 1L << c;
        return c;
      }
      int[] slots = list != null ? list : (list = remaining());
      long inv = inverse[i];
      if (inv == 0) {
        inv = inverse(skip, m);
        inverse[i] = inv;
      }
      int best = 0;
      long nearest = Long.MAX_VALUE;
      for (int k = 0; k <= free; k++) {
        long d = slots[k] - c;
        long x = (d + (m & (d >> 63))) * inv; // below 2^48: exact in a double's 53 bits
        long r = x - (long) (x * reciprocal) * m; // x mod m, give or take one m
        r += m & (r >> 63);
        r -= m;
        r += m & (r >> 63);
        if (r < nearest) {
          nearest = r;
          best = k;
        }
      }
      long slot = slots[best];
      slots[best] = slots[free];
      return slot;
    }

    /** The free slots, in any order. */
    private int[] remaining() {
      int[] out = new int[free + 1];
      int k = 0;
      for (int w = 0; w < taken.length; w++) {
        long bits = ~taken[w];
        while (bits != 0) {
          long slot = ((long) w << 6) + Long.numberOfTrailingZeros(bits);
          bits &= bits - 1;
          if (slot < m) {
            out[k++] = (int) slot;
          }
        }
      }
      return out;
    }

    /** {@code a}^-1 mod the prime {@code m} (extended Euclid). */
    private static long inverse(long a, long m) {
      long t = 0;
      long newT = 1;
      long r = m;
      long newR = a;
      while (newR != 0) {
        long q = r / newR;
        long x = t - q * newT;
        t = newT;
        newT = x;
        x = r - q * newR;
        r = newR;
        newR = x;
      }
      return t < 0 ? t + m : t;
    }
  }
}
