package io.loadstar.core;

import io.loadstar.api.EndpointView;
import io.loadstar.api.PickContext;
import io.loadstar.api.PickResult;
import io.loadstar.api.SelectionContext;
import java.util.List;

/** Weighted random: a random index into the weighted schedule, O(1). Immutable. */
final class RandomStrategy extends BuiltinStrategy {

  @Override
  public PickerFactory newPickerFactory(SelectionContext context) {
    PerThread perThread = new PerThread(context.seed());
    return ready -> new RandomPicker(ready, perThread);
  }

  @Override
  public String toString() {
    return "random()";
  }

  static final class RandomPicker extends BasePicker {
    private final int[] schedule;
    private final PerThread perThread;

    RandomPicker(List<EndpointView> ready, PerThread perThread) {
      super(ready);
      this.schedule = Schedules.build(Schedules.weights(views));
      this.perThread = perThread;
    }

    @Override
    public PickResult pick(PickContext context) {
      PerThread.State s = perThread.get();
      int index = schedule[PerThread.nextInt(s, schedule.length)];
      PickResult r = tryPick(views[index], context);
      return r != null ? r : scanFrom(PerThread.nextInt(s, views.length), context);
    }
  }
}
