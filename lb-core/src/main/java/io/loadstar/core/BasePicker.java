package io.loadstar.core;

import io.loadstar.api.EndpointView;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.api.Picker;
import java.util.List;
import org.jspecify.annotations.Nullable;

/**
 * Shared parts of the built-in pickers: the snapshot array, exclusion checks and the slow path that
 * scans for any usable endpoint when the strategy's own choice is excluded or at its limit.
 * Immutable; safe for concurrent use.
 */
abstract class BasePicker implements Picker, PickPeek.Peeking {

  final EndpointView[] views;
  final PickResult exhausted;

  BasePicker(List<EndpointView> ready) {
    if (ready.isEmpty()) {
      throw new IllegalArgumentException("ready: [] (expected: non-empty)");
    }
    this.views = ready.toArray(new EndpointView[0]);
    this.exhausted =
        PickResult.unavailable(
            "all " + views.length + " endpoints are already tried or at their in-flight limit");
  }

  /** Acquires {@code view} if the context does not exclude it; null if excluded or at limit. */
  static @Nullable PickResult tryPick(EndpointView view, PickContext context) {
    if (context.triedCount() != 0 && context.isTried(view.endpoint())) {
      return null;
    }
    return view.tryAcquire();
  }

  /**
   * The pick-context attribute that marks a hedge's pick (set by the balancer's call, never by
   * users): a load-aware picker then compares every endpoint not tried instead of two. A hedge is
   * sent for at most a few percent of calls, each after its first attempt waited past the service's
   * recent tail, and it helps only if it goes where an answer comes soonest; two random candidates
   * miss the best one often enough to land a hedge on an endpoint as slow as the tail it hedges.
   */
  static final String HEDGE = "io.loadstar.core.hedge";

  /** Whether {@code context} is a hedge's pick: a retry's or a hedge's context has tried one. */
  static boolean isHedge(PickContext context) {
    return context.triedCount() != 0 && context.attribute(HEDGE) != null;
  }

  /** Tries every endpoint once, starting at {@code start}; the slow path. */
  final PickResult scanFrom(int start, PickContext context) {
    EndpointView[] v = views;
    int n = v.length;
    for (int i = 0; i < n; i++) {
      int index = start + i;
      if (index >= n) {
        index -= n;
      }
      PickResult r = tryPick(v[index], context);
      if (r != null) {
        return r;
      }
    }
    return exhausted;
  }

  /** By default a pick draws among the endpoints it could take (round robin's cursor, a draw). */
  @Override
  public PickPeek peek(PickContext context) {
    return PickPeek.amongAvailable(views, context);
  }

  @Override
  public String toString() {
    return getClass().getSimpleName() + "{" + views.length + " endpoints}";
  }
}
