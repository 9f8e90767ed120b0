package io.loadstar.core;

import io.loadstar.api.EndpointView;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.api.SelectionContext;
import java.util.List;

/*
 * Design notes: O(1) smooth weighted round robin. Each snapshot precomputes a weighted schedule
 * (Schedules); a pick reads the thread's own cursor (PerThread: a plain int, no atomic, no shared
 * cache line) and advances it. The cursors belong to the balancer's factory, so a rebuild keeps
 * them (a cursor past the end of a shorter schedule wraps), and they start at seeded random
 * positions so a fleet of clients does not start in lock-step on the first endpoint.
 */
/** Weighted, smooth round robin. Immutable; the factory holds the balancer's cursors. */
final class RoundRobinStrategy extends BuiltinStrategy {

  @Override
  public PickerFactory newPickerFactory(SelectionContext context) {
    PerThread perThread = new PerThread(context.seed());
    return ready -> new RoundRobinPicker(ready, perThread);
  }

  @Override
  public String toString() {
    return "roundRobin()";
  }

  static final class RoundRobinPicker extends BasePicker {
    private final int[] schedule;
    private final PerThread perThread;

    RoundRobinPicker(List<EndpointView> ready, PerThread perThread) {
      super(ready);
      this.schedule = Schedules.build(Schedules.weights(views));
      this.perThread = perThread;
    }

    @Override
    public PickResult pick(PickContext context) {
      PerThread.State s = perThread.get();
      int[] sched = schedule;
      int length = sched.length;
      int pos = s.cursor;
      if (pos >= length) {
        pos %= length;
      }
      int next = pos + 1;
      s.cursor = next == length ? 0 : next;
      int index = sched[pos];
      PickResult r = tryPick(views[index], context);
      return r != null ? r : scanFrom(index + 1 == views.length ? 0 : index + 1, context);
    }
  }
}
