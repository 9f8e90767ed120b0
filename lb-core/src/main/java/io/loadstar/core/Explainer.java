package io.loadstar.core;

import io.loadstar.api.Endpoint;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickExplanation;
import io.loadstar.api.SelectionStrategy;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import org.jspecify.annotations.Nullable;

/*
 * Design notes: explains a pick from the published snapshot, without picking: nothing is acquired,
 * no cursor or random stream moves. Each endpoint's candidacy and the reason it is not one come
 * from the status the snapshot was built with (EndpointStatus), the routing lines from the same
 * build, and where the pick would go from the snapshot's own pickers (PickPeek), so the
 * explanation cannot disagree with the picks: where the pick is determined (a hash key's owner,
 * the less busy of two least-request candidates) it names that endpoint, where it is drawn it
 * names what it is drawn among (a tie, a draw by share, power of two choices over more than two).
 */
/** Builds {@link PickExplanation}s for a balancer. Stateless. */
final class Explainer {

  private Explainer() {}

  /**
   * Explains a pick with {@code context} from the published {@code snapshot}; {@code subsettingOf}
   * is how many endpoints discovery gave when subsetting chose some of them (0 without).
   */
  static PickExplanation explain(
      String service,
      SelectionStrategy strategy,
      SnapshotBuilder.Snapshot snapshot,
      SnapshotBuilder snapshots,
      @Nullable Affinity affinity,
      String canaryRolledBack,
      int subsettingOf,
      PickContext context,
      long nowNanos) {
    int maxInFlight = snapshots.settings().maxInFlight();
    List<String> routing = new ArrayList<>(snapshot.routing());
    TrafficSplit split = snapshots.split();
    if (split != null) {
      routing.add(
          "canary "
              + split.tags()
              + " takes "
              + pct(snapshots.canaryShare().parts / 10_000.0)
              + " of picks without a key"
              + (canaryRolledBack.isEmpty() ? "" : " (rolled back: " + canaryRolledBack + ")"));
    }
    boolean keyed = context.hasHashKey();
    if (keyed && affinity != null) {
      routing.add("sticky key: " + affinity);
    }
    int listed = snapshot.statuses().size();
    if (subsettingOf > listed) {
      routing.add(
          "subsetting: this client's subset is "
              + listed
              + " of the "
              + subsettingOf
              + " endpoints discovered; the other "
              + (subsettingOf - listed)
              + " are outside it");
    }

    List<PickExplanation.Candidate> out = new ArrayList<>(snapshot.statuses().size());
    int candidates = 0;
    for (EndpointStatus st : snapshot.statuses()) {
      Endpoint e = st.state.endpoint();
      String why;
      boolean eligible = false;
      if (st.route != EndpointStatus.Route.NONE
          && context.triedCount() != 0
          && context.isTried(e)) {
        why = "already tried by this call";
      } else if (!st.candidate()) {
        why =
            st.route == EndpointStatus.Route.NONE
                ? st.kindNow() + prefixed(st.reasonNow(nowNanos, maxInFlight))
                : st.reasonNow(nowNanos, maxInFlight);
      } else if (context.triedCount() != 0 && context.isTried(e)) {
        why = "already tried by this call";
      } else if (st.state.atLimit()) {
        why = "at its in-flight limit " + maxInFlight;
      } else {
        eligible = true;
        candidates++;
        if (st.route == EndpointStatus.Route.PANIC) {
          why = st.routeReason;
        } else if (split != null && split.matches(e)) {
          why = "canary";
        } else {
          why = "";
        }
      }
      out.add(new PickExplanation.Candidate(e, st.kindNow(), eligible, why, score(strategy, st)));
    }

    PickPeek peek = PickPeek.of(snapshot.picker(), context);
    Endpoint chosen = peek.endpoint();
    String decision;
    boolean p2c = strategy instanceof LeastRequestStrategy || strategy instanceof PeakEwmaStrategy;
    if (peek.unknown()) {
      decision = "strategy " + strategy + " chooses among the " + candidates + " candidates";
    } else if (peek.none()) {
      decision = "no endpoint can take the pick: it would fail (see the reasons above)";
    } else if (chosen != null) {
      String how;
      if (keyed && affinity != null) {
        how = "the key's endpoint, or the next usable one on its ring (sticky)";
      } else if (keyed && isHash(strategy)) {
        how = "the key's owner, or the next usable one in its walk";
      } else if (p2c && peekedAmongSeveral(snapshot, chosen)) {
        how =
            "power of two choices, with no more candidates than choices: every one compared, the"
                + " least loaded wins";
      } else {
        how = "the only endpoint the pick can take";
      }
      decision = how + ": " + chosen.key() + fallbackNote(snapshot, chosen);
    } else if (p2c) {
      decision = drawn(peek) + leastLoaded(strategy, snapshot, peek.among());
    } else if (keyed && (isHash(strategy) || affinity != null)) {
      decision =
          drawn(peek) + "; the key's owner in the group a draw by share (zones, canary) picks";
    } else if (strategy instanceof RoundRobinStrategy) {
      decision = drawn(peek) + "; round robin: the next in this thread's cycle, by weight";
    } else if (strategy instanceof RandomStrategy) {
      decision = drawn(peek) + "; random, by weight";
    } else {
      decision = drawn(peek);
    }
    return new PickExplanation(
        service, strategy.toString(), String.join("; ", routing), out, chosen, decision);
  }

