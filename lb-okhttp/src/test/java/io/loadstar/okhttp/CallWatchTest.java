package io.loadstar.okhttp;

import static org.assertj.core.api.Assertions.assertThat;

import okhttp3.Call;
import okhttp3.OkHttpClient;
import okhttp3.Request;
import org.junit.jupiter.api.Test;

/**
 * The cancellation an attempt's timeout causes must not reach the next attempt: OkHttp's watchdog
 * thread reports a timed-out attempt as cancelled, and that report can come after the next attempt
 * has started (a flaky attempt-timeout test showed it). Only the caller's call passes it on.
 */
class CallWatchTest {

  private final OkHttpClient client = new OkHttpClient();
  private final Request request = new Request.Builder().url("http://svc.test/").build();

  @Test
  void aTimedOutAttemptReportedLate_doesNotCancelTheNextAttempt_theCallersCancelDoes() {
    Call original = client.newCall(request);
    Call timedOut = original.clone();
    Call next = original.clone();
    CallWatch watch = new CallWatch(original);
    watch.started(timedOut);
    watch.ended(timedOut);
    watch.started(next); // the loop has moved on to the next attempt

    watch.canceled(timedOut); // the watchdog's late report of the first attempt's timeout
    assertThat(next.isCanceled()).isFalse();

    watch.canceled(original); // the caller gives up (or the call timeout fires)
    assertThat(next.isCanceled()).isTrue();
  }

  @Test
  void everyRunningCloneIsCancelledWithTheCall_andOneStartedAfterIsCancelledAtOnce() {
    Call original = client.newCall(request);
    Call first = original.clone();
    Call hedge = original.clone();
    CallWatch watch = new CallWatch(original);
    watch.started(first);
    watch.started(hedge);
    original.cancel();
    watch.canceled(original);
    assertThat(first.isCanceled()).isTrue();
    assertThat(hedge.isCanceled()).isTrue();
    Call late = original.clone();
    watch.started(late);
    assertThat(late.isCanceled()).isTrue();
  }

  @Test
  void anAttemptCancelledBeforeItsCloneExists_cancelsTheCloneItRunsAs() {
    CallWatch.AttemptWatch attempt = new CallWatch.AttemptWatch();
    attempt.cancel();
    Call clone = client.newCall(request);
    attempt.runsAs(clone);
    assertThat(clone.isCanceled()).isTrue();
    assertThat(attempt.isCancelled()).isTrue();
  }
}
