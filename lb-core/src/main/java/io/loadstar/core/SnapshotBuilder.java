package io.loadstar.core;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.loadstar.api.EndpointView;
import io.loadstar.api.PickResult;
import io.loadstar.api.Picker;
import io.loadstar.api.SelectionStrategy.PickerFactory;
import io.loadstar.core.EndpointStatus.Route;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.atomic.LongAdder;
import org.jspecify.annotations.Nullable;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design notes: turns the endpoints' states into the snapshot picks read, as a function of those
 * states, the settings and the time. Its only writes are the ones the snapshot publishes with:
 * each endpoint's slow-start factor and the weight strategies see (and the end of a ramp whose
 * window is over).
 *
 * Tiers: endpoints are grouped by priority. An endpoint is usable when listed with weight > 0, not
 * drained, healthy by active checks and not ejected. Panic: when fewer than panicThreshold percent
 * of the serving tier's endpoints are usable (or none of any tier is), that tier is picked over
 * all its listed endpoints, like Envoy's panic routing, unless failFastInPanic. With spill-over,
 * Envoy's priority load instead: tier i's health is min(100, 140 x usable_i / listed_i) percent;
 * tiers take min(health_i, what earlier tiers left) in order, and the loads are scaled up to 100
 * when their sum is lower; below the panic threshold of combined health, the first tier is picked
 * over all its endpoints.
 *
 * Failing but not ejected: an endpoint outlier detection would have ejected, had the
 * max-ejection cap not refused (another endpoint is already out), stays usable but goes last:
 * its tier's picker serves from the others, and a second picker over the failing ones takes the
 * picks the first cannot serve (all tried or at their limit). The cap keeps such an endpoint in
 * the set for when it is needed; it no longer takes a share of first attempts that would fail and
 * spend the retry budget. One dead and one 503-answering endpoint of three then cost no request.
 *
 * One status per endpoint per build: while it builds the pickers, the builder records for each
 * endpoint its state in words and the route its pickers give it (EndpointStatus), and publishes
 * them with the picker. snapshot(), explain(), failure messages and subsetting read those; none of
 * them works the routing out again, so they cannot disagree with the picks.
 */
/**
 * Builds the published snapshot from endpoint states. Stateless; control loop only, unless said.
 */
final class SnapshotBuilder {

  private static final Logger logger = LoggerFactory.getLogger(DefaultLoadBalancer.class);

  /** How a strict canary's failed picks start their reason. */
  static final String NO_CANARY = "no usable canary endpoint";

  /** What every snapshot of a balancer is built with. */
  record Settings(
      int panicThreshold,
      boolean failFastInPanic,
      boolean tierSpillover,
      long slowStartNanos,
      int slowStartFloorPercent,
      int weightScale,
      int maxInFlight,
      String localZone,
      ZoneRouting zoneRouting,
      @Nullable Affinity affinity) {}

  /**
   * A built snapshot: the picker to publish, whether an endpoint is still ramping up (the snapshot
   * must be rebuilt as time goes on), why the balancer is in panic (null if it is not), when it
   * must be rebuilt for sticky keys (or Long.MAX_VALUE), each listed endpoint's status (in key
   * order), and the routing that applies, in words.
   */
  record Snapshot(
      TieredPicker picker,
      boolean ramping,
      @Nullable String panicReason,
      long rebuildAtNanos,
      List<EndpointStatus> statuses,
      List<String> routing) {}

  private final Settings settings;
  private final PickerFactory pickerFactory;
  private final ServiceEvents failures;
  private final PerThread spilloverRandom;
  private final SplitPicker.SplitState canaryShare = new SplitPicker.SplitState(0);
  private @Nullable TrafficSplit split; // control loop only
  private String canaryRolledBack = ""; // control loop only
  private final @Nullable Cache<Long, String> movedKeys; // sticky keys that never return
  // During a build: each tier's listed endpoints with a weight, drained ones included, and when
  // the next endpoint becomes eligible for its sticky keys again.
  private Map<Integer, List<EndpointState>> allByTier = Map.of();
  private long now;
  private long rebuildAt;
  // During a build: each endpoint's status and route, and the routing in words.
  private BuildStatuses statuses = new BuildStatuses(List.of(), s -> null);

