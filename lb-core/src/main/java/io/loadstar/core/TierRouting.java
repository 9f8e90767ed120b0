package io.loadstar.core;

import io.loadstar.api.EndpointView;
import io.loadstar.api.Picker;
import io.loadstar.api.SelectionStrategy.PickerFactory;
import io.loadstar.core.EndpointStatus.Route;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.BiFunction;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design notes: tiers are the outermost routing. Endpoints are grouped by priority. An endpoint
 * is usable when listed with weight > 0, not drained, healthy by active checks and not ejected.
 * Panic: when fewer than panicThreshold percent of the serving tier's endpoints are usable (or
 * none of any tier is), that tier is picked over all its listed endpoints, like Envoy's panic
 * routing, unless failFastInPanic. With spill-over, Envoy's priority load instead: tier i's
 * health is min(100, 140 x usable_i / listed_i) percent; tiers take min(health_i, what earlier
 * tiers left) in order, and the loads are scaled up to 100 when their sum is lower; below the
 * panic threshold of combined health, the first tier is picked over all its endpoints. Within a
 * tier, failing endpoints go last (FailingGoesLast), and each group's picker comes from the chain
 * of routing stages.
 */
/** Tiers, panic and spill-over: the tiers' picker of one build. Control loop only. */
final class TierRouting {

  private static final Logger logger = LoggerFactory.getLogger(TierRouting.class);

  /** The tiers' picker and why the balancer is in panic (null if it is not). */
  record Tiers(TieredPicker picker, @Nullable String panicReason) {}

  private final int panicThreshold;
  private final boolean failFastInPanic;
  private final boolean spillover;
  private final PickerFactory pickerFactory;
  private final ServiceEvents failures;
  private final PerThread random;

  TierRouting(
      RoutingSettings settings,
      PickerFactory pickerFactory,
      ServiceEvents failures,
      PerThread random) {
    this.panicThreshold = settings.panicThreshold();
    this.failFastInPanic = settings.failFastInPanic();
    this.spillover = settings.tierSpillover();
    this.pickerFactory = pickerFactory;
    this.failures = failures;
    this.random = random;
  }

  /**
   * The picker of {@code tiers} (each tier's listed endpoints with a weight, not drained), each
   * group's picker made by {@code chain}.
   */
  Tiers build(
      RoutingBuild build,
      TreeMap<Integer, List<EndpointState>> tiers,
      TieredPicker.Counts counts,
      BiFunction<RoutingBuild, RoutingStage.Group, @Nullable Picker> chain) {
    return spillover
        ? spillover(build, tiers, counts, chain)
        : inOrder(build, tiers, counts, chain);
  }

  private Tiers inOrder(
      RoutingBuild build,
      TreeMap<Integer, List<EndpointState>> tiers,
      TieredPicker.Counts counts,
      BiFunction<RoutingBuild, RoutingStage.Group, @Nullable Picker> chain) {
    BuildStatuses statuses = build.statuses;
    List<Picker> pickers = new ArrayList<>(tiers.size());
    boolean serving = false;
    int servingTier = 0;
    String panicReason = null;
    for (Map.Entry<Integer, List<EndpointState>> tier : tiers.entrySet()) {
      List<EndpointState> listed = tier.getValue();
      List<EndpointView> usable = statuses.usable(listed);
      if (usable.isEmpty()) {
        continue;
      }
      if (!serving) {
        serving = true;
        servingTier = tier.getKey();
        if (servingTier != tiers.firstKey()) {
          statuses.routing("tier " + servingTier + " serves (no usable endpoint in lower tiers)");
        }
        if ((long) usable.size() * 100 < (long) panicThreshold * listed.size()) {
          panicReason =
              usable.size()
                  + " of "
                  + listed.size()
                  + " endpoints usable in tier "
                  + tier.getKey()
                  + ", below the panic threshold of "
                  + panicThreshold
                  + "%";
          if (failFastInPanic) {
            statuses.routing("panic: " + panicReason + "; picks fail fast");
            break;
          }
          statuses.routing("panic: " + panicReason + "; picks spread over all its endpoints");
          addPanicPicker(statuses, pickers, listed);
          continue;
        }
        statuses.tier(Route.FIRST, "");
      } else {
        statuses.tier(
            Route.FALLBACK, "backup tier " + tier.getKey() + ": tier " + servingTier + " serves");
      }
      addTier(build, pickers, listed, usable, null, 0, chain);
    }
    if (!serving && !tiers.isEmpty() && panicThreshold > 0) {
      List<EndpointView> candidates = panicCandidates(tiers.firstEntry().getValue());
      if (!candidates.isEmpty()) {
        panicReason = "no usable endpoint in any tier";
        if (!failFastInPanic) {
          statuses.routing(
              "panic: " + panicReason + "; picks spread over tier " + tiers.firstKey());
          addPanicPicker(statuses, pickers, tiers.firstEntry().getValue());
        } else {
          statuses.routing("panic: " + panicReason + "; picks fail fast");
        }
      }
    }
    return new Tiers(TieredPicker.of(pickers, counts, failures), panicReason);
  }

