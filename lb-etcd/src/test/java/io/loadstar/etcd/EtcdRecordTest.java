package io.loadstar.etcd;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.loadstar.api.Endpoint;
import java.time.Duration;
import org.junit.jupiter.api.Test;

/** The record format and the builders' checks; no etcd needed. */
class EtcdRecordTest {

  @Test
  void roundTrip_everyField() {
    Endpoint e =
        Endpoint.of("10.0.0.7", 8080)
            .withWeight(3)
            .withZone("eu-1a")
            .withPriority(2)
            .withTag("version", "v2")
            .withTag("canary", "true");
    String json = EtcdRecord.toJson(e);
    assertThat(json)
        .isEqualTo(
            "{\"version\":1,\"host\":\"10.0.0.7\",\"port\":8080,\"weight\":3,\"zone\":\"eu-1a\","
                + "\"priority\":2,\"tags\":{\"canary\":\"true\",\"version\":\"v2\"}}");
    Endpoint back = EtcdRecord.parse(json);
    assertThat(back).isEqualTo(e);
    assertThat(back.zone()).isEqualTo("eu-1a");
    assertThat(back.priority()).isEqualTo(2);
    assertThat(back.tags()).containsEntry("version", "v2").containsEntry("canary", "true");
  }

  @Test
  void minimalRecord_defaults_andUnknownFieldsIgnored() {
    Endpoint e = EtcdRecord.parse("{\"version\":1,\"host\":\"api.internal\",\"port\":443,\"x\":1}");
    assertThat(e).isEqualTo(Endpoint.of("api.internal", 443));
    assertThat(e.weight()).isEqualTo(1);
    assertThat(e.zone()).isEmpty();
    assertThat(e.tags()).isEmpty();
  }

  @Test
  void badRecords_nameTheFieldAndWhatIsAllowed() {
    assertThatThrownBy(() -> EtcdRecord.parse("{nope"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageStartingWith("not JSON (expected: a record such as");
    assertThatThrownBy(() -> EtcdRecord.parse("[1]")).hasMessageStartingWith("not a JSON object");
    assertThatThrownBy(() -> EtcdRecord.parse("{\"host\":\"a\",\"port\":1}"))
        .hasMessage("version: null (expected: 1, a number)");
    assertThatThrownBy(() -> EtcdRecord.parse("{\"version\":2,\"host\":\"a\",\"port\":1}"))
        .hasMessage("version: 2 (expected: 1; written by a newer registrar?)");
    assertThatThrownBy(() -> EtcdRecord.parse("{\"version\":1,\"port\":1}"))
        .hasMessage("host: missing (expected: a string)");
    assertThatThrownBy(() -> EtcdRecord.parse("{\"version\":1,\"host\":\"a\",\"port\":70000}"))
        .hasMessage("port: 70000 (expected: a number in 1..65535)");
    assertThatThrownBy(() -> EtcdRecord.parse("{\"version\":1,\"host\":\"a\",\"port\":\"80\"}"))
        .hasMessage("port: \"80\" (expected: a number in 1..65535)");
    assertThatThrownBy(
            () -> EtcdRecord.parse("{\"version\":1,\"host\":\"a\",\"port\":80,\"weight\":0}"))
        .hasMessage("weight: 0 (expected: a number in 1..1000000)");
    assertThatThrownBy(
            () -> EtcdRecord.parse("{\"version\":1,\"host\":\"a\",\"port\":80,\"tags\":{\"k\":1}}"))
        .hasMessage("tags.k: 1 (expected: a string)");
    assertThatThrownBy(() -> EtcdRecord.parse("{\"version\":1,\"host\":\"a b\",\"port\":80}"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("a b");
  }

  @Test
  void builders_refuseBadValues_withClearMessages() {
    assertThatThrownBy(() -> EtcdClient.builder())
        .hasMessageContaining("endpoints: [] (expected: at least one member URL");
    assertThatThrownBy(() -> EtcdClient.builder("127.0.0.1:2379"))
        .hasMessage(
            "endpoint: '127.0.0.1:2379' (expected: a member's client URL such as"
                + " http://127.0.0.1:2379, without a path)");
    assertThatThrownBy(() -> EtcdClient.builder("http://a:2379/v3"))
        .hasMessageStartingWith("endpoint: 'http://a:2379/v3'");
    assertThatThrownBy(() -> EtcdClient.builder("http://a:2379", "http://a:2379"))
        .hasMessageContaining("listed twice");
    EtcdClient.Builder b = EtcdClient.builder("http://127.0.0.1:2379");
    assertThatThrownBy(() -> b.requestTimeout(Duration.ofMillis(10)))
        .hasMessage("requestTimeout: PT0.01S (expected: 100ms..5min)");
    assertThatThrownBy(() -> b.sharedWatchPrefix("loadstar"))
        .hasMessageStartingWith("sharedWatchPrefix: 'loadstar' (expected: a key prefix");

    try (EtcdClient client = b.build()) {
      assertThatThrownBy(() -> EtcdEndpointSource.builder(client, "a/b"))
          .hasMessageStartingWith("service: 'a/b' (expected: 1-128 letters, digits");
      assertThatThrownBy(() -> EtcdEndpointSource.builder(client, "a").prefix("/x"))
          .hasMessageStartingWith("prefix: '/x' (expected: a key prefix");
      EtcdRegistrar.Builder r = EtcdRegistrar.builder(client, "a", Endpoint.of("127.0.0.1", 1));
      assertThatThrownBy(() -> r.ttl(Duration.ofMillis(1500)))
          .hasMessage("ttl: PT1.5S (expected: whole seconds in 2s..1h; etcd leases count seconds)");
      assertThatThrownBy(() -> r.ttl(Duration.ofSeconds(1))).hasMessageStartingWith("ttl: PT1S");
      assertThatThrownBy(() -> r.readinessInterval(Duration.ofMillis(1)))
          .hasMessage("readinessInterval: PT0.001S (expected: 10ms..1min)");
      assertThatThrownBy(() -> r.id("a/b")).hasMessageStartingWith("id: 'a/b'");
    }
  }
}
