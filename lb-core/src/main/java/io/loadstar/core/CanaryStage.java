package io.loadstar.core;

import io.loadstar.api.EndpointView;
import io.loadstar.api.PickResult;
import io.loadstar.api.Picker;
import java.util.ArrayList;
import java.util.List;
import org.jspecify.annotations.Nullable;

/*
 * Design notes: with a traffic split, a group is split into its canary endpoints (the split's
 * tags) and the stable ones, each built by the rest of the chain, and a SplitPicker gives the
 * canary its share, read from canaryShare on each pick (a ramp or a rollback moves it between
 * builds). No stable endpoint usable: everything to the canary. No canary usable: the stable ones
 * take its share if the split falls back, else its share of picks fails with a reason. A split at
 * 0% keeps the canary endpoints as a fallback.
 */
/** The canary split. Control loop only. */
final class CanaryStage implements RoutingStage {

  /** How a strict canary's failed picks start their reason. */
  static final String NO_CANARY = "no usable canary endpoint";

  private final SplitPicker.SplitState canaryShare;
  private final PerThread random;

  CanaryStage(SplitPicker.SplitState canaryShare, PerThread random) {
    this.canaryShare = canaryShare;
    this.random = random;
  }

  @Override
  public @Nullable Picker picker(RoutingBuild build, Group group, Chain next) {
    TrafficSplit s = build.split;
    if (s == null) {
      return next.picker(group);
    }
    List<EndpointState> canaryListed = new ArrayList<>();
    List<EndpointState> stableListed = new ArrayList<>();
    for (EndpointState e : group.listed()) {
      (s.matches(e.endpoint()) ? canaryListed : stableListed).add(e);
    }
    List<EndpointView> canaryUsable = new ArrayList<>();
    List<EndpointView> stableUsable = new ArrayList<>();
    for (EndpointView e : group.usable()) {
      (s.matches(e.endpoint()) ? canaryUsable : stableUsable).add(e);
    }
    if (s.isOff() && !stableUsable.isEmpty()) {
      build.statuses.markInTier(
          canaryUsable,
          "canary at 0%"
              + (build.rolledBack.isEmpty() ? "" : " (rolled back)")
              + ": takes only what the stable endpoints cannot serve");
    }
    Picker canary = next.picker(new Group(canaryListed, canaryUsable, "canary "));
    Picker stable = next.picker(new Group(stableListed, stableUsable, s.isOff() ? "" : "stable "));
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
    return SplitPicker.dynamic(canary, stable, canaryShare, s.fallsBackToStable(), random);
  }
}
