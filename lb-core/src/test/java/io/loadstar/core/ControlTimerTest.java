package io.loadstar.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.loadstar.testing.FakeTicker;
import io.loadstar.testing.ManualScheduler;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.List;
import java.util.Queue;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The control loop's timer, on a fake clock from each origin a real clock may have. */
class ControlTimerTest {

  private static final long MS = 1_000_000L;

  static List<Long> origins() {
    return FakeTicker.origins();
  }

  /** A control loop whose tasks wait until the test runs them, as a busy one's would. */
  private final Queue<Runnable> loop = new ArrayDeque<>();

  /** A fake clock and scheduler from {@code origin}, and a timer recording when it ran. */
  private final class Clock {
    final FakeTicker ticker;
    final ManualScheduler scheduler;
    final List<Long> runs = new ArrayList<>();
    final ControlTimer timer;

    Clock(long origin) {
      ticker = new FakeTicker(origin);
      scheduler = new ManualScheduler(ticker);
      timer =
          new ControlTimer(() -> scheduler, loop::add, ticker, () -> runs.add(ticker.nanoTime()));
    }
  }

  private void runLoop() {
    for (Runnable r; (r = loop.poll()) != null; ) {
      r.run();
    }
  }

  @ParameterizedTest
  @MethodSource("origins")
  void runsOnTheControlLoop_once_andTheSoonerOfTwoAsksWins(long origin) {
    Clock clock = new Clock(origin);
    FakeTicker ticker = clock.ticker;
    ManualScheduler scheduler = clock.scheduler;
    List<Long> runs = clock.runs;
    ControlTimer timer = clock.timer;
    timer.runAfter(100 * MS);
    timer.runAt(origin + 40 * MS); // sooner: replaces the first
    timer.runAfter(70 * MS); // later than what is pending: ignored
    assertThat(timer.isPending()).isTrue();
    ticker.advance(Duration.ofMillis(40));
    scheduler.runDueTasks();
    assertThat(runs).as("not on the scheduler's thread: on the control loop").isEmpty();
    runLoop();
    assertThat(runs).containsExactly(origin + 40 * MS);
    assertThat(timer.isPending()).isFalse();
    ticker.advance(Duration.ofMillis(100));
    scheduler.runDueTasks();
    runLoop();
    assertThat(runs).hasSize(1);
  }

  @ParameterizedTest
  @MethodSource("origins")
  void cancelled_evenAfterTheSchedulerFired_theTaskDoesNotRun(long origin) {
    Clock clock = new Clock(origin);
    FakeTicker ticker = clock.ticker;
    ManualScheduler scheduler = clock.scheduler;
    List<Long> runs = clock.runs;
    ControlTimer timer = clock.timer;
    timer.runAfter(10 * MS);
    ticker.advance(Duration.ofMillis(10));
    scheduler.runDueTasks(); // its control-loop task is queued behind a busy loop...
    timer.cancel(); // ...when the part cancels it
    runLoop();
    assertThat(runs).isEmpty();
    timer.runAfter(5 * MS); // a replaced run is stale too
    ticker.advance(Duration.ofMillis(5));
    scheduler.runDueTasks();
    timer.runAt(ticker.nanoTime() - MS); // due already: replaces the queued one
    scheduler.runDueTasks();
    runLoop();
    assertThat(runs).containsExactly(ticker.nanoTime());
  }
}
