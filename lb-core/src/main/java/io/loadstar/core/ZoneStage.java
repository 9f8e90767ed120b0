package io.loadstar.core;

import io.loadstar.api.EndpointView;
import io.loadstar.api.Picker;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/*
 * Design notes: with a local zone known and zone routing on, a group whose endpoints are listed in
 * two zones or more is split by zone, each zone's part built by the rest of the chain, and picks
 * are shared among the zones: the local zone takes what its capacity allows (all of it with
 * LOCAL_FIRST while it has any; with EVEN as much as keeps the load per endpoint even), the rest
 * goes to the other zones by their spare capacity (EVEN) or their capacity. Capacity counts the
 * endpoints that serve well (usable, and not failing with an ejection the cap refused), so a zone
 * answering 503 everywhere has little to offer. Picks fall back local first, then by share.
 */
/** Zone-aware routing. Control loop only. */
final class ZoneStage implements RoutingStage {

  private final String localZone;
  private final ZoneRouting routing;
  private final PerThread random;

  ZoneStage(String localZone, ZoneRouting routing, PerThread random) {
    this.localZone = localZone;
    this.routing = routing;
    this.random = random;
  }

  /**
   * The share of picks each zone of {@code usable} gets (fractions summing to 1, the local zone
   * included), or null when zones do not apply: no local zone, routing off, a group below the
   * minimum size, a single zone listed, or nothing that serves well.
   */
  @Nullable Map<String, Double> zoneShares(List<EndpointState> listed, List<EndpointView> usable) {
    if (usable.isEmpty()) {
      return null;
    }
    String local = localZone;
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
   * The picker of the group's usable endpoints, preferring the local zone as the zone routing says;
   * the rest of the chain's picker when zones do not apply. Null if nothing is usable.
   */
  @Override
  public @Nullable Picker picker(RoutingBuild build, Group group, Chain next) {
    List<EndpointView> usable = group.usable();
    if (usable.isEmpty()) {
      return null;
    }
    Map<String, Double> share = zoneShares(group.listed(), usable);
    if (share == null) {
      return next.picker(group);
    }
    String local = localZone;
    BuildStatuses statuses = build.statuses;
    if (statuses.tierServes()) {
      StringBuilder z = new StringBuilder(group.label() + "zones (local " + local + "):");
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
    double sum = 0;
    double[] shares = new double[order.size()];
    for (int i = 0; i < order.size(); i++) {
      shares[i] = share.getOrDefault(order.get(i), 0.0);
      sum += shares[i];
    }
    if (sum <= 0) {
      return next.picker(group);
    }
    List<Picker> parts = new ArrayList<>(order.size());
    for (String zone : order) {
      List<EndpointView> members = byZone.get(zone);
      List<EndpointState> listed = new ArrayList<>();
      for (EndpointState e : group.listed()) {
        if (e.endpoint().zone().equals(zone)) {
          listed.add(e);
        }
      }
      parts.add(next.picker(new Group(listed, members, group.label())));
    }
    return SplitPicker.fixed(parts, shares, random, "zones");
  }
}
