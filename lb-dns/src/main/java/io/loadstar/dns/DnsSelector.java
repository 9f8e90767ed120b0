package io.loadstar.dns;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.NioClient;

/*
 * Design notes: dnsjava's SimpleResolver sends every query through one JVM-wide NIO selector
 * thread ("dnsjava NIO selector"), which its first query starts and which then runs until
 * NioClient.close(), which dnsjava itself calls only from a shutdown hook. Loadstar promises that
 * closing the last balancer leaves no thread behind, so the DNS sources count themselves here: the
 * last one to close stops the selector, and the next query starts it again (NioClient opens a new
 * one on demand). The count and the close share one lock, so a source starting while the last
 * one closes waits for the close to finish, and its queries get a fresh selector.
 *
 * The selector is dnsjava's, not Loadstar's: an application that sends its own queries through
 * dnsjava's resolvers keeps it with -Dio.loadstar.dns.stopSelector=false (its queries in flight
 * would otherwise fail when the last Loadstar source closes).
 */
/** Stops dnsjava's selector thread when the last DNS source closes. Thread-safe. */
final class DnsSelector {

  /** The system property that keeps dnsjava's selector running when set to {@code false}. */
  static final String STOP_PROPERTY = "io.loadstar.dns.stopSelector";

  private static final Logger logger = LoggerFactory.getLogger(DnsSelector.class);
  private static final String SELECTOR_THREAD = "dnsjava NIO selector";

  private static int users; // guarded by DnsSelector.class

  private DnsSelector() {}

  /** A source started: the selector is needed. */
  static synchronized void acquire() {
    users++;
  }

  /** A source closed: the last one stops the selector (unless told not to). */
  static synchronized void release() {
    if (--users > 0 || !Boolean.parseBoolean(System.getProperty(STOP_PROPERTY, "true"))) {
      return;
    }
    if (Thread.currentThread().getName().equals(SELECTOR_THREAD)) {
      return; // it cannot wait for itself to end; the next close will
    }
    try {
      NioClient.close();
    } catch (RuntimeException e) {
      logger.debug("stopping dnsjava's selector failed", e);
    }
  }

  /** How many sources hold the selector; for tests. */
  static synchronized int users() {
    return users;
  }
}
