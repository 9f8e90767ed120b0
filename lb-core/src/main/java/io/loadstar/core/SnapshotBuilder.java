package io.loadstar.core;

import io.loadstar.api.EndpointView;
import io.loadstar.api.Picker;
import io.loadstar.api.SelectionStrategy.PickerFactory;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.LongAdder;
import java.util.function.Supplier;
import org.jspecify.annotations.Nullable;

/*
 * Design notes: turns the endpoints' states into the snapshot picks read, as a function of those
 * states, the settings and the time. Its only writes are the ones the snapshot publishes with:
 * each endpoint's slow-start factor and the weight strategies see (and the end of a ramp whose
 * window is over).
 *
 * The routing is a composition: slow start sets the weights; TierRouting groups the endpoints by
 * tier (panic, spill-over, failing endpoints last) and asks the chain of routing stages for each
 * group's picker: sticky keys around the canary split around the zones around the strategy. A
 * new routing feature is a RoutingStage and one line in STAGES' place below.
 *
 * One status per endpoint per build: while the stages build the pickers, they record for each
 * endpoint its state in words and the route their pickers give it (EndpointStatus), published
 * with the picker. snapshot(), explain(), failure messages and subsetting read those; none of them
 * works the routing out again, so they cannot disagree with the picks.
 */
/** Builds the published snapshot from endpoint states. Control loop only, unless said. */
final class SnapshotBuilder {

  /** Why a pick fails before the first list arrives. */
  static final String NO_ENDPOINTS = "0 candidates, no endpoints discovered yet";

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

  private final RoutingSettings settings;
  private final PickerFactory pickerFactory;
  private final ServiceEvents failures;
  private final SplitPicker.SplitState canaryShare = new SplitPicker.SplitState(0);
  private final SlowStart slowStart;
  private final TierRouting tiers;
  private final List<RoutingStage> stages; // outermost first; the strategy comes after the last
  private @Nullable TrafficSplit split; // control loop only
  private String canaryRolledBack = ""; // control loop only

  SnapshotBuilder(
      RoutingSettings settings,
      PickerFactory pickerFactory,
      ServiceEvents failures,
      PerThread random) {
    this.settings = settings;
    this.pickerFactory = pickerFactory;
    this.failures = failures;
    this.slowStart =
        new SlowStart(
            settings.slowStartNanos(), settings.slowStartFloorPercent(), settings.weightScale());
    this.tiers = new TierRouting(settings, pickerFactory, failures, random);
    this.stages =
        List.of(
            new AffinityStage(settings.affinity()),
            new CanaryStage(canaryShare, random),
            new ZoneStage(settings.localZone(), settings.zoneRouting(), random));
  }

  /**
   * The snapshot builder of a balancer with settings {@code b}, whose endpoints add to {@code
   * total}.
   */
  static SnapshotBuilder of(BalancerSettings b, LongAdder total, ServiceEvents events) {
    return of(b, total, events, () -> Runnable::run);
  }

  /** The builder of a balancer whose strategy's background work runs on {@code workers}. */
  static SnapshotBuilder of(
      BalancerSettings b, LongAdder total, ServiceEvents events, Supplier<Executor> workers) {
    boolean ramps =
        !(b.strategy() instanceof BuiltinStrategy) || ((BuiltinStrategy) b.strategy()).ramps();
    // Ramping strategies see weights x100 while slow start is on, so a ramp moves in 1% steps.
    int weightScale = b.slowStartNanos() > 0 && ramps ? 100 : 1;
    return new SnapshotBuilder(
        new RoutingSettings(
            b.tiers().panicThreshold(),
            b.tiers().failFastInPanic(),
            b.tiers().spillover(),
            b.slowStartNanos(),
            b.slowStartFloorPercent(),
            weightScale,
            b.maxInFlightPerEndpoint(),
            b.zone(),
            b.zoneRouting(),
            b.affinity()),
        b.strategy()
            .newPickerFactory(new BalancerContext(b.name(), b.seed(), b.ticker(), total, workers)),
        events,
        new PerThread(b.seed() ^ 0x5350494c4cL));
  }

  RoutingSettings settings() {
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
          TieredPicker.empty(NO_ENDPOINTS, failures),
          false,
          null,
          Long.MAX_VALUE,
          List.of(),
          List.of());
    }
    boolean ramping = false;
    List<EndpointState> list = new ArrayList<>(states);
    for (EndpointState s : list) {
      double factor = slowStart.rampFactor(s, now);
      ramping |= factor < 1;
      s.routing.rampFactor = factor;
    }
    TrafficSplit sp = split;
    String rolledBack = canaryRolledBack;
    BuildStatuses statuses =
        new BuildStatuses(
            list, s -> EndpointStatus.describe(s, settings.slowStartNanos(), sp, rolledBack));
    TreeMap<Integer, List<EndpointState>> serving = new TreeMap<>();
    Map<Integer, List<EndpointState>> all = new TreeMap<>();
    for (EndpointState s : list) {
      boolean usable = statuses.usable(s);
      if (usable && !s.routing.wasUsable) {
        s.routing.usableSinceNanos = now; // back: sticky keys may wait before they return
      }
      s.routing.wasUsable = usable;
      int base = s.baseWeight();
      if (base > 0) {
        all.computeIfAbsent(s.endpoint().priority(), p -> new ArrayList<>()).add(s);
      }
      s.effectiveWeight = slowStart.effectiveWeight(base, s.routing.rampFactor);
      if (base > 0 && !s.operator.draining) {
        serving.computeIfAbsent(s.endpoint().priority(), p -> new ArrayList<>()).add(s);
      }
    }
    TieredPicker.Counts counts = TieredPicker.Counts.of(statuses.states(), settings.maxInFlight());
    RoutingBuild build = new RoutingBuild(statuses, now, all, sp, rolledBack);
    TierRouting.Tiers built = tiers.build(build, serving, counts, this::chain);
    return new Snapshot(
        built.picker(),
        ramping,
        built.panicReason(),
        build.rebuildAt(),
        statuses.statuses(),
        statuses.routing());
  }

  /** A group's picker: the routing stages in order, then the strategy. */
  private @Nullable Picker chain(RoutingBuild build, RoutingStage.Group group) {
    return link(build, 0).picker(group);
  }

  private RoutingStage.Chain link(RoutingBuild build, int stage) {
    if (stage == stages.size()) {
      return group -> strategy(build, group);
    }
    RoutingStage s = stages.get(stage);
    RoutingStage.Chain next = link(build, stage + 1);
    return group -> s.picker(build, group, next);
  }

  /** The end of the chain: the strategy's picker over the group's usable endpoints. */
  private @Nullable Picker strategy(RoutingBuild build, RoutingStage.Group group) {
    List<EndpointView> usable = group.usable();
    if (usable.isEmpty()) {
      return null;
    }
    build.statuses.markInTier(usable, "");
    return pickerFactory.newPicker(List.copyOf(usable));
  }
}
