package io.loadstar.dns;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CompletionException;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.CNAMERecord;
import org.xbill.DNS.DClass;
import org.xbill.DNS.Message;
import org.xbill.DNS.Name;
import org.xbill.DNS.Rcode;
import org.xbill.DNS.Record;
import org.xbill.DNS.Section;
import org.xbill.DNS.SimpleResolver;

/*
 * Design notes: queries go straight to the configured servers with dnsjava's SimpleResolver (one
 * per server, each with the per-query timeout; dnsjava retries over TCP when a UDP answer is
 * truncated). No dnsjava Lookup, no dnsjava Cache and no InetAddress lookup is involved, so neither
 * dnsjava's global cache nor the JVM's networkaddress.cache.ttl can hold a stale answer. A
 * timed-out query is asked again (attempts, default 2, as resolv.conf); a failed or
 * SERVFAIL/REFUSED answer moves on to the next server. Answers are shared through the DnsCache.
 * dnsjava completes its futures on the executor it is given (Loadstar's shared workers), not on
 * ForkJoinPool.commonPool(), which on a small machine runs each task on a new thread.
 *
 * Bad data is skipped, never fatal: records for a name outside the CNAME chain and records of
 * other types are ignored (counted and logged at DEBUG).
 */
/** Asks the DNS servers one question at a time, through the cache. Thread-safe. */
final class DnsQuerier {

  private static final Logger logger = LoggerFactory.getLogger(DnsQuerier.class);

  private final String logName;
  private final List<SimpleResolver> resolvers;
  private final List<InetSocketAddress> servers;
  private final int attempts;
  private final DnsCache cache;
  private final long maxTtlNanos;

  DnsQuerier(
      String logName,
      List<InetSocketAddress> servers,
      Duration queryTimeout,
      int attempts,
      DnsCache cache,
      long maxTtlNanos) {
    this.logName = logName;
    List<SimpleResolver> rs = new ArrayList<>();
    for (InetSocketAddress server : servers) {
      SimpleResolver r = new SimpleResolver(server);
      r.setTimeout(queryTimeout);
      rs.add(r);
    }
    this.resolvers = List.copyOf(rs);
    this.servers = List.copyOf(servers);
    this.attempts = attempts;
    this.cache = cache;
    this.maxTtlNanos = maxTtlNanos;
  }

  /** The servers asked, in order. */
  List<InetSocketAddress> servers() {
    return servers;
  }

  /**
   * Returns the records of {@code type} for {@code qname} and its CNAME chain, with the part of
   * their TTL that remains; a failure is an answer with an error, never an exceptional future.
   */
  CompletableFuture<DnsAnswer> query(Name qname, int type, Executor executor) {
    return cache
        .get(qname, type, servers, maxTtlNanos, () -> query(qname, type, 0, 1, executor))
        .thenApply(a -> a.aged(cache.ticker().nanoTime()));
  }

  /** Asks server {@code serverIndex}, {@code attempts} times on timeout, then the next server. */
  private CompletableFuture<DnsAnswer> query(
      Name qname, int type, int serverIndex, int attempt, Executor executor) {
    SimpleResolver resolver = resolvers.get(serverIndex);
    Message query = Message.newQuery(Record.newRecord(qname, type, DClass.IN));
    return resolver
        .sendAsync(query, executor)
        .handle(
            (response, error) -> {
              if (error == null) {
                int rcode = response.getRcode();
                if (rcode == Rcode.NOERROR || rcode == Rcode.NXDOMAIN) {
                  return CompletableFuture.completedFuture(parse(qname, type, response));
                }
                error =
                    new UnknownHostException(
                        Rcode.string(rcode) + " from " + resolver.getAddress());
              }
              Throwable root =
                  error instanceof CompletionException && error.getCause() != null
                      ? error.getCause()
                      : error;
              if (root instanceof IOException
                  && !(root instanceof UnknownHostException)
                  && attempt < attempts) {
                // a lost datagram: ask again
                return query(qname, type, serverIndex, attempt + 1, executor);
              }
              if (serverIndex + 1 < resolvers.size()) {
                return query(qname, type, serverIndex + 1, 1, executor);
              }
              return CompletableFuture.completedFuture(
                  new DnsAnswer(List.of(), List.of(), 0, false, root, 0));
            })
        .thenCompose(stage -> stage)
        .toCompletableFuture();
  }

  /** Keeps the answer records of {@code type} for {@code qname} and its CNAME chain. */
  private DnsAnswer parse(Name qname, int type, Message response) {
    if (response.getRcode() == Rcode.NXDOMAIN) {
      return new DnsAnswer(List.of(), List.of(), 0, true, null, cache.ticker().nanoTime());
    }
    Set<Name> chain = new HashSet<>();
    chain.add(qname);
    List<Record> answers = response.getSection(Section.ANSWER);
    boolean grew = true;
    long ttl = Long.MAX_VALUE;
    while (grew) { // follow CNAMEs in any order
      grew = false;
      for (Record r : answers) {
        if (r instanceof CNAMERecord
            && chain.contains(r.getName())
            && chain.add(((CNAMERecord) r).getTarget())) {
          ttl = Math.min(ttl, r.getTTL());
          grew = true;
        }
      }
    }
    List<Record> kept = new ArrayList<>();
    int skipped = 0;
    for (Record r : answers) {
      if (r.getType() != type) {
        continue;
      }
      if (!chain.contains(r.getName())) {
        skipped++; // a record for another name: never trusted
        continue;
      }
      kept.add(r);
      ttl = Math.min(ttl, r.getTTL());
    }
    if (skipped > 0) {
      logger.debug("[{}] skipped {} records for names outside the CNAME chain", logName, skipped);
    }
    return new DnsAnswer(
        kept,
        response.getSection(Section.ADDITIONAL),
        ttl == Long.MAX_VALUE ? 0 : ttl,
        false,
        null,
        cache.ticker().nanoTime());
  }
}
