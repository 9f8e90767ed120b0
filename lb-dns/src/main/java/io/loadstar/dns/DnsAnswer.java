package io.loadstar.dns;

import java.util.List;
import java.util.concurrent.TimeUnit;
import org.jspecify.annotations.Nullable;
import org.xbill.DNS.Record;

/** One record type's answer for one name, as cached. Immutable. */
final class DnsAnswer {
  final List<Record> records;
  final List<Record> additional;

  /** The smallest TTL of the records used, in seconds, as answered. */
  final long ttlSeconds;

  final boolean nxdomain;
  final @Nullable Throwable error;

  /** When the answer was fetched, on the cache's ticker. */
  final long fetchedNanos;

  /** How much of the TTL is left when this copy was handed out, in nanoseconds. */
  final long remainingNanos;

  DnsAnswer(
      List<Record> records,
      List<Record> additional,
      long ttlSeconds,
      boolean nxdomain,
      @Nullable Throwable error,
      long fetchedNanos) {
    this.records = records;
    this.additional = additional;
    this.ttlSeconds = ttlSeconds;
    this.nxdomain = nxdomain;
    this.error = error;
    this.fetchedNanos = fetchedNanos;
    this.remainingNanos = TimeUnit.SECONDS.toNanos(Math.max(0, ttlSeconds));
  }

  private DnsAnswer(DnsAnswer a, long remainingNanos) {
    this.records = a.records;
    this.additional = a.additional;
    this.ttlSeconds = a.ttlSeconds;
    this.nxdomain = a.nxdomain;
    this.error = a.error;
    this.fetchedNanos = a.fetchedNanos;
    this.remainingNanos = remainingNanos;
  }

  /** Returns this answer with the part of its TTL that remains at {@code nowNanos}. */
  DnsAnswer aged(long nowNanos) {
    long age = nowNanos - fetchedNanos;
    if (age <= 0 || error != null) {
      return this;
    }
    return new DnsAnswer(this, Math.max(0, remainingNanos - age));
  }
}