  SnapshotBuilder(
      Settings settings,
      PickerFactory pickerFactory,
      ServiceEvents failures,
      PerThread spilloverRandom) {
    Affinity a = settings.affinity();
    this.movedKeys =
        a != null && a.returnPolicy() == Affinity.Return.NEVER
            ? Caffeine.newBuilder()
                .maximumSize(a.maxMovedKeys())
                .expireAfterAccess(Duration.ofHours(1))
                .executor(Runnable::run)
                .build()
            : null;
    this.settings = settings;
    this.pickerFactory = pickerFactory;
    this.failures = failures;
    this.spilloverRandom = spilloverRandom;
  }

  /**
   * The snapshot builder of a balancer built by {@code b}, whose endpoints add to {@code total}.
   */
  static SnapshotBuilder of(LoadBalancers.Builder b, LongAdder total, ServiceEvents events) {
    boolean ramps =
        !(b.strategy instanceof BuiltinStrategy) || ((BuiltinStrategy) b.strategy).ramps();
    // Ramping strategies see weights x100 while slow start is on, so a ramp moves in 1% steps.
    int weightScale = b.slowStartNanos > 0 && ramps ? 100 : 1;
    return new SnapshotBuilder(
        new Settings(
            b.panicThreshold,
            b.failFastInPanic,
            b.tierSpillover,
            b.slowStartNanos,
            b.slowStartFloorPercent,
            weightScale,
            b.maxInFlightPerEndpoint,
            b.zone,
            b.zoneRouting,
            b.affinity),
        b.strategy.newPickerFactory(new BalancerContext(b.name, b.seed, b.ticker, total)),
        events,
        new PerThread(b.seed ^ 0x5350494c4cL));
  }

  Settings settings() {
    return settings;
  }

  PickerFactory pickerFactory() {
    return pickerFactory;
  }

  @Nullable TrafficSplit split() {
    return split;
  }

  /**
   * Sets the canary split the next builds apply (null: none) and why it was rolled back (empty if
   * it was not); control loop only.
   */
  void split(@Nullable TrafficSplit split, String rolledBack) {
    this.split = split;
    this.canaryRolledBack = rolledBack;
  }

  /** The canary's share now, which picks read; written between builds by a ramp or a rollback. */
  SplitPicker.SplitState canaryShare() {
    return canaryShare;
  }

  /** Builds the snapshot of {@code states} (in key order) at {@code now}. */
  Snapshot build(Collection<EndpointState> states, long now) {
    if (states.isEmpty()) {
      return new Snapshot(
          TieredPicker.empty(DefaultLoadBalancer.NO_ENDPOINTS, failures),
          false,
          null,
          Long.MAX_VALUE,
          List.of(),
          List.of());
    }
    boolean ramping = false;
    TreeMap<Integer, List<EndpointState>> tiers = new TreeMap<>();
    Map<Integer, List<EndpointState>> all = new TreeMap<>();
    this.now = now;
    this.rebuildAt = Long.MAX_VALUE;
    List<EndpointState> list = new ArrayList<>(states);
    for (EndpointState s : list) {
      double factor = rampFactor(s, now);
      ramping |= factor < 1;
      s.control.rampFactor = factor;
    }
    TrafficSplit sp = split;
    String rolledBack = canaryRolledBack;
    statuses =
        new BuildStatuses(
            list, s -> EndpointStatus.describe(s, settings.slowStartNanos(), sp, rolledBack));
    for (EndpointState s : list) {
      boolean usable = statuses.usable(s);
      if (usable && !s.control.wasUsable) {
        s.control.usableSinceNanos = now; // back: sticky keys may wait before they return
      }
      s.control.wasUsable = usable;
      if (s.baseWeight() > 0) {
        all.computeIfAbsent(s.endpoint().priority(), p -> new ArrayList<>()).add(s);
      }
      double factor = s.control.rampFactor;
      int base = s.baseWeight();
      int scale = settings.weightScale();
      s.effectiveWeight = scale == 1 ? base : (int) Math.max(1, Math.round(base * scale * factor));
      if (base > 0 && !s.control.draining) {
        tiers.computeIfAbsent(s.endpoint().priority(), p -> new ArrayList<>()).add(s);
      }
    }
    TieredPicker.Counts counts = TieredPicker.Counts.of(statuses.states(), settings.maxInFlight());
    allByTier = all;
    Tiers built = settings.tierSpillover() ? spillover(tiers, counts) : inOrder(tiers, counts);
    allByTier = Map.of();
    BuildStatuses done = statuses;
    statuses = new BuildStatuses(List.of(), s -> null);
    return new Snapshot(
        built.picker(), ramping, built.panicReason(), rebuildAt, done.statuses(), done.routing());
  }

