package io.loadstar.httpclient5;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.SequenceInputStream;
import java.util.Arrays;
import java.util.function.IntPredicate;
import org.apache.hc.core5.http.ClassicHttpResponse;
import org.apache.hc.core5.http.HttpEntity;
import org.apache.hc.core5.http.io.entity.HttpEntityWrapper;

/**
 * Reads the start of a response body before the response is handed over, so that a body that breaks
 * early (a reset, a malformed chunk, a connection closed short of its length) fails the attempt,
 * which can be retried, rather than the caller's read. The bytes read are kept and come first when
 * the caller reads the body.
 */
final class ReadAhead extends HttpEntityWrapper {

  private final byte[] head;
  private final int length;
  private final boolean complete;
  private final InputStream rest;
  private InputStream content;

  private ReadAhead(
      HttpEntity entity, byte[] head, int length, boolean complete, InputStream rest) {
    super(entity);
    this.head = head;
    this.length = length;
    this.complete = complete;
    this.rest = rest;
    this.content =
        complete
            ? new ByteArrayInputStream(head, 0, length)
            : new SequenceInputStream(new ByteArrayInputStream(head, 0, length), rest);
  }

  /**
   * Reads up to {@code limit} bytes of {@code response}'s body ahead, unless the limit is 0, the
   * status is handled by status ({@code byStatus}), or the body is an event stream.
   *
   * @throws IOException if the body breaks within the bytes read
   */
  static void apply(ClassicHttpResponse response, long limit, IntPredicate byStatus)
      throws IOException {
    HttpEntity entity = response.getEntity();
    if (entity == null
        || limit == 0
        || byStatus.test(response.getCode())
        || HttpRules.isStream(entity)
        || !entity.isStreaming()) {
      return;
    }
    long declared = entity.getContentLength();
    int cap = (int) Math.min(limit + 1, declared >= 0 ? declared + 1 : Math.min(limit + 1, 8192));
    byte[] buffer = new byte[Math.max(cap, 1)];
    InputStream in = entity.getContent();
    int n = 0;
    boolean eof = false;
    while (n <= limit) {
      if (n == buffer.length) {
        buffer = Arrays.copyOf(buffer, (int) Math.min(limit + 1, buffer.length * 2L));
      }
      int r = in.read(buffer, n, buffer.length - n);
      if (r < 0) {
        eof = true;
        break;
      }
      n += r;
    }
    response.setEntity(new ReadAhead(entity, buffer, n, eof, in));
  }

  @Override
  public InputStream getContent() {
    return content;
  }

  @Override
  public boolean isRepeatable() {
    return false;
  }

  @Override
  public boolean isStreaming() {
    return !complete;
  }

  @Override
  public void writeTo(OutputStream out) throws IOException {
    content.transferTo(out);
  }

  @Override
  public void close() throws IOException {
    try {
      rest.close();
    } finally {
      super.close();
    }
  }

  @Override
  public String toString() {
    return "ReadAhead[" + length + (complete ? " bytes, complete]" : " bytes]");
  }
}
