package io.loadstar.api.internal;

import static java.util.Objects.requireNonNull;

import java.net.InetAddress;
import java.net.UnknownHostException;
import org.jspecify.annotations.Nullable;

/**
 * Checks host names and IP literals given to Loadstar (endpoint hosts, balanced URL hosts, DNS
 * names), so that a value that can never match (a port, a scheme, blanks) fails where it is given,
 * with a message naming it, instead of being looked up or compared literally. Never performs a
 * lookup. Not API: for Loadstar's own modules.
 */
public final class HostNames {

  private static final int MAX_NAME_LENGTH = 253;
  private static final int MAX_LABEL_LENGTH = 63;

  private HostNames() {}

  /**
   * Returns the address an IP literal stands for (IPv4 dotted quad, or IPv6 with or without
   * brackets), or null if {@code host} is not an IP literal. Never looks anything up.
   */
  public static @Nullable InetAddress parseLiteral(String host) {
    String h = stripBrackets(host);
    if (h.isEmpty()) {
      return null;
    }
    if (h.indexOf(':') >= 0) {
      return parseIpv6(h);
    }
    return isDigitsAndDots(h) ? parseIpv4(h) : null;
  }

  /**
   * Checks that {@code host} is an IP literal or a DNS host name and returns it in canonical form:
   * without IPv6 brackets, and without a name's trailing dot (the same name).
   *
   * @param what the parameter's name, for the message
   * @param expected what is allowed, for the message
   * @throws IllegalArgumentException naming the value and {@code expected} otherwise
   */
  public static String checkHost(String what, String host, String expected) {
    requireNonNull(host, what);
    String h = stripBrackets(host);
    if (h.indexOf(':') >= 0) {
      if (parseIpv6(h) == null) {
        throw invalid(what, host, expected);
      }
      return h;
    }
    if (isDigitsAndDots(h)) {
      if (parseIpv4(h) == null) {
        throw invalid(what, host, expected);
      }
      return h;
    }
    return checkDnsName(what, host, expected);
  }

  /**
   * Checks that {@code name} is a DNS name (labels of letters, digits, '-' and '_', 1 to 63
   * characters each, at most 253 in all, an optional trailing dot) and returns it without the
   * trailing dot.
   *
   * @throws IllegalArgumentException naming the value and {@code expected} otherwise
   */
  public static String checkDnsName(String what, String name, String expected) {
    requireNonNull(name, what);
    String n = name.endsWith(".") ? name.substring(0, name.length() - 1) : name;
    if (n.isEmpty() || n.length() > MAX_NAME_LENGTH) {
      throw invalid(what, name, expected);
    }
    int labelStart = 0;
    for (int i = 0; i <= n.length(); i++) {
      if (i == n.length() || n.charAt(i) == '.') {
        int length = i - labelStart;
        if (length == 0 || length > MAX_LABEL_LENGTH) {
          throw invalid(what, name, expected);
        }
        labelStart = i + 1;
        continue;
      }
      char c = n.charAt(i);
      boolean allowed =
          (c >= 'a' && c <= 'z')
              || (c >= 'A' && c <= 'Z')
              || (c >= '0' && c <= '9')
              || c == '-'
              || c == '_';
      if (!allowed) {
        throw invalid(what, name, expected);
      }
    }
    return n;
  }

  private static IllegalArgumentException invalid(String what, String value, String expected) {
    return new IllegalArgumentException(what + ": '" + value + "' (expected: " + expected + ")");
  }

  private static String stripBrackets(String host) {
    int n = host.length();
    return n > 2 && host.charAt(0) == '[' && host.charAt(n - 1) == ']'
        ? host.substring(1, n - 1)
        : host;
  }

  private static boolean isDigitsAndDots(String h) {
    for (int i = 0; i < h.length(); i++) {
      char c = h.charAt(i);
      if ((c < '0' || c > '9') && c != '.') {
        return false;
      }
    }
    return true;
  }

  /** A dotted quad of 0..255 parts, else null; no inet_aton shorthands ("10.1", "167772161"). */
  private static @Nullable InetAddress parseIpv4(String h) {
    byte[] bytes = new byte[4];
    int part = 0;
    int value = -1;
    for (int i = 0; i <= h.length(); i++) {
      if (i == h.length() || h.charAt(i) == '.') {
        if (value < 0 || part == 4) {
          return null;
        }
        bytes[part++] = (byte) value;
        value = -1;
        continue;
      }
      value = (value < 0 ? 0 : value * 10) + (h.charAt(i) - '0');
      if (value > 255) {
        return null;
      }
    }
    if (part != 4) {
      return null;
    }
    try {
      return InetAddress.getByAddress(bytes);
    } catch (UnknownHostException e) {
      return null; // four bytes are always accepted
    }
  }

  private static @Nullable InetAddress parseIpv6(String h) {
    for (int i = 0; i < h.length(); i++) {
      char c = h.charAt(i);
      boolean allowed =
          (c >= '0' && c <= '9')
              || (c >= 'a' && c <= 'f')
              || (c >= 'A' && c <= 'F')
              || c == ':'
              || c == '.'
              || c == '%';
      if (!allowed) {
        return null;
      }
    }
    try {
      // In brackets, InetAddress only parses: a string that is no IPv6 literal fails at once.
      return InetAddress.getByName("[" + h + "]");
    } catch (UnknownHostException e) {
      return null;
    }
  }
}
