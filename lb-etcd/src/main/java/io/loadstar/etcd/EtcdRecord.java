package io.loadstar.etcd;

import static java.util.Objects.requireNonNull;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.loadstar.api.Endpoint;
import java.util.Iterator;
import java.util.Map;
import java.util.TreeMap;
import org.jspecify.annotations.Nullable;

/**
 * The JSON record an endpoint is registered with, one per key, version 1:
 *
 * <pre>{@code
 * {"version": 1, "host": "10.0.0.7", "port": 8080,
 *  "weight": 1, "zone": "eu-1a", "priority": 0, "tags": {"version": "v2"}}
 * }</pre>
 *
 * <p>{@code version}, {@code host} and {@code port} are required; {@code weight} (default 1, {@code
 * 1..}{@value Endpoint#MAX_WEIGHT}), {@code zone} (default none), {@code priority} (default 0,
 * {@code 0..}{@value Endpoint#MAX_PRIORITY}) and {@code tags} (string values) are optional. Fields
 * this version does not know are ignored, so a newer writer may add some; a record of another
 * {@code version} is refused, since its fields may mean something else. Any program can register by
 * writing this record, for example {@code etcdctl put --lease=...
 * /loadstar/services/orders/10.0.0.7:8080 '{"version":1,"host":"10.0.0.7","port":8080}'}.
 */
public final class EtcdRecord {

  /** The record format version this library writes and reads. */
  public static final int VERSION = 1;

  private static final ObjectMapper JSON = new ObjectMapper();

  private EtcdRecord() {}

  /** Returns the record of {@code endpoint}: every field of the format, tags sorted by name. */
  public static String toJson(Endpoint endpoint) {
    requireNonNull(endpoint, "endpoint");
    ObjectNode node = JSON.createObjectNode();
    node.put("version", VERSION);
    node.put("host", endpoint.host());
    node.put("port", endpoint.port());
    node.put("weight", endpoint.weight());
    if (!endpoint.zone().isEmpty()) {
      node.put("zone", endpoint.zone());
    }
    node.put("priority", endpoint.priority());
    if (!endpoint.tags().isEmpty()) {
      ObjectNode tags = node.putObject("tags");
      endpoint.tags().forEach(tags::put);
    }
    return node.toString();
  }

  /**
   * Parses a record.
   *
   * @throws IllegalArgumentException naming the field and what is allowed, if {@code json} is not a
   *     version-1 record with valid fields
   */
  public static Endpoint parse(String json) {
    requireNonNull(json, "json");
    JsonNode node;
    try {
      node = JSON.readTree(json);
    } catch (JsonProcessingException e) {
      throw new IllegalArgumentException(
          "not JSON (expected: a record such as {\"version\":1,\"host\":\"10.0.0.7\",\"port\":8080}): "
              + e.getOriginalMessage());
    }
    if (node == null || !node.isObject()) {
      throw new IllegalArgumentException(
          "not a JSON object (expected: a record such as"
              + " {\"version\":1,\"host\":\"10.0.0.7\",\"port\":8080})");
    }
    JsonNode version = node.get("version");
    if (version == null || !version.isIntegralNumber()) {
      throw new IllegalArgumentException(
          "version: " + version + " (expected: " + VERSION + ", a number)");
    }
    if (version.asLong() != VERSION) {
      throw new IllegalArgumentException(
          "version: " + version + " (expected: " + VERSION + "; written by a newer registrar?)");
    }
    String host = text(node, "host", null);
    int port = integer(node, "port", null, 1, 65535);
    int weight = integer(node, "weight", 1, 1, Endpoint.MAX_WEIGHT);
    String zone = text(node, "zone", "");
    int priority = integer(node, "priority", 0, 0, Endpoint.MAX_PRIORITY);
    Map<String, String> tags = new TreeMap<>();
    JsonNode t = node.get("tags");
    if (t != null && !t.isNull()) {
      if (!t.isObject()) {
        throw new IllegalArgumentException(
            "tags: " + t + " (expected: an object of string values)");
      }
      for (Iterator<Map.Entry<String, JsonNode>> it = t.properties().iterator(); it.hasNext(); ) {
        Map.Entry<String, JsonNode> e = it.next();
        if (!e.getValue().isTextual()) {
          throw new IllegalArgumentException(
              "tags." + e.getKey() + ": " + e.getValue() + " (expected: a string)");
        }
        tags.put(e.getKey(), e.getValue().asText());
      }
    }
    // Endpoint checks the host (and the rest) and names the value it refuses.
    return Endpoint.of(host, port)
        .withWeight(weight)
        .withZone(zone)
        .withPriority(priority)
        .withTags(tags);
  }

  private static String text(JsonNode node, String field, @Nullable String absent) {
    JsonNode v = node.get(field);
    if (v == null || v.isNull()) {
      if (absent == null) {
        throw new IllegalArgumentException(field + ": missing (expected: a string)");
      }
      return absent;
    }
    if (!v.isTextual()) {
      throw new IllegalArgumentException(field + ": " + v + " (expected: a string)");
    }
    return v.asText();
  }

  private static int integer(
      JsonNode node, String field, @Nullable Integer absent, int min, int max) {
    JsonNode v = node.get(field);
    if (v == null || v.isNull()) {
      if (absent == null) {
        throw new IllegalArgumentException(
            field + ": missing (expected: a number in " + min + ".." + max + ")");
      }
      return absent;
    }
    if (!v.isIntegralNumber() || !v.canConvertToLong() || v.asLong() < min || v.asLong() > max) {
      throw new IllegalArgumentException(
          field + ": " + v + " (expected: a number in " + min + ".." + max + ")");
    }
    return (int) v.asLong();
  }
}
