package io.loadstar.okhttp;

import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.concurrent.TimeUnit;
import okhttp3.Response;

/** HTTP's {@code Retry-After} header (RFC 9110 section 10.2.3). */
final class RetryAfter {

  private RetryAfter() {}

  /** Parses {@code Retry-After} (seconds or an HTTP date); negative if absent or unreadable. */
  static long nanos(Response response) {
    String value = response.header("Retry-After");
    if (value == null) {
      return -1;
    }
    value = value.trim();
    try {
      return TimeUnit.SECONDS.toNanos(Math.max(0, Long.parseLong(value)));
    } catch (NumberFormatException notSeconds) {
      try {
        long millis =
            ZonedDateTime.parse(value, DateTimeFormatter.RFC_1123_DATE_TIME)
                    .toInstant()
                    .toEpochMilli()
                - System.currentTimeMillis();
        return TimeUnit.MILLISECONDS.toNanos(Math.max(0, millis));
      } catch (DateTimeParseException notADate) {
        return -1;
      }
    }
  }
}
