package io.loadstar.dns;

import io.loadstar.api.Endpoint;
import java.net.InetAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.SRVRecord;
import org.xbill.DNS.Type;

/*
 * Design notes: RFC 2782 mapped onto Loadstar's endpoints. An SRV record's priority becomes the
 * endpoint's tier, ranked (the lowest priority is tier 0, the next tier 1, ...), so a backup set
 * is served only when the preferred one cannot be; its weight becomes the endpoint's weight, x15
 * so that weight 0 ("a very small chance") can be 1 while weight 1 stays well above it. A record
 * with port 0 means "no service" and is skipped. Targets' addresses come from the additional
 * section when the server glued them, else from A/AAAA queries; one target that fails to resolve
 * does not hide the others.
 */
/** Resolves SRV records, then their targets' addresses, into weighted, tiered endpoints. */
final class SrvLookup {

  private static final Logger logger = LoggerFactory.getLogger(SrvLookup.class);

  private final String logName;
  private final DnsQuerier querier;
  private final AddressLookup addresses;

  SrvLookup(String logName, DnsQuerier querier, AddressLookup addresses) {
    this.logName = logName;
    this.querier = querier;
    this.addresses = addresses;
  }

  /** The weight an SRV record's weight maps to. */
  static int weight(int srvWeight) {
    return srvWeight == 0 ? 1 : Math.min(srvWeight * 15, Endpoint.MAX_WEIGHT);
  }

  CompletableFuture<LookupResult> resolve(Name srvName, Executor executor) {
    return querier
        .query(srvName, Type.SRV, executor)
        .thenCompose(answer -> targets(answer, executor));
  }

  private CompletableFuture<LookupResult> targets(DnsAnswer answer, Executor executor) {
    if (answer.error != null || answer.records.isEmpty()) {
      return CompletableFuture.completedFuture(
          new LookupResult(List.of(), 0, answer.nxdomain, answer.error));
    }
    TreeSet<Integer> priorities = new TreeSet<>();
    List<SRVRecord> usable = new ArrayList<>();
    for (Record r : answer.records) {
      SRVRecord s = (SRVRecord) r;
      if (s.getPort() == 0) {
        logger.debug("[{}] skipped SRV record with port 0: {}", logName, s);
        continue;
      }
      usable.add(s);
      priorities.add(s.getPriority());
    }
    List<Integer> ranks = new ArrayList<>(priorities);
    List<CompletableFuture<LookupResult>> targets = new ArrayList<>();
    for (SRVRecord s : usable) {
      int tier = Math.min(ranks.indexOf(s.getPriority()), Endpoint.MAX_PRIORITY);
      int weight = weight(s.getWeight());
      List<InetAddress> glued = new ArrayList<>();
      List<InetAddress> glued6 = new ArrayList<>();
      for (Record extra : answer.additional) {
        if (extra.getName().equals(s.getTarget())) {
          if (extra instanceof ARecord) {
            glued.add(((ARecord) extra).getAddress());
          } else if (extra instanceof AAAARecord) {
            glued6.add(((AAAARecord) extra).getAddress());
          }
        }
      }
      List<InetAddress> chosen = addresses.choose(glued, glued6);
      if (!chosen.isEmpty()) {
        List<Endpoint> endpoints = new ArrayList<>();
        for (InetAddress a : chosen) {
          endpoints.add(
              AddressLookup.endpoint(a, s.getPort()).withPriority(tier).withWeight(weight));
        }
        targets.add(
            CompletableFuture.completedFuture(
                new LookupResult(endpoints, answer.remainingNanos, false, null)));
      } else {
        targets.add(
            addresses
                .resolve(s.getTarget(), s.getPort(), tier, executor)
                .thenApply(r -> weighted(r, weight)));
      }
    }
    return CompletableFuture.allOf(targets.toArray(new CompletableFuture<?>[0]))
        .thenApply(ignored -> merged(answer, targets));
  }

  private static LookupResult weighted(LookupResult r, int weight) {
    List<Endpoint> out = new ArrayList<>();
    for (Endpoint e : r.endpoints()) {
      out.add(e.withWeight(weight));
    }
    return new LookupResult(out, r.ttlNanos(), r.nxdomain(), r.error());
  }

  private static LookupResult merged(
      DnsAnswer answer, List<CompletableFuture<LookupResult>> targets) {
    List<Endpoint> all = new ArrayList<>();
    long ttl = answer.remainingNanos;
    Throwable failure = null;
    for (CompletableFuture<LookupResult> f : targets) {
      LookupResult r = f.join();
      all.addAll(r.endpoints());
      if (!r.endpoints().isEmpty()) {
        ttl = Math.min(ttl, r.ttlNanos());
      }
      if (r.error() != null) {
        failure = r.error();
      }
    }
    // One target failing to resolve must not hide the others.
    return new LookupResult(all, ttl, false, all.isEmpty() ? failure : null);
  }
}
