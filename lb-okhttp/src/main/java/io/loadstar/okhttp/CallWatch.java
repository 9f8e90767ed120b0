package io.loadstar.okhttp;

import java.util.concurrent.locks.LockSupport;
import okhttp3.Call;
import okhttp3.EventListener;
import org.jspecify.annotations.Nullable;

/**
 * Watches a call and its retries: whether the current attempt's request started (else it was not
 * sent), and cancellation, which it passes on to the running retry and to a backoff wait.
 */
final class CallWatch extends EventListener {
  volatile boolean requestStarted;
  volatile @Nullable Thread waiter;
  volatile @Nullable Call retry;

  @Override
  public void requestHeadersStart(Call call) {
    requestStarted = true;
  }

  @Override
  public void canceled(Call call) {
    Call r = retry;
    if (r != null && r != call) {
      r.cancel();
    }
    Thread t = waiter;
    if (t != null) {
      LockSupport.unpark(t);
    }
  }
}
