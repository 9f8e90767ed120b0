package io.loadstar.httpclient5;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;

/**
 * What this module's client tests share: what they start is closed after each test, newest first.
 */
abstract class HttpClient5TestBase {

  private final List<AutoCloseable> closeables = new ArrayList<>();

  @AfterEach
  void closeAll() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
  }

  /** Closes {@code c} after the test; returns it. */
  final <T extends AutoCloseable> T closeLater(T c) {
    closeables.add(c);
    return c;
  }
}