  private static boolean isHash(SelectionStrategy strategy) {
    return strategy instanceof RingHashStrategy || strategy instanceof MaglevStrategy;
  }

  /** Whether more than one endpoint was compared (a choice, not the only one left). */
  private static boolean peekedAmongSeveral(SnapshotBuilder.Snapshot snapshot, Endpoint chosen) {
    int n = 0;
    for (EndpointStatus st : snapshot.statuses()) {
      n += st.candidate() ? 1 : 0;
    }
    return n > 1;
  }

  private static String fallbackNote(SnapshotBuilder.Snapshot snapshot, Endpoint chosen) {
    for (EndpointStatus st : snapshot.statuses()) {
      if (st.state.endpoint().equals(chosen) && st.route == EndpointStatus.Route.FALLBACK) {
        return " (no first choice can take it: a fallback)";
      }
    }
    return "";
  }

  private static String drawn(PickPeek peek) {
    List<String> keys = new ArrayList<>();
    for (Endpoint e : peek.among()) {
      keys.add(e.key());
    }
    return "drawn at random among " + keys.size() + ": " + String.join(", ", keys);
  }

  /** The lowest score now among {@code among}, and the endpoints tied at it. */
  private static String leastLoaded(
      SelectionStrategy strategy, SnapshotBuilder.Snapshot snapshot, List<Endpoint> among) {
    double best = Double.MAX_VALUE;
    List<String> tied = new ArrayList<>();
    for (EndpointStatus st : snapshot.statuses()) {
      if (!among.contains(st.state.endpoint())) {
        continue;
      }
      double cost = cost(strategy, st);
      if (cost < best) {
        best = cost;
        tied.clear();
      }
      if (cost == best) {
        tied.add(st.state.endpoint().key());
      }
    }
    return "; power of two choices: two drawn by weight, the lower score wins; lowest now: "
        + String.join(", ", tied)
        + (tied.size() > 1 ? " (tied)" : "");
  }

  private static String prefixed(String reason) {
    return reason.isEmpty() ? "" : ": " + reason;
  }

  private static String pct(double fraction) {
    return String.format(Locale.ROOT, "%.1f%%", 100 * fraction);
  }

  private static double cost(SelectionStrategy strategy, EndpointStatus st) {
    EndpointState s = st.state;
    int w = Math.max(1, s.baseWeight());
    return strategy instanceof PeakEwmaStrategy && s.latency() != null
        ? s.latency().estimateNanos() * (s.inFlight() + 1.0) / w
        : s.inFlight() / (double) w;
  }

  /** The strategy's score of {@code st}, in words; empty for strategies without one. */
  private static String score(SelectionStrategy strategy, EndpointStatus st) {
    EndpointState s = st.state;
    int w = Math.max(1, s.baseWeight());
    int inFlight = s.inFlight();
    if (strategy instanceof LeastRequestStrategy) {
      return String.format(
          Locale.ROOT, "in flight %d / weight %d = %.3f", inFlight, w, inFlight / (double) w);
    }
    if (strategy instanceof PeakEwmaStrategy && s.latency() != null) {
      double ms = s.latency().estimateNanos() / 1e6;
      return String.format(
          Locale.ROOT,
          "latency %.2f ms x (in flight %d + 1) / weight %d = %.3f",
          ms,
          inFlight,
          w,
          ms * (inFlight + 1) / w);
    }
    return "weight " + w;
  }
}
