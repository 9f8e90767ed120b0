package io.loadstar.okhttp;

import java.util.concurrent.locks.LockSupport;
import okhttp3.Call;
import okhttp3.Connection;
import okhttp3.EventListener;
import org.jspecify.annotations.Nullable;

/**
 * Watches a call and its retries: whether the current attempt's request started (else it was not
 * sent), the connection it went out on, and the call's cancellation, which it passes on to the
 * running retry and to a backoff wait. A retry that is cancelled (its attempt timeout) cancels
 * nothing else: that event may arrive from OkHttp's watchdog thread after the next attempt has
 * started.
 */
final class CallWatch extends EventListener {
  private final Call original;
  volatile boolean requestStarted;
  volatile @Nullable Connection connection; // the current attempt's
  volatile @Nullable Thread waiter;
  volatile @Nullable Call retry;

  CallWatch(Call original) {
    this.original = original;
  }

  @Override
  public void connectionAcquired(Call call, Connection connection) {
    this.connection = connection;
  }

  @Override
  public void requestHeadersStart(Call call) {
    requestStarted = true;
  }

  @Override
  public void canceled(Call call) {
    if (call != original) {
      return; // an attempt timed out; the loop moves on to the next attempt by itself
    }
    Call r = retry;
    if (r != null) {
      r.cancel();
    }
    Thread t = waiter;
    if (t != null) {
      LockSupport.unpark(t);
    }
  }
}
