package io.loadstar.spring;

import io.loadstar.api.Attempt;
import io.loadstar.api.CallFailure;
import io.loadstar.api.Ticker;
import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
import java.util.concurrent.atomic.AtomicBoolean;
import org.jspecify.annotations.Nullable;
import org.springframework.http.HttpHeaders;
import org.springframework.http.HttpStatusCode;
import org.springframework.http.client.ClientHttpResponse;

/**
 * A balanced answer handed to the caller: its attempt is reported when the body ends (success),
 * breaks (the endpoint's failure) or is closed early (success: the caller stopped reading), so the
 * endpoint's in-flight count covers the whole body. The part of the body read ahead is served
 * first.
 */
final class ReportingResponse implements ClientHttpResponse {

  private final ClientHttpResponse delegate;
  private final byte @Nullable [] head;
  private final @Nullable Attempt attempt;
  private final @Nullable Ticker ticker;
  private final long start;
  private final AtomicBoolean reported = new AtomicBoolean();
  private @Nullable InputStream body;
  private @Nullable InputStream rest;

  private ReportingResponse(
      ClientHttpResponse delegate,
      byte @Nullable [] head,
      @Nullable InputStream rest,
      @Nullable Attempt attempt,
      @Nullable Ticker ticker,
      long start) {
    this.delegate = delegate;
    this.head = head;
    this.rest = rest;
    this.attempt = attempt;
    this.ticker = ticker;
    this.start = start;
  }

  /** An answer whose body is not read ahead: its attempt is reported as the body is read. */
  static ReportingResponse streaming(
      ClientHttpResponse delegate, Attempt attempt, Ticker ticker, long start) {
    return new ReportingResponse(delegate, null, null, attempt, ticker, start);
  }

  /** An answer whose body was read whole, {@code body}; its attempt is reported already. */
  static ReportingResponse whole(ClientHttpResponse delegate, byte[] body) {
    return new ReportingResponse(delegate, body, null, null, null, 0);
  }

  /**
   * An answer whose first bytes were read ahead: {@code head}, then the rest of {@code rest}; its
   * attempt is reported as the rest is read.
   */
  static ReportingResponse readAhead(
      ClientHttpResponse delegate,
      byte[] head,
      InputStream rest,
      Attempt attempt,
      Ticker ticker,
      long start) {
    return new ReportingResponse(delegate, head, rest, attempt, ticker, start);
  }

  @Override
  public HttpStatusCode getStatusCode() throws IOException {
    return delegate.getStatusCode();
  }

  @Override
  public String getStatusText() throws IOException {
    return delegate.getStatusText();
  }

  @Override
  public HttpHeaders getHeaders() {
    return delegate.getHeaders();
  }

  @Override
  public synchronized InputStream getBody() throws IOException {
    if (body == null) {
      if (head != null && rest == null) {
        body = new ByteArrayInputStream(head);
      } else {
        InputStream tail = rest != null ? rest : delegate.getBody();
        InputStream whole =
            head != null ? new SequenceInputStream(new ByteArrayInputStream(head), tail) : tail;
        body = new Reporting(whole);
      }
    }
    return body;
  }

  @Override
  public void close() {
    succeeded(); // closed before the end: the caller stopped reading, not the endpoint's failure
    delegate.close();
  }

  private void succeeded() {
    if (attempt != null && reported.compareAndSet(false, true)) {
      attempt.succeeded(ticker.nanoTime() - start);
    }
  }

  private void failed(IOException e) {
    if (attempt != null && reported.compareAndSet(false, true)) {
      attempt.failed(CallFailure.classify(e), ticker.nanoTime() - start, -1, 0);
    }
  }

  /** Reports the attempt at the body's end or break. */
  private final class Reporting extends InputStream {
    private final InputStream in;

    Reporting(InputStream in) {
      this.in = in;
    }

    @Override
    public int read() throws IOException {
      try {
        int b = in.read();
        if (b < 0) {
          succeeded();
        }
        return b;
      } catch (IOException e) {
        failed(e);
        throw e;
      }
    }

    @Override
    public int read(byte[] buffer, int offset, int length) throws IOException {
      try {
        int n = in.read(buffer, offset, length);
        if (n < 0) {
          succeeded();
        }
        return n;
      } catch (IOException e) {
        failed(e);
        throw e;
      }
    }

    @Override
    public int available() throws IOException {
      return in.available();
    }

    @Override
    public void close() throws IOException {
      succeeded();
      in.close();
    }
  }
}
