package io.loadstar.httpclient5;

import io.loadstar.api.Attempt;
import io.loadstar.api.CallFailure;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.util.concurrent.atomic.AtomicBoolean;
import org.apache.hc.core5.http.HttpEntity;
import org.apache.hc.core5.http.io.entity.HttpEntityWrapper;
import org.jspecify.annotations.Nullable;

/**
 * A response entity that reports its attempt's success to the balancer once, when it is read to the
 * end or closed, so that the endpoint's in-flight count covers the whole response. An error while
 * reading reports a failure instead (report only: the response is the caller's already).
 */
final class ReportingEntity extends HttpEntityWrapper {

  private final Attempt attempt;
  private final long latencyNanos;
  private final AtomicBoolean reported = new AtomicBoolean();
  private @Nullable InputStream content;

  ReportingEntity(HttpEntity entity, Attempt attempt, long latencyNanos) {
    super(entity);
    this.attempt = attempt;
    this.latencyNanos = latencyNanos;
  }

  private void succeeded() {
    if (reported.compareAndSet(false, true)) {
      attempt.succeeded(latencyNanos);
    }
  }

  private void broke(IOException e) {
    if (reported.compareAndSet(false, true)) {
      attempt.failed(CallFailure.possiblyProcessed(e), latencyNanos, -1, 0);
    }
  }

  @Override
  public synchronized InputStream getContent() throws IOException {
    InputStream c = content;
    if (c == null) {
      InputStream in;
      try {
        in = super.getContent();
      } catch (IOException e) {
        broke(e);
        throw e;
      }
      c = new Reporting(in);
      if (isStreaming()) {
        content = c; // a streamed body is read once: every caller gets the same stream
      }
    }
    return c;
  }

  @Override
  public void writeTo(OutputStream out) throws IOException {
    try (InputStream in = getContent()) {
      in.transferTo(out);
    }
  }

  @Override
  public void close() throws IOException {
    try {
      super.close();
    } finally {
      succeeded();
    }
  }

  /** The body's stream: reports at its end, on close, or when a read fails. */
  private final class Reporting extends FilterInputStream {
    Reporting(InputStream in) {
      super(in);
    }

    @Override
    public int read() throws IOException {
      int b;
      try {
        b = super.read();
      } catch (IOException e) {
        broke(e);
        throw e;
      }
      if (b < 0) {
        succeeded();
      }
      return b;
    }

    @Override
    public int read(byte[] b, int off, int len) throws IOException {
      int n;
      try {
        n = super.read(b, off, len);
      } catch (IOException e) {
        broke(e);
        throw e;
      }
      if (n < 0) {
        succeeded();
      }
      return n;
    }

    @Override
    public void close() throws IOException {
      try {
        super.close();
      } catch (IOException e) {
        broke(e);
        throw e;
      } finally {
        succeeded();
      }
    }
  }
}
