package io.loadstar.core;

import io.loadstar.api.EndpointSnapshot;
import org.jspecify.annotations.Nullable;

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

  /**
   * The state of {@code s} in words as it is now, without a route yet: drained (or weight 0),
   * ejected, unhealthy, ramping or ready, with a refused ejection and a canary's rollback added to
   * the reason. {@code split} is the canary split applied (null: none) and {@code rolledBack} why
   * it was rolled back (empty: it was not).
   */
  static EndpointStatus describe(
      EndpointState s, long slowStartNanos, @Nullable TrafficSplit split, String rolledBack) {
    EndpointSnapshot.State kind;
    String reason = "";
    double effectiveWeight = s.baseWeight() * s.routing.rampFactor;
    if (s.operator.draining || s.baseWeight() == 0) {
      kind = EndpointSnapshot.State.DRAINING;
      reason = s.operator.draining ? "drained by the application" : "weight 0";
      effectiveWeight = 0;
    } else if (s.ejection.isEjected()) {
      kind = EndpointSnapshot.State.EJECTED;
      reason = s.ejection.reason();
      effectiveWeight = 0;
    } else if (!s.health.healthy) {
      kind = EndpointSnapshot.State.UNHEALTHY;
      reason = s.health.healthReason;
      effectiveWeight = 0;
    } else if (s.routing.rampFactor < 1) {
      kind = EndpointSnapshot.State.RAMPING;
      reason =
          "slow start: "
              + Math.round(s.routing.rampFactor * 100)
              + "% of weight, "
              + Math.round(slowStartNanos / 1e9)
              + " s window";
    } else {
      kind = EndpointSnapshot.State.READY;
    }
    String refused = s.ejection.refused();
    if (!refused.isEmpty() && !s.ejection.isEjected()) {
      reason = join(reason, refused);
    }
    if (!rolledBack.isEmpty() && split != null && split.matches(s.endpoint())) {
      reason = join(reason, "canary rolled back: " + rolledBack);
    }
    return new EndpointStatus(s, kind, reason, Route.NONE, "", effectiveWeight);
  }

  /** This status with {@code route}, for {@code why}. */
  EndpointStatus routed(Route route, String why) {
    return new EndpointStatus(state, kind, reason, route, why, effectiveWeight);
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
    Ejection.InForce ejection = state.ejection.inForce;
    if (kind == EndpointSnapshot.State.EJECTED && ejection != null) {
      long left = Math.round((ejection.untilNanos() - nowNanos) / 1e9);
      if (left < Math.round(ejection.forNanos() / 1e9)) {
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
