package io.loadstar.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.loadstar.testing.HttpBackends;
import java.net.URI;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Function;
import javax.net.ssl.SSLException;
import mockwebserver3.MockResponse;
import okhttp3.tls.HandshakeCertificates;
import okhttp3.tls.HeldCertificate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;
import org.springframework.boot.WebApplicationType;
import org.springframework.boot.builder.SpringApplicationBuilder;
import org.springframework.context.ConfigurableApplicationContext;
import org.springframework.web.client.RestClient;
import org.springframework.web.reactive.function.client.WebClient;

/**
 * What each transport Boot can put under RestClient/RestTemplate and WebClient keeps when Loadstar
 * sends an attempt to the endpoint's address: the {@code Host} header, and which name TLS verifies.
 * Apache HttpClient 5 keeps both (see {@link TlsNameTest}); for the others, measured here on real
 * backends: over plain HTTP the request arrives, with {@code Host} the service's where the
 * transport lets a caller set it; over HTTPS (allowed with {@code tls-name=endpoint-address}) a
 * certificate for the service's name only is refused and one naming the address accepted, so these
 * transports verify the address. The starter's README has the table this prints.
 */
class TransportsTest {

  /** RestClient's and RestTemplate's transports: {@code spring.http.clients.imperative.factory}. */
  enum Imperative {
    JDK("jdk", false),
    JETTY("jetty", true),
    REACTOR("reactor", true),
    SIMPLE("simple", false);

    final String property;
    final boolean keepsHost;

    Imperative(String property, boolean keepsHost) {
      this.property = property;
      this.keepsHost = keepsHost;
    }
  }

  /** WebClient's connectors: {@code spring.http.clients.reactive.connector}. */
  enum Reactive {
    REACTOR("reactor", true),
    JDK("jdk", false),
    JETTY("jetty", true);

    final String property;
    final boolean keepsHost;

    Reactive(String property, boolean keepsHost) {
      this.property = property;
      this.keepsHost = keepsHost;
    }
  }

  private static final HeldCertificate ROOT =
      new HeldCertificate.Builder().certificateAuthority(0).build();
  private static final Map<String, String> FIGURES = new TreeMap<>();

  private static HttpBackends plain;
  private static HttpBackends named;
  private static HttpBackends addressed;

  @BeforeAll
  static void startBackends() throws Exception {
    plain = HttpBackends.startAt(40, 1, s -> {}, (i, r) -> ok());
    HeldCertificate forName =
        new HeldCertificate.Builder().addSubjectAlternativeName("svc.test").signedBy(ROOT).build();
    named = HttpBackends.startAt(41, 1, s -> s.useHttps(tls(forName)), (i, r) -> ok());
    HeldCertificate forAddress =
        new HeldCertificate.Builder()
            .addSubjectAlternativeName("svc.test")
            .addSubjectAlternativeName("127.0.0.42")
            .signedBy(ROOT)
            .build();
    addressed = HttpBackends.startAt(42, 1, s -> s.useHttps(tls(forAddress)), (i, r) -> ok());
  }

  @AfterAll
  static void stopBackends() {
    plain.close();
    named.close();
    addressed.close();
    StringBuilder table = new StringBuilder("\nTransportsTest, balanced by address:\n");
    FIGURES.forEach((k, v) -> table.append("  ").append(k).append(": ").append(v).append('\n'));
    System.out.println(table);
  }

  private static MockResponse ok() {
    return new MockResponse.Builder().body("ok").build();
  }

  private static javax.net.ssl.SSLSocketFactory tls(HeldCertificate certificate) {
    return new HandshakeCertificates.Builder()
        .heldCertificate(certificate)
        .build()
        .sslSocketFactory();
  }

  /** An application balancing the three services over the given transports. */
  private static ConfigurableApplicationContext start(String imperative, String reactive) {
    List<String> p = new ArrayList<>();
    p.add("spring.http.clients.imperative.factory=" + imperative);
    p.add("spring.http.clients.reactive.connector=" + reactive);
    p.add("spring.http.clients.ssl.bundle=backends");
    p.add("spring.ssl.bundle.pem.backends.truststore.certificate=" + ROOT.certificatePem());
    p.add("loadstar.services.plain.host=plain.test");
    p.add("loadstar.services.plain.endpoints=" + plain.endpoint(0).authority());
    p.add("loadstar.services.named.host=named.test");
    p.add("loadstar.services.named.endpoints=" + named.endpoint(0).authority());
    p.add("loadstar.services.addressed.host=addressed.test");
    p.add("loadstar.services.addressed.endpoints=" + addressed.endpoint(0).authority());
    for (String service : List.of("named", "addressed")) {
      p.add("loadstar.services." + service + ".https=true");
      p.add("loadstar.services." + service + ".tls-name=endpoint-address");
    }
    return new SpringApplicationBuilder(FailoverScenarios.App.class)
        .web(WebApplicationType.NONE)
        .properties(p.toArray(new String[0]))
        .run();
  }

  /** Sends a GET to each service through {@code get} and checks what arrived. */
  private static void measure(String name, boolean keepsHost, Function<URI, String> get) {
    int port = plain.port();
    int before = plain.total();
    assertThat(get.apply(URI.create("http://plain.test:" + port + "/"))).isEqualTo("ok");
    assertThat(plain.total()).isEqualTo(before + 1);
    String host = plain.received(0).get(before).getHeaders().get("Host");
    assertThatThrownBy(() -> get.apply(URI.create("https://named.test:" + port + "/")))
        .as("a certificate for the service's name only, verified against the address")
        .satisfies(e -> assertThat(causes(e)).hasAtLeastOneElementOfType(SSLException.class));
    assertThat(get.apply(URI.create("https://addressed.test:" + port + "/"))).isEqualTo("ok");
    FIGURES.put(
        name,
        "Host "
            + host
            + "; HTTPS verifies the endpoint's address (a certificate for the name only refused)");
    assertThat(host).isEqualTo(keepsHost ? "plain.test:" + port : plain.endpoint(0).authority());
  }

  private static List<Throwable> causes(Throwable e) {
    List<Throwable> chain = new ArrayList<>();
    for (Throwable t = e; t != null && !chain.contains(t); t = t.getCause()) {
      chain.add(t);
    }
    return chain;
  }

  @ParameterizedTest
  @EnumSource(Imperative.class)
  void restClient(Imperative transport) {
    try (ConfigurableApplicationContext context = start(transport.property, "reactor")) {
      RestClient rest = context.getBean(RestClient.Builder.class).build();
      measure(
          "RestClient on " + transport.property,
          transport.keepsHost,
          uri -> rest.get().uri(uri).retrieve().body(String.class));
    }
  }

  @ParameterizedTest
  @EnumSource(Reactive.class)
  void webClient(Reactive transport) {
    try (ConfigurableApplicationContext context = start("jdk", transport.property)) {
      WebClient web = context.getBean(WebClient.Builder.class).build();
      measure(
          "WebClient on " + transport.property,
          transport.keepsHost,
          uri ->
              web.get().uri(uri).retrieve().bodyToMono(String.class).block(Duration.ofSeconds(30)));
    }
  }
}
