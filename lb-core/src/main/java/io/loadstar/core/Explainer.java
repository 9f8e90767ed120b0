package io.loadstar.core;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.EndpointView;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickExplanation;
import io.loadstar.api.Picker;
import io.loadstar.api.SelectionStrategy;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.jspecify.annotations.Nullable;

/*
 * Design notes: explains a pick from the same states the snapshot is built from, without picking:
 * nothing is acquired, no cursor or random stream moves. Candidates are the serving tier's usable
 * endpoints that the context did not try and that are below their limit; routing narrows them to
 * the preferred zone (shares as the snapshot computes them) and names the canary share. Scores are
 * the strategy's own terms; the chosen endpoint is given where the strategy is deterministic for
 * the context: the owner of a hash key (a fresh picker over the candidates, asked for the key's
 * owner without acquiring it), or the best score, which power of two choices tends to.
 */
/** Builds {@link PickExplanation}s for a balancer. Stateless. */
final class Explainer {

  private Explainer() {}

  static PickExplanation explain(
      String service,
      SelectionStrategy strategy,
      List<EndpointState> states,
      List<EndpointSnapshot> described,
      SnapshotBuilder snapshots,
      @Nullable Affinity affinity,
      String canaryRolledBack,
      PickContext context) {
    // The serving tier: the lowest priority with a usable endpoint.
    Integer serving = null;
    for (int i = 0; i < states.size(); i++) {
      if (usable(described.get(i)) && (serving == null || prio(states.get(i)) < serving)) {
        serving = prio(states.get(i));
      }
    }
    List<EndpointState> listed = new ArrayList<>();
    List<EndpointView> usable = new ArrayList<>();
    for (int i = 0; i < states.size(); i++) {
      EndpointState s = states.get(i);
      if (serving != null
          && prio(s) == serving
          && described.get(i).state() != EndpointSnapshot.State.DRAINING) {
        listed.add(s);
        if (usable(described.get(i))) {
          usable.add(s);
        }
      }
    }
    Map<String, Double> zones = snapshots.zoneShares(listed, usable);
    TrafficSplit split = snapshots.split();
    List<String> routing = new ArrayList<>();
    if (serving != null && serving != 0) {
      routing.add("tier " + serving + " serves (no usable endpoint in lower tiers)");
    }
    if (zones != null) {
      StringBuilder z =
          new StringBuilder("zones (local " + snapshots.settings().localZone() + "):");
      zones.forEach(
          (zone, share) -> z.append(' ').append(zoneName(zone)).append(' ').append(pct(share)));
      routing.add(z.toString());
    }
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

    List<PickExplanation.Candidate> out = new ArrayList<>(states.size());
    List<EndpointView> candidates = new ArrayList<>();
    for (int i = 0; i < states.size(); i++) {
      EndpointState s = states.get(i);
      EndpointSnapshot d = described.get(i);
      String why = "";
      boolean eligible = false;
      if (!usable(d)) {
        why = d.state() + (d.reason().isEmpty() ? "" : ": " + d.reason());
      } else if (serving == null || prio(s) != serving) {
        why = "backup tier " + prio(s) + ": tier " + serving + " serves";
      } else if (context.triedCount() != 0 && context.isTried(s.endpoint())) {
        why = "already tried by this call";
      } else if (s.atLimit()) {
        why = "at its in-flight limit";
      } else if (zones != null && zones.getOrDefault(s.endpoint().zone(), 0.0) == 0 && !keyed) {
        why = "other zone " + zoneName(s.endpoint().zone()) + ": 0% of picks, a fallback only";
      } else {
        eligible = true;
        if (split != null && split.matches(s.endpoint())) {
          why = "canary";
        }
      }
      if (eligible) {
        candidates.add(s);
      }
      out.add(
          new PickExplanation.Candidate(
              s.endpoint(), d.state(), eligible, why, score(strategy, s)));
    }

    Endpoint chosen = null;
    String decision;
    if (candidates.isEmpty()) {
      decision = "no candidate: the pick would fail or wait (see the reasons above)";
    } else if (keyed && affinity != null) {
      // The ring the affinity builds: every endpoint of the tier, the candidates eligible.
      List<EndpointState> tier = new ArrayList<>();
      for (EndpointState s : states) {
        if (prio(s) == serving && s.baseWeight() > 0) {
          tier.add(s);
        }
      }
      boolean[] eligible = new boolean[tier.size()];
      for (int i = 0; i < tier.size(); i++) {
        eligible[i] = candidates.contains(tier.get(i));
      }
      chosen = new AffinityPicker(null, tier, eligible, null).owner(context.hashKey());
      decision = "the key's endpoint, or the next candidate on its ring (sticky)";
    } else if (keyed
        && (strategy instanceof RingHashStrategy || strategy instanceof MaglevStrategy)) {
      chosen = owner(snapshots.pickerFactory(), candidates, context.hashKey());
      decision =
          chosen != null
              ? "the key's owner among the " + candidates.size() + " candidates"
              : "hash key: owner decided by the strategy";
    } else if (strategy instanceof LeastRequestStrategy || strategy instanceof PeakEwmaStrategy) {
      chosen = best(strategy, candidates);
      decision =
          "power of two choices: two candidates drawn at random, the better score wins; the best"
              + " now is "
              + chosen.key();
    } else if (strategy instanceof RoundRobinStrategy) {
      decision =
          "round robin: the next of the "
              + candidates.size()
              + " candidates in this thread's cycle, by weight";
    } else if (strategy instanceof RandomStrategy) {
      decision = "random: one of the " + candidates.size() + " candidates, by weight";
    } else {
      decision = "strategy " + strategy + " chooses among the " + candidates.size() + " candidates";
    }
    return new PickExplanation(
        service, strategy.toString(), String.join("; ", routing), out, chosen, decision);
  }

  private static boolean usable(EndpointSnapshot d) {
    return d.state() == EndpointSnapshot.State.READY
        || d.state() == EndpointSnapshot.State.RAMPING
        || d.state() == EndpointSnapshot.State.AT_LIMIT;
  }

  private static int prio(EndpointState s) {
    return s.endpoint().priority();
  }

  private static String zoneName(String zone) {
    return zone.isEmpty() ? "(none)" : zone;
  }

  private static String pct(double fraction) {
    return String.format(Locale.ROOT, "%.1f%%", 100 * fraction);
  }

  /** The strategy's score of {@code s}, in words; empty for strategies without one. */
  private static String score(SelectionStrategy strategy, EndpointState s) {
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

  private static Endpoint best(SelectionStrategy strategy, List<EndpointView> candidates) {
    EndpointView best = null;
    double bestCost = Double.MAX_VALUE;
    for (EndpointView v : candidates) {
      EndpointState s = (EndpointState) v;
      int w = Math.max(1, s.baseWeight());
      double cost =
          strategy instanceof PeakEwmaStrategy && s.latency() != null
              ? s.latency().estimateNanos() * (s.inFlight() + 1.0) / w
              : s.inFlight() / (double) w;
      if (cost < bestCost) {
        bestCost = cost;
        best = v;
      }
    }
    return best.endpoint();
  }

  /** The owner of {@code hash} among {@code candidates}, asked of a fresh picker; no slot taken. */
  private static @Nullable Endpoint owner(
      SelectionStrategy.PickerFactory factory, List<EndpointView> candidates, long hash) {
    Picker p = factory.newPicker(List.copyOf(candidates));
    if (p instanceof ConsistentHashPicker) {
      ConsistentHashPicker c = (ConsistentHashPicker) p;
      return c.views[c.owner(c.start(hash))].endpoint();
    }
    return null;
  }
}
