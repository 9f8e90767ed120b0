package io.loadstar.etcd;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Base64;

/**
 * The etcd v3 API as its JSON gateway speaks it: JSON bodies, keys and values in base64, 64-bit
 * numbers as strings. Stateless.
 */
final class EtcdWire {

  /** The one mapper of the module; thread-safe once configured, and never reconfigured. */
  static final ObjectMapper JSON = new ObjectMapper();

  private static final Base64.Encoder B64 = Base64.getEncoder();

  private EtcdWire() {}

  /** A new JSON object, for a request body. */
  static ObjectNode object() {
    return JSON.createObjectNode();
  }

  /** {@code s} as the gateway takes a key or value: its UTF-8 bytes in base64. */
  static String b64(String s) {
    return B64.encodeToString(s.getBytes(StandardCharsets.UTF_8));
  }

  /** The text of a base64 key or value in an answer; "" if absent. */
  static String text(JsonNode b64) {
    return b64.isMissingNode() || b64.isNull()
        ? ""
        : new String(Base64.getDecoder().decode(b64.asText()), StandardCharsets.UTF_8);
  }

  /** Returns the end of the key range of {@code prefix}: the prefix with its last byte + 1. */
  static String prefixEnd(String prefix) {
    byte[] b = prefix.getBytes(StandardCharsets.UTF_8);
    for (int i = b.length - 1; i >= 0; i--) {
      if (b[i] != (byte) 0xff) {
        b[i]++;
        return B64.encodeToString(Arrays.copyOf(b, i + 1));
      }
    }
    return B64.encodeToString(new byte[] {0}); // every key
  }
}
