package io.loadstar.core.internal;

import io.loadstar.api.LbEventListener;
import org.slf4j.Logger;

/** Calls user event listeners so that one that throws cannot break the caller. */
public final class Listeners {

  private Listeners() {}

  /** Runs {@code call} on {@code listener}; logs what it throws and goes on. */
  public static void notify(
      Logger logger, String service, LbEventListener listener, Runnable call) {
    try {
      call.run();
    } catch (RuntimeException e) {
      logger.warn("[{}] event listener {} threw", service, listener, e);
    }
  }
}
