package io.loadstar.okhttp;

import okhttp3.tls.HandshakeCertificates;
import okhttp3.tls.HeldCertificate;

/**
 * A private CA and a server certificate valid only for {@code svc.test}, not for any address:
 * connecting by IP fails hostname verification, connecting by the service's name passes.
 */
final class SvcTestCertificates {

  private static final HeldCertificate ROOT =
      new HeldCertificate.Builder().certificateAuthority(0).build();
  private static final HeldCertificate SVC =
      new HeldCertificate.Builder().addSubjectAlternativeName("svc.test").signedBy(ROOT).build();

  /** What a backend presents. */
  static final HandshakeCertificates SERVER =
      new HandshakeCertificates.Builder().heldCertificate(SVC).build();

  /** What a client trusts: the CA only. */
  static final HandshakeCertificates CLIENT =
      new HandshakeCertificates.Builder().addTrustedCertificate(ROOT.certificate()).build();

  private SvcTestCertificates() {}
}
