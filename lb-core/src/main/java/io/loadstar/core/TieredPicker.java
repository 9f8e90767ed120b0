package io.loadstar.core;

import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.api.Picker;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;
import org.jspecify.annotations.Nullable;

/*
 * Design notes: the snapshot a balancer publishes with one volatile write. It tries tier 0's
 * picker first and falls to the next tier only when a tier cannot serve the pick (no usable
 * endpoint, or all excluded or at their limit). With tier spill-over, a draw from the thread's
 * random stream first chooses a tier by its share of the load (parts of 10,000). Everything a
 * failure message needs (the counts by state when it was built) travels with the snapshot, so a
 * failed pick explains itself from the same state it was picked from; the message is built on
 * the failure path only.
 */
/** The published snapshot: one picker per usable tier, in priority order. Immutable. */
final class TieredPicker implements Picker, PickPeek.Peeking {

  /**
   * The endpoints listed when a snapshot was built, counted by why they cannot serve; the usable
   * ones are kept to count, on a failed pick, those the call already tried or at their limit.
   */
  record Counts(
      int total,
      int zeroWeight,
      int ejected,
      int unhealthy,
      EndpointState[] usable,
      int maxInFlight) {

    static final Counts NONE = new Counts(0, 0, 0, 0, new EndpointState[0], 0);

    /** Counts the endpoints of one build by their {@code statuses}. */
    static Counts of(EndpointStatus[] statuses, int maxInFlight) {
      int zeroWeight = 0;
      int ejected = 0;
      int unhealthy = 0;
      EndpointState[] usable = new EndpointState[statuses.length];
      int n = 0;
      for (EndpointStatus s : statuses) {
        switch (s.kind) {
          case DRAINING:
            zeroWeight++;
            break;
          case EJECTED:
            ejected++;
            break;
          case UNHEALTHY:
            unhealthy++;
            break;
          default:
            usable[n++] = s.state;
        }
      }
      return new Counts(
          statuses.length, zeroWeight, ejected, unhealthy, Arrays.copyOf(usable, n), maxInFlight);
    }

    /**
     * The last resort of a pick that found nothing: an endpoint held back only while the control
     * loop decides on an ejection its failures asked for, not yet tried by the call, from a random
     * start so that a burst spreads; null if there is none.
     */
    @Nullable PickResult pickHeld(PickContext context) {
      int n = usable.length;
      if (n == 0) {
        return null;
      }
      int start = ThreadLocalRandom.current().nextInt(n);
      for (int i = 0; i < n; i++) {
        EndpointState s = usable[(start + i) % n];
        if (s.isHeld() && !context.isTried(s.endpoint())) {
          PickResult r = s.tryAcquireHeld();
          if (r != null) {
            return r;
          }
        }
      }
      return null;
    }

    String describe(PickContext context) {
      int tried = 0;
      int atLimit = 0;
      for (EndpointState s : usable) {
        if (context.isTried(s.endpoint())) {
          tried++;
        } else if (s.atLimit()) {
          atLimit++;
        }
      }
      StringBuilder sb = new StringBuilder();
      sb.append("0 of ").append(total).append(" ready (");
      String sep = "";
      if (tried > 0) {
        sb.append(tried).append(" already tried");
        sep = ", ";
      }
      if (atLimit > 0) {
        sb.append(sep).append(atLimit).append(" at in-flight limit ").append(maxInFlight);
        sep = ", ";
      }
      if (ejected > 0) {
        sb.append(sep).append(ejected).append(" ejected");
        sep = ", ";
      }
      if (unhealthy > 0) {
        sb.append(sep).append(unhealthy).append(" unhealthy");
        sep = ", ";
      }
      if (zeroWeight > 0) {
        sb.append(sep).append(zeroWeight).append(" drained or with weight 0");
        sep = ", ";
      }
      if (sep.isEmpty()) {
        sb.append("none usable");
      }
      return sb.append(')').toString();
    }
  }

  private final Picker[] tiers;
  private final int @Nullable [] cumulativeLoad; // parts of 10,000 per tier, with spill-over
  private final @Nullable PerThread random;
  private final @Nullable String fixedReason; // why nothing can be picked, if not by state
  private final Counts counts;
  private final ServiceEvents failures;

