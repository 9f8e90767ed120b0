package io.loadstar.samples;

import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.UnknownHostException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import okhttp3.Dns;
import org.xbill.DNS.ARecord;
import org.xbill.DNS.Lookup;
import org.xbill.DNS.SimpleResolver;
import org.xbill.DNS.Type;

/** A DNS lookup through the demo's responder, the answer rotated per lookup. */
final class RotatingDns implements Dns {
  private final SimpleResolver resolver;
  private final AtomicInteger turn = new AtomicInteger();

  RotatingDns(InetSocketAddress server) {
    this.resolver = new SimpleResolver(server);
    resolver.setTimeout(Duration.ofSeconds(1));
  }

  @Override
  public List<InetAddress> lookup(String hostname) throws UnknownHostException {
    try {
      Lookup lookup = new Lookup(hostname + ".", Type.A);
      lookup.setResolver(resolver);
      lookup.setCache(null);
      org.xbill.DNS.Record[] records = lookup.run();
      if (records == null || records.length == 0) {
        throw new UnknownHostException(hostname + ": " + lookup.getErrorString());
      }
      List<InetAddress> out = new ArrayList<>();
      for (org.xbill.DNS.Record r : records) {
        out.add(((ARecord) r).getAddress());
      }
      Collections.rotate(out, turn.getAndIncrement() % out.size());
      return out;
    } catch (org.xbill.DNS.TextParseException e) {
      throw new UnknownHostException(hostname + ": " + e.getMessage());
    }
  }
}
