package io.loadstar.core;

import io.loadstar.api.EndpointSnapshot;

/*
 * Design notes: one endpoint's status in one snapshot, computed once by SnapshotBuilder while it
 * builds the pickers, and published with them. Every reader takes it from here and works nothing
 * out again: snapshot() (and through it metrics and SnapshotReport), explain(), the counts a failed
 * pick's message is made of, and subsetting's widening. Two things are read live, because they
 * change between builds: whether the endpoint is at its in-flight limit right now (AT_LIMIT), and
 * how long an ejection has left.
 *
 * The status has two parts: the endpoint's own state (ready, ramping at x%, draining, unhealthy
 * with the check's words, ejected with the cause, failing with an ejection the cap refused), and
 * its route, which says how the snapshot's pickers reach it: a first choice, spread over in panic,
 * a fallback only (another zone at 0%, a backup tier, the canary at 0%, failing and going last), or
 * not at all.
 */
/** What one snapshot build decided about one endpoint. Immutable. */
final class EndpointStatus {

  /** How the snapshot's pickers reach an endpoint. */
  enum Route {
    /** Takes first attempts (in its share, where zones or a canary split apply). */
    FIRST,
    /** Not usable, but panic routing spreads picks over it. */
    PANIC,
    /** Takes only what the first choices cannot serve (all tried or at their limit). */
    FALLBACK,
    /** Takes no picks. */
    NONE
  }

  final EndpointState state;
  final EndpointSnapshot.State kind;
  final String reason;
  final Route route;
  final String routeReason;
  final double effectiveWeight;

  EndpointStatus(
      EndpointState state,
      EndpointSnapshot.State kind,
      String reason,
      Route route,
      String routeReason,
      double effectiveWeight) {
    this.state = state;
    this.kind = kind;
    this.reason = reason;
    this.route = route;
    this.routeReason = routeReason;
    this.effectiveWeight = effectiveWeight;
  }

  /** Healthy, not ejected, listed with a weight and not drained: it may take calls. */
  boolean usable() {
    return kind == EndpointSnapshot.State.READY || kind == EndpointSnapshot.State.RAMPING;
  }

  /** A first attempt may go to it (as a first choice, or spread over in panic). */
  boolean candidate() {
    return route == Route.FIRST || route == Route.PANIC;
  }

  /** The priority tier. */
  int tier() {
    return state.endpoint().priority();
  }

  /** The state at {@code nowNanos}: AT_LIMIT when usable and at its limit right now. */
  EndpointSnapshot.State kindNow() {
    return usable() && state.atLimit() ? EndpointSnapshot.State.AT_LIMIT : kind;
  }

  /**
   * The reason in words at {@code nowNanos}, with how long an ejection has left and, for an
   * endpoint that is not a first choice, why.
   */
  String reasonNow(long nowNanos, int maxInFlight) {
    String r = reason;
    if (kind == EndpointSnapshot.State.EJECTED && state.ejection.isEjected()) {
      long left = Math.round((state.ejection.untilNanos() - nowNanos) / 1e9);
      if (left < Math.round(state.ejection.forNanos() / 1e9)) {
        r = r + ", " + Math.max(0, left) + " s left"; // until when, once time has passed
      }
    } else if (usable() && state.atLimit()) {
      r = join("at in-flight limit " + maxInFlight, r);
    }
    if (route != Route.FIRST && !routeReason.isEmpty()) {
      r = join(r, routeReason);
    }
    return r;
  }

  /** The public snapshot of this status at {@code nowNanos}. */
  EndpointSnapshot snapshot(long nowNanos, int maxInFlight) {
    return EndpointSnapshot.builder(state.endpoint(), kindNow())
        .reason(reasonNow(nowNanos, maxInFlight))
        .effectiveWeight(effectiveWeight)
        .inFlight(state.inFlight())
        .counters(state.successes(), state.failures())
        .build();
  }

  static String join(String a, String b) {
    return a.isEmpty() ? b : b.isEmpty() ? a : a + "; " + b;
  }

  @Override
  public String toString() {
    return state.endpoint().key() + " " + kind + " " + route + " " + reason + " " + routeReason;
  }
}