  private TieredPicker(
      List<Picker> tiers,
      int @Nullable [] cumulativeLoad,
      @Nullable PerThread random,
      @Nullable String fixedReason,
      Counts counts,
      ServiceEvents failures) {
    if (cumulativeLoad != null && (random == null || cumulativeLoad.length != tiers.size())) {
      throw new IllegalArgumentException("a load per tier and a random stream, or neither");
    }
    this.tiers = tiers.toArray(new Picker[0]);
    this.cumulativeLoad = cumulativeLoad;
    this.random = random;
    this.fixedReason = fixedReason;
    this.counts = counts;
    this.failures = failures;
  }

  /** A snapshot of {@code tiers}, tried in order; {@code counts} explain a failed pick. */
  static TieredPicker of(List<Picker> tiers, Counts counts, ServiceEvents failures) {
    return new TieredPicker(tiers, null, null, null, counts, failures);
  }

  /**
   * A snapshot that first draws a tier by {@code cumulativeLoad} (parts of 10,000, ascending, the
   * last 10,000; one per tier) from {@code random}, then falls back in order.
   */
  static TieredPicker spillover(
      List<Picker> tiers, int[] cumulativeLoad, PerThread random, Counts counts, ServiceEvents f) {
    return new TieredPicker(tiers, cumulativeLoad, random, null, counts, f);
  }

  /** A snapshot that picks nothing, for {@code reason}. */
  static TieredPicker empty(String reason, ServiceEvents failures) {
    return new TieredPicker(List.of(), null, null, reason, Counts.NONE, failures);
  }

  /** How many tiers can serve picks. */
  int tierCount() {
    return tiers.length;
  }

  /** How many endpoints were usable when the snapshot was built. */
  int usableCount() {
    return counts.usable().length;
  }

  @Override
  public PickResult pick(PickContext context) {
    Picker[] t = tiers;
    int[] load = cumulativeLoad;
    if (load != null) {
      int draw = PerThread.nextInt(random.get(), 10_000);
      int first = 0;
      while (load[first] <= draw) {
        first++;
      }
      PickResult r = t[first].pick(context);
      if (r.isAvailable()) {
        return r;
      }
    }
    String policy = null; // a reason of the split's, not of the endpoints' states
    for (int i = 0; i < t.length; i++) {
      PickResult r = t[i].pick(context);
      if (r.isAvailable()) {
        return r;
      }
      if (policy == null && r.reason().startsWith(CanaryStage.NO_CANARY)) {
        policy = r.reason();
      }
    }
    if (policy == null && fixedReason == null && t.length > 0) { // not a refusal by design
      PickResult held = counts.pickHeld(context);
      if (held != null) {
        return held;
      }
      // A hold may have ended since the pickers looked (the loop let the endpoint go last): once
      // more through the pickers, so the routing still decides.
      for (Picker p : t) {
        PickResult r = p.pick(context);
        if (r.isAvailable()) {
          return r;
        }
      }
    }
    String byState = fixedReason != null ? fixedReason : counts.describe(context);
    String reason = failures.withDiscoveryError(policy == null ? byState : byState + "; " + policy);
    failures.pickFailed(reason);
    return PickResult.unavailable(reason);
  }

  /**
   * The first tier that can serve, as pick() tries them; with spill-over, a draw among the tiers
   * with a load when more than one has one.
   */
  @Override
  public PickPeek peek(PickContext context) {
    Picker[] t = tiers;
    int[] load = cumulativeLoad;
    if (load != null) {
      List<PickPeek> loaded = new java.util.ArrayList<>();
      int previous = 0;
      for (int i = 0; i < t.length; i++) {
        if (load[i] > previous) {
          loaded.add(PickPeek.of(t[i], context));
        }
        previous = load[i];
      }
      PickPeek r = loaded.size() == 1 ? loaded.get(0) : PickPeek.union(loaded);
      if (!r.none()) {
        return r;
      }
    }
    for (Picker p : t) {
      PickPeek r = PickPeek.of(p, context);
      if (!r.none()) {
        return r;
      }
    }
    return PickPeek.NONE;
  }

  /** The pickers, in the order picks try them. */
  List<Picker> tiers() {
    return List.of(tiers);
  }

  @Override
  public String toString() {
    return "TieredPicker" + Arrays.toString(tiers);
  }
}