  /** The tiers' picker and why the balancer is in panic (null if it is not). */
  private record Tiers(TieredPicker picker, @Nullable String panicReason) {}

  private Tiers inOrder(TreeMap<Integer, List<EndpointState>> tiers, TieredPicker.Counts counts) {
    int panicThreshold = settings.panicThreshold();
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
          if (settings.failFastInPanic()) {
            statuses.routing("panic: " + panicReason + "; picks fail fast");
            break;
          }
          statuses.routing("panic: " + panicReason + "; picks spread over all its endpoints");
          addPanicPicker(pickers, listed);
          continue;
        }
        statuses.tier(Route.FIRST, "");
      } else {
        statuses.tier(
            Route.FALLBACK, "backup tier " + tier.getKey() + ": tier " + servingTier + " serves");
      }
      addTier(pickers, listed, usable, null, 0);
    }
    if (!serving && !tiers.isEmpty() && panicThreshold > 0) {
      List<EndpointView> candidates = panicCandidates(tiers.firstEntry().getValue());
      if (!candidates.isEmpty()) {
        panicReason = "no usable endpoint in any tier";
        if (!settings.failFastInPanic()) {
          statuses.routing(
              "panic: " + panicReason + "; picks spread over tier " + tiers.firstKey());
          addPanicPicker(pickers, tiers.firstEntry().getValue());
        } else {
          statuses.routing("panic: " + panicReason + "; picks fail fast");
        }
      }
    }
    return new Tiers(TieredPicker.of(pickers, counts, failures), panicReason);
  }

  /** Adds the panic picker over {@code listed}: the usable first, the others spread over too. */
  private void addPanicPicker(List<Picker> pickers, List<EndpointState> listed) {
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
    addPicker(pickers, candidates);
  }

  private Tiers spillover(TreeMap<Integer, List<EndpointState>> tiers, TieredPicker.Counts counts) {
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
      addTier(pickers, listed, usable, loads, load);
    }
    statuses.tier(Route.FIRST, "");
    String panicReason = null;
    if (!tiers.isEmpty() && assigned < settings.panicThreshold()) {
      panicReason =
          "combined tier health "
              + assigned
              + "%, below the panic threshold of "
              + settings.panicThreshold()
              + "%";
      pickers.clear();
      loads.clear();
      statuses.clearRoutes();
      statuses.routing("panic: " + panicReason);
      if (!settings.failFastInPanic()) {
        addPanicPicker(pickers, tiers.firstEntry().getValue());
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
        TieredPicker.spillover(pickers, cumulative, spilloverRandom, counts, failures),
        panicReason);
  }

  /** Returns the slow-start factor of {@code s} now, ending its ramp when the window is over. */
  private double rampFactor(EndpointState s, long now) {
    if (s.control.rampStartNanos == Long.MIN_VALUE || settings.weightScale() == 1) {
      return 1;
    }
    long elapsed = now - s.control.rampStartNanos;
    long window = settings.slowStartNanos();
    if (elapsed >= window) {
      s.control.rampStartNanos = Long.MIN_VALUE;
      return 1;
    }
    return Math.max(settings.slowStartFloorPercent() / 100.0, (double) elapsed / window);
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
      if (!s.control.awaitingFirstCheck) {
        (s.ejection.isEjected() ? ejected : out).add(s);
      }
    }
    return out.isEmpty() ? ejected : out;
  }

  /**
   * Adds the pickers of one tier's usable endpoints: the ones serving well, then those failing with
   * an ejection the cap refused (see the design notes). With spill-over, {@code loads} gets the
   * tier's {@code load} for its first picker and 0 for the second, which only falls back.
   */
  private void addTier(
      List<Picker> pickers,
      List<EndpointState> listed,
      List<EndpointView> usable,
      @Nullable List<Integer> loads,
      int load) {
    List<EndpointView> serving = new ArrayList<>(usable.size());
    List<EndpointView> failing = new ArrayList<>();
    for (EndpointView v : usable) {
      (((EndpointState) v).ejection.refused().isEmpty() ? serving : failing).add(v);
    }
    if (serving.isEmpty() || failing.isEmpty()) {
      addPickerOf(pickers, listed, usable, loads, load);
    } else {
      addPickerOf(pickers, listed, serving, loads, load);
      statuses.markInTier(failing, "goes last: takes only what the others cannot serve");
      addPickerOf(pickers, listed, failing, loads, 0);
    }
  }

  /**
   * Adds the picker of {@code usable}: split into the canary and the stable subsets if a split is
   * set, each preferring the local zone if one is known.
   */
  private void addPickerOf(
      List<Picker> pickers,
      List<EndpointState> listed,
      List<EndpointView> usable,
      @Nullable List<Integer> loads,
      int load) {
    int before = pickers.size();
    try {
      Picker p = tierPicker(listed, usable);
      if (settings.affinity() != null && !listed.isEmpty()) {
        p = sticky(p, allByTier.get(listed.get(0).endpoint().priority()));
      }
      if (p != null) {
        pickers.add(p);
      }
    } catch (RuntimeException e) {
      logger.error(
          "[{}] strategy {} failed to build a picker", failures.service(), pickerFactory, e);
    }
    if (loads != null && pickers.size() > before) {
      loads.add(load);
    }
  }

  /** Wraps a tier's picker so that keyed picks stick to their endpoint, as the affinity says. */
  private Picker sticky(@Nullable Picker unkeyed, List<EndpointState> all) {
    Affinity affinity = settings.affinity();
    long wait =
        affinity.returnPolicy() == Affinity.Return.AFTER_HEALTHY_FOR
            ? affinity.healthyForNanos()
            : 0;
    boolean[] eligible = new boolean[all.size()];
    boolean[] usable = new boolean[all.size()];
    boolean any = false;
    TrafficSplit sp = split;
    boolean canaryOff = sp != null && sp.isOff(); // at 0% (set or rolled back): keys leave it too
    for (int i = 0; i < all.size(); i++) {
      EndpointState s = all.get(i);
      usable[i] = s.control.wasUsable;
      long since = s.control.usableSinceNanos;
      boolean waited = since == Long.MIN_VALUE || now - since >= wait;
      eligible[i] = usable[i] && waited && !(canaryOff && sp.matches(s.endpoint()));
      any |= eligible[i];
      if (usable[i] && !waited) {
        rebuildAt = Math.min(rebuildAt, since + wait);
      }
    }
    return new AffinityPicker(unkeyed, all, any ? eligible : usable, movedKeys);
  }

  private @Nullable Picker tierPicker(List<EndpointState> listed, List<EndpointView> usable) {
    TrafficSplit s = split;
    if (s == null) {
      return zoned(listed, usable, "");
    }
    List<EndpointState> canaryListed = new ArrayList<>();
    List<EndpointState> stableListed = new ArrayList<>();
    for (EndpointState e : listed) {
      (s.matches(e.endpoint()) ? canaryListed : stableListed).add(e);
    }
    List<EndpointView> canaryUsable = new ArrayList<>();
    List<EndpointView> stableUsable = new ArrayList<>();
    for (EndpointView e : usable) {
      (s.matches(e.endpoint()) ? canaryUsable : stableUsable).add(e);
    }
    if (s.isOff() && !stableUsable.isEmpty()) {
      statuses.markInTier(
          canaryUsable,
          "canary at 0%"
              + (canaryRolledBack.isEmpty() ? "" : " (rolled back)")
              + ": takes only what the stable endpoints cannot serve");
    }
    Picker canary = zoned(canaryListed, canaryUsable, "canary ");
    Picker stable = zoned(stableListed, stableUsable, s.isOff() ? "" : "stable ");
    if (stable == null) {
      return canary; // no stable endpoint usable: everything to the canary
    }
    if (canary == null) {
      if (s.fallsBackToStable()) {
        return stable;
      }
      PickResult none =
          PickResult.unavailable(NO_CANARY + " (tags " + s.tags() + ") and no fallback to stable");
      canary = context -> none;
    }
    return SplitPicker.dynamic(canary, stable, canaryShare, s.fallsBackToStable(), spilloverRandom);
  }

  /**
   * The share of picks each zone of {@code usable} gets (fractions summing to 1, the local zone
   * included), or null when zones do not apply: no local zone, routing off, a tier below the
   * minimum size, a single zone listed, or nothing that serves well.
   */
  @Nullable Map<String, Double> zoneShares(List<EndpointState> listed, List<EndpointView> usable) {
    if (usable.isEmpty()) {
      return null;
    }
    String local = settings.localZone();
    ZoneRouting routing = settings.zoneRouting();
    if (local.isEmpty() || !routing.isEnabled() || listed.size() < routing.minClusterSize()) {
      return null;
    }
    Map<String, Long> listedWeight = new TreeMap<>();
    for (EndpointState e : listed) {
      listedWeight.merge(e.endpoint().zone(), (long) e.baseWeight(), Long::sum);
    }
    if (!listedWeight.containsKey(local) || listedWeight.size() < 2) {
      return null;
    }
    // Capacity counts the endpoints that serve well: usable, and not failing with an ejection
    // the cap refused (a zone answering 503 everywhere has little to offer).
    Map<String, Long> capacity = new TreeMap<>();
    long totalListed = 0;
    long totalCapacity = 0;
    for (long w : listedWeight.values()) {
      totalListed += w;
    }
    for (EndpointView v : usable) {
      String zone = v.endpoint().zone();
      EndpointState e = (EndpointState) v;
      if (e.ejection.refused().isEmpty()) {
        capacity.merge(zone, (long) e.baseWeight(), Long::sum);
        totalCapacity += e.baseWeight();
      }
    }
    if (totalCapacity == 0 || totalListed == 0) {
      return null;
    }
    Map<String, Double> share = new TreeMap<>();
    double localCapacity = capacity.getOrDefault(local, 0L) / (double) totalCapacity;
    double localExpected = listedWeight.get(local) / (double) totalListed;
    double localShare;
    if (routing.policy() == ZoneRouting.Policy.LOCAL_FIRST) {
      localShare = localCapacity > 0 ? 1 : 0;
    } else {
      localShare = localCapacity >= localExpected ? 1 : localCapacity / localExpected;
    }
    share.put(local, localShare);
    // The rest goes to the other zones by their spare capacity (EVEN), or by their capacity.
    Map<String, Double> spare = new TreeMap<>();
    double totalSpare = 0;
    for (Map.Entry<String, Long> c : capacity.entrySet()) {
      if (c.getKey().equals(local)) {
        continue;
      }
      double have = c.getValue() / (double) totalCapacity;
      double expected = listedWeight.getOrDefault(c.getKey(), 0L) / (double) totalListed;
      double sp = routing.policy() == ZoneRouting.Policy.EVEN ? Math.max(0, have - expected) : have;
      spare.put(c.getKey(), sp);
      totalSpare += sp;
    }
    for (Map.Entry<String, Double> sp : spare.entrySet()) {
      share.put(sp.getKey(), totalSpare > 0 ? (1 - localShare) * sp.getValue() / totalSpare : 0);
    }
    return share;
  }

  /**
   * The picker of {@code usable} (of {@code listed}), preferring the local zone as the zone routing
   * says; a plain picker when no zone is known, zones are off, the tier is too small, or only one
   * zone is listed. Null if nothing is usable. Records each endpoint's route; {@code label} names
   * the group in the routing line ("canary ", "stable " or "").
   */
  private @Nullable Picker zoned(
      List<EndpointState> listed, List<EndpointView> usable, String label) {
    if (usable.isEmpty()) {
      return null;
    }
    Map<String, Double> share = zoneShares(listed, usable);
    if (share == null) {
      statuses.markInTier(usable, "");
      return pickerFactory.newPicker(List.copyOf(usable));
    }
    String local = settings.localZone();
    if (statuses.tierServes()) {
      StringBuilder z = new StringBuilder(label + "zones (local " + local + "):");
      share.forEach(
          (zone, x) ->
              z.append(' ')
                  .append(zone.isEmpty() ? "(none)" : zone)
                  .append(' ')
                  .append(String.format(Locale.ROOT, "%.1f%%", 100 * x)));
      statuses.routing(z.toString());
    }
    Map<String, List<EndpointView>> byZone = new TreeMap<>();
    for (EndpointView v : usable) {
      byZone.computeIfAbsent(v.endpoint().zone(), z -> new ArrayList<>()).add(v);
    }
    for (Map.Entry<String, List<EndpointView>> e : byZone.entrySet()) {
      String zone = e.getKey().isEmpty() ? "(none)" : e.getKey();
      statuses.markInTier(
          e.getValue(),
          share.getOrDefault(e.getKey(), 0.0) > 0
              ? ""
              : "other zone "
                  + zone
                  + ": 0% of picks (local zone "
                  + local
                  + " serves), a fallback");
    }
    // Local first, then by share: the order picks fall back in.
    List<String> order = new ArrayList<>(byZone.keySet());
    order.sort(
        (a, b) ->
            a.equals(local)
                ? -1
                : b.equals(local)
                    ? 1
                    : Double.compare(share.getOrDefault(b, 0.0), share.getOrDefault(a, 0.0)));
    List<Picker> parts = new ArrayList<>(order.size());
    double[] shares = new double[order.size()];
    for (int i = 0; i < order.size(); i++) {
      parts.add(pickerFactory.newPicker(List.copyOf(byZone.get(order.get(i)))));
      shares[i] = share.getOrDefault(order.get(i), 0.0);
    }
    double sum = 0;
    for (double x : shares) {
      sum += x;
    }
    if (sum <= 0) {
      return pickerFactory.newPicker(List.copyOf(usable));
    }
    return SplitPicker.fixed(parts, shares, spilloverRandom, "zones");
  }

  private void addPicker(List<Picker> pickers, List<? extends EndpointView> tier) {
    if (tier.isEmpty()) {
      return;
    }
    try {
      pickers.add(pickerFactory.newPicker(List.copyOf(tier)));
    } catch (RuntimeException e) {
      logger.error(
          "[{}] strategy {} failed to build a picker", failures.service(), pickerFactory, e);
    }
  }
}
