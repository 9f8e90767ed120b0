package io.loadstar.core;

import io.loadstar.api.EndpointView;
import io.loadstar.api.KeyHash;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import java.util.List;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;

/*
 * Design notes: the part ring hash and Maglev share. A subclass maps a 64-bit key hash to a start
 * position in its structure and walks positions from there; each position names an endpoint. The
 * first endpoint on the walk that is not excluded, not at its in-flight limit and (with bounded
 * load) not above its bound is picked, so the spill order for a key is deterministic: the next
 * distinct endpoint for that key.
 *
 * Bounded load (Mirrokni, Thorup, Zadimoghaddam, "Consistent Hashing with Bounded Loads"): with m
 * calls in flight over total weight W, an endpoint of weight w may take a call only while its
 * in-flight count is below ceil(factor * (m + 1) * w / W). After the pick it holds at most
 * factor x mean + 1. m is read from a LongAdder maintained by the endpoint states.
 *
 * The bound is soft: the in-flight total and the per-endpoint counts are read at slightly different
 * moments while other threads pick, so every endpoint can briefly look over its bound. A pick
 * then walks again ignoring the bound rather than fail: only exclusions and in-flight limits can
 * make a consistent-hash pick fail.
 *
 * Without a hash key, the picker draws a random 64-bit value instead, so keyless calls spread
 * like random.
 */
/** Shared logic of the consistent-hash pickers. Immutable; safe for concurrent use. */
abstract class ConsistentHashPicker extends BasePicker {

  /** Seeds of the endpoint-identity hashes; part of the compatibility contract. */
  static final long SEED_1 = 0x6c6f616473746172L; // "loadstar"

  static final long SEED_2 = 0x6d61676c65762121L; // "maglev!!"

  private final PerThread perThread;
  private final double boundedLoadFactor;
  private final @Nullable LongAdder totalInFlight;
  private final double totalWeight;

  ConsistentHashPicker(
      List<EndpointView> ready,
      PerThread perThread,
      double boundedLoadFactor,
      @Nullable LongAdder totalInFlight) {
    super(ready);
    this.perThread = perThread;
    this.boundedLoadFactor = boundedLoadFactor;
    this.totalInFlight = totalInFlight;
    long w = 0;
    for (EndpointView v : views) {
      w += Math.max(1, v.weight());
    }
    this.totalWeight = w;
  }

  static long identityHash(EndpointView view, long seed) {
    return KeyHash.hash(view.endpoint().key(), seed);
  }

  /** Returns the first position of the walk for {@code hash}. */
  abstract int start(long hash);

  /** Returns the endpoint index at {@code position}. */
  abstract int owner(int position);

  /** Returns the number of positions (the walk wraps after it). */
  abstract int positions();

  @Override
  public final PickResult pick(PickContext context) {
    long hash = context.hasHashKey() ? context.hashKey() : PerThread.nextLong(perThread.get());
    double scale = 0;
    LongAdder total = totalInFlight;
    if (total != null) {
      scale = boundedLoadFactor * (total.sum() + 1) / totalWeight;
    }
    int start = start(hash);
    PickResult r = walk(start, context, total, scale);
    if (r == null && total != null) {
      r = walk(start, context, null, 0);
    }
    return r != null ? r : exhausted;
  }

  /**
   * With a key, the first endpoint of its walk a pick could take (under the bound, if there is one,
   * else ignoring it, as pick() does); without one, a random draw.
   */
  @Override
  public PickPeek peek(PickContext context) {
    if (!context.hasHashKey()) {
      return super.peek(context);
    }
    LongAdder total = totalInFlight;
    double scale = total != null ? boundedLoadFactor * (total.sum() + 1) / totalWeight : 0;
    int start = start(context.hashKey());
    io.loadstar.api.Endpoint e = peekWalk(start, context, total, scale);
    if (e == null && total != null) {
      e = peekWalk(start, context, null, 0);
    }
    return e != null ? PickPeek.of(e) : PickPeek.NONE;
  }

  private io.loadstar.api.@Nullable Endpoint peekWalk(
      int position, PickContext context, @Nullable LongAdder bounded, double scale) {
    int size = positions();
    for (int step = 0; step < size; step++) {
      EndpointView view = views[owner(position)];
      if ((bounded == null || view.inFlight() < Math.ceil(scale * Math.max(1, view.weight())))
          && PickPeek.available(view, context)) {
        return view.endpoint();
      }
      if (++position == size) {
        position = 0;
      }
    }
    return null;
  }

  private @Nullable PickResult walk(
      int position, PickContext context, @Nullable LongAdder bounded, double scale) {
    int size = positions();
    int previous = -1;
    for (int step = 0; step < size; step++) {
      int index = owner(position);
      if (index != previous) {
        previous = index;
        EndpointView view = views[index];
        if (bounded == null || view.inFlight() < Math.ceil(scale * Math.max(1, view.weight()))) {
          PickResult r = tryPick(view, context);
          if (r != null) {
            return r;
          }
        }
      }
      if (++position == size) {
        position = 0;
      }
    }
    return null;
  }

  /**
   * Returns {@code factor} if it is a bounded-load factor: 1.0 to 100.0 (1.25: 25% over the mean).
   */
  static double checkBoundedLoadFactor(double factor) {
    if (!(factor >= 1.0 && factor <= 100.0)) {
      throw new IllegalArgumentException(
          "boundedLoadFactor: " + factor + " (expected: 1.0..100.0)");
    }
    return factor;
  }
}
