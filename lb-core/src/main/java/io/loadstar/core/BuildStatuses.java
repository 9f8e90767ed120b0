package io.loadstar.core;

import io.loadstar.api.EndpointView;
import io.loadstar.core.EndpointStatus.Route;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.function.Function;

/*
 * Design notes: the statuses of one snapshot build, made by SnapshotBuilder for each build and
 * dropped after it. First each endpoint's state (EndpointStatus.describe), which is the one place
 * the build reads whether an endpoint is usable; then, while the builder makes the pickers, the
 * route each picker gives each endpoint (the first route recorded wins: an endpoint a first
 * choice's picker covers is not a fallback too), and the routing in words. The tier being built
 * has a route of its own (first choice for the serving tier, a fallback for a backup tier or one
 * spill-over gives no share), which the endpoints it covers take unless said otherwise.
 */
/** The statuses and routing lines of one snapshot build; control loop only. */
final class BuildStatuses {

  private final IdentityHashMap<EndpointState, Integer> index = new IdentityHashMap<>();
  private final EndpointStatus[] base;
  private final Route[] routes;
  private final String[] routeReasons;
  private final List<String> routing = new ArrayList<>();
  private Route tierRoute = Route.FIRST;
  private String tierReason = "";

  /** The statuses of {@code states} (in key order), each described as it is now. */
  BuildStatuses(List<EndpointState> states, Function<EndpointState, EndpointStatus> describe) {
    int n = states.size();
    this.base = new EndpointStatus[n];
    this.routes = new Route[n];
    this.routeReasons = new String[n];
    for (int i = 0; i < n; i++) {
      EndpointState s = states.get(i);
      index.put(s, i);
      base[i] = describe.apply(s);
    }
    clearRoutes();
  }

  /** Each endpoint's state, without a route yet; for the counts failed picks are explained by. */
  EndpointStatus[] states() {
    return base;
  }

  /** Whether {@code v} may take calls: healthy, not ejected, listed with a weight, not drained. */
  boolean usable(EndpointView v) {
    Integer i = index.get(v);
    return i != null && base[i].usable();
  }

  /** The endpoints of {@code listed} that may take calls. */
  List<EndpointView> usable(List<EndpointState> listed) {
    List<EndpointView> out = new ArrayList<>(listed.size());
    for (EndpointState s : listed) {
      if (usable(s)) {
        out.add(s);
      }
    }
    return out;
  }

  /** The tier built next gives its endpoints {@code route}, for {@code reason}. */
  void tier(Route route, String reason) {
    tierRoute = route;
    tierReason = reason;
  }

  /** Whether the tier being built takes first attempts. */
  boolean tierServes() {
    return tierRoute == Route.FIRST;
  }

  /** Records that the pickers reach {@code v} by {@code route}, unless a route is known. */
  void mark(EndpointView v, Route route, String why) {
    Integer i = index.get(v);
    if (i != null && routes[i] == Route.NONE) {
      routes[i] = route;
      routeReasons[i] = why;
    }
  }

  void markAll(List<? extends EndpointView> views, Route route, String why) {
    for (EndpointView v : views) {
      mark(v, route, why);
    }
  }

  /**
   * Records {@code views} as reached by the tier being built: first choices in a serving tier (or,
   * with {@code fallbackInServing} non-empty, fallbacks for that reason), fallbacks for the tier's
   * reason in a backup tier.
   */
  void markInTier(List<? extends EndpointView> views, String fallbackInServing) {
    if (tierRoute != Route.FIRST) {
      markAll(views, tierRoute, tierReason);
    } else if (fallbackInServing.isEmpty()) {
      markAll(views, Route.FIRST, "");
    } else {
      markAll(views, Route.FALLBACK, fallbackInServing);
    }
  }

  /** Forgets every route recorded (panic replaces the pickers built so far). */
  void clearRoutes() {
    Arrays.fill(routes, Route.NONE);
    Arrays.fill(routeReasons, "");
  }

  /** Adds a line of the routing in words. */
  void routing(String line) {
    routing.add(line);
  }

  /** The published statuses, in key order. */
  List<EndpointStatus> statuses() {
    List<EndpointStatus> out = new ArrayList<>(base.length);
    for (int i = 0; i < base.length; i++) {
      out.add(base[i].routed(routes[i], routeReasons[i]));
    }
    return List.copyOf(out);
  }

  /** The routing lines, in the order the build added them. */
  List<String> routing() {
    return List.copyOf(routing);
  }
}
