package io.loadstar.okhttp;

import io.loadstar.api.Attempt;
import io.loadstar.api.CallFailure;
import java.io.IOException;
import java.util.concurrent.atomic.AtomicBoolean;
import okhttp3.MediaType;
import okhttp3.ResponseBody;
import okio.Buffer;
import okio.BufferedSource;
import okio.ForwardingSource;
import okio.Okio;
import org.jspecify.annotations.Nullable;

/**
 * A response body that reports its attempt's success to the balancer once, when it is read to the
 * end or closed, so that the endpoint's in-flight count covers the whole response. An error while
 * reading reports a failure instead.
 */
final class ReportingResponseBody extends ResponseBody {

  private final ResponseBody delegate;
  private final Attempt attempt;
  private final long latencyNanos;
  private final AtomicBoolean reported = new AtomicBoolean();
  private final BufferedSource source;

  ReportingResponseBody(ResponseBody delegate, Attempt attempt, long latencyNanos) {
    this.delegate = delegate;
    this.attempt = attempt;
    this.latencyNanos = latencyNanos;
    this.source =
        Okio.buffer(
            new ForwardingSource(delegate.source()) {
              @Override
              public long read(Buffer sink, long byteCount) throws IOException {
                long n;
                try {
                  n = super.read(sink, byteCount);
                } catch (IOException e) {
                  if (reported.compareAndSet(false, true)) {
                    attempt.failed(CallFailure.possiblyProcessed(e), latencyNanos, -1, 0);
                  }
                  throw e;
                }
                if (n == -1) {
                  reportSuccess();
                }
                return n;
              }

              @Override
              public void close() throws IOException {
                try {
                  super.close();
                } finally {
                  reportSuccess();
                }
              }
            });
  }

  private void reportSuccess() {
    if (reported.compareAndSet(false, true)) {
      attempt.succeeded(latencyNanos);
    }
  }

  @Override
  public @Nullable MediaType contentType() {
    return delegate.contentType();
  }

  @Override
  public long contentLength() {
    return delegate.contentLength();
  }

  @Override
  public BufferedSource source() {
    return source;
  }

  @Override
  public void close() {
    try {
      source.close();
    } catch (IOException ignored) {
      // closing a response body does not fail in OkHttp; the delegate is closed either way
    } finally {
      delegate.close();
      reportSuccess();
    }
  }
}
