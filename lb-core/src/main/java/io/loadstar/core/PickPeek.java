package io.loadstar.core;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointView;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.api.Picker;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import org.jspecify.annotations.Nullable;

/*
 * Design notes: explain() must agree with the picks it explains, so it does not rebuild the
 * routing: it asks the published snapshot's own pickers, each of which answers for the structure it
 * is (a tier list, a zone or canary split, a sticky ring, a hash table, a strategy) by the same
 * rules its pick() follows, but without acquiring anything, drawing from a random stream or moving
 * a cursor. The answer is the endpoint when the pick is determined by the context and the state
 * (a hash key's owner, the less busy of two least-request candidates), the endpoints it is drawn
 * among when the pick is random (a draw by share, power of two choices over more than two, round
 * robin's cursor, a tie), or none. A picker that cannot tell (a custom strategy's) says so.
 */
/** Where a pick would go, found without acquiring anything. Immutable. */
final class PickPeek {

  /** A picker that can say where a pick would go without taking it. */
  interface Peeking {
    /** Where a pick with {@code context} would go now; acquires nothing, draws nothing. */
    PickPeek peek(PickContext context);
  }

  static final PickPeek NONE = new PickPeek(null, List.of(), false);
  static final PickPeek UNKNOWN = new PickPeek(null, List.of(), true);

  private final @Nullable Endpoint endpoint;
  private final List<Endpoint> among;
  private final boolean unknown;

  private PickPeek(@Nullable Endpoint endpoint, List<Endpoint> among, boolean unknown) {
    this.endpoint = endpoint;
    this.among = among;
    this.unknown = unknown;
  }

  /**
   * Why a pick with {@code context} from {@code picker} would find nothing, or null if it would
   * find an endpoint; takes nothing (a pick made to learn the reason is cancelled).
   */
  static @Nullable String nothingLeft(Picker picker, PickContext context) {
    if (!of(picker, context).none()) {
      return null;
    }
    PickResult result = picker.pick(context); // unavailable, with the reason why
    if (result.isAvailable()) {
      result.handle().onCancel();
      return null;
    }
    return result.reason();
  }

  static PickPeek of(Endpoint endpoint) {
    return new PickPeek(endpoint, List.of(endpoint), false);
  }

  /** A pick drawn among {@code endpoints} (one of them: determined; none: no pick). */
  static PickPeek among(List<Endpoint> endpoints) {
    if (endpoints.isEmpty()) {
      return NONE;
    }
    return endpoints.size() == 1 ? of(endpoints.get(0)) : new PickPeek(null, endpoints, false);
  }

  /** A pick drawn among the answers of several parts. */
  static PickPeek union(List<PickPeek> parts) {
    Set<Endpoint> all = new LinkedHashSet<>();
    for (PickPeek p : parts) {
      if (p.unknown) {
        return UNKNOWN;
      }
      all.addAll(p.among);
    }
    return among(new ArrayList<>(all));
  }

  /** Asks {@code picker}, or UNKNOWN if it cannot tell. */
  static PickPeek of(Picker picker, PickContext context) {
    return picker instanceof Peeking ? ((Peeking) picker).peek(context) : UNKNOWN;
  }

  /** Whether a pick would take {@code view} now: not tried, not at its limit, not held back. */
  static boolean available(EndpointView view, PickContext context) {
    if (context.triedCount() != 0 && context.isTried(view.endpoint())) {
      return false;
    }
    return !(view instanceof EndpointState) || ((EndpointState) view).wouldAcquire();
  }

  /** The endpoints of {@code views} a pick could take now, drawn among. */
  static PickPeek amongAvailable(EndpointView[] views, PickContext context) {
    List<Endpoint> out = new ArrayList<>(views.length);
    for (EndpointView v : views) {
      if (available(v, context)) {
        out.add(v.endpoint());
      }
    }
    return among(out);
  }

  /** The endpoint the pick takes, when it is determined. */
  @Nullable Endpoint endpoint() {
    return endpoint;
  }

  /** The endpoints the pick is drawn among (the one endpoint, when determined). */
  List<Endpoint> among() {
    return among;
  }

  /** No endpoint would be picked. */
  boolean none() {
    return !unknown && among.isEmpty();
  }

  /** The picker could not tell (a custom strategy). */
  boolean unknown() {
    return unknown;
  }

  @Override
  public String toString() {
    return unknown ? "unknown" : endpoint != null ? endpoint.key() : "among " + among;
  }
}