  private Tiers spillover(
      RoutingBuild build,
      TreeMap<Integer, List<EndpointState>> tiers,
      TieredPicker.Counts counts,
      BiFunction<RoutingBuild, RoutingStage.Group, @Nullable Picker> chain) {
    BuildStatuses statuses = build.statuses;
    List<Picker> pickers = new ArrayList<>();
    List<Integer> loads = new ArrayList<>();
    int assigned = 0;
    StringBuilder line = new StringBuilder();
    for (Map.Entry<Integer, List<EndpointState>> tier : tiers.entrySet()) {
      List<EndpointState> listed = tier.getValue();
      List<EndpointView> usable = statuses.usable(listed);
      if (usable.isEmpty()) {
        continue;
      }
      int health = (int) Math.min(100, 140L * usable.size() / listed.size());
      int load = Math.min(health, 100 - assigned);
      assigned += load;
      statuses.tier(
          load > 0 ? Route.FIRST : Route.FALLBACK,
          load > 0 ? "" : "spill-over: tier " + tier.getKey() + " takes no share now");
      line.append(line.length() == 0 ? "spill-over:" : ",")
          .append(" tier ")
          .append(tier.getKey())
          .append(' ')
          .append(load)
          .append("% (health ")
          .append(health)
          .append("%)");
      addTier(build, pickers, listed, usable, loads, load, chain);
    }
    statuses.tier(Route.FIRST, "");
    String panicReason = null;
    if (!tiers.isEmpty() && assigned < panicThreshold) {
      panicReason =
          "combined tier health "
              + assigned
              + "%, below the panic threshold of "
              + panicThreshold
              + "%";
      pickers.clear();
      loads.clear();
      statuses.clearRoutes();
      statuses.routing("panic: " + panicReason);
      if (!failFastInPanic) {
        addPanicPicker(statuses, pickers, tiers.firstEntry().getValue());
      }
    } else if (line.length() > 0) {
      statuses.routing(line.toString());
    }
    if (pickers.size() <= 1 || loads.size() != pickers.size()) {
      return new Tiers(TieredPicker.of(pickers, counts, failures), panicReason);
    }
    int total = 0;
    for (int l : loads) {
      total += l;
    }
    int[] cumulative = new int[loads.size()];
    int running = 0;
    for (int i = 0; i < loads.size(); i++) {
      running += total == 0 ? 0 : (int) (10_000L * loads.get(i) / total);
      cumulative[i] = running;
    }
    // Rounding leaves the sum a little short of 10,000: the last picker with a load takes the rest
    // (a failing endpoints' picker after it has load 0 and only falls back).
    int last = loads.size() - 1;
    while (last > 0 && loads.get(last) == 0) {
      last--;
    }
    for (int i = last; i < cumulative.length; i++) {
      cumulative[i] = 10_000;
    }
    return new Tiers(
        TieredPicker.spillover(pickers, cumulative, random, counts, failures), panicReason);
  }

  /** Adds the panic picker over {@code listed}: the usable first, the others spread over too. */
  private void addPanicPicker(
      BuildStatuses statuses, List<Picker> pickers, List<EndpointState> listed) {
    List<EndpointView> candidates = panicCandidates(listed);
    for (EndpointView v : candidates) {
      if (statuses.usable(v)) {
        statuses.mark(v, Route.FIRST, "");
      } else {
        boolean ejected = ((EndpointState) v).ejection.isEjected();
        statuses.mark(
            v, Route.PANIC, "panic: picked although " + (ejected ? "ejected" : "unhealthy"));
      }
    }
    if (candidates.isEmpty()) {
      return;
    }
    try {
      pickers.add(pickerFactory.newPicker(List.copyOf(candidates)));
    } catch (RuntimeException e) {
      logger.error(
          "[{}] strategy {} failed to build a picker", failures.service(), pickerFactory, e);
    }
  }

  /**
   * The endpoints panic spreads over: all listed, except those never checked yet, and except those
   * outlier detection ejected while any other is left. Panic distrusts the active checks (a wrong
   * check port fails them all); an ejection is what real calls showed, so it still counts.
   */
  private static List<EndpointView> panicCandidates(List<EndpointState> listed) {
    List<EndpointView> out = new ArrayList<>(listed.size());
    List<EndpointView> ejected = new ArrayList<>();
    for (EndpointState s : listed) {
      if (!s.health.awaitingFirstCheck) {
        (s.ejection.isEjected() ? ejected : out).add(s);
      }
    }
    return out.isEmpty() ? ejected : out;
  }

  /**
   * Adds the pickers of one tier's usable endpoints, failing ones last (FailingGoesLast). With
   * spill-over, {@code loads} gets the tier's {@code load} for its first picker and 0 for the
   * second, which only falls back.
   */
  private void addTier(
      RoutingBuild build,
      List<Picker> pickers,
      List<EndpointState> listed,
      List<EndpointView> usable,
      @Nullable List<Integer> loads,
      int load,
      BiFunction<RoutingBuild, RoutingStage.Group, @Nullable Picker> chain) {
    List<List<EndpointView>> groups = FailingGoesLast.groups(usable);
    for (int i = 0; i < groups.size(); i++) {
      if (i > 0) {
        build.statuses.markInTier(groups.get(i), FailingGoesLast.REASON);
      }
      int before = pickers.size();
      try {
        Picker p = chain.apply(build, new RoutingStage.Group(listed, groups.get(i), ""));
        if (p != null) {
          pickers.add(p);
        }
      } catch (RuntimeException e) {
        logger.error(
            "[{}] strategy {} failed to build a picker", failures.service(), pickerFactory, e);
      }
      if (loads != null && pickers.size() > before) {
        loads.add(i == 0 ? load : 0);
      }
    }
  }
}
