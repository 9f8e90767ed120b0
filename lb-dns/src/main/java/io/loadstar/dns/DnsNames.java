package io.loadstar.dns;

import static java.util.Objects.requireNonNull;

import io.loadstar.api.internal.HostNames;
import org.xbill.DNS.Name;
import org.xbill.DNS.TextParseException;

/** Checks and parsing of the names a DNS source is given, with Loadstar's message form. */
final class DnsNames {

  /** What a name to look up may be, for error messages. */
  static final String EXPECTED = "a DNS name such as api.internal, without scheme, port or path";

  private DnsNames() {}

  /**
   * Rejects what can never be a name to look up: an address, a URL, a host:port, blanks; {@code
   * what} names the argument in the message.
   */
  static void check(String what, String name) {
    requireNonNull(name, what);
    if (HostNames.parseLiteral(name) != null) {
      throw new IllegalArgumentException(
          what + ": '" + name + "' (expected: a DNS name; for an IP address use Endpoint.of)");
    }
    HostNames.checkDnsName(what, name, EXPECTED);
  }

  /** {@code text} as a dnsjava name, absolute with a trailing dot, else relative to the root. */
  static Name parse(String what, String text) {
    try {
      return Name.fromString(text, text.endsWith(".") ? null : Name.root);
    } catch (TextParseException e) {
      throw new IllegalArgumentException(
          what + ": '" + text + "' (expected: a DNS name): " + e.getMessage());
    }
  }
}
