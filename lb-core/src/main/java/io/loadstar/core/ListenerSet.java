package io.loadstar.core;

import io.loadstar.api.Endpoint;
import io.loadstar.api.EndpointSnapshot;
import io.loadstar.api.LbEventListener;
import io.loadstar.api.LoadBalancer;
import io.loadstar.core.internal.Listeners;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/*
 * Design notes: the builder's listener and the ones added at run time (a metrics binder, an
 * operator's tool), told in that order. The added ones are a copy-on-write array read through one
 * volatile field, so telling them allocates nothing (a failed pick tells them on a request thread).
 * Each is called on its own: one that throws is logged and the others are still told.
 */
/** Every listener of one balancer, as one. Thread-safe. */
final class ListenerSet extends LbEventListener {

  private static final Logger logger = LoggerFactory.getLogger(ListenerSet.class);
  private static final LbEventListener[] NONE = new LbEventListener[0];

  private final String service;
  private final LbEventListener configured;
  private final Object lock = new Object();
  private volatile LbEventListener[] added = NONE;

  ListenerSet(String service, LbEventListener configured) {
    this.service = service;
    this.configured = configured;
  }

  /** Adds {@code listener} until the subscription is closed. */
  LoadBalancer.Subscription add(LbEventListener listener) {
    synchronized (lock) {
      LbEventListener[] more = Arrays.copyOf(added, added.length + 1);
      more[more.length - 1] = listener;
      added = more;
    }
    return () -> remove(listener);
  }

  private void remove(LbEventListener listener) {
    synchronized (lock) {
      LbEventListener[] now = added;
      for (int i = 0; i < now.length; i++) {
        if (now[i] == listener) {
          LbEventListener[] fewer = new LbEventListener[now.length - 1];
          System.arraycopy(now, 0, fewer, 0, i);
          System.arraycopy(now, i + 1, fewer, i, now.length - i - 1);
          added = fewer;
          return;
        }
      }
    }
  }

  private void tell(Consumer<LbEventListener> event) {
    tellOne(configured, event);
    for (LbEventListener l : added) {
      tellOne(l, event);
    }
  }

  private void tellOne(LbEventListener l, Consumer<LbEventListener> event) {
    Listeners.notify(logger, service, l, () -> event.accept(l));
  }

  @Override
  public void endpointsUpdated(String service, List<Endpoint> endpoints) {
    tell(l -> l.endpointsUpdated(service, endpoints));
  }

  @Override
  public void discoveryFailed(String service, Throwable error) {
    tell(l -> l.discoveryFailed(service, error));
  }

  @Override
  public void discoveryRecovered(String service, int endpoints) {
    tell(l -> l.discoveryRecovered(service, endpoints));
  }

  @Override
  public void endpointStateChanged(
      String service, Endpoint endpoint, EndpointSnapshot.State state, String reason) {
    tell(l -> l.endpointStateChanged(service, endpoint, state, reason));
  }

  @Override
  public void panicChanged(String service, boolean panic, String reason) {
    tell(l -> l.panicChanged(service, panic, reason));
  }

  @Override
  public void canaryRolledBack(String service, String reason) {
    tell(l -> l.canaryRolledBack(service, reason));
  }

  /** Written out: a failed pick tells it on a request thread, and a lambda would allocate. */
  @Override
  public void pickFailed(String service, String reason) {
    try {
      configured.pickFailed(service, reason);
    } catch (RuntimeException e) {
      logger.warn("[{}] event listener {} threw", service, configured, e);
    }
    for (LbEventListener l : added) {
      try {
        l.pickFailed(service, reason);
      } catch (RuntimeException e) {
        logger.warn("[{}] event listener {} threw", service, l, e);
      }
    }
  }

  @Override
  public void retryBudgetExhausted(String service, long calls, long retries) {
    tell(l -> l.retryBudgetExhausted(service, calls, retries));
  }

  @Override
  public void retryBudgetRestored(String service) {
    tell(l -> l.retryBudgetRestored(service));
  }

  @Override
  public String toString() {
    return "ListenerSet{" + configured + ", " + Arrays.toString(added) + '}';
  }
}
