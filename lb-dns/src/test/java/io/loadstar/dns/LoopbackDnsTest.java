package io.loadstar.dns;

import io.loadstar.testing.Await;
import io.loadstar.testing.FakeTicker;
import io.loadstar.testing.LoopbackDnsServer;
import io.loadstar.testing.ManualScheduler;
import java.util.ArrayList;
import java.util.List;
import java.util.function.BooleanSupplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;

/**
 * Shared set-up of the DNS tests: a loopback responder, fake time for timers (and for the answer
 * cache), and everything opened closed after each test in reverse order.
 */
abstract class LoopbackDnsTest {

  final FakeTicker ticker = new FakeTicker();
  final ManualScheduler scheduler = new ManualScheduler(ticker);
  final DnsCache cache = DnsCache.builder().ticker(ticker).build();
  final List<AutoCloseable> closeables = new ArrayList<>();
  LoopbackDnsServer dns;

  @BeforeEach
  void startDns() throws Exception {
    dns = new LoopbackDnsServer();
    closeables.add(dns);
  }

  @AfterEach
  void closeAll() throws Exception {
    for (int i = closeables.size() - 1; i >= 0; i--) {
      closeables.get(i).close();
    }
  }

  /** Polls for an asynchronous outcome (a real DNS round trip); the deadline is a guard only. */
  static void await(BooleanSupplier condition) {
    if (!Await.until(condition)) {
      throw new AssertionError("condition not met within 10 s");
    }
  }
}
