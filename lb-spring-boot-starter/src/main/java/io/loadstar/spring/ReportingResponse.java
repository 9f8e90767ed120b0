package io.loadstar.spring;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.SequenceInputStream;
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
  private final @Nullable InputStream rest;
  private final @Nullable AttemptReport report;
  private @Nullable InputStream body;

  private ReportingResponse(
      ClientHttpResponse delegate,
      byte @Nullable [] head,
      @Nullable InputStream rest,
      @Nullable AttemptReport report) {
    this.delegate = delegate;
    this.head = head;
    this.rest = rest;
    this.report = report;
  }

  /** An answer whose body is not read ahead: its attempt is reported as the body is read. */
  static ReportingResponse streaming(ClientHttpResponse delegate, AttemptReport report) {
    return new ReportingResponse(delegate, null, null, report);
  }

  /** An answer whose body was read whole, {@code body}; its attempt is reported already. */
  static ReportingResponse whole(ClientHttpResponse delegate, byte[] body) {
    return new ReportingResponse(delegate, body, null, null);
  }

  /**
   * An answer whose first bytes were read ahead: {@code head}, then the rest of {@code rest}; its
   * attempt is reported as the rest is read.
   */
  static ReportingResponse readAhead(
      ClientHttpResponse delegate, byte[] head, InputStream rest, AttemptReport report) {
    return new ReportingResponse(delegate, head, rest, report);
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
      if (report == null) {
        body = new ByteArrayInputStream(head != null ? head : new byte[0]);
      } else {
        InputStream tail = rest != null ? rest : delegate.getBody();
        InputStream whole =
            head != null ? new SequenceInputStream(new ByteArrayInputStream(head), tail) : tail;
        body = new Reporting(whole, report);
      }
    }
    return body;
  }

  @Override
  public void close() {
    if (report != null) {
      report.succeeded(); // closed before the end: the caller stopped reading, not a failure
    }
    delegate.close();
  }

  /** Reports the attempt at the body's end or break. */
  private static final class Reporting extends InputStream {
    private final InputStream in;
    private final AttemptReport report;

    Reporting(InputStream in, AttemptReport report) {
      this.in = in;
      this.report = report;
    }

    @Override
    public int read() throws IOException {
      try {
        int b = in.read();
        if (b < 0) {
          report.succeeded();
        }
        return b;
      } catch (IOException e) {
        report.bodyFailed(e);
        throw e;
      }
    }

    @Override
    public int read(byte[] buffer, int offset, int length) throws IOException {
      try {
        int n = in.read(buffer, offset, length);
        if (n < 0) {
          report.succeeded();
        }
        return n;
      } catch (IOException e) {
        report.bodyFailed(e);
        throw e;
      }
    }

    @Override
    public int available() throws IOException {
      return in.available();
    }

    @Override
    public void close() throws IOException {
      report.succeeded();
      in.close();
    }
  }
}
