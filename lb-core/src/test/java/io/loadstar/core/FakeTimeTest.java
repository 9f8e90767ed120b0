package io.loadstar.core;

import io.loadstar.testing.FakeTicker;
import io.loadstar.testing.ManualScheduler;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;

/** A test on fake time: a ticker, a manual scheduler on it, and what to close afterwards. */
abstract class FakeTimeTest {

  final FakeTicker ticker = new FakeTicker();
  final ManualScheduler scheduler = new ManualScheduler(ticker);
  private final List<AutoCloseable> closeables = new ArrayList<>();

  /** Closes {@code c} after the test, in reverse order of registration. */
  <T extends AutoCloseable> T closeLater(T c) {
    closeables.add(c);
    return c;
  }

  @AfterEach
  void closeAll() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
  }
}
