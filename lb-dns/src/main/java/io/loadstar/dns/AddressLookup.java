package io.loadstar.dns;

import io.loadstar.api.Endpoint;
import io.loadstar.dns.DnsEndpointSource.AddressPolicy;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executor;
import org.xbill.DNS.AAAARecord;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.Name;
import org.xbill.DNS.Record;
import org.xbill.DNS.Type;

/** Resolves a name's A and/or AAAA records, per the address policy, into endpoints. */
final class AddressLookup {

  private final DnsQuerier querier;
  private final AddressPolicy policy;

  AddressLookup(DnsQuerier querier, AddressPolicy policy) {
    this.querier = querier;
    this.policy = policy;
  }

  AddressPolicy policy() {
    return policy;
  }

  /** The record types asked, for messages. */
  String types() {
    switch (policy) {
      case IPV4_ONLY:
        return "A";
      case IPV6_ONLY:
        return "AAAA";
      default:
        return "A or AAAA";
    }
  }

  /** Resolves {@code target} into endpoints on {@code port} in tier {@code priority}. */
  CompletableFuture<LookupResult> resolve(Name target, int port, int priority, Executor executor) {
    List<CompletableFuture<DnsAnswer>> answers = new ArrayList<>();
    if (policy != AddressPolicy.IPV6_ONLY) {
      answers.add(querier.query(target, Type.A, executor));
    }
    if (policy != AddressPolicy.IPV4_ONLY) {
      answers.add(querier.query(target, Type.AAAA, executor));
    }
    return CompletableFuture.allOf(answers.toArray(new CompletableFuture<?>[0]))
        .thenApply(
            ignored -> {
              Throwable failure = null;
              boolean allNx = true;
              long ttl = Long.MAX_VALUE;
              List<InetAddress> v4 = new ArrayList<>();
              List<InetAddress> v6 = new ArrayList<>();
              for (CompletableFuture<DnsAnswer> f : answers) {
                DnsAnswer a = f.join();
                if (a.error != null) {
                  failure = a.error;
                }
                allNx &= a.nxdomain;
                for (Record r : a.records) {
                  ttl = Math.min(ttl, a.remainingNanos);
                  if (r instanceof ARecord) {
                    v4.add(((ARecord) r).getAddress());
                  } else if (r instanceof AAAARecord) {
                    v6.add(((AAAARecord) r).getAddress());
                  }
                }
              }
              List<Endpoint> endpoints = new ArrayList<>();
              for (InetAddress address : choose(v4, v6)) {
                endpoints.add(endpoint(address, port).withPriority(priority));
              }
              return new LookupResult(endpoints, ttl == Long.MAX_VALUE ? 0 : ttl, allNx, failure);
            });
  }

  /** The addresses the policy keeps of these. */
  List<InetAddress> choose(List<InetAddress> v4, List<InetAddress> v6) {
    switch (policy) {
      case IPV4_ONLY:
        return v4;
      case IPV6_ONLY:
        return v6;
      case PREFER_IPV4:
        return v4.isEmpty() ? v6 : v4;
      case PREFER_IPV6:
        return v6.isEmpty() ? v4 : v6;
      default:
        List<InetAddress> all = new ArrayList<>(v4);
        all.addAll(v6);
        return all;
    }
  }

  static Endpoint endpoint(InetAddress address, int port) {
    try {
      // dnsjava names each address after its record; an endpoint's host must be the IP literal.
      InetAddress literal = InetAddress.getByAddress(address.getAddress());
      return Endpoint.of(new InetSocketAddress(literal, port));
    } catch (UnknownHostException e) {
      throw new IllegalStateException("a 4- or 16-byte address was rejected", e);
    }
  }
}
