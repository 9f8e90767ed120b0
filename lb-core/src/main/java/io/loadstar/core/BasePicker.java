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
