package io.loadstar.api;

import java.util.List;

/**
 * Receives a balancer's events: endpoint lists and state changes, discovery errors and recoveries,
 * panic, canary rollbacks, failed picks, and its service's retry budget running out and refilling.
 *
 * <p>Subclass and override the hooks you need; each does nothing by default. Hooks are called from
 * the balancer's control loop, one at a time and never under a lock of Loadstar's: on Loadstar's
 * timer thread (or the scheduler given to the builder), a worker, or a source's thread, never on
 * the thread of a call whose outcome caused the event (an ejection after a call's fifth failure is
 * announced from the timer thread). {@link #pickFailed} and the retry budget's hooks are called
 * from the calling thread. Hooks must be fast and must not block; exceptions they throw are logged
 * and ignored.
 */
public abstract class LbEventListener {

  /** A listener that ignores every event. */
  public static final LbEventListener NONE = new LbEventListener() {};

  /** Creates a listener. */
  protected LbEventListener() {}

  /**
   * A new endpoint list was applied and a new picker published.
   *
   * @param service the balancer's name
   * @param endpoints the complete list, sorted by {@link Endpoint#key()}
   */
  public void endpointsUpdated(String service, List<Endpoint> endpoints) {}

  /**
   * A discovery source reported an error (or an empty list that was not applied). The last good
   * endpoints stay in use.
   */
  public void discoveryFailed(String service, Throwable error) {}

  /**
   * Discovery answers again after {@link #discoveryFailed}, with {@code endpoints} endpoints
   * (whether or not the list changed). Once per outage.
   */
  public void discoveryRecovered(String service, int endpoints) {}

  /**
   * An endpoint changed state: it became unhealthy or healthy again (active checks), was ejected or
   * restored (outlier detection), or was drained or resumed.
   *
   * @param reason the new state's reason in words; empty when the endpoint became READY
   */
  public void endpointStateChanged(
      String service, Endpoint endpoint, EndpointSnapshot.State state, String reason) {}

  /**
   * The balancer entered or left panic: too few endpoints of the serving tier are usable, so picks
   * spread over all of them (or fail, if configured).
   *
   * @param reason why, when entering; empty when leaving
   */
  public void panicChanged(String service, boolean panic, String reason) {}

  /**
   * A canary split was rolled back to 0% because the canary's error rate exceeded the stable
   * endpoints' by more than its margin.
   *
   * @param reason the two error rates and the calls they were measured over, in words
   */
  public void canaryRolledBack(String service, String reason) {}

  /** A pick found no endpoint; {@code reason} says why. Called on the picking thread. */
  public void pickFailed(String service, String reason) {}

  /**
   * The service's retry budget is spent: failed calls are no longer retried until it refills.
   * Called once when a retry is first refused, on the calling thread; {@link #retryBudgetRestored}
   * ends the episode at the first retry allowed after a whole budget window without a refusal.
   *
   * @param calls the calls counted in the budget's window
   * @param retries the retries counted in the budget's window
   */
  public void retryBudgetExhausted(String service, long calls, long retries) {}

  /** The service's retry budget allows retries again after {@link #retryBudgetExhausted}. */
  public void retryBudgetRestored(String service) {}
}
