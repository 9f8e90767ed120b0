package io.loadstar.samples;

import java.util.concurrent.ThreadFactory;

/** Thread factories for the samples' loopback servers: daemon threads, so a demo never hangs. */
final class DaemonThreads {

  private DaemonThreads() {}

  /** A factory of daemon threads named {@code name}. */
  static ThreadFactory named(String name) {
    return r -> {
      Thread t = new Thread(r, name);
      t.setDaemon(true);
      return t;
    };
  }
}
