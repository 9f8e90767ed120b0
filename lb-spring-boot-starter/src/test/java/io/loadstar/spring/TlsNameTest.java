package io.loadstar.spring;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.loadstar.testing.HttpBackends;
import java.time.Duration;
import mockwebserver3.RecordedRequest;
import okhttp3.tls.HandshakeCertificates;
import okhttp3.tls.HeldCertificate;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;
import org.springframework.beans.factory.annotation.Autowired;
import org.springframework.boot.autoconfigure.EnableAutoConfiguration;
import org.springframework.boot.restclient.RestTemplateBuilder;
import org.springframework.boot.test.context.SpringBootTest;
import org.springframework.context.annotation.Configuration;
import org.springframework.test.annotation.DirtiesContext;
import org.springframework.test.context.DynamicPropertyRegistry;
import org.springframework.test.context.DynamicPropertySource;
import org.springframework.web.client.ResourceAccessException;
import org.springframework.web.client.RestClient;
import org.springframework.web.reactive.function.client.WebClient;

/**
 * HTTPS to backends whose certificate is valid for the service's name only, not for their
 * addresses, through Boot's RestClient, RestTemplate and WebClient with an SSL bundle trusting the
 * CA: every request reaches the endpoint Loadstar picked by address, and SNI, the certificate check
 * and {@code Host} use the service's name.
 */
// Closed when the class ends: its balancers stop probing backends the class has stopped.
@DirtiesContext
@SpringBootTest(
    classes = TlsNameTest.App.class,
    webEnvironment = SpringBootTest.WebEnvironment.NONE,
    properties = {
      "spring.http.clients.reactive.connector=http-components",
      "spring.http.clients.ssl.bundle=backends",
      "loadstar.services.secure.host=svc.test",
      "loadstar.services.secure.strategy=round-robin"
    })
class TlsNameTest {

  @Configuration(proxyBeanMethods = false)
  @EnableAutoConfiguration
  static class App {}

  private static final HeldCertificate ROOT =
      new HeldCertificate.Builder().certificateAuthority(0).build();
  private static HttpBackends backends;

  @Autowired private RestClient.Builder restClientBuilder;
  @Autowired private RestTemplateBuilder restTemplateBuilder;
  @Autowired private WebClient.Builder webClientBuilder;

  @DynamicPropertySource
  static void backends(DynamicPropertyRegistry registry) throws Exception {
    HeldCertificate svc =
        new HeldCertificate.Builder().addSubjectAlternativeName("svc.test").signedBy(ROOT).build();
    HandshakeCertificates server = new HandshakeCertificates.Builder().heldCertificate(svc).build();
    backends =
        HttpBackends.startAt(
            100, 3, s -> s.useHttps(server.sslSocketFactory()), HttpBackends.Handler.ok());
    registry.add("spring.ssl.bundle.pem.backends.truststore.certificate", ROOT::certificatePem);
    for (int i = 0; i < 3; i++) {
      String endpoint = backends.endpoint(i).authority();
      registry.add("loadstar.services.secure.endpoints[" + i + "]", () -> endpoint);
    }
  }

  @AfterAll
  static void stop() {
    backends.close();
  }

  private String url() {
    return "https://svc.test:" + backends.port() + "/";
  }

  @Test
  void restClientRestTemplateAndWebClient_verifyTheServiceNameOnEveryEndpoint() {
    RestClient rest = restClientBuilder.build();
    org.springframework.web.client.RestTemplate template = restTemplateBuilder.build();
    WebClient web = webClientBuilder.build();
    for (int i = 0; i < 9; i++) {
      assertThat(rest.get().uri(url()).retrieve().body(String.class)).startsWith("backend-");
      assertThat(template.getForObject(url(), String.class)).startsWith("backend-");
      assertThat(
              web.get()
                  .uri(url())
                  .retrieve()
                  .bodyToMono(String.class)
                  .block(Duration.ofSeconds(30)))
          .startsWith("backend-");
    }
    assertThat(backends.counts()).containsExactly(9, 9, 9);
    for (int i = 0; i < 3; i++) {
      for (RecordedRequest r : backends.received(i)) {
        assertThat(r.getHandshakeServerNames()).containsExactly("svc.test");
        assertThat(r.getUrl().host()).isEqualTo("svc.test");
      }
    }
  }

  @Test
  void theCertificateIsNotValidForTheAddresses_soGoingByAddressFails() {
    RestClient rest = restClientBuilder.build();
    String byAddress = "https://" + backends.endpoint(0).authority() + "/";
    assertThatThrownBy(() -> rest.get().uri(byAddress).retrieve().body(String.class))
        .isInstanceOf(ResourceAccessException.class)
        .hasRootCauseInstanceOf(javax.net.ssl.SSLException.class);
  }
}
