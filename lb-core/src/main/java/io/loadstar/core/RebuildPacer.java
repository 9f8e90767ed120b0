package io.loadstar.core;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executor;

/*
 * Design notes: one change often asks for several rebuilds: a sweep ejects three endpoints, a list
 * change lets a refused ejection through, a canary rolls back while an ejection is in force. Each
 * asked for its own rebuild and publish before, so a picker could be built two or three times for
 * one task. Now a part asks (request) and the publish runs once, as the control loop's next task,
 * after everything the current task changed; a change that must be visible before its task goes on
 * (reconciliation, before it drops removed states; an operator's drain) publishes at once, which
 * also answers the requests made before it. Caffeine's drain status and gRPC's
 * SynchronizationContext make the same trade: coalesce on the owning loop, never on the caller.
 */
/**
 * Coalesces the rebuilds the balancer's parts ask for into one publish per task. Control loop only.
 */
final class RebuildPacer {

  private final Executor controlLoop;
  private final Runnable publish;
  private final Runnable queuedPublish = this::publishIfAsked;
  private final List<Runnable> afterPublish = new ArrayList<>();
  private boolean asked;
  private boolean queued;

  /** A pacer whose publishes run {@code publish} on {@code controlLoop}. */
  RebuildPacer(Executor controlLoop, Runnable publish) {
    this.controlLoop = controlLoop;
    this.publish = publish;
  }

  /**
   * Asks for a rebuild: it runs once, as the control loop's next task, however many parts ask
   * before then (none if something publishes at once meanwhile).
   */
  void request() {
    asked = true;
    if (!queued) {
      queued = true;
      controlLoop.execute(queuedPublish); // from the control loop: runs after the current task
    }
  }

  /**
   * Runs {@code then} right after the next publish: for what must not happen while picks still read
   * the snapshot before the change (letting picks through to an endpoint that goes last from the
   * next snapshot on, say).
   */
  void afterNextPublish(Runnable then) {
    afterPublish.add(then);
  }

  /** Publishes now; the rebuilds asked for so far are answered by it. */
  void publishNow() {
    asked = false;
    publish.run();
    if (!afterPublish.isEmpty()) {
      List<Runnable> run = List.copyOf(afterPublish);
      afterPublish.clear();
      run.forEach(Runnable::run);
    }
  }

  /** Whether a rebuild was asked for and not yet published; for tests. */
  boolean isAsked() {
    return asked;
  }

  private void publishIfAsked() {
    queued = false;
    if (asked) {
      publishNow();
    }
  }
}
