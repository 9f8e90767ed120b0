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
 * 131101, ... about 65536 * 2^k) that is at least 100 x n, so Maglev's balance guarantee holds.
 * The size changes only when n crosses a rung, which remaps most keys once; pin a size to avoid
 * that.
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

  static int tableSize(int configured, int n) {
    if (configured > 0 && configured >= n) {
      return configured;
    }
    for (int size : SIZE_LADDER) {
      if (size >= 100L * n) {
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
      Arrays.fill(table, -1);
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
      int filled = 0;
      for (long round = 1; filled < m; round++) {
        for (int i = 0; i < n && filled < m; i++) {
          if (round * weight[i] < target[i]) {
            continue;
          }
          target[i] += maxWeight;
          long c = next[i];
          while (table[(int) c] >= 0) {
            c += skip[i];
            if (c >= m) {
              c -= m;
            }
          }
          table[(int) c] = i;
          c += skip[i];
          next[i] = c >= m ? c - m : c;
          filled++;
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
}
